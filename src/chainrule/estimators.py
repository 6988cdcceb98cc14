"""scikit-learn estimators: ``MLPClassifier`` and ``MLPRegressor``, a thin face over chainrule's engine and fit.

They take scikit-learn's own MLP parameter names, validate them declaratively when ``fit`` starts, and train with
``chainrule.fit``: the same layers, optimizers and loop as everything else. ``alpha`` is scikit-learn's L2 penalty,
``alpha / (2 n_batch) ||W||^2`` per batch, so it enters as weight decay ``alpha / n_batch`` on the weights and not
the biases, as scikit-learn's does. ``max_iter`` counts epochs.

What they add over scikit-learn's MLP, whose module takes no new features: ``sample_weight`` (in ``fit``,
``partial_fit`` and ``score``), ``class_weight``, the held-out loss per epoch (``validation_loss_curve_``),
``transform`` (the last hidden layer as features), robust regression losses (``absolute_error``, ``huber``) and
``dropout``.
"""

import warnings
from numbers import Integral, Real

import numpy as np

from .extras import require

require("sklearn", "sklearn", "chainrule's scikit-learn estimators")

from sklearn.base import (BaseEstimator, ClassifierMixin, ClassNamePrefixFeaturesOutMixin, RegressorMixin,  # noqa: E402
                          TransformerMixin, _fit_context)
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.utils import check_random_state  # noqa: E402
from sklearn.utils._param_validation import Interval, StrOptions  # noqa: E402
from sklearn.utils.class_weight import compute_class_weight  # noqa: E402
from sklearn.utils.multiclass import check_classification_targets, unique_labels  # noqa: E402
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data  # noqa: E402

from .errors import ChainruleError  # noqa: E402
from .layers import Dense  # noqa: E402
from .losses import AbsoluteError, Huber  # noqa: E402
from .network import mlp  # noqa: E402
from .optimizers import SGD, Adam  # noqa: E402
from .training import Callback, check_sample_weight, encode_targets  # noqa: E402

ACTIVATION = {"relu": "relu", "tanh": "tanh", "logistic": "sigmoid", "identity": "identity"}


class _StopOnPlateau(Callback):
    """scikit-learn's rule: stop when the training loss has not fallen by ``tol`` for ``patience`` epochs."""

    def __init__(self, tol: float, patience: int, best: float = np.inf):
        self.tol, self.patience, self.best, self.stale = tol, patience, best, 0
        self.stopped = False

    def on_epoch_end(self, trainer, epoch, logs):
        if logs["loss"] > self.best - self.tol:
            self.stale += 1
        else:
            self.stale = 0
        self.best = min(self.best, logs["loss"])
        if self.stale >= self.patience:
            trainer.stop = self.stopped = True


class _DecayWeightsOnly:
    """scikit-learn's L2 penalty: ``decay * W`` joins the gradient of every weight matrix and of no bias.

    ``mask`` is 1 at the weights' places in the network's flat parameter array and 0 at the biases'."""

    def set_decay(self, decay: float, mask: np.ndarray):
        self.decay = mask * mask.dtype.type(decay) if decay else None       # alpha=0: the optimizer's own step
        self.penalised = np.empty_like(mask)

    def step(self, params, grads):
        if self.decay is None:
            return super().step(params, grads)
        np.multiply(params["all"], self.decay, out=self.penalised)
        self.penalised += grads["all"]
        super().step(params, {"all": self.penalised})

    def loss_scale(self):
        # the penalty joins the gradient, so plain SGD's prescaled step (see SGD.loss_scale) only without it
        return super().loss_scale() if self.decay is None else None


class _Adam(_DecayWeightsOnly, Adam):
    pass


class _SGD(_DecayWeightsOnly, SGD):
    pass


