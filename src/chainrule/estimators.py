"""scikit-learn estimators: ``MLPClassifier`` and ``MLPRegressor``, a drop-in face over chainrule's engine and fit.

They take every parameter of scikit-learn's own MLP, with its meaning, validate them declaratively when ``fit``
starts, and train with the engine: the stochastic solvers (``"sgd"``, ``"adam"``) through ``chainrule.fit``, the
same layers, optimizers and loop as everything else; ``"lbfgs"`` through ``scipy.optimize`` on the engine's own
loss and gradient of the flat parameters (``objective.py``). ``alpha`` is scikit-learn's L2 penalty,
``alpha / (2 n) ||W||^2`` for a batch of ``n`` (the whole data set for lbfgs), on the weights and not the biases.
``max_iter`` counts epochs, or lbfgs iterations. The same ``random_state`` draws scikit-learn's initial weights, and
the optimizers are scikit-learn's forms of SGD and Adam, so that without shuffling both libraries end at the same
weights (``tests/test_sklearn_dropin.py``).

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
from sklearn.utils._param_validation import Interval, Options, StrOptions  # noqa: E402
from sklearn.utils.class_weight import compute_class_weight  # noqa: E402
from sklearn.utils.metaestimators import available_if  # noqa: E402
from sklearn.utils.multiclass import check_classification_targets, unique_labels  # noqa: E402
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data  # noqa: E402

from .activations import sigmoid  # noqa: E402
from .errors import ChainruleError  # noqa: E402
from .layers import Dense  # noqa: E402
from .losses import AbsoluteError, ExpPoissonDeviance, Huber  # noqa: E402
from .network import mlp  # noqa: E402
from .objective import Objective, minimize_lbfgs, set_flat, weight_mask  # noqa: E402
from .optimizers import AdamEpsilonHat, InverseScaling, SGDVelocityOfSteps  # noqa: E402
from .training import Callback, check_sample_weight, encode_targets  # noqa: E402

ACTIVATION = {"relu": "relu", "tanh": "tanh", "logistic": "sigmoid", "identity": "identity"}
#: the output functions under scikit-learn's names (its ``out_activation_``)
OUT_ACTIVATION = {"softmax": "softmax", "sigmoid": "logistic", "identity": "identity", "exp": "exp"}
#: scikit-learn's adaptive rate stops dividing, and training stops, once the rate is this small
SMALLEST_ADAPTIVE_RATE = 1e-6


class _DecayWeightsOnly:
    """scikit-learn's L2 penalty: ``decay * W`` joins the gradient of every weight matrix and of no bias, and
    ``decay / 2 ||W||^2`` (at the weights the step starts from) joins the batch's loss, summed in ``penalty`` for
    the epoch's loss as scikit-learn reports it.

    ``mask`` is 1 at the weights' places in the network's flat parameter array and 0 at the biases'."""

    def set_decay(self, decay: float, mask: np.ndarray):
        self.decay = mask * mask.dtype.type(decay) if decay else None       # alpha=0: the optimizer's own step
        self.penalised = np.empty_like(mask)
        self.penalty = 0.0

    def step(self, params, grads):
        if self.decay is None:
            return super().step(params, grads)
        np.multiply(params["all"], self.decay, out=self.penalised)
        self.penalty += 0.5 * float(np.dot(self.penalised, params["all"]))
        self.penalised += grads["all"]
        super().step(params, {"all": self.penalised})

    def loss_scale(self):
        # the penalty joins the gradient, so plain SGD's prescaled step (see SGD.loss_scale) only without it
        return super().loss_scale() if self.decay is None else None


class _Adam(_DecayWeightsOnly, AdamEpsilonHat):
    """scikit-learn's Adam: epsilon beside sqrt(v), not beside the bias-corrected sqrt(v_hat)."""


class _SGD(_DecayWeightsOnly, SGDVelocityOfSteps):
    """scikit-learn's momentum: a velocity of steps, which a change of the learning rate does not rescale."""


