"""The scikit-learn estimators: scikit-learn's own estimator checks, pipelines, grid search, accuracy."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from chainrule import MLPClassifier, MLPRegressor

SMALL = dict(hidden_layer_sizes=(16,), max_iter=200, learning_rate_init=0.01, random_state=0)


@parametrize_with_checks([MLPClassifier(**SMALL), MLPRegressor(**SMALL)])
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
                                  lambda: MLPRegressor(**FULL_BATCH, alpha=1e-2, loss="huber", epsilon=0.5)])
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
        model = quiet(MLPRegressor(hidden_layer_sizes=(16,), loss=loss, epsilon=0.2, max_iter=150,
                                   learning_rate_init=0.01, random_state=0).fit, X, y_dirty)
        errors[loss] = np.mean(np.abs(model.predict(X) - y))
        assert type(model.network_.loss_fn).__name__ == {"squared_error": "HalfSquaredError",
                                                         "absolute_error": "AbsoluteError", "huber": "Huber"}[loss]
    assert errors["absolute_error"] < errors["squared_error"] / 4 and errors["huber"] < errors["squared_error"] / 4
    with pytest.raises(ValueError, match="epsilon"):
        MLPRegressor(loss="huber", epsilon=0).fit(X, y)


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
    """Equal settings and seeds: every epoch's training loss is within 20% of scikit-learn's (13% measured; the
    initialisations differ, He against Glorot, so the curves cannot coincide)."""
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
    assert gap < 0.20
