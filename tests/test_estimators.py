"""The scikit-learn estimators: scikit-learn's own estimator checks, pipelines, grid search, accuracy."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from chainrule import MLPClassifier, MLPRegressor

SMALL = dict(hidden_layer_sizes=(16,), max_iter=200, learning_rate_init=0.01, random_state=0)


@parametrize_with_checks([MLPClassifier(**SMALL), MLPRegressor(**SMALL), MLPClassifier(solver="lbfgs", **SMALL),
                          MLPRegressor(solver="lbfgs", **SMALL)])
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)


def pipeline(estimator):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), estimator)


def test_digits_accuracy_matches_scikit_learns_own_mlp(digits):
    from sklearn.neural_network import MLPClassifier as SkMLP

    X_train, X_test, y_train, y_test = digits
    settings = dict(hidden_layer_sizes=(64,), max_iter=50, random_state=0, learning_rate_init=1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = pipeline(MLPClassifier(**settings)).fit(X_train, y_train).score(X_test, y_test)
        theirs = pipeline(SkMLP(**settings)).fit(X_train, y_train).score(X_test, y_test)
    assert ours > 0.95 and abs(ours - theirs) <= 0.01, (ours, theirs)


def test_grid_search_in_parallel_with_joblib(digits):
    from sklearn.model_selection import GridSearchCV

    X_train, _, y_train, _ = digits
    search = GridSearchCV(pipeline(MLPClassifier(max_iter=30, learning_rate_init=0.01, random_state=0)),
                          {"mlpclassifier__hidden_layer_sizes": [(16,), (32,)], "mlpclassifier__alpha": [1e-4, 1e-2]},
                          cv=2, n_jobs=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X_train[:600], y_train[:600])
    assert len(search.cv_results_["params"]) == 4 and search.best_score_ > 0.85


def test_partial_fit_and_fitted_attributes(digits):
    X_train, X_test, y_train, y_test = digits
    model = MLPClassifier(hidden_layer_sizes=(32, 16), learning_rate_init=0.01, random_state=0)
    for _ in range(5):
        model.partial_fit(X_train / 16, y_train, classes=np.arange(10))
    assert model.n_iter_ == 5 and len(model.loss_curve_) == 5 and model.score(X_test / 16, y_test) > 0.8
    assert [c.shape for c in model.coefs_] == [(64, 32), (32, 16), (16, 10)]
    assert [b.shape for b in model.intercepts_] == [(32,), (16,), (10,)]
    assert model.n_features_in_ == 64 and list(model.classes_) == list(range(10))
    with pytest.raises(ValueError, match="not seen in the first call"):
        model.partial_fit(X_train[:5] / 16, np.full(5, 11))


def test_fit_refuses_one_class_and_partial_fit_takes_a_chunk_of_one():
    """fit on labels of one class is refused by the label (scikit-learn's estimator checks accept a refusal that
    says "one class"); a partial_fit chunk of one class is ordinary incremental learning, the classes given."""
    X = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(ValueError, match=r"y: every sample is of one class \(cat\): expected labels of at least 2"):
        MLPClassifier(**SMALL).fit(X, np.array(["cat"] * 20))
    model = MLPClassifier(**SMALL)
    model.partial_fit(X[:10], ["cat"] * 10, classes=["cat", "dog"])
    model.partial_fit(X[10:], ["dog"] * 10)
    assert model.n_iter_ == 2 and list(model.classes_) == ["cat", "dog"]
    y = np.where(X[:, 0] > 0, "dog", "cat")           # one-hot rows train bit for bit as class indices did
    rows = MLPClassifier(**SMALL).partial_fit(X, y, classes=["cat", "dog"])
    indices = MLPClassifier(**SMALL)
    indices._fed = lambda targets, incremental: targets
    indices.partial_fit(X, y, classes=["cat", "dog"])
    assert all(np.array_equal(a, b) for a, b in zip(rows.coefs_ + rows.intercepts_,
                                                     indices.coefs_ + indices.intercepts_, strict=True))


def test_regressor_fits_a_curve():
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, size=(400, 1))
    y = np.sin(2 * X[:, 0])
    model = MLPRegressor(hidden_layer_sizes=(32,), activation="tanh", max_iter=300, learning_rate_init=0.01,
                         random_state=0).fit(X, y)
    assert model.score(X, y) > 0.95 and model.predict(X).shape == (400,)


def test_early_stopping_and_tol_stop_before_max_iter(digits):
    X_train, _, y_train, _ = digits
    model = MLPClassifier(hidden_layer_sizes=(32,), max_iter=500, early_stopping=True, n_iter_no_change=3,
                          random_state=0).fit(X_train / 16, y_train)
    assert model.n_iter_ < 500


def test_estimator_is_the_engine(digits):
    """The estimator trains chainrule's own network: its predictions are the network's."""
    X_train, X_test, y_train, _ = digits
    model = MLPClassifier(hidden_layer_sizes=(16,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train / 16, y_train)
    np.testing.assert_array_equal(model.predict_proba(X_test / 16), model.network_.predict_proba(X_test / 16))


def test_grid_search_on_a_local_dask_cluster(digits):
    from dask import distributed      # the dist extra: installed by make test, so missing it must fail
    import joblib
    from sklearn.model_selection import GridSearchCV

    X_train, _, y_train, _ = digits
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  host="127.0.0.1") as cluster, distributed.Client(cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        search = GridSearchCV(pipeline(MLPClassifier(max_iter=30, learning_rate_init=0.01, random_state=0)),
                              {"mlpclassifier__hidden_layer_sizes": [(8,), (16,)]}, cv=2)
        with warnings.catch_warnings(), joblib.parallel_backend("dask"):
            warnings.simplefilter("ignore", ConvergenceWarning)
            search.fit(X_train[:400], y_train[:400])
    assert len(search.cv_results_["params"]) == 2 and search.best_score_ > 0.7


# --- what chainrule's estimators add over scikit-learn's MLP ------------------------------------------------------
from chainrule.errors import ChainruleError  # noqa: E402

FULL_BATCH = dict(hidden_layer_sizes=(8,), max_iter=30, learning_rate_init=0.01, random_state=0, tol=0,
                  shuffle=False)


def quiet(fit, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit(*args, **kwargs)


@pytest.mark.parametrize("make", [lambda: MLPClassifier(**FULL_BATCH, alpha=1e-2),
                                  lambda: MLPRegressor(**FULL_BATCH, alpha=1e-2, loss="huber", huber_epsilon=0.5)])
def test_sample_weight_two_equals_the_example_twice(make):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 5))
    y = (X[:, 0] > 0).astype(int) if isinstance(make(), MLPClassifier) else X @ rng.normal(size=5)
    w = rng.integers(0, 4, size=40)
    w[:2] = [1, 2]
    repeat = np.repeat(np.arange(40), w)
    weighted = quiet(make().fit, X, y, sample_weight=w.astype(float))
    repeated = quiet(make().fit, X[repeat], y[repeat])
    for a, b in zip(weighted.coefs_ + weighted.intercepts_, repeated.coefs_ + repeated.intercepts_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(weighted.loss_curve_, repeated.loss_curve_, rtol=1e-9)
    assert weighted.score(X, y, sample_weight=w) == pytest.approx(repeated.score(X[repeat], y[repeat]), rel=1e-12)
    one_by_one = make()
    one_by_one.partial_fit(X, y, sample_weight=w, **({"classes": [0, 1]} if isinstance(one_by_one, MLPClassifier)
                                                      else {}))
    repeated_once = make()
    repeated_once.partial_fit(X[repeat], y[repeat], **({"classes": [0, 1]} if isinstance(one_by_one, MLPClassifier)
                                                      else {}))
    np.testing.assert_allclose(one_by_one.coefs_[0], repeated_once.coefs_[0], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("bad, message", [(np.ones(39), "shape \\(40,\\)"), (np.r_[-1.0, np.ones(39)], "row 0"),
                                          (np.r_[np.ones(5), np.nan, np.ones(34)], "found nan at row 5")])
def test_bad_sample_weights_are_refused(bad, message):
    X, y = np.random.default_rng(0).normal(size=(40, 3)), np.arange(40) % 2
    for model in (MLPClassifier(max_iter=2), MLPRegressor(max_iter=2)):
        with pytest.raises(ChainruleError, match=message):
            quiet(model.fit, X, y, sample_weight=bad)


def test_class_weight_balanced_dict_and_bad_names():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 2))
    y = np.where(X[:, 0] + 0.8 * rng.normal(size=400) > 1.4, "rare", "common")      # about 10% rare
    settings = dict(hidden_layer_sizes=(8,), max_iter=60, learning_rate_init=0.01, random_state=0)
    plain = quiet(MLPClassifier(**settings).fit, X, y)
    balanced = quiet(MLPClassifier(**settings, class_weight="balanced").fit, X, y)
    recall = [np.mean(m.predict(X[y == "rare"]) == "rare") for m in (plain, balanced)]
    assert recall[1] > recall[0] + 0.2, recall
    # a dict weighs as the same sample weights would, bit for bit
    by_dict = quiet(MLPClassifier(**settings, class_weight={"rare": 5.0}).fit, X, y)
    by_weight = quiet(MLPClassifier(**settings).fit, X, y, sample_weight=np.where(y == "rare", 5.0, 1.0))
    np.testing.assert_array_equal(by_dict.coefs_[0], by_weight.coefs_[0])
    with pytest.raises(ChainruleError, match="class_weight: names the class 'rrae', which is not among the classes"):
        MLPClassifier(class_weight={"rrae": 2.0}).fit(X, y)
    with pytest.raises(ChainruleError, match="partial_fit cannot use it"):
        MLPClassifier(class_weight="balanced").partial_fit(X, y, classes=["common", "rare"])


def test_validation_scores_and_loss_curve_with_early_stopping(digits):
    from sklearn.model_selection import train_test_split
    from sklearn.utils import check_random_state

    X_train, _, y_train, _ = digits
    model = MLPClassifier(hidden_layer_sizes=(32,), max_iter=200, early_stopping=True, n_iter_no_change=3,
                          random_state=0).fit(X_train / 16, y_train)
    assert model.n_iter_ < 200
    assert len(model.validation_scores_) == len(model.validation_loss_curve_) == len(model.loss_curve_)
    assert model.best_validation_score_ == max(model.validation_scores_) and model.best_loss_ is None
    # the held-out part, drawn as the estimator draws it: the best epoch's weights are the ones kept
    _, X_val, _, y_val = train_test_split(X_train / 16, y_train, test_size=0.1, stratify=y_train,
                                          random_state=check_random_state(0).randint(2**31))
    assert model.score(X_val, y_val) == model.best_validation_score_
    best = int(np.argmax(model.validation_scores_))
    log_loss = -np.mean(np.log(model.predict_proba(X_val)[np.arange(len(y_val)), y_val]))
    assert log_loss == pytest.approx(model.validation_loss_curve_[best], rel=1e-6)
    plain = quiet(MLPRegressor(max_iter=3).fit, X_train, y_train.astype(float))
    assert plain.validation_scores_ is None and plain.best_validation_score_ is None
    assert plain.validation_loss_curve_ is None


def test_regressor_early_stopping_scores_are_r2():
    rng = np.random.default_rng(1)
    X = rng.uniform(-2, 2, size=(300, 1))
    y = np.sin(2 * X[:, 0])
    model = quiet(MLPRegressor(hidden_layer_sizes=(32,), activation="tanh", max_iter=300, learning_rate_init=0.01,
                               early_stopping=True, n_iter_no_change=50, random_state=0).fit, X, y)
    assert 0.9 < model.best_validation_score_ <= 1 and model.validation_scores_[0] < model.best_validation_score_


def test_transform_gives_the_last_hidden_layer_as_features(digits):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    X_train, X_test, y_train, y_test = digits
    model = MLPClassifier(hidden_layer_sizes=(32, 12), max_iter=20, random_state=0, dropout=0.1)
    features = quiet(model.fit_transform, X_train / 16, y_train)
    assert features.shape == (len(X_train), 12) and features.min() >= 0
    # by hand from the fitted weights: relu(relu(X W0 + b0) W1 + b1)
    relu = lambda a: np.maximum(a, 0)     # noqa: E731
    by_hand = relu(relu(X_test / 16 @ model.coefs_[0] + model.intercepts_[0]) @ model.coefs_[1] + model.intercepts_[1])
    np.testing.assert_allclose(model.transform(X_test / 16), by_hand, rtol=1e-10, atol=1e-12)
    assert list(model.get_feature_names_out()) == [f"mlpclassifier{i}" for i in range(12)]
    pipe = make_pipeline(MLPClassifier(hidden_layer_sizes=(32,), max_iter=30, random_state=0),
                         LogisticRegression(max_iter=500))
    assert quiet(pipe.fit, X_train / 16, y_train).score(X_test / 16, y_test) > 0.9


def test_robust_regression_losses_ignore_outliers():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(300, 1))
    y = 2 * X[:, 0] + 0.05 * rng.normal(size=300)
    y_dirty = y.copy()
    y_dirty[::10] += 20                                             # one target in ten is wildly wrong
    errors = {}
    for loss in ("squared_error", "absolute_error", "huber"):
        model = quiet(MLPRegressor(hidden_layer_sizes=(16,), loss=loss, huber_epsilon=0.2, max_iter=150,
                                   learning_rate_init=0.01, random_state=0).fit, X, y_dirty)
        errors[loss] = np.mean(np.abs(model.predict(X) - y))
        assert type(model.network_.loss_fn).__name__ == {"squared_error": "HalfSquaredError",
                                                         "absolute_error": "AbsoluteError", "huber": "Huber"}[loss]
    assert errors["absolute_error"] < errors["squared_error"] / 4 and errors["huber"] < errors["squared_error"] / 4
    with pytest.raises(ValueError, match="huber_epsilon"):
        MLPRegressor(loss="huber", huber_epsilon=0).fit(X, y)


def test_dropout_layers_train_and_predict_deterministically(digits):
    X_train, X_test, y_train, y_test = digits
    model = quiet(MLPClassifier(hidden_layer_sizes=(64,), dropout=0.3, max_iter=40, random_state=0).fit,
                  X_train / 16, y_train)
    assert "64 relu dropout 0.3" in repr(model.network_)
    np.testing.assert_array_equal(model.predict_proba(X_test), model.predict_proba(X_test))
    assert model.score(X_test / 16, y_test) > 0.9


def test_alpha_penalises_weights_and_not_biases():
    """One plain-SGD step: alpha moves every weight by lr * alpha / n_batch * w and no bias at all."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(50, 4)), np.arange(50) % 3
    steps = {}
    for alpha in (0.0, 5.0):
        model = MLPClassifier(hidden_layer_sizes=(6,), solver="sgd", momentum=0, learning_rate_init=0.1,
                              alpha=alpha, random_state=0, shuffle=False)
        model.partial_fit(X, y, classes=[0, 1, 2])
        steps[alpha] = model
    start = MLPClassifier(hidden_layer_sizes=(6,), solver="sgd", momentum=0, learning_rate_init=1e-300,
                          random_state=0)
    start.partial_fit(X, y, classes=[0, 1, 2])     # same seed, a step too small to move: the initial weights
    np.testing.assert_allclose(steps[0.0].coefs_[0] - steps[5.0].coefs_[0], 0.1 * 5.0 / 50 * start.coefs_[0],
                               rtol=1e-9, atol=1e-12)
    # every parameter 1 and a zero gradient: the step is the penalty alone, on the weights, never on the biases
    model = steps[5.0]
    flat, grads = model.network_.flat_parameters()
    flat[...], grads[...] = 1.0, 0.0
    model._optimizer.step({"all": flat}, {"all": grads})
    for coef, intercept in zip(model.coefs_, model.intercepts_, strict=True):
        np.testing.assert_array_equal(coef, np.full(coef.shape, 1 - 0.1 * 5.0 / 50))
        np.testing.assert_array_equal(intercept, np.ones(intercept.shape))