class _Validation(Callback):
    """scikit-learn's early stopping: score the held-out part after every epoch (accuracy or R^2, weighted when
    weights are given), keep the best weights, stop when the score has not beaten the best by ``tol`` for more than
    ``n_iter_no_change`` epochs, and restore the best weights at the end. Also records the held-out loss."""

    def __init__(self, model, X, y, targets, weight):
        self.model, self.X, self.y, self.weight = model, X, y, weight
        self.targets = encode_targets(model.network_, targets, len(X))
        self.best_params, self.stopped = None, False

    def on_epoch_end(self, trainer, epoch, logs):
        model, network = self.model, trainer.network
        z = network._forward(network.prepare(self.X, "validation X"))
        loss_fn = getattr(network.loss_fn, "base", network.loss_fn)      # unwrapped when training is weighted
        model.validation_loss_curve_.append(float(np.average(loss_fn.per_example(z, self.targets),
                                                             weights=self.weight)))
        score = model._score_outputs(loss_fn.link(z), self.y, self.weight)
        model.validation_scores_.append(score)
        model._no_improvement_count = model._no_improvement_count + 1 \
            if score < model.best_validation_score_ + model.tol else 0
        if score > model.best_validation_score_:
            model.best_validation_score_ = score
            self.best_params = network.flat_parameters()[0].copy()
        if model._no_improvement_count > model.n_iter_no_change:
            trainer.stop = self.stopped = True

    def on_train_end(self, trainer):
        if self.best_params is not None:
            trainer.network.flat_parameters()[0][...] = self.best_params


