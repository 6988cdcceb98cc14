"""Dask: training on a Dask array larger than a worker's memory through Dask-ML's Incremental wrapper around
chainrule's partial_fit, on a local cluster this test starts; the accuracy matches training on the same data in
memory. And the clear error for blocks of X and y that do not line up."""

import numpy as np
import pytest

from chainrule import MLPClassifier
from chainrule.errors import ChainruleError

ROWS, FEATURES, BLOCK = 2_500_000, 100, 100_000     # float32: 1.0 GB in 25 blocks of 40 MB
WORKER_MEMORY = 700e6                               # below the data set; a worker with its imports is ~350 MB
TOLERANCE = 0.02                                    # accuracy, absolute (measured difference: see the test's print)


def teacher():
    return np.random.default_rng(1).normal(size=(FEATURES, 3)).astype(np.float32)


def data():
    import dask.array as da

    X = da.random.default_rng(0).standard_normal((ROWS, FEATURES), dtype=np.float32, chunks=(BLOCK, FEATURES))
    return X, da.argmax(X @ teacher(), axis=1)        # three classes from a fixed linear teacher


def model():
    return MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01, random_state=0)


def test_incremental_on_a_local_cluster_matches_training_in_memory():
    from dask import distributed

    from chainrule.distributed import Incremental

    X, y = data()
    assert X.nbytes > WORKER_MEMORY
    rng = np.random.default_rng(5)
    X_test = rng.normal(size=(20_000, FEATURES)).astype(np.float32)
    y_test = np.argmax(X_test @ teacher(), axis=1)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, memory_limit=WORKER_MEMORY, processes=True,
                                  dashboard_address=None, host="127.0.0.1") as cluster, \
            distributed.Client(cluster) as client:
        assert client.scheduler_info()["workers"].popitem()[1]["memory_limit"] == WORKER_MEMORY
        wrapped = Incremental(model(), shuffle_blocks=False).fit(X, y, classes=[0, 1, 2])
    on_cluster = wrapped.estimator_.score(X_test, y_test)
    assert wrapped.estimator_.n_iter_ == ROWS // BLOCK                  # one partial_fit per block
    in_memory = model().partial_fit(X.compute(), y.compute(), classes=[0, 1, 2]).score(X_test, y_test)
    print(f"\naccuracy: Incremental on the cluster {on_cluster:.4f}, in memory {in_memory:.4f}")
    assert in_memory > 0.95 and abs(on_cluster - in_memory) <= TOLERANCE


def test_blocks_of_X_and_y_that_do_not_line_up_are_refused():
    import dask.array as da

    from chainrule.distributed import Incremental

    X = da.ones((1000, 4), chunks=(200, 4))
    y = da.zeros(1000, chunks=300, dtype=int)
    with pytest.raises(ChainruleError, match=r"y: its blocks must line up with X's, row for row; X's row blocks "
                                             r"are \(200, 200, 200, 200, 200\) and y's are \(300, 300, 300, 100\); "
                                             r"use y.rechunk"):
        Incremental(model()).fit(X, y, classes=[0, 1])
    with pytest.raises(ChainruleError, match="also split across its columns"):
        Incremental(model()).fit(X.rechunk((200, 2)), y.rechunk(200), classes=[0, 1])


# The README's Dask snippets (```py) run as scripts, each once, in tests/test_readme.py.