def test_learning_curve_follows_scikit_learns_on_digits():
    """Equal settings and seeds: the same initial weights (chainrule draws them as scikit-learn does) and the same
    steps, so every epoch's training loss, penalty included, is within 5% of scikit-learn's; only the shuffled order
    of the batches differs (0.8% measured)."""
    from sklearn.datasets import load_digits
    from sklearn.neural_network import MLPClassifier as SkMLP
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    settings = dict(hidden_layer_sizes=(64,), max_iter=30, random_state=0, alpha=1e-4, learning_rate_init=1e-3, tol=0)
    ours = np.array(quiet(MLPClassifier(**settings).fit, X, y).loss_curve_)
    theirs = np.array(quiet(SkMLP(**settings).fit, X, y).loss_curve_)
    assert len(ours) == len(theirs) == 30
    gap = np.max(np.abs(ours - theirs) / theirs)
    print(f"\nlargest gap between the learning curves on digits: {gap:.1%} of scikit-learn's loss")
    assert gap < 0.05


# --- scikit-learn's full-batch solver, learning-rate schedules and fitted attributes ------------------------------
from sklearn.neural_network import MLPClassifier as SkClassifier  # noqa: E402
from sklearn.neural_network import MLPRegressor as SkRegressor  # noqa: E402

from chainrule import objective  # noqa: E402