class _BaseMLP(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    _parameter_constraints = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATION))],
        "solver": [StrOptions({"sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "nesterovs_momentum": ["boolean"],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
    }

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate_init=0.001, max_iter=200, momentum=0.9, nesterovs_momentum=True,
                 shuffle=True, random_state=None, tol=1e-4, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=10, verbose=False, warm_start=False, dropout=0.0):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.verbose = verbose
        self.warm_start = warm_start
        self.dropout = dropout

    # --- what the classifier and the regressor do differently ------------------------------------------------
    def _targets(self, y, first: bool):
        raise NotImplementedError

    def _head(self) -> dict:
        raise NotImplementedError

    def _weights(self, y, targets, sample_weight, incremental: bool):
        """The weight of each example for the engine, or None when none is given (the unweighted path)."""
        if sample_weight is None:
            return None
        return check_sample_weight(sample_weight, len(targets))

    def _score_outputs(self, outputs, y, weight) -> float:
        raise NotImplementedError

    def _fed(self, targets, incremental: bool):
        """The targets as ``fit`` takes them."""
        return targets

    # --- training --------------------------------------------------------------------------------------------
    def _hidden(self) -> list[int]:
        sizes = np.atleast_1d(self.hidden_layer_sizes)
        if sizes.ndim != 1 or not np.all(sizes >= 1) or not np.issubdtype(sizes.dtype, np.integer):
            raise ValueError(f"hidden_layer_sizes must be positive integers, got {self.hidden_layer_sizes!r}.")
        return [int(s) for s in sizes]

    def _fit(self, X, y, incremental: bool, sample_weight=None):
        first = not (incremental or self.warm_start) or not hasattr(self, "network_")
        X, y = validate_data(self, X, y, reset=first, dtype=[np.float64, np.float32], multi_output=True,
                             y_numeric=not isinstance(self, ClassifierMixin))
        targets = self._targets(y, first)
        weight = self._weights(y, targets, sample_weight, incremental)
        early_stopping = self.early_stopping and not incremental
        validation = None
        if early_stopping:
            from sklearn.model_selection import train_test_split

            stratify = targets if isinstance(self, ClassifierMixin) else None
            parts = train_test_split(X, y, targets, *([] if weight is None else [weight]),
                                     test_size=self.validation_fraction, stratify=stratify,
                                     random_state=check_random_state(self.random_state).randint(2**31))
            X, X_val, y, y_val, targets, targets_val = parts[:6]
            weight, weight_val = (None, None) if weight is None else parts[6:]
            validation = (X_val, y_val, targets_val, weight_val)
        n = len(X)
        batch = min(200, n) if self.batch_size == "auto" else int(np.clip(self.batch_size, 1, n))
        if first:
            self._random = check_random_state(self.random_state)
            self.network_ = mlp([X.shape[1], *self._hidden(), self._n_outputs], ACTIVATION[self.activation],
                                dropout=self.dropout, dtype=X.dtype,
                                seed=np.random.default_rng(self._random.randint(2**31)), **self._head())
            self._optimizer = _Adam(self.learning_rate_init) if self.solver == "adam" else \
                _SGD(self.learning_rate_init, momentum=self.momentum,
                     nesterov=self.nesterovs_momentum and self.momentum > 0)
            self.loss_curve_, self.n_iter_, self.t_ = [], 0, 0
            self.validation_scores_ = self.best_validation_score_ = self.validation_loss_curve_ = None
        # alpha / n_batch, with n_batch counted in weight, so that a weight of 2 penalises as two examples do
        mean_weight = 1.0 if weight is None else float(weight.mean())
        self._optimizer.set_decay(self.alpha / (batch * mean_weight), self._weight_mask())
        plateau = _StopOnPlateau(self.tol, self.n_iter_no_change, min(self.loss_curve_, default=np.inf))
        callbacks = [] if incremental else [plateau]
        if early_stopping:
            if self.validation_scores_ is None:
                self.validation_scores_, self.validation_loss_curve_ = [], []
                self.best_validation_score_ = -np.inf
            self._no_improvement_count = 0
            callbacks = [_Validation(self, *validation)]
        history = self.network_.fit(
            X, self._fed(targets, incremental), epochs=1 if incremental else self.max_iter, batch_size=batch,
            optimizer=self._optimizer, shuffle=self.shuffle, seed=int(self._random.randint(2**31)),
            verbose=int(bool(self.verbose)), callbacks=callbacks, sample_weight=weight)
        self.loss_curve_ += history["loss"]
        self.n_iter_ += history.epochs
        self.t_ += history.epochs * n
        self.loss_ = self.loss_curve_[-1]
        self.best_loss_ = None if early_stopping else min(self.loss_curve_)
        stopped = any(getattr(c, "stopped", False) for c in callbacks)
        if not incremental and not stopped and history.epochs == self.max_iter:
            warnings.warn(f"chainrule: maximum iterations ({self.max_iter}) reached and the optimization hasn't "
                          "converged yet.", ConvergenceWarning, stacklevel=3)
        return self

    def _weight_mask(self) -> np.ndarray:
        """1 where the network's flat parameter array holds a weight matrix, 0 where it holds a bias: written
        through the registry's own views into that array."""
        flat = self.network_.flat_parameters()[0]
        kept = flat.copy()
        flat[...] = 0
        for layer in self.network_.layers:
            if isinstance(layer, Dense):
                layer.params["weight"][...] = 1
        mask = flat.copy()
        flat[...] = kept
        return mask

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train for up to ``max_iter`` epochs (fewer when the loss, or with ``early_stopping`` the held-out score,
        stops improving by ``tol``). ``sample_weight: (n_samples,)`` weighs each example's loss; a weight of 2
        counts the example twice."""
        return self._fit(X, y, incremental=False, sample_weight=sample_weight)

    def transform(self, X):
        """The last hidden layer's activations, ``(n_samples, hidden_layer_sizes[-1])``: the learnt features."""
        check_is_fitted(self, "network_")
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        network = self.network_
        x = network.prepare(X.astype(network.dtype, copy=False))
        last_dense = max(i for i, layer in enumerate(network.layers) if isinstance(layer, Dense))
        if last_dense == 0:
            raise ChainruleError("transform: the network has no hidden layer (hidden_layer_sizes is empty)")
        for layer in network.layers[:last_dense]:
            x = layer.forward(x)
        return x

    @property
    def _n_features_out(self):
        """The width of the last hidden layer (what ``transform`` gives); only once fitted."""
        if not hasattr(self, "network_"):
            raise AttributeError("_n_features_out: the estimator is not fitted yet")
        return [layer.out_features for layer in self.network_.layers if isinstance(layer, Dense)][-2]

    def _forward(self, X):
        check_is_fitted(self, "network_")
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return self.network_.predict_proba(X.astype(self.network_.dtype, copy=False))

    @property
    def coefs_(self) -> list[np.ndarray]:
        """Weight matrices, ``(n_in, n_out)`` per layer, as scikit-learn lays them out."""
        return [layer.params["weight"].copy() for layer in self.network_.layers if isinstance(layer, Dense)]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        return [layer.params["bias"].copy() for layer in self.network_.layers if isinstance(layer, Dense)]

    @property
    def n_layers_(self) -> int:
        return len(self.coefs_) + 1


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """A multilayer perceptron classifier: softmax outputs and cross-entropy, trained by chainrule.

    Parameters, fitted attributes and methods follow ``sklearn.neural_network.MLPClassifier``, plus ``dropout``
    and ``class_weight`` (``None``, ``"balanced"`` or ``{label: weight}``, as scikit-learn's other classifiers
    take it: it multiplies ``sample_weight``)."""

    _parameter_constraints = {**_BaseMLP._parameter_constraints,
                              "class_weight": [dict, StrOptions({"balanced"}), None]}

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate_init=0.001, max_iter=200, momentum=0.9, nesterovs_momentum=True,
                 shuffle=True, random_state=None, tol=1e-4, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=10, verbose=False, warm_start=False, dropout=0.0, class_weight=None):
        super().__init__(hidden_layer_sizes, activation, solver=solver, alpha=alpha, batch_size=batch_size,
                         learning_rate_init=learning_rate_init, max_iter=max_iter, momentum=momentum,
                         nesterovs_momentum=nesterovs_momentum, shuffle=shuffle, random_state=random_state, tol=tol,
                         early_stopping=early_stopping, validation_fraction=validation_fraction,
                         n_iter_no_change=n_iter_no_change, verbose=verbose, warm_start=warm_start, dropout=dropout)
        self.class_weight = class_weight

    def _weights(self, y, targets, sample_weight, incremental):
        weight = super()._weights(y, targets, sample_weight, incremental)
        if self.class_weight is None:
            return weight
        if isinstance(self.class_weight, dict):
            unknown = [label for label in self.class_weight if label not in set(self.classes_.tolist())]
            if unknown:
                raise ChainruleError(f"class_weight: names the class {unknown[0]!r}, which is not among the "
                                     f"classes {self.classes_.tolist()}")
        elif incremental:
            raise ChainruleError("class_weight='balanced' needs every label at once, so partial_fit cannot use it; "
                                 "give a dict of weights computed on the whole data set")
        if self.class_weight == "balanced":      # n_samples / (n_classes * count of the class), scikit-learn's rule
            per_class = compute_class_weight("balanced", classes=self.classes_, y=column_or_1d(y))
        else:                                    # a class the dict leaves out weighs 1
            per_class = np.array([float(self.class_weight.get(c, 1.0)) for c in self.classes_.tolist()])
        by_example = per_class[targets]
        return by_example if weight is None else weight * by_example

    def _score_outputs(self, outputs, y, weight):
        predicted = self.classes_[np.argmax(outputs, axis=1) % len(self.classes_)]
        return float(np.average(predicted == column_or_1d(y), weights=weight))

    def _targets(self, y, first):
        check_classification_targets(y)
        if np.ndim(y) > 1 and np.shape(y)[1] > 1:
            raise ValueError("chainrule.MLPClassifier supports one label per sample, not multilabel targets.")
        y = column_or_1d(y, warn=True)
        if first:
            given = self.__dict__.pop("_classes_given", None)     # from partial_fit's first call
            self.classes_ = unique_labels(y) if given is None else given
            self._n_outputs = max(len(self.classes_), 2)
            if given is None and len(self.classes_) < 2:
                raise ChainruleError(f"y: every sample is of one class ({self.classes_[0]}): expected labels of at "
                                     f"least 2 classes, since a classifier learns to tell classes apart")
        unknown = np.setdiff1d(y, self.classes_)
        if unknown.size:
            raise ValueError(f"y contains labels not seen in the first call: {unknown[:5].tolist()}; "
                             f"expected labels from {self.classes_.tolist()}")
        return np.searchsorted(self.classes_, y)

    def _head(self):
        return {"output": "softmax"}

    def _fed(self, targets, incremental):
        """Class indices; but one-hot rows for ``partial_fit``, whose chunk may hold a single class (every class
        was named up front), which ``fit`` refuses in indices and takes as given in rows."""
        return np.eye(self._n_outputs, dtype=self.network_.dtype)[targets] if incremental else targets

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over ``X, y``; the first call needs ``classes``, every label there will ever be."""
        if not hasattr(self, "network_"):
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            self._classes_given = unique_labels(classes)
        return self._fit(X, y, incremental=True, sample_weight=sample_weight)

    def predict_proba(self, X):
        proba = self._forward(X)
        return proba[:, :len(self.classes_)] if len(self.classes_) == 1 else proba

    def predict(self, X):
        proba = self._forward(X)
        return self.classes_[np.argmax(proba, axis=1) % len(self.classes_)]

    def predict_log_proba(self, X):
        return np.log(np.maximum(self.predict_proba(X), np.finfo(np.float64).tiny))


class MLPRegressor(RegressorMixin, _BaseMLP):
    """A multilayer perceptron regressor: identity outputs and half squared error, trained by chainrule.

    Parameters, fitted attributes and methods follow ``sklearn.neural_network.MLPRegressor``, plus ``dropout`` and
    ``loss``: ``"squared_error"`` (half the squared error, as scikit-learn's), ``"absolute_error"`` or ``"huber"``
    (squared within ``epsilon`` of the target, absolute beyond; ``epsilon`` in the targets' units)."""

    _parameter_constraints = {**_BaseMLP._parameter_constraints,
                              "loss": [StrOptions({"squared_error", "absolute_error", "huber"})],
                              "epsilon": [Interval(Real, 0, None, closed="neither")]}

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate_init=0.001, max_iter=200, momentum=0.9, nesterovs_momentum=True,
                 shuffle=True, random_state=None, tol=1e-4, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=10, verbose=False, warm_start=False, dropout=0.0, loss="squared_error", epsilon=1.35):
        super().__init__(hidden_layer_sizes, activation, solver=solver, alpha=alpha, batch_size=batch_size,
                         learning_rate_init=learning_rate_init, max_iter=max_iter, momentum=momentum,
                         nesterovs_momentum=nesterovs_momentum, shuffle=shuffle, random_state=random_state, tol=tol,
                         early_stopping=early_stopping, validation_fraction=validation_fraction,
                         n_iter_no_change=n_iter_no_change, verbose=verbose, warm_start=warm_start, dropout=dropout)
        self.loss = loss
        self.epsilon = epsilon

    def _score_outputs(self, outputs, y, weight):
        from sklearn.metrics import r2_score
        return float(r2_score(y, outputs.ravel() if self._y_ndim == 1 else outputs, sample_weight=weight))

    def _targets(self, y, first):
        y = np.asarray(y, dtype=np.float64)
        if first:
            self._y_ndim = y.ndim
            self._n_outputs = 1 if y.ndim == 1 else y.shape[1]
        return y.reshape(len(y), -1)

    def _head(self):
        loss = {"squared_error": "half_squared_error", "absolute_error": AbsoluteError(),
                "huber": Huber(self.epsilon)}[self.loss]
        return {"output": "identity", "loss": loss}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over ``X, y`` (the network is made on the first call)."""
        return self._fit(X, y, incremental=True, sample_weight=sample_weight)

    def predict(self, X):
        out = self._forward(X)
        return out.ravel() if self._y_ndim == 1 else out
