"""One training epoch of an MNIST-shaped problem, side by side in one process, and a map of how the cost grows.

60,000 x 784 float32 inputs, 10 classes, a 784-256-128-10 ReLU network, batch 128, plain SGD, one epoch:
  floor       only the matrix products one epoch needs (8 per step), NumPy, outputs preallocated, reading the data
              set one contiguous batch after another as an epoch must (the streaming floor)
  floor/cache the same products on one cache-resident batch: a lower bound no epoch reaches
  chainrule   chainrule's fit (shuffled mini-batches, softmax + cross-entropy, SGD updates)
  torch       PyTorch on the CPU, same thread count, a plain loop over shuffled index batches (if installed)
  sklearn     scikit-learn's MLPClassifier, solver='sgd', one epoch, float32 and float64 inputs
Runs are interleaved (every contender once per round) so drift hits all alike; times are medians, and ratios are
medians of the per-round ratios (each pair ran side by side). Then the small regime: the seed article's 3-2-2
sigmoid/softmax network trained one example at a time. With ``--grid``, the scaling map: a 784-h-10 ReLU network
for hidden widths h, batch sizes, 1 and 2 BLAS threads, float32 and float64; chainrule's epoch against the
streaming floor, and PyTorch's against chainrule's.

    python benchmarks/mlp_speed.py [--rounds 7] [--quick] [--grid | --grid-quick | --grid-only]
"""

import argparse
import os
import statistics
import time
import warnings

import numpy as np

import chainrule as cr
import chainrule.explainer  # noqa: F401  (the seed article spec)
import cleanup

N, D, H1, H2, K, BATCH, LR = 60_000, 784, 256, 128, 10, 128, 0.01
GRID = dict(widths=(64, 256, 1024, 2048), batches=(1, 16, 128, 1024), threads=(1, 2),
            dtypes=(np.float32, np.float64))
GRID_QUICK = dict(widths=(64, 1024), batches=(1, 128), threads=(1,), dtypes=(np.float32,))


def make_data(n, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    X = rng.random((n, D), dtype=dtype)
    y = rng.integers(0, K, n)
    return X, y


def floor_factory(sizes, batch, dtype=np.float32, stream=True):
    """The matrix products of each step and nothing else: forward one per layer, one weight gradient per layer,
    and the input gradient of every layer but the first. ``stream``: read the data set one contiguous batch after
    another, as an epoch must; otherwise one cache-resident batch over and over (a lower bound)."""
    rng = np.random.default_rng(0)
    W = [rng.random((a, b), dtype=dtype) * 0.01 for a, b in zip(sizes[:-1], sizes[1:])]
    acts = [np.empty((batch, w.shape[1]), dtype) for w in W]            # layer outputs (forward)
    errs = [np.empty((batch, w.shape[0]), dtype) for w in W[1:]]        # dL/dx of layers 1.. (backward)
    dW = [np.empty_like(w) for w in W]

    def run(X, y):
        resident = None if stream else np.ascontiguousarray(X[:batch])
        for start in range(0, len(X), batch):
            m = min(batch, len(X) - start)
            xb = X[start:start + m] if stream else resident[:m]
            inputs = [xb] + [a[:m] for a in acts[:-1]]
            for x, w, a in zip(inputs, W, acts):
                np.matmul(x, w, out=a[:m])
            grad = acts[-1][:m]
            for i in range(len(W) - 1, -1, -1):
                if m == 1:   # one row: NumPy's matmul is 4x slower than the outer product (chainrule's way)
                    np.multiply(inputs[i].T, grad, out=dW[i])
                else:
                    np.matmul(inputs[i].T, grad, out=dW[i])
                if i:
                    grad = np.matmul(grad, W[i].T, out=errs[i - 1][:m])
    return run


def chainrule_factory(sizes, batch, dtype=np.float32):
    """chainrule's fit, one epoch, plain SGD; the network is built once, outside the timing."""
    net = cr.mlp(sizes, activation="relu", dtype=dtype, seed=0)

    def run(X, y):
        net.fit(X, y, epochs=1, batch_size=batch, optimizer=cr.SGD(lr=LR), verbose=0, seed=0)
    return run


def chainrule_epoch(X, y):
    """As a user runs it: the network made and trained in one go (kept for the main table)."""
    chainrule_factory([D, H1, H2, K], BATCH)(X, y)


def chainrule_reference_epoch(X, y):
    """chainrule with plain SGD's step after the products (the reference the fused step is tested against)."""
    kept = cr.training.FUSED_STEP_MIN_WEIGHTS
    cr.training.FUSED_STEP_MIN_WEIGHTS = float("inf")
    try:
        chainrule_epoch(X, y)
    finally:
        cr.training.FUSED_STEP_MIN_WEIGHTS = kept


def torch_factory(sizes, batch, threads, dtype=np.float32):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    if dtype == np.float64:
        model = model.double()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()

    def run(X, y):
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
        order = torch.randperm(len(Xt))
        for start in range(0, len(Xt), batch):
            index = order[start:start + batch]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(Xt[index]), yt[index])
            loss.backward()
            optimizer.step()
    return run