def iris():
    from sklearn.datasets import load_iris
    from sklearn.preprocessing import StandardScaler

    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


class CountedSk(SkClassifier):
    """scikit-learn's MLP, counting the evaluations of its lbfgs objective."""

    calls = 0

    def _loss_grad_lbfgs(self, *args):
        CountedSk.calls += 1
        return super()._loss_grad_lbfgs(*args)


@pytest.mark.parametrize("max_fun, max_iter", [(5, 1000), (20, 1000), (15000, 3)])
def test_lbfgs_stops_at_max_fun_and_max_iter_as_scikit_learns(monkeypatch, max_fun, max_iter):
    """L-BFGS-B ends the iteration it is in when it passes ``max_fun`` evaluations, or after ``max_iter``
    iterations; ``n_iter_`` counts iterations; both warn that they did not converge. Measured beside scikit-learn's
    own fit (the initial weights differ, so the counts may differ by a line search's evaluations)."""
    X, y = iris()
    counted = []
    call = objective.Objective.__call__
    monkeypatch.setattr(objective.Objective, "__call__", lambda f, theta: (counted.append(1), call(f, theta))[1])
    settings = dict(solver="lbfgs", hidden_layer_sizes=(10,), max_fun=max_fun, max_iter=max_iter, random_state=0)
    CountedSk.calls = 0
    with pytest.warns(ConvergenceWarning):
        theirs = CountedSk(**settings).fit(X, y)
    with pytest.warns(ConvergenceWarning, match=r"lbfgs stopped after \d+ iteration\(s\) and \d+ function"):
        ours = MLPClassifier(**settings).fit(X, y)
    print(f"\nmax_fun={max_fun}, max_iter={max_iter}: evaluations {len(counted)} (scikit-learn {CountedSk.calls}), "
          f"n_iter_ {ours.n_iter_} (scikit-learn {theirs.n_iter_})")
    for evaluations, n_iter in ((len(counted), ours.n_iter_), (CountedSk.calls, theirs.n_iter_)):
        if max_iter < 1000:
            assert n_iter == max_iter and evaluations < max_fun
        else:
            assert max_fun <= evaluations <= max_fun + 4 and n_iter < evaluations


