"""Dask: training on a Dask array larger than a worker's memory through Dask-ML's Incremental wrapper around
chainrule's partial_fit, on a local cluster this test starts; the accuracy matches training on the same data in
memory. And the clear error for blocks of X and y that do not line up.

Then data-parallel training (chainrule.distributed.fit) on one local cluster of two worker processes: the same
numbers as the same fit in memory, to 1e-10 in float64, for L-BFGS, full-batch gradient descent and synchronous
mini-batches; empty partitions; a worker killed mid-fit; the data staying on its workers; refusals before any
step."""

import numpy as np
import pytest

from chainrule import MLPClassifier
from chainrule.errors import ChainruleError
from chainrule.callbacks import Callback

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


# --- data-parallel fit: chainrule.distributed.fit ----------------------------------------------------------------
# One cluster of two worker processes for these tests; float64 throughout, so that "the same numbers" means 1e-10.

SAME = 1e-10                   # the largest difference allowed between a fit on the cluster and the same fit in memory
ROW_BLOCKS = (0, 130, 200, 0, 170)        # uneven, with empty partitions first and in the middle


@pytest.fixture(scope="module")
def client():
    from dask import distributed

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  host="127.0.0.1") as cluster, distributed.Client(cluster) as client:
        yield client


def small_problem(output="softmax", rows=sum(ROW_BLOCKS), blocks=ROW_BLOCKS):
    """A float64 network and its data in memory and as Dask arrays in ``blocks`` of rows."""
    import dask.array as da

    import chainrule as cr

    rng = np.random.default_rng(3)
    X = rng.standard_normal((rows, 6))
    if output == "softmax":
        y = np.argmax(X[:, :3] + 0.5 * rng.standard_normal((rows, 3)), axis=1)
    else:
        y = np.column_stack([np.sin(X[:, 0]), X[:, 1] * X[:, 2]])
    net = lambda: cr.mlp([6, 8, 3 if output == "softmax" else 2], activation="tanh", output=output,  # noqa: E731
                         dtype=np.float64, seed=1)
    return net, X, y, da.from_array(X, chunks=(blocks, 6)), da.from_array(y, chunks=(blocks,) + y.shape[1:])


def blocks_held(dask_worker):
    """How many prepared blocks of the fit a worker holds (run on it with client.run)."""
    return sum(str(key).startswith("prepare_block") for key in dask_worker.data)


class Record(Callback):
    """A callback keeping the parameters after every step (for L-BFGS: the point of every evaluation)."""

    def __init__(self):
        self.thetas, self.began = [], False

    def on_train_begin(self, trainer):
        self.began = True

    def on_batch_end(self, trainer, epoch, batch, loss):
        self.thetas.append(trainer.network.flat_parameters()[0].copy())


def lbfgs_in_memory(net, X, y, l2):
    """The same L-BFGS fit in memory: the in-memory objective, every point it is evaluated at recorded."""
    from chainrule.objective import Objective, minimize_lbfgs
    from chainrule.training import encode_targets

    f = Objective(net, X, encode_targets(net, y, len(X)), l2=l2)
    points = []
    result = minimize_lbfgs(lambda theta: (points.append(theta.copy()), f(theta))[1],
                            net.flat_parameters()[0].copy(), max_iter=40, max_fun=15_000, tol=1e-4)
    return points, result.x


@pytest.mark.parametrize("output", ["softmax", "identity"])
def test_lbfgs_on_the_cluster_takes_the_iterates_of_lbfgs_in_memory(client, output):
    from chainrule.distributed import fit

    net, X, y, dX, dy = small_problem(output)
    points, final = lbfgs_in_memory(net(), X, y, l2=1e-3)
    network, record = net(), Record()
    history = fit(network, dX, dy, solver="lbfgs", max_iter=40, l2=1e-3, callbacks=[record], client=client)
    assert len(record.thetas) == len(points) == history.epochs > 10
    assert max(np.abs(a - b).max() for a, b in zip(record.thetas, points, strict=True)) < SAME
    assert np.abs(network.flat_parameters()[0] - final).max() < SAME
    assert history["loss"][-1] < history["loss"][0]