class _EpochEnd(Callback):
    """What scikit-learn does after every epoch: record the training loss in ``loss_curve_``, its penalty
    included (each batch's ``alpha / (2 n_batch) ||W||^2``, weighed by the batch's rows: ``penalty_scale`` is
    n_batch / n), then count the epochs in a row that have not improved by ``tol`` (the count is the model's and
    lasts across ``partial_fit`` calls); once the count passes ``n_iter_no_change`` the model decides what happens
    (``_no_improvement``: stop, or divide an adaptive rate)."""

    def __init__(self, model, penalty_scale: float):
        self.model, self.penalty_scale, self.stopped = model, penalty_scale, False

    def on_epoch_end(self, trainer, epoch, logs):
        model, optimizer = self.model, trainer.optimizer
        loss = logs["loss"] + self.penalty_scale * optimizer.penalty
        optimizer.penalty = 0.0
        model.loss_curve_.append(loss)
        model._no_improvement_count = 0 if self.improved(trainer, loss) else model._no_improvement_count + 1
        if model._no_improvement_count > model.n_iter_no_change and model._no_improvement(optimizer):
            trainer.stop = self.stopped = True

    def improved(self, trainer, loss) -> bool:
        """scikit-learn's test on the training loss: at least ``tol`` below the best so far (``best_loss_``)."""
        model = self.model
        improved = loss <= model.best_loss_ - model.tol
        model.best_loss_ = min(model.best_loss_, loss)
        return improved


class _Validation(_EpochEnd):
    """scikit-learn's early stopping: the test is the held-out score (accuracy or R^2, weighted when weights are
    given) at least ``tol`` above the best so far; the best epoch's weights are kept and restored at the end. Also
    records the held-out loss."""

    def __init__(self, model, penalty_scale, X, y, targets, weight):
        super().__init__(model, penalty_scale)
        self.X, self.y, self.weight = X, y, weight
        self.targets = encode_targets(model.network_, targets, len(X))
        self.best_params = None

    def improved(self, trainer, loss):
        model, network = self.model, trainer.network
        z = network._forward(network.prepare(self.X, "validation X"))
        loss_fn = getattr(network.loss_fn, "base", network.loss_fn)      # unwrapped when training is weighted
        model.validation_loss_curve_.append(float(np.average(loss_fn.per_example(z, self.targets),
                                                             weights=self.weight)))
        score = model._score_outputs(loss_fn.link(z), self.y, self.weight)
        model.validation_scores_.append(score)
        improved = score >= model.best_validation_score_ + model.tol
        if score > model.best_validation_score_:
            model.best_validation_score_ = score
            self.best_params = network.flat_parameters()[0].copy()
        return improved

    def on_train_end(self, trainer):
        if self.best_params is not None:
            trainer.network.flat_parameters()[0][...] = self.best_params


def _scikit_learns_start(sizes: list[int], activation: str, random) -> list[tuple[np.ndarray, np.ndarray]]:
    """The initial weights and biases ``[(W: (n_in, n_out), b: (n_out,)), ...]`` as scikit-learn's MLP draws them,
    so that the same ``random_state`` starts both from the same point: Glorot's uniform U(-r, r),
    r = sqrt(6 / (n_in + n_out)) (2 in place of 6 for logistic units), weights then biases, layer after layer, from
    one ``RandomState``. (The engine's ``mlp`` starts ReLU layers with He's and the biases at 0.)"""
    factor = 2.0 if activation == "logistic" else 6.0
    start = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        bound = np.sqrt(factor / (n_in + n_out))
        start.append((random.uniform(-bound, bound, (n_in, n_out)), random.uniform(-bound, bound, n_out)))
    return start


def _dense(network) -> list[Dense]:
    return [layer for layer in network.layers if isinstance(layer, Dense)]