def test_lbfgs_fitted_attributes_are_scikit_learns():
    """No loss curve and no t_ for the full-batch solver, as scikit-learn; loss_ is the final objective, penalty
    included; the fit is far better than chance and near scikit-learn's."""
    X, y = iris()
    settings = dict(solver="lbfgs", hidden_layer_sizes=(10,), alpha=1e-3, max_iter=300, random_state=0)
    ours, theirs = quiet(MLPClassifier(**settings).fit, X, y), quiet(SkClassifier(**settings).fit, X, y)
    for model in (ours, theirs):
        assert not hasattr(model, "loss_curve_") and not hasattr(model, "best_loss_") and model.t_ == 0
        assert model.out_activation_ == "softmax" and model.n_outputs_ == 3 and model.n_layers_ == 3
    assert [c.shape for c in ours.coefs_] == [c.shape for c in theirs.coefs_]
    assert ours.score(X, y) > 0.95 and abs(ours.score(X, y) - theirs.score(X, y)) <= 0.03
    f = objective.Objective(ours.network_, X, np.eye(3)[y], l2=1e-3 / len(X))
    assert ours.loss_ == pytest.approx(f(ours.network_.flat_parameters()[0].copy())[0], rel=1e-9)
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit") and hasattr(MLPClassifier(), "partial_fit")
    assert not hasattr(SkClassifier(solver="lbfgs"), "partial_fit")


