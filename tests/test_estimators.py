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