class _BaseMLP(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    # scikit-learn's own constraints (sklearn.neural_network.MLPClassifier), plus dropout
    _parameter_constraints = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATION))],
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), Options(Real, {np.inf})],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
    }

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001, power_t=0.5, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000, dropout=0.0):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
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
        if (getattr(self, "loss", None) == "huber" and self.epsilon != 1e-8
                and getattr(self, "huber_epsilon", 1.35) == 1.35):
            raise ValueError(f"epsilon={self.epsilon!r} with loss='huber': epsilon is Adam's, as in scikit-learn; "
                             f"Huber's threshold is huber_epsilon (default 1.35). Expected huber_epsilon="
                             f"{self.epsilon!r}, or huber_epsilon given as well to set Adam's epsilon on purpose")
        if incremental and self.early_stopping:
            raise ValueError("partial_fit: early_stopping=True needs a held-out part of the whole data set, which "
                             "one chunk cannot give; expected early_stopping=False, as scikit-learn's MLP does")
        if self.solver == "lbfgs" and self.dropout:
            raise ValueError(f"dropout={self.dropout!r}: solver='lbfgs' minimises one fixed function of the "
                             f"weights, which random dropout would change at every evaluation; expected "
                             f"dropout=0 with lbfgs, or solver='sgd' or 'adam'")
        first = not (incremental or self.warm_start) or not hasattr(self, "network_")
        X, y = validate_data(self, X, y, reset=first, dtype=[np.float64, np.float32], multi_output=True,
                             y_numeric=not isinstance(self, ClassifierMixin))
        targets = self._targets(y, first)
        weight = self._weights(y, targets, sample_weight, incremental)
        if first:
            self._random = check_random_state(self.random_state)
            sizes = [X.shape[1], *self._hidden(), self._n_outputs]
            start = _scikit_learns_start(sizes, self.activation, self._random)
            self.network_ = mlp(sizes, ACTIVATION[self.activation], dropout=self.dropout, dtype=X.dtype,
                                seed=np.random.default_rng(self._random.randint(2**31)), **self._head())
            for layer, (W, b) in zip(_dense(self.network_), start, strict=True):
                layer.params["weight"][...], layer.params["bias"][...] = W, b
            self.n_iter_, self.t_ = 0, 0
            for name in ("loss_curve_", "best_loss_", "validation_scores_", "best_validation_score_",
                         "validation_loss_curve_"):
                self.__dict__.pop(name, None)       # a refit with another solver starts clean
        if self.solver == "lbfgs":
            return self._fit_lbfgs(X, targets, weight)
        return self._fit_stochastic(X, y, targets, weight, incremental)

    def _fit_lbfgs(self, X, targets, weight):
        """scikit-learn's full-batch solver: L-BFGS-B on the mean loss over the whole data set plus
        ``alpha / (2 n) ||W||^2`` (``n`` counted in weight), at most ``max_iter`` iterations and ``max_fun``
        evaluations, stopping when the largest gradient entry falls below ``tol``. Loss and gradient are the
        engine's (``objective.Objective``); ``n_iter_`` is the iterations of this run, ``loss_`` its final loss.
        Like scikit-learn's, it records no ``loss_curve_`` and leaves ``t_`` alone."""
        network = self.network_
        Y = encode_targets(network, self._fed(targets, incremental=False), len(X))
        total = len(X) if weight is None else float(weight.sum())
        objective = Objective(network, network.prepare(X, "X"), Y, l2=self.alpha / total, sample_weight=weight)
        result = minimize_lbfgs(objective, network.flat_parameters()[0].copy(), max_iter=self.max_iter,
                                max_fun=self.max_fun, tol=self.tol)
        set_flat(network, result.x.astype(network.dtype))
        self._lbfgs_evaluations = objective.calls        # what benchmarks/lbfgs_speed.py divides the time by
        self.n_iter_ = min(int(result.nit), self.max_iter)
        self.loss_ = float(result.fun)
        if result.status != 0:
            warnings.warn(f"chainrule: lbfgs stopped after {self.n_iter_} iteration(s) and {result.nfev} function "
                          f"evaluation(s) without converging ({result.message}); raise max_iter (now "
                          f"{self.max_iter}) or max_fun (now {self.max_fun}), or scale the inputs",
                          ConvergenceWarning, stacklevel=4)
        return self

    def _fit_stochastic(self, X, y, targets, weight, incremental):
        """Epochs of mini-batches through ``chainrule.fit``, with scikit-learn's rules for when to stop, how the
        learning rate changes, and what is recorded (``loss_curve_``, ``best_loss_``, ``t_``, validation scores)."""
        if not hasattr(self, "loss_curve_"):
            self.loss_curve_, self._no_improvement_count = [], 0
            self.validation_scores_ = self.best_validation_score_ = self.validation_loss_curve_ = None
        if self.early_stopping:
            self.best_loss_ = None
        elif getattr(self, "best_loss_", None) is None:
            self.best_loss_ = np.inf
        validation = None
        if self.early_stopping:
            X, y, targets, weight, validation = self._hold_out(X, y, targets, weight)
            if self.validation_scores_ is None:
                self.validation_scores_, self.validation_loss_curve_ = [], []
                self.best_validation_score_ = -np.inf
        n = len(X)
        batch = min(200, n) if self.batch_size == "auto" else int(np.clip(self.batch_size, 1, n))
        if not incremental or not hasattr(self, "_optimizer"):   # each fit starts its optimizer afresh, as sklearn
            self._optimizer = self._make_optimizer()
        if self.solver == "sgd" and self.learning_rate == "invscaling":
            self._optimizer.schedule = InverseScaling(self.power_t, n, seen=self.t_)
        # alpha / n_batch, with n_batch counted in weight, so that a weight of 2 penalises as two examples do
        mean_weight = 1.0 if weight is None else float(weight.mean())
        self._optimizer.set_decay(self.alpha / (batch * mean_weight), self._weight_mask())
        rule = _EpochEnd(self, batch / n) if validation is None else _Validation(self, batch / n, *validation)
        history = self.network_.fit(
            X, self._fed(targets, incremental), epochs=1 if incremental else self.max_iter, batch_size=batch,
            optimizer=self._optimizer, shuffle=self.shuffle, seed=int(self._random.randint(2**31)),
            verbose=int(bool(self.verbose)), callbacks=[rule], sample_weight=weight)
        self.n_iter_ += history.epochs
        self.t_ += history.epochs * n
        self.loss_ = self.loss_curve_[-1]
        if not incremental and not rule.stopped and history.epochs == self.max_iter:
            warnings.warn(f"chainrule: maximum iterations ({self.max_iter}) reached and the optimization hasn't "
                          "converged yet.", ConvergenceWarning, stacklevel=4)
        return self

    def _make_optimizer(self):
        if self.solver == "adam":
            return _Adam(self.learning_rate_init, betas=(self.beta_1, self.beta_2), eps=self.epsilon)
        return _SGD(self.learning_rate_init, momentum=self.momentum,
                    nesterov=self.nesterovs_momentum and self.momentum > 0)

    def _no_improvement(self, optimizer) -> bool:
        """What scikit-learn does once more than ``n_iter_no_change`` epochs in a row have not improved: with
        ``learning_rate="adaptive"`` (sgd), divide the rate by 5 and go on, until it is at most 1e-6; otherwise,
        stop. True: stop."""
        if self.solver != "sgd" or self.learning_rate != "adaptive" or optimizer.lr <= SMALLEST_ADAPTIVE_RATE:
            return True
        optimizer.lr /= 5.0
        self._no_improvement_count = 0
        return False

    def _hold_out(self, X, y, targets, weight):
        """scikit-learn's split for early stopping (stratified for a classifier); returns the training part
        ``X, y, targets, weight`` and the held-out ``(X, y, targets, weight)``."""
        from sklearn.model_selection import train_test_split

        stratify = targets if isinstance(self, ClassifierMixin) else None
        parts = train_test_split(X, y, targets, *([] if weight is None else [weight]),
                                 test_size=self.validation_fraction, stratify=stratify,
                                 random_state=check_random_state(self.random_state).randint(2**31))
        if len(parts[1]) < 2:
            raise ValueError(f"validation_fraction={self.validation_fraction!r} holds out {len(parts[1])} of "
                             f"{len(X)} examples for early stopping; expected at least 2 (a larger fraction)")
        X, X_val, y, y_val, targets, targets_val = parts[:6]
        weight, weight_val = (None, None) if weight is None else parts[6:]
        return X, y, targets, weight, (X_val, y_val, targets_val, weight_val)

    def _weight_mask(self) -> np.ndarray:
        """1 where the network's flat parameter array holds a weight matrix, 0 where it holds a bias."""
        return weight_mask(self.network_).astype(self.network_.dtype)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train for up to ``max_iter`` epochs (fewer when the loss, or with ``early_stopping`` the held-out score,
        stops improving by ``tol``), or with ``solver="lbfgs"`` up to ``max_iter`` iterations and ``max_fun``
        evaluations over the whole data set. ``sample_weight: (n_samples,)`` weighs each example's loss; a weight
        of 2 counts the example twice."""
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

    @property
    def n_outputs_(self) -> int:
        """Output units: one per class (one in all for two classes), one per regression target."""
        return self.network_.out_features

    @property
    def out_activation_(self) -> str:
        """The output function under scikit-learn's name: ``"softmax"``, ``"logistic"``, ``"identity"``, ``"exp"``."""
        return OUT_ACTIVATION[self.network_.loss_fn.output]