def test_lbfgs_with_sample_weights_equals_the_rows_repeated():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    w = rng.integers(1, 4, size=40)
    repeat = np.repeat(np.arange(40), w)
    settings = dict(solver="lbfgs", hidden_layer_sizes=(6,), alpha=0.1, max_iter=15, random_state=0)
    weighted = quiet(MLPClassifier(**settings).fit, X, y, sample_weight=w.astype(float))
    repeated = quiet(MLPClassifier(**settings).fit, X[repeat], y[repeat])
    assert weighted.n_iter_ == repeated.n_iter_ and weighted.loss_ == pytest.approx(repeated.loss_, rel=1e-9)
    for a, b in zip(weighted.coefs_ + weighted.intercepts_, repeated.coefs_ + repeated.intercepts_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)


def test_lbfgs_refuses_dropout_and_the_regressor_continues_on_a_chunk():
    X, y = iris()
    with pytest.raises(ValueError, match=r"dropout=0.2: solver='lbfgs' minimises one fixed function"):
        MLPClassifier(solver="lbfgs", dropout=0.2).fit(X, y)
    model = MLPRegressor(solver="lbfgs", hidden_layer_sizes=(5,), max_iter=5, random_state=0)
    quiet(model.partial_fit, X, y.astype(float))
    first = model.coefs_[0].copy()
    quiet(model.partial_fit, X, y.astype(float))          # lbfgs again, from the weights it has (as scikit-learn)
    assert not np.array_equal(first, model.coefs_[0]) and model.n_iter_ == 5


