"""scikit-learn estimators: ``MLPClassifier`` and ``MLPRegressor``, a thin face over chainrule's engine and fit.

They take scikit-learn's own MLP parameter names, validate them declaratively when ``fit`` starts, and train with
``chainrule.fit``: the same layers, optimizers and loop as everything else. ``alpha`` is scikit-learn's L2 penalty,
``alpha / (2 n_batch) ||W||^2`` per batch, so it enters as weight decay ``alpha / n_batch`` (chainrule applies it to
the biases too, where scikit-learn leaves them out). ``max_iter`` counts epochs.
"""

import warnings
from numbers import Integral, Real

import numpy as np

from .extras import require

require("sklearn", "sklearn", "chainrule's scikit-learn estimators")

from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.utils import check_random_state  # noqa: E402
from sklearn.utils._param_validation import Interval, StrOptions  # noqa: E402
from sklearn.utils.multiclass import check_classification_targets, unique_labels  # noqa: E402
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data  # noqa: E402

from .callbacks import EarlyStopping  # noqa: E402
from .layers import Dense  # noqa: E402
from .network import mlp  # noqa: E402
from .optimizers import SGD, Adam  # noqa: E402
from .training import Callback  # noqa: E402

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


class _BaseMLP(BaseEstimator):
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
    }

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate_init=0.001, max_iter=200, momentum=0.9, nesterovs_momentum=True,
                 shuffle=True, random_state=None, tol=1e-4, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=10, verbose=False, warm_start=False):
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

    # --- what the classifier and the regressor do differently ------------------------------------------------
    def _targets(self, y, first: bool):
        raise NotImplementedError

    def _head(self) -> dict:
        raise NotImplementedError

    # --- training --------------------------------------------------------------------------------------------
    def _hidden(self) -> list[int]:
        sizes = np.atleast_1d(self.hidden_layer_sizes)
        if sizes.ndim != 1 or not np.all(sizes >= 1) or not np.issubdtype(sizes.dtype, np.integer):
            raise ValueError(f"hidden_layer_sizes must be positive integers, got {self.hidden_layer_sizes!r}.")
        return [int(s) for s in sizes]

    def _fit(self, X, y, incremental: bool):
        first = not (incremental or self.warm_start) or not hasattr(self, "network_")
        X, y = validate_data(self, X, y, reset=first, dtype=[np.float64, np.float32], multi_output=True,
                             y_numeric=not isinstance(self, ClassifierMixin))
        targets = self._targets(y, first)
        n = len(X)
        batch = min(200, n) if self.batch_size == "auto" else int(np.clip(self.batch_size, 1, n))
        if first:
            self._random = check_random_state(self.random_state)
            self.network_ = mlp([X.shape[1], *self._hidden(), self._n_outputs], ACTIVATION[self.activation],
                                dtype=X.dtype, seed=np.random.default_rng(self._random.randint(2**31)), **self._head())
            decay = self.alpha / batch
            self._optimizer = Adam(self.learning_rate_init, weight_decay=decay) if self.solver == "adam" else \
                SGD(self.learning_rate_init, momentum=self.momentum, weight_decay=decay,
                    nesterov=self.nesterovs_momentum and self.momentum > 0)
            self.loss_curve_, self.n_iter_, self.t_ = [], 0, 0
        plateau = _StopOnPlateau(self.tol, self.n_iter_no_change, min(self.loss_curve_, default=np.inf))
        callbacks = [] if incremental else [plateau]
        if self.early_stopping and not incremental:
            callbacks = [EarlyStopping("val_accuracy" if isinstance(self, ClassifierMixin) else "val_loss",
                                       patience=self.n_iter_no_change - 1, min_delta=self.tol)]
        history = self.network_.fit(
            X, targets, epochs=1 if incremental else self.max_iter, batch_size=batch, optimizer=self._optimizer,
            validation_split=self.validation_fraction if self.early_stopping and not incremental else 0.0,
            shuffle=self.shuffle, seed=int(self._random.randint(2**31)), verbose=int(bool(self.verbose)),
            callbacks=callbacks)
        self.loss_curve_ += history["loss"]
        self.n_iter_ += history.epochs
        self.t_ += history.epochs * n
        self.loss_ = self.loss_curve_[-1]
        self.best_loss_ = min(self.loss_curve_)
        stopped = plateau.stopped or any(getattr(c, "stopped_epoch", None) is not None for c in callbacks)
        if not incremental and not stopped and history.epochs == self.max_iter:
            warnings.warn(f"chainrule: maximum iterations ({self.max_iter}) reached and the optimization hasn't "
                          "converged yet.", ConvergenceWarning, stacklevel=3)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train for up to ``max_iter`` epochs (fewer when the loss stops improving by ``tol``)."""
        return self._fit(X, y, incremental=False)

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

    Parameters, fitted attributes and methods follow ``sklearn.neural_network.MLPClassifier``."""

    def _targets(self, y, first):
        check_classification_targets(y)
        if np.ndim(y) > 1 and np.shape(y)[1] > 1:
            raise ValueError("chainrule.MLPClassifier supports one label per sample, not multilabel targets.")
        y = column_or_1d(y, warn=True)
        if first:
            given = self.__dict__.pop("_classes_given", None)     # from partial_fit's first call
            self.classes_ = unique_labels(y) if given is None else given
            self._n_outputs = max(len(self.classes_), 2)
        unknown = np.setdiff1d(y, self.classes_)
        if unknown.size:
            raise ValueError(f"y contains labels not seen in the first call: {unknown[:5].tolist()}; "
                             f"expected labels from {self.classes_.tolist()}")
        return np.searchsorted(self.classes_, y)

    def _head(self):
        return {"output": "softmax"}

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None):
        """One epoch over ``X, y``; the first call needs ``classes``, every label there will ever be."""
        if not hasattr(self, "network_"):
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            self._classes_given = unique_labels(classes)
        return self._fit(X, y, incremental=True)

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

    Parameters, fitted attributes and methods follow ``sklearn.neural_network.MLPRegressor``."""

    def _targets(self, y, first):
        y = np.asarray(y, dtype=np.float64)
        if first:
            self._y_ndim = y.ndim
            self._n_outputs = 1 if y.ndim == 1 else y.shape[1]
        return y.reshape(len(y), -1)

    def _head(self):
        return {"output": "identity", "loss": "half_squared_error"}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y):
        """One epoch over ``X, y`` (the network is made on the first call)."""
        return self._fit(X, y, incremental=True)

    def predict(self, X):
        out = self._forward(X)
        return out.ravel() if self._y_ndim == 1 else out