SHARED = ("hidden_layer_sizes", "activation", "solver", "alpha", "batch_size", "learning_rate", "learning_rate_init",
          "power_t", "max_iter", "shuffle", "random_state", "tol", "verbose", "warm_start", "momentum",
          "nesterovs_momentum", "early_stopping", "validation_fraction", "beta_1", "beta_2", "epsilon",
          "n_iter_no_change", "max_fun", "dropout")


def _stochastic(model) -> bool:
    """scikit-learn offers ``partial_fit`` to a classifier with a stochastic solver only."""
    if model.solver not in ("sgd", "adam"):
        raise AttributeError(f"partial_fit is only available for the stochastic solvers 'sgd' and 'adam'; "
                             f"solver={model.solver!r} trains on the whole data set at once")
    return True


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """A multilayer perceptron classifier, trained by chainrule: softmax outputs and cross-entropy, or for two
    classes one logistic output and binary cross-entropy, as scikit-learn's.

    Parameters, fitted attributes and methods follow ``sklearn.neural_network.MLPClassifier``, plus ``dropout``
    and ``class_weight`` (``None``, ``"balanced"`` or ``{label: weight}``, as scikit-learn's other classifiers
    take it: it multiplies ``sample_weight``)."""

    _parameter_constraints = {**_BaseMLP._parameter_constraints,
                              "class_weight": [dict, StrOptions({"balanced"}), None]}

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001, power_t=0.5, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000, dropout=0.0, class_weight=None):
        given = locals()
        super().__init__(**{name: given[name] for name in SHARED})
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

    def _labels(self, proba):
        """The class of each row of the network's outputs ``(N, K)``, or ``(N, 1)`` with two classes (the second
        class's probability; ties go to the first class, as scikit-learn's threshold at 0.5 does)."""
        if proba.shape[1] == 1:
            return self.classes_[(proba[:, 0] > 0.5).astype(np.intp)]
        return self.classes_[np.argmax(proba, axis=1) % len(self.classes_)]

    def _score_outputs(self, outputs, y, weight):
        return float(np.average(self._labels(outputs) == column_or_1d(y), weights=weight))

    def _targets(self, y, first):
        check_classification_targets(y)
        if np.ndim(y) > 1 and np.shape(y)[1] > 1:
            raise ValueError("chainrule.MLPClassifier supports one label per sample, not multilabel targets.")
        y = column_or_1d(y, warn=True)
        if first:
            given = self.__dict__.pop("_classes_given", None)     # from partial_fit's first call
            self.classes_ = unique_labels(y) if given is None else given
            # two classes: one logistic unit, as scikit-learn's; a lone class (partial_fit) keeps two softmax units
            self._n_outputs = 1 if len(self.classes_) == 2 else max(len(self.classes_), 2)
            if given is None and len(self.classes_) < 2:
                raise ChainruleError(f"y: every sample is of one class ({self.classes_[0]}): expected labels of at "
                                     f"least 2 classes, since a classifier learns to tell classes apart")
        unknown = np.setdiff1d(y, self.classes_)
        if unknown.size:
            raise ValueError(f"y contains labels not seen in the first call: {unknown[:5].tolist()}; "
                             f"expected labels from {self.classes_.tolist()}")
        return np.searchsorted(self.classes_, y)

    def _head(self):
        return {"output": "sigmoid" if self._n_outputs == 1 else "softmax"}

    def _fed(self, targets, incremental):
        """Class indices; but one-hot rows for ``partial_fit``, whose chunk may hold a single class (every class
        was named up front), which ``fit`` refuses in indices and takes as given in rows. One logistic unit takes
        the index itself, 0 or 1, as its target."""
        if self.network_.out_features == 1:
            return targets.astype(self.network_.dtype).reshape(-1, 1)
        return np.eye(self._n_outputs, dtype=self.network_.dtype)[targets] if incremental else targets

    @available_if(_stochastic)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over ``X, y``; the first call needs ``classes``, every label there will ever be."""
        if not hasattr(self, "network_"):
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            self._classes_given = unique_labels(classes)
        return self._fit(X, y, incremental=True, sample_weight=sample_weight)

    def predict_proba(self, X):
        check_is_fitted(self, "network_")
        if self.network_.out_features == 1:
            # two classes: sigmoid(-z) and sigmoid(z) from the logit, so that neither is 1 - p, which rounds to 0
            z = self._logits(X)
            return np.hstack([sigmoid(-z), sigmoid(z)])
        proba = self._forward(X)
        return proba[:, :len(self.classes_)] if len(self.classes_) == 1 else proba

    def _logits(self, X, rows: int = 4096):
        """The network's raw outputs ``z: (N, K)``, in blocks of ``rows`` (its memory that of one block)."""
        check_is_fitted(self, "network_")
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        network = self.network_
        x = network.prepare(X.astype(network.dtype, copy=False))
        return np.concatenate([network._forward(x[i:i + rows]) for i in range(0, len(x), rows)] or
                              [np.empty((0, network.out_features), network.dtype)])

    def predict(self, X):
        return self._labels(self.predict_proba(X))

    def predict_log_proba(self, X):
        """``log(predict_proba(X))``, as scikit-learn's: -inf where a probability rounds to 0 (a full-batch fit on
        separable data can push logits that far apart)."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))


class MLPRegressor(RegressorMixin, _BaseMLP):
    """A multilayer perceptron regressor: identity outputs and half squared error, trained by chainrule.

    Parameters, fitted attributes and methods follow ``sklearn.neural_network.MLPRegressor``, ``loss="poisson"``
    (exp outputs and half the Poisson deviance, for counts and rates) included, plus ``dropout`` and the losses
    ``"absolute_error"`` and ``"huber"`` (squared within ``huber_epsilon`` of the target, absolute beyond; in the
    targets' units). ``epsilon`` is Adam's, as in scikit-learn."""

    _parameter_constraints = {**_BaseMLP._parameter_constraints,
                              "loss": [StrOptions({"squared_error", "poisson", "absolute_error", "huber"})],
                              "huber_epsilon": [Interval(Real, 0, None, closed="neither")]}

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001, power_t=0.5, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000, dropout=0.0, loss="squared_error",
                 huber_epsilon=1.35):
        given = locals()
        super().__init__(**{name: given[name] for name in SHARED})
        self.loss = loss
        self.huber_epsilon = huber_epsilon

    def _score_outputs(self, outputs, y, weight):
        from sklearn.metrics import r2_score
        return float(r2_score(y, outputs.ravel() if self._y_ndim == 1 else outputs, sample_weight=weight))

    def _targets(self, y, first):
        y = np.asarray(y, dtype=np.float64)
        if self.loss == "poisson" and np.any(y < 0):
            row, column = (np.argwhere(y.reshape(len(y), -1) < 0)[0]).tolist()
            raise ValueError(f"y: loss='poisson' expects counts or rates >= 0, found "
                             f"{y.reshape(len(y), -1)[row, column]} at row {row}")
        if first:
            self._y_ndim = y.ndim
            self._n_outputs = 1 if y.ndim == 1 else y.shape[1]
        return y.reshape(len(y), -1)

    def _head(self):
        if self.loss == "poisson":
            return {"output": "exp", "loss": ExpPoissonDeviance()}
        loss = {"squared_error": "half_squared_error", "absolute_error": AbsoluteError(),
                "huber": Huber(self.huber_epsilon)}[self.loss]
        return {"output": "identity", "loss": loss}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over ``X, y`` (the network is made on the first call). With ``solver="lbfgs"``, as in
        scikit-learn, one full lbfgs run on the chunk from the weights it has."""
        return self._fit(X, y, incremental=True, sample_weight=sample_weight)

    def predict(self, X):
        out = self._forward(X)
        return out.ravel() if self._y_ndim == 1 else out