def full_batch_start(**settings):
    """The estimator's initial flat parameters: the same seed with a step far too small to move them."""
    X, y = iris()
    start = MLPClassifier(**{**settings, "learning_rate_init": 1e-300})
    start.partial_fit(X, y, classes=[0, 1, 2])
    return X, y, start.network_


def by_hand(network, X, y, theta, alpha):
    """The gradient of scikit-learn's full-batch objective at theta, from the engine (``objective.Objective``)."""
    return objective.Objective(network, X, np.eye(3)[y], l2=alpha / len(X))(theta)[1]


def test_invscaling_steps_by_hand():
    """Full-batch SGD with learning_rate="invscaling": epoch e steps with learning_rate_init / (e n + 1)^power_t,
    n = 150 examples an epoch, scikit-learn's t_ counting."""
    settings = dict(hidden_layer_sizes=(5,), solver="sgd", batch_size=150, shuffle=False, momentum=0, alpha=1e-3,
                    random_state=0)
    X, y, network = full_batch_start(**settings)
    theta = network.flat_parameters()[0].copy()
    for epoch in range(3):
        theta = theta - 0.5 / (epoch * 150 + 1) ** 0.25 * by_hand(network, X, y, theta, 1e-3)
    model = quiet(MLPClassifier(**settings, learning_rate="invscaling", power_t=0.25, learning_rate_init=0.5,
                                max_iter=3, tol=0).fit, X, y)
    np.testing.assert_allclose(model.network_.flat_parameters()[0], theta, rtol=1e-9, atol=1e-12)
    assert model.t_ == 450 and model.n_iter_ == 3


