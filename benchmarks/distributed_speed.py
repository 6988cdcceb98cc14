"""Data-parallel training on a local Dask cluster: the time of one step with 1 and with 2 workers, side by side.

For networks of about 10 thousand, 100 thousand and 1 million parameters (float64, 100 inputs, 10 classes) and
500 or 5,000 examples per worker (of the 2-worker cluster; the 1-worker cluster holds both halves), the median
time of one full-batch gradient-descent step (``chainrule.distributed.fit``, solver="gd"): in one process with one
BLAS thread and no cluster (the engine's ``loss_and_gradient_sum`` and the step), on a ``LocalCluster`` of 1 worker
and of 2 workers (one thread each, as the engine in one process), the speed-up from 1 to 2 workers, and the bytes
each step moves (``theta`` to each worker, one gradient back from each: 2 x 8 x P x workers). Then one synchronous
mini-batch step (batch 200), where the round trip is all there is. Then the model of README's "When more machines
pay": the compute per parameter and example and the fixed cost per step measured here, and the predicted time per
step for 2 to 64 machines at stated network bandwidths.

Each cell runs in rounds, each round in one process, on the 1-worker cluster and on the 2-worker cluster one right
after another, so a change in the machine's load hits all three alike; times are medians, the speed-up the median
of the rounds' speed-ups; about a minute and a half in all. The clusters start and close with
signals held and keep their scratch files in a ``chainrule-bench-*`` folder, so the worker processes and the files
go when the benchmark ends, fails or is stopped (cleanup.run: Ctrl-C, SIGTERM, SIGHUP).

    python benchmarks/distributed_speed.py [--steps 3] [--rounds 3] [--quick]
"""

import argparse
import statistics
import time
from contextlib import ExitStack, contextmanager

import numpy as np

import chainrule as cr
import cleanup

D, K = 100, 10
SIZES = {"10k": (90,), "100k": (900,), "1M": (1000, 900)}       # hidden widths: P = 10,000 / 99,910 / 1,010,910
ROWS_PER_WORKER = (500, 5_000)                                 # of the 2-worker cluster
QUICK_SIZES, QUICK_ROWS = {"1k": (9,)}, (100,)
BATCH, BATCH_ROWS = 200, 4_000                                 # one epoch of 20 mini-batch steps
BANDWIDTHS = {"1 Gbit/s": 1e9 / 8, "10 Gbit/s": 10e9 / 8, "100 Gbit/s": 100e9 / 8}      # bytes per second
MACHINES = (1, 2, 4, 8, 16, 32, 64)


def network(hidden) -> cr.Network:
    return cr.mlp([D, *hidden, K], dtype=np.float64, seed=0)


def parameters(hidden) -> int:
    return network(hidden).flat_parameters()[0].size