def sklearn_epoch_factory(dtype):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    def run(X, y):
        Xc = X if dtype == np.float32 else X.astype(np.float64)
        model = MLPClassifier(hidden_layer_sizes=(H1, H2), solver="sgd", batch_size=BATCH, learning_rate_init=LR,
                              momentum=0.0, alpha=0.0, max_iter=1, shuffle=True, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(Xc, y)
    return run


def blas_threads():
    try:
        from threadpoolctl import threadpool_info
        return max(info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas")
    except Exception:
        return os.cpu_count()


def blas_limit(threads):
    """A context in which NumPy's BLAS uses ``threads`` threads (threadpoolctl, a scikit-learn dependency)."""
    from threadpoolctl import threadpool_limits
    return threadpool_limits(limits=threads, user_api="blas")


def time_interleaved(contenders, X, y, rounds):
    """Every contender once per round, ``rounds`` times; returns the seconds of each run, per contender."""
    times = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, run in contenders.items():
            started = time.perf_counter()
            run(X, y)
            times[name].append(time.perf_counter() - started)
    return times


def paired_ratio(times, a, b):
    """The median over rounds of a's time over b's in the same round."""
    return statistics.median(x / y for x, y in zip(times[a], times[b], strict=True))


def spread(values):
    """(max - min) / median of one contender's runs: how noisy the machine was."""
    return (max(values) - min(values)) / statistics.median(values)


def small_regime(steps, threads, rounds=5):
    """The article's 3-2-2 network trained one example at a time (batch 1, plain gradient descent): seconds per step
    of forward, backward and update, through chainrule's fit and through a plain PyTorch loop; medians of
    ``rounds`` interleaved rounds, and the median of the per-round ratios."""
    spec = cr.explainer.seed_article()
    _, x, t = cr.explainer.build_network_for(spec)
    X, Y = np.repeat(x, steps, axis=0), np.repeat(t, steps, axis=0)

    def chainrule_steps(*_):
        net, _, _ = cr.explainer.build_network_for(spec)
        net.fit(X, Y, epochs=1, batch_size=1, optimizer=cr.GradientDescent(0.1), verbose=0, shuffle=False)

    contenders = {"chainrule": chainrule_steps}
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        torch.set_num_threads(threads)
        Xt, yt = torch.from_numpy(X), torch.zeros(steps, dtype=torch.long)

        def torch_steps(*_):
            model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Sigmoid(), torch.nn.Linear(2, 2)).double()
            opt = torch.optim.SGD(model.parameters(), lr=0.1)
            loss_fn = torch.nn.CrossEntropyLoss()
            for i in range(steps):
                opt.zero_grad(set_to_none=True)
                loss_fn(model(Xt[i:i + 1]), yt[i:i + 1]).backward()
                opt.step()
        contenders["torch"] = torch_steps
    times = time_interleaved(contenders, None, None, rounds)
    per_step = {name: statistics.median(values) / steps for name, values in times.items()}
    ratio = paired_ratio(times, "torch", "chainrule") if "torch" in times else None
    return per_step, ratio


# --- the scaling map ----------------------------------------------------------------------------------------------
def grid_rows(width, batch, budget_flops=3e9, max_rows=16_384, max_steps=500):
    """How many examples one cell's epoch runs: about ``budget_flops`` of matrix products, at least 4 batches, at
    most ``max_steps`` steps (batch 1 is all overhead) and ``max_rows``."""
    flops_per_example = 6 * (D * width + width * K)
    rows = int(budget_flops / flops_per_example)
    return max(4 * batch, min(rows, max_rows, max_steps * batch)) // batch * batch


def scaling_grid(config, rounds, emit=print):
    """For every cell, the streaming floor, chainrule and PyTorch (if installed) interleaved ``rounds`` times.
    Returns a list of dicts, one per cell, and prints a table per thread count and dtype as it goes.
    ``config`` may also set ``max_steps`` (500 unless given) to shorten every cell."""
    cells = []
    max_steps = config.get("max_steps", 500)
    for dtype in config["dtypes"]:
        X, y = make_data(max(grid_rows(w, b, max_steps=max_steps) for w in config["widths"]
                             for b in config["batches"]), seed=1, dtype=dtype)
        for threads in config["threads"]:
            emit(f"\n{np.dtype(dtype).name}, {threads} BLAS thread(s): 784-h-10 ReLU, plain SGD, one epoch")
            emit(f"{'h':>6}{'batch':>7}{'rows':>8}{'floor s':>10}{'chainrule':>11}{'x floor':>9}"
                 f"{'torch':>9}{'torch/cr':>10}{'spread':>8}")
            with blas_limit(threads):
                for width in config["widths"]:
                    for batch in config["batches"]:
                        cells.append(_grid_cell(X, y, width, batch, threads, dtype, rounds, emit, max_steps))
    return cells


def _grid_cell(X, y, width, batch, threads, dtype, rounds, emit, max_steps):
    rows = grid_rows(width, batch, max_steps=max_steps)
    Xc, yc = X[:rows], y[:rows]
    sizes = [D, width, K]
    contenders = {"floor": floor_factory(sizes, batch, dtype), "chainrule": chainrule_factory(sizes, batch, dtype)}
    torch_run = torch_factory(sizes, batch, threads, dtype)
    if torch_run is not None:
        contenders["torch"] = torch_run
    times = time_interleaved(contenders, Xc, yc, rounds)
    cell = dict(width=width, batch=batch, rows=rows, threads=threads, dtype=np.dtype(dtype).name,
                floor=statistics.median(times["floor"]), chainrule=statistics.median(times["chainrule"]),
                x_floor=paired_ratio(times, "chainrule", "floor"),
                spread=max(spread(values) for values in times.values()))
    torch_text = f"{'-':>9}{'-':>10}"
    if "torch" in times:
        cell["torch"] = statistics.median(times["torch"])
        cell["torch_over_chainrule"] = paired_ratio(times, "torch", "chainrule")
        torch_text = f"{cell['torch']:>9.3f}{cell['torch_over_chainrule']:>10.2f}"
    emit(f"{width:>6}{batch:>7}{rows:>8}{cell['floor']:>10.3f}{cell['chainrule']:>11.3f}{cell['x_floor']:>9.2f}"
         f"{torch_text}{cell['spread']:>7.0%}")
    return cell


MEMORY_PROBE = """
import numpy as np, chainrule as cr
def peak():   # VmHWM: this process's own peak resident set (ru_maxrss would carry the parent's across exec)
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")) / 1024
X = np.random.default_rng(0).random(({n}, {d}), dtype=np.float32); y = np.random.default_rng(1).integers(0, {k}, {n})
before = peak()
cr.mlp([{d}, {h1}, {h2}, {k}], seed=0).fit(X, y, epochs=1, batch_size={b}, optimizer=cr.SGD(lr={lr}), verbose=0)
print(before, peak(), X.nbytes / 2**20)
"""


def peak_memory(n):
    """Peak resident memory (MiB) of a fresh process that makes the data and trains one epoch on it (a child that
    is killed if the benchmark is stopped, and dies with it: cleanup.python)."""
    code = MEMORY_PROBE.format(n=n, d=D, k=K, h1=H1, h2=H2, b=BATCH, lr=LR)
    before, peak, data = map(float, cleanup.python(code).stdout.split())
    return before, peak, data


def main_table(n, rounds, threads, only=None):
    X, y = make_data(n)
    sizes = [D, H1, H2, K]
    contenders = {"floor": floor_factory(sizes, BATCH), "floor/cache": floor_factory(sizes, BATCH, stream=False),
                  "chainrule": chainrule_epoch, "cr/step-apart": chainrule_reference_epoch}
    torch_run = torch_factory(sizes, BATCH, threads)
    if torch_run is not None:
        contenders["torch"] = torch_run
    contenders["sklearn32"] = sklearn_epoch_factory(np.float32)
    contenders["sklearn64"] = sklearn_epoch_factory(np.float64)
    if only:
        contenders = {k: v for k, v in contenders.items() if k in only or k.startswith("floor")}
    print(f"MNIST-shaped epoch: {n} x {D} float32, {D}-{H1}-{H2}-{K} ReLU, batch {BATCH}, SGD; "
          f"{threads} BLAS thread(s); median of {rounds} interleaved rounds")
    if torch_run is None:
        print("(PyTorch not installed: skipped; pip install torch==2.13.0 to include it)")
    times = time_interleaved(contenders, X, y, rounds)
    print(f"{'contender':<13}{'seconds':>9}{'x floor':>9}{'x cache':>9}{'x chainrule':>13}{'spread':>8}")
    for name, values in times.items():
        relative = f"{paired_ratio(times, name, 'chainrule'):.2f}" if "chainrule" in times else "-"
        print(f"{name:<13}{statistics.median(values):>9.3f}{paired_ratio(times, name, 'floor'):>9.2f}"
              f"{paired_ratio(times, name, 'floor/cache'):>9.2f}{relative:>13}{spread(values):>7.0%}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="a 12,000-example epoch and 2 rounds, for a smoke test")
    parser.add_argument("--only", nargs="*", help="contenders to run (chainrule, cr/step-apart, torch, sklearn32, "
                                                  "sklearn64; the floors always run)")
    parser.add_argument("--grid", action="store_true", help="also the scaling map: widths 64-2048, batches "
                                                            "1-1024, 1 and 2 threads, float32 and float64")
    parser.add_argument("--grid-quick", action="store_true", help="a reduced map (widths 64 and 1024, batches 1 "
                                                                  "and 128, 1 thread, float32), one round")
    parser.add_argument("--grid-only", action="store_true", help="the map alone (with --grid or --grid-quick)")
    parser.add_argument("--grid-rounds", type=int, default=3)
    args = parser.parse_args()
    n, rounds = (12_000, 2) if args.quick else (N, args.rounds)
    threads = blas_threads()
    if not args.grid_only:
        main_table(n, rounds, threads, args.only)
        before, peak, data = peak_memory(n)
        print(f"\nPeak memory (fresh process): {peak:.0f} MiB with training, {before:.0f} MiB after making the data "
              f"alone; data set {data:.0f} MiB, so training adds {peak - before:.0f} MiB "
              f"(peak - data = {peak - data:.0f} MiB, target < 150)")
        small, ratio = small_regime(2_000 if args.quick else 5_000, threads, rounds=3 if args.quick else 9)
        print("\nSmall regime: seed article 3-2-2 network, one example per step (forward, backward, update); "
              "medians of interleaved rounds")
        for name, seconds in small.items():
            print(f"{name:<12}{seconds * 1e6:>10.1f} us/step")
        if ratio is not None:
            print(f"torch / chainrule per-step time: {ratio:.1f}x (median of per-round ratios)")
    if args.grid or args.grid_quick:
        config, grid_rounds = (GRID, args.grid_rounds) if args.grid else (GRID_QUICK, 1)
        print("\nScaling map: chainrule's epoch over the streaming floor (x floor), PyTorch's over chainrule's "
              f"(torch/cr; above 1 means chainrule is faster); medians of {grid_rounds} interleaved round(s); "
              "spread: the widest (max-min)/median of the cell's contenders")
        scaling_grid(config, grid_rounds)


if __name__ == "__main__":
    cleanup.run(main)