def test_adam_betas_and_epsilon_steps_by_hand():
    """Two full-batch Adam steps with beta_1=0.5, beta_2=0.75, epsilon=0.1, in scikit-learn's form: the bias
    corrections in the step size, epsilon beside sqrt(v)."""
    settings = dict(hidden_layer_sizes=(5,), batch_size=150, shuffle=False, alpha=1e-3, random_state=0)
    X, y, network = full_batch_start(**settings, solver="sgd", momentum=0)
    theta = network.flat_parameters()[0].copy()
    m = v = 0
    for t in (1, 2):
        g = by_hand(network, X, y, theta, 1e-3)
        m, v = 0.5 * m + 0.5 * g, 0.75 * v + 0.25 * g * g
        theta = theta - 0.01 * np.sqrt(1 - 0.75**t) / (1 - 0.5**t) * m / (np.sqrt(v) + 0.1)
    model = quiet(MLPClassifier(**settings, solver="adam", beta_1=0.5, beta_2=0.75, epsilon=0.1,
                                learning_rate_init=0.01, max_iter=2, tol=0).fit, X, y)
    np.testing.assert_allclose(model.network_.flat_parameters()[0], theta, rtol=1e-9, atol=1e-12)


def test_adaptive_rate_divides_by_five_and_stops_as_scikit_learns():
    """With tol too large for any epoch to count as improving, every n_iter_no_change + 1 = 3 epochs divide the rate
    by 5: 0.01 / 5^6 = 6.4e-7 after epoch 19, at most 1e-6, so epoch 22 stops training. scikit-learn's own MLP
    stops at the same epoch with the same rate."""
    X, y = iris()
    settings = dict(hidden_layer_sizes=(5,), solver="sgd", learning_rate="adaptive", learning_rate_init=0.01,
                    tol=1e9, n_iter_no_change=2, max_iter=100, random_state=0)
    ours, theirs = MLPClassifier(**settings).fit(X, y), SkClassifier(**settings).fit(X, y)
    assert ours.n_iter_ == theirs.n_iter_ == 22
    assert ours._optimizer.lr == pytest.approx(0.01 / 5**6, rel=1e-12)
    assert theirs._optimizer.learning_rate == pytest.approx(0.01 / 5**6, rel=1e-12)
    assert len(ours.loss_curve_) == 22 and ours.best_loss_ == min(ours.loss_curve_) and ours.t_ == 22 * 150
    constant = MLPClassifier(**{**settings, "learning_rate": "constant"}).fit(X, y)
    assert constant.n_iter_ == 4                              # the third epoch without improvement stops it