def data(rows: int, blocks: int):
    """Dask arrays made on the workers (nothing travels from here): ``X: (rows, D)`` in ``blocks`` row blocks, and
    labels from a fixed linear teacher, block for block."""
    import dask.array as da

    X = da.random.default_rng(0).standard_normal((rows, D), chunks=(rows // blocks, D))
    teacher = np.random.default_rng(1).standard_normal((D, K))
    return X, da.argmax(X @ teacher, axis=1)


class StepClock(cr.Callback):
    """The time between the ends of consecutive steps (the first step, which builds each worker's network, is the
    start), and how many rows each worker holds."""

    def __init__(self, client):
        self.client, self.ends, self.rows = client, [], {}

    def on_train_begin(self, trainer):
        def rows_held(dask_worker):
            return sum(len(value[0]) for key, value in dask_worker.data.items()
                       if str(key).startswith("prepare_block"))
        self.rows = self.client.run(rows_held)
        self.ends.append(time.perf_counter())

    def on_batch_end(self, trainer, epoch, batch, loss):
        self.ends.append(time.perf_counter())

    def median(self) -> float:
        return statistics.median(np.diff(self.ends[1:]))


def on_cluster(client, hidden, rows, steps, batch_size=None):
    """(median seconds per step, rows held by each worker) for ``steps`` steps of gradient descent (full batch, or
    mini-batches of ``batch_size``) after a first one."""
    from chainrule.distributed import fit

    X, y = data(rows, blocks=2)
    clock = StepClock(client)
    solver = "gd" if batch_size is None else "sgd"
    fit(network(hidden), X, y, solver=solver, max_iter=steps + 1 if batch_size is None else 1,
        batch_size=batch_size or 1, optimizer=cr.SGD(lr=0.01), callbacks=[clock], client=client)
    return clock.median(), sorted(clock.rows.values(), reverse=True)


def in_one_process(hidden, rows, steps) -> float:
    """Median seconds of one full-batch step in this process with one BLAS thread: the engine's sums over all rows
    and the optimizer's step, no cluster."""
    from threadpoolctl import threadpool_limits

    from chainrule.objective import loss_and_gradient_sum
    from chainrule.training import encode_targets, training_parameters

    rng = np.random.default_rng(0)
    X = rng.standard_normal((rows, D))
    net = network(hidden)
    Y = encode_targets(net, rng.integers(0, K, rows), rows)
    params, _ = training_parameters(net)
    optimizer, times = cr.SGD(lr=0.01), []
    with threadpool_limits(1):
        for _ in range(steps):
            started = time.perf_counter()
            loss, grad = loss_and_gradient_sum(net, X, Y)
            optimizer.step(params, {"all": grad / rows})
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def megabytes(n: float) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 1e5 else f"{n / 1e3:.0f} kB"


@contextmanager
def local_cluster(workers: int, folder):
    """A client of a new ``LocalCluster`` of ``workers`` processes with one thread each, its scratch files (the
    scheduler's and the workers') in ``folder``; the client fetches results from the workers directly (not through
    the scheduler), which takes a third off the round trip of a 1-million-parameter gradient. Started and closed
    with signals held (cleanup.signals_held): a stop never leaves a cluster half made or half closed, whose workers
    would outlive the block."""
    import dask
    from dask.distributed import Client, LocalCluster

    with ExitStack() as stack:
        stack.enter_context(dask.config.set({"temporary-directory": str(folder)}))     # the scheduler's files too
        with cleanup.signals_held():
            cluster = stack.enter_context(LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1",
                local_directory=str(folder)))
            client = stack.enter_context(Client(cluster, direct_to_workers=True))   # sums straight from workers
        try:
            yield client
        finally:
            with cleanup.signals_held():
                stack.close()


def measure(sizes, rows_per_worker, steps, rounds, folder) -> dict:
    """Every cell in ``rounds`` rounds, each round in one process, on the 1-worker cluster and on the 2-worker
    cluster one right after another (both clusters stay up; the idle one's workers wait), so that a change in the
    machine's load hits the three alike. ``{(label, rows per worker): (one process, 1 worker, 2 workers, speed-up,
    rows held by each of the 2 workers)}``: median seconds per step, and the median of the rounds' speed-ups; and
    ``{"batch": (1 worker, 2 workers)}`` for the mini-batch step."""
    cells = {}
    with local_cluster(1, folder) as one, local_cluster(2, folder) as two:
        for label, hidden in sizes.items():
            for per_worker in rows_per_worker:
                runs = [(in_one_process(hidden, 2 * per_worker, steps), on_cluster(one, hidden, 2 * per_worker, steps),
                         on_cluster(two, hidden, 2 * per_worker, steps)) for _ in range(rounds)]
                cells[label, per_worker] = (statistics.median(alone for alone, _, _ in runs),
                                            statistics.median(a for _, (a, _), _ in runs),
                                            statistics.median(b for _, _, (b, _) in runs),
                                            statistics.median(a / b for _, (a, _), (b, _) in runs), runs[0][2][1])
        first = next(iter(sizes.values()))
        cells["batch"] = tuple(on_cluster(client, first, BATCH_ROWS, 1, batch_size=BATCH)[0] for client in (one, two))
    return cells


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=3, help="steps timed per fit, after a first one")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per cell (interleaved)")
    parser.add_argument("--quick", action="store_true", help="one tiny network and 200 examples, for a smoke test")
    args = parser.parse_args()
    sizes, rows_per_worker = (QUICK_SIZES, QUICK_ROWS) if args.quick else (SIZES, ROWS_PER_WORKER)
    with cleanup.temporary_folder() as folder:
        cells = measure(sizes, rows_per_worker, args.steps, args.rounds, folder)

    print("Time per full-batch gradient step, float64, 100 inputs, 10 classes; LocalCluster workers with one thread "
          "each on this machine; 'one process': the same step with one BLAS thread and no cluster.\n")
    print(f"{'parameters':>10} {'examples/worker':>16} {'one process':>12} {'1 worker':>10} {'2 workers':>10} "
          f"{'speed-up':>9} {'rows held (2 w.)':>17} {'moved per step (1 / 2 w.)':>26}")
    costs = []
    for label, hidden in sizes.items():
        P = parameters(hidden)
        for per_worker in rows_per_worker:
            alone, one, two, speedup, held = cells[label, per_worker]
            costs.append((P, 2 * per_worker, alone))
            moved = f"{megabytes(16 * P)} / {megabytes(32 * P)}"
            print(f"{P:>10,} {per_worker:>16,} {alone * 1e3:>9.1f} ms {one * 1e3:>7.1f} ms {two * 1e3:>7.1f} ms "
                  f"{speedup:>8.2f}x {'+'.join(map(str, held)):>17} {moved:>26}")
    batch_one, batch_two = cells["batch"]
    print(f"\nOne synchronous mini-batch step (batch {BATCH}, {parameters(next(iter(sizes.values()))):,} "
          f"parameters): {batch_one * 1e3:.1f} ms with 1 worker, {batch_two * 1e3:.1f} ms with 2.")

    # The model: t(W) = c P N / W + 16 P W / B + L  (compute on W machines, theta out and gradients back through the
    # driver's link of B bytes/s, a fixed round trip L).
    c = statistics.median(t / (P * n) for P, n, t in costs if t > 0.01) if any(t > 0.01 for *_, t in costs) \
        else statistics.median(t / (P * n) for P, n, t in costs)
    L = batch_two
    print(f"\nModel of a step on W machines: t = c P N / W + 16 P W / B + L, with c = {c:.2e} s per parameter and "
          f"example (measured above: one process, one thread), L = {L * 1e3:.0f} ms (the mini-batch round trip "
          f"above, 2 workers). Predicted time per full-batch step, P = 1,000,000, N = 1,000,000 examples:")
    P, N = 1_000_000, 1_000_000
    print(f"{'machines':>10} " + " ".join(f"{name:>12}" for name in BANDWIDTHS))
    for W in MACHINES:
        times = [c * P * N / W + (16 * P * W / B if W > 1 else 0) + L for B in BANDWIDTHS.values()]
        print(f"{W:>10} " + " ".join(f"{t:>10.2f} s" for t in times))
    print("Machines that minimise it, W* = sqrt(c N B / 16): " + ", ".join(
        f"{name}: {np.sqrt(c * N * B / 16):.0f}" for name, B in BANDWIDTHS.items()))
    print("Rows a step needs for 2W machines to beat W (N > 32 W^2 / (c B); for mini-batches N is the batch):")
    print(f"{'W -> 2W':>10} " + " ".join(f"{name:>12}" for name in BANDWIDTHS))
    for W in MACHINES[:-1]:
        print(f"{f'{W} -> {2 * W}':>10} " + " ".join(f"{32 * W * W / (c * B):>12,.0f}" for B in BANDWIDTHS.values()))


if __name__ == "__main__":
    cleanup.run(main)