def test_full_batch_gradient_descent_matches_the_same_fit_in_memory(client):
    import chainrule as cr
    from chainrule.distributed import fit

    net, X, y, dX, dy = small_problem()
    in_memory = net()
    expected = cr.fit(in_memory, X, y, epochs=5, batch_size=len(X), optimizer=cr.SGD(lr=0.5, momentum=0.9),
                      verbose=0)
    network = net()
    history = fit(network, dX, dy, solver="gd", max_iter=5, optimizer=cr.SGD(lr=0.5, momentum=0.9), client=client)
    assert np.abs(network.flat_parameters()[0] - in_memory.flat_parameters()[0]).max() < SAME
    np.testing.assert_allclose(history["loss"], expected["loss"], rtol=0, atol=SAME)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_synchronous_minibatches_match_the_same_batches_in_memory(client, optimizer):
    """Each step's batch is drawn across the blocks in chainrule.fit's seeded order: the same batches as the fit in
    memory with the same seed, and so the same steps."""
    import chainrule as cr
    from chainrule.distributed import fit

    make = {"sgd": lambda: cr.SGD(lr=0.1, momentum=0.9, nesterov=True), "adam": lambda: cr.Adam(lr=0.01)}[optimizer]
    net, X, y, dX, dy = small_problem()
    in_memory = net()
    expected = cr.fit(in_memory, X, y, epochs=2, batch_size=64, optimizer=make(), seed=7, verbose=0)
    network = net()
    history = fit(network, dX, dy, solver="sgd", max_iter=2, batch_size=64, optimizer=make(), seed=7, client=client)
    assert np.abs(network.flat_parameters()[0] - in_memory.flat_parameters()[0]).max() < SAME
    np.testing.assert_allclose(history["loss"], expected["loss"], rtol=0, atol=SAME)


def test_a_float32_network_trains_on_the_cluster_too(client):
    """The workers sum in the network's own dtype: float32 steps agree with the fit in memory to float32's
    rounding, not bit for bit (the rows are summed in another order)."""
    import chainrule as cr
    from chainrule.distributed import fit

    _, X, y, dX, dy = small_problem()
    net = lambda: cr.mlp([6, 8, 3], activation="tanh", dtype=np.float32, seed=1)  # noqa: E731
    in_memory, network = net(), net()
    cr.fit(in_memory, X, y, epochs=2, batch_size=64, optimizer=cr.Adam(lr=0.01), seed=7, verbose=0)
    history = fit(network, dX, dy, solver="sgd", max_iter=2, batch_size=64, optimizer=cr.Adam(lr=0.01), seed=7,
                  client=client)
    assert network.dtype == np.float32 and history["loss"][1] < history["loss"][0]
    np.testing.assert_allclose(network.flat_parameters()[0], in_memory.flat_parameters()[0], rtol=0, atol=1e-5)


def test_the_data_stays_on_its_workers_and_both_workers_take_part(client):
    """From the first step to the last, no worker fetches a prepared block from another: each step's task runs
    where its blocks are, only the parameters go out (inside the task) and only the sums come back. Both workers
    hold blocks and answer. (Preparing the blocks may move a raw block of X or y once, where Dask placed them
    apart; that fetch can end after the first step, so only prepared blocks are looked for.)"""
    from chainrule.distributed import fit

    def fetched(dask_worker):
        return [key for transfer in dask_worker.transfer_incoming_log for key in transfer["keys"]]

    class Watch(Record):
        def on_train_begin(self, trainer):
            self.before, self.held = client.run(fetched), client.run(blocks_held)

        def on_train_end(self, trainer):
            self.after = client.run(fetched)

    net, X, y, dX, dy = small_problem(blocks=(100,) * 5)
    watch = Watch()
    fit(net(), dX, dy, solver="sgd", max_iter=2, batch_size=100, callbacks=[watch], client=client)
    during = [key for worker, keys in watch.after.items() for key in keys[len(watch.before[worker]):]]
    assert not [key for key in during if str(key).startswith("prepare_block")]
    assert len(watch.held) == 2 and all(watch.held.values()) and sum(watch.held.values()) == 5
    assert len(watch.thetas) == 10


@pytest.mark.parametrize("solver", ["lbfgs", "sgd"])
def test_a_worker_killed_mid_fit_and_the_fit_goes_on_to_the_same_numbers(client, solver):
    """One of the two worker processes is killed (SIGKILL) after the third step; Dask computes its blocks again
    on the worker left, the step in flight is run again from the parameters the driver holds, and the fit ends
    where the uninterrupted fit in memory ends."""
    import os
    import signal

    import chainrule as cr
    from chainrule.distributed import fit

    class KillAWorker(Record):
        killed = None

        def on_batch_end(self, trainer, epoch, batch, loss):
            super().on_batch_end(trainer, epoch, batch, loss)
            if len(self.thetas) == 3:                     # the worker holding the most blocks
                held = client.run(blocks_held)
                self.killed = client.run(os.getpid)[max(held, key=held.get)]
                assert held[max(held, key=held.get)] > 0
                os.kill(self.killed, signal.SIGKILL)

    net, X, y, dX, dy = small_problem()
    kill = KillAWorker()
    network = net()
    if solver == "lbfgs":
        _, expected = lbfgs_in_memory(net(), X, y, l2=0.0)
        fit(network, dX, dy, solver="lbfgs", max_iter=40, callbacks=[kill], client=client)
    else:
        in_memory = net()
        cr.fit(in_memory, X, y, epochs=2, batch_size=50, optimizer=cr.SGD(lr=0.1), seed=2, verbose=0)
        expected = in_memory.flat_parameters()[0]
        fit(network, dX, dy, solver="sgd", max_iter=2, batch_size=50, optimizer=cr.SGD(lr=0.1), seed=2,
            callbacks=[kill], client=client)
    assert kill.killed is not None and len(kill.thetas) > 3
    assert np.abs(network.flat_parameters()[0] - expected).max() < SAME
    client.wait_for_workers(2, timeout=60)                 # the nanny starts a new worker in its place
    assert kill.killed not in client.run(os.getpid).values()