def test_two_classes_have_one_logistic_output_as_scikit_learns():
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    labels = np.where(y == 1, "benign", "malignant")
    settings = dict(hidden_layer_sizes=(8,), max_iter=200, solver="lbfgs", random_state=0)
    ours, theirs = quiet(MLPClassifier(**settings).fit, X, labels), quiet(SkClassifier(**settings).fit, X, labels)
    for model in (ours, theirs):
        assert model.out_activation_ == "logistic" and model.n_outputs_ == 1
        assert [c.shape for c in model.coefs_] == [(30, 8), (8, 1)]
    proba = ours.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(ours.predict(X), ours.classes_[(proba[:, 1] > 0.5).astype(int)])
    assert ours.score(X, labels) > 0.97 and abs(ours.score(X, labels) - theirs.score(X, labels)) <= 0.02
    logit = (np.maximum(X @ ours.coefs_[0] + ours.intercepts_[0], 0) @ ours.coefs_[1] + ours.intercepts_[1])[:, 0]
    with np.errstate(over="ignore"):                       # e^-z overflows for the surest benign rows: p = 0
        np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-logit)), rtol=1e-9, atol=1e-300)


def test_poisson_regression_as_scikit_learns():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(400, 3))
    y = rng.poisson(np.exp(1 + X @ np.array([0.5, -0.8, 0.3]))).astype(float)
    settings = dict(loss="poisson", hidden_layer_sizes=(8,), solver="lbfgs", max_iter=200, random_state=0)
    ours, theirs = quiet(MLPRegressor(**settings).fit, X, y), quiet(SkRegressor(**settings).fit, X, y)
    assert ours.out_activation_ == theirs.out_activation_ == "exp" and ours.predict(X).min() > 0
    assert abs(ours.score(X, y) - theirs.score(X, y)) < 0.05, (ours.score(X, y), theirs.score(X, y))
    with pytest.raises(ValueError, match=r"y: loss='poisson' expects counts or rates >= 0, found -1.0 at row 2"):
        MLPRegressor(loss="poisson").fit(X[:4], [1.0, 0.0, -1.0, 2.0])


def test_fitted_attributes_of_the_stochastic_solvers_are_scikit_learns():
    X, y = iris()
    settings = dict(hidden_layer_sizes=(5,), max_iter=3, random_state=0)
    ours, theirs = quiet(MLPClassifier(**settings).fit, X, y), quiet(SkClassifier(**settings).fit, X, y)
    for model in (ours, theirs):
        assert model.t_ == 450 and model.n_iter_ == 3 and len(model.loss_curve_) == 3
        assert model.best_loss_ == min(model.loss_curve_) and model.loss_ == model.loss_curve_[-1]
    stopped = quiet(MLPClassifier(**settings, early_stopping=True).fit, X, y)
    assert stopped.best_loss_ is None and stopped.t_ == 3 * 135               # 10% held out
    with pytest.raises(ValueError, match="partial_fit: early_stopping=True needs a held-out part"):
        MLPClassifier(early_stopping=True).partial_fit(X, y, classes=[0, 1, 2])
    regressor = quiet(MLPRegressor(**settings).fit, X, X[:, 0])
    assert regressor.out_activation_ == "identity" and regressor.n_outputs_ == 1


def test_hubers_threshold_given_as_adams_epsilon_is_refused():
    """scikit-learn's epsilon is Adam's; chainrule's Huber threshold is huber_epsilon. epsilon=0.5 with loss='huber'
    alone is most likely meant for Huber: refused, naming both, rather than trained silently with Adam's."""
    X, y = np.random.default_rng(0).normal(size=(30, 3)), np.random.default_rng(1).normal(size=30)
    with pytest.raises(ValueError, match=r"epsilon=0.5 with loss='huber': epsilon is Adam's, as in scikit-learn; "
                                         r"Huber's threshold is huber_epsilon"):
        MLPRegressor(loss="huber", epsilon=0.5, max_iter=2).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        MLPRegressor(loss="huber", huber_epsilon=0.5, max_iter=2).fit(X, y)
        MLPRegressor(loss="huber", huber_epsilon=1.0, epsilon=1e-6, max_iter=2).fit(X, y)