def test_a_callback_that_stops_ends_the_fit(client):
    from chainrule.distributed import fit

    class StopAfterThree(Record):
        def on_epoch_end(self, trainer, epoch, logs):
            trainer.stop = len(self.thetas) == 3

    net, X, y, dX, dy = small_problem()
    for solver in ("lbfgs", "gd"):
        network, stop = net(), StopAfterThree()
        history = fit(network, dX, dy, solver=solver, max_iter=40, callbacks=[stop], client=client)
        assert history.epochs == 3 and np.array_equal(network.flat_parameters()[0], stop.thetas[-1])


def test_blocks_of_the_wrong_width_are_refused_before_any_step(client):
    import dask.array as da

    import chainrule as cr
    from chainrule.distributed import fit

    net, X, y, dX, dy = small_problem()
    with pytest.raises(ChainruleError, match=r"X: the network takes 6 features per example, so X must have 6 "
                                             r"columns; found 5 \(X's shape \(500, 5\)\)"):
        fit(net(), dX[:, :5], dy, client=client)
    with pytest.raises(ChainruleError, match="also split across its columns"):
        fit(net(), dX.rechunk((100, 3)), dy.rechunk(100), client=client)
    # A block whose own width differs from what the array declares: found when the blocks are prepared
    lying = da.map_blocks(lambda block: np.ones((len(block), 7)), dX, dtype=float)
    record = Record()
    with pytest.raises(ChainruleError, match=r"X block 1: expected 6 feature\(s\) per example, shape \(N, 6\); "
                                             r"found shape \(130, 7\)"):
        fit(net(), lying, dy, callbacks=[record], client=client)
    assert not record.began
    with pytest.raises(ChainruleError, match=r"y: the network has 3 outputs, so labels must be 0..2; found label 3"):
        fit(net(), dX, dy + 1, callbacks=[record], client=client)
    assert not record.began
    dropout = cr.mlp([6, 8, 3], dropout=0.2, dtype=np.float64)
    with pytest.raises(ChainruleError, match=r"layer 2 is dropout \(rate 0.2\)"):
        fit(dropout, dX, dy, client=client)


def test_what_fit_cannot_take_is_named(client):
    import dask.array as da

    from chainrule.distributed import fit

    net, X, y, dX, dy = small_problem()
    cases = [
        (dict(X=X), r"X: expected a Dask array, found ndarray; make one with dask.array.from_array"),
        (dict(X=dX[dX[:, 0] > 0], y=dy[dX[:, 0] > 0]), r"X: expected row blocks of known sizes, found unknown ones"),
        (dict(y=da.from_array(y, chunks=100)), r"y: its blocks must line up with X's"),
        (dict(X=dX[:0], y=dy[:0]), r"X: expected at least one row to train on, found shape \(0, 6\)"),
        (dict(solver="adam"), r"solver: expected one of 'lbfgs', 'gd', 'sgd', found 'adam'"),
        (dict(max_iter=0), r"max_iter: expected a positive whole number, found 0"),
        (dict(solver="sgd", batch_size=2.5), r"batch_size: expected a positive whole number, found 2.5"),
        (dict(l2=-1.0), r"l2: expected a finite number >= 0, found -1.0"),
        (dict(solver="gd", l2=0.1), r"l2: solver='gd' penalises through its optimizer"),
        (dict(optimizer=object()), r"optimizer: solver='lbfgs' takes its own steps, so expected no optimizer"),
        (dict(solver="sgd", optimizer=object()), r"optimizer: expected a chainrule optimizer"),
    ]
    for change, message in cases:
        arguments = dict(X=dX, y=dy) | change
        X_given, y_given = arguments.pop("X"), arguments.pop("y")
        with pytest.raises(ChainruleError, match=message):
            fit(net(), X_given, y_given, client=client, **arguments)

