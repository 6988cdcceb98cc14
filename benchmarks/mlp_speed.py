"""One training epoch of an MNIST-shaped problem, side by side in one process.

60,000 x 784 float32 inputs, 10 classes, a 784-256-128-10 ReLU network, batch 128, plain SGD, one epoch:
  floor      only the matrix products one epoch needs (8 per step), NumPy float32, outputs preallocated
  chainrule  chainrule's fit (shuffled mini-batches, softmax + cross-entropy, SGD updates)
  torch      PyTorch on the CPU, same thread count, a plain loop over shuffled index batches (if installed)
  sklearn    scikit-learn's MLPClassifier, solver='sgd', one epoch, float32 and float64 inputs
Runs are interleaved (every contender once per round) so drift hits all alike; times are medians.
Then the small regime: the seed article's 3-2-2 sigmoid/softmax network trained one example at a time.

    python benchmarks/mlp_speed.py [--rounds 5] [--quick]
"""

import argparse
import os
import statistics
import time
import warnings

import numpy as np

import chainrule as cr
import chainrule.explain  # noqa: F401  (the seed article spec)

N, D, H1, H2, K, BATCH, LR = 60_000, 784, 256, 128, 10, 128, 0.01


def make_data(n, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, D), dtype=np.float32)
    y = rng.integers(0, K, n)
    return X, y


def floor_epoch(X, y):
    """The 8 matrix products of each step, nothing else: forward 3, weight gradients 3, input gradients 2."""
    rng = np.random.default_rng(0)
    W = [rng.random(s, dtype=np.float32) * 0.01 for s in ((D, H1), (H1, H2), (H2, K))]
    x = np.ascontiguousarray(X[:BATCH])
    h1, h2, out = (np.empty((BATCH, w.shape[1]), np.float32) for w in W)
    g1, g2 = np.empty((BATCH, H1), np.float32), np.empty((BATCH, H2), np.float32)
    dW = [np.empty_like(w) for w in W]
    for start in range(0, len(X), BATCH):
        m = min(BATCH, len(X) - start)
        xb, a1, a2, o, d1, d2 = x[:m], h1[:m], h2[:m], out[:m], g1[:m], g2[:m]
        np.matmul(xb, W[0], out=a1)
        np.matmul(a1, W[1], out=a2)
        np.matmul(a2, W[2], out=o)
        np.matmul(a2.T, o, out=dW[2])
        np.matmul(o, W[2].T, out=d2)
        np.matmul(a1.T, d2, out=dW[1])
        np.matmul(d2, W[1].T, out=d1)
        np.matmul(xb.T, d1, out=dW[0])


def chainrule_epoch(X, y):
    net = cr.mlp([D, H1, H2, K], activation="relu", seed=0)
    net.fit(X, y, epochs=1, batch_size=BATCH, optimizer=cr.SGD(lr=LR), verbose=0, seed=0)


def torch_epoch_factory(threads):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)

    def run(X, y):
        torch.manual_seed(0)
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
        model = torch.nn.Sequential(torch.nn.Linear(D, H1), torch.nn.ReLU(), torch.nn.Linear(H1, H2),
                                    torch.nn.ReLU(), torch.nn.Linear(H2, K))
        optimizer = torch.optim.SGD(model.parameters(), lr=LR)
        loss_fn = torch.nn.CrossEntropyLoss()
        order = torch.randperm(len(Xt))
        for start in range(0, len(Xt), BATCH):
            index = order[start:start + BATCH]
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


def time_interleaved(contenders, X, y, rounds):
    times = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, run in contenders.items():
            started = time.perf_counter()
            run(X, y)
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def small_regime(steps, threads, rounds=5):
    """The article's 3-2-2 network trained one example at a time (batch 1, plain gradient descent): seconds per step
    of forward, backward and update, through chainrule's fit and through a plain PyTorch loop; medians of
    ``rounds`` interleaved rounds."""
    spec = cr.explain.seed_article()
    _, x, t = cr.explain.build_network_for(spec)
    X, Y = np.repeat(x, steps, axis=0), np.repeat(t, steps, axis=0)

    def chainrule_steps(*_):
        net, _, _ = cr.explain.build_network_for(spec)
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
    medians = time_interleaved(contenders, None, None, rounds)
    return {name: seconds / steps for name, seconds in medians.items()}


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
    """Peak resident memory (MiB) of a fresh process that makes the data and trains one epoch on it."""
    import subprocess
    import sys

    code = MEMORY_PROBE.format(n=n, d=D, k=K, h1=H1, h2=H2, b=BATCH, lr=LR)
    before, peak, data = map(float, subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                                   text=True).stdout.split())
    return before, peak, data


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="a 12,000-example epoch and 2 rounds, for a smoke test")
    parser.add_argument("--only", nargs="*", help="contenders to run (floor, chainrule, torch, sklearn32, sklearn64)")
    args = parser.parse_args()
    n, rounds = (12_000, 2) if args.quick else (N, args.rounds)
    threads = blas_threads()
    X, y = make_data(n)
    contenders = {"floor": floor_epoch, "chainrule": chainrule_epoch}
    torch_run = torch_epoch_factory(threads)
    if torch_run is not None:
        contenders["torch"] = torch_run
    contenders["sklearn32"] = sklearn_epoch_factory(np.float32)
    contenders["sklearn64"] = sklearn_epoch_factory(np.float64)
    if args.only:
        contenders = {k: v for k, v in contenders.items() if k in args.only or k == "floor"}
    print(f"MNIST-shaped epoch: {n} x {D} float32, {D}-{H1}-{H2}-{K} ReLU, batch {BATCH}, SGD; "
          f"{threads} BLAS thread(s); median of {rounds} interleaved rounds")
    if torch_run is None:
        print("(PyTorch not installed: skipped; pip install torch==2.13.0 to include it)")
    medians = time_interleaved(contenders, X, y, rounds)
    floor = medians["floor"]
    print(f"{'contender':<12}{'seconds':>10}{'x floor':>10}{'x chainrule':>14}")
    for name, seconds in medians.items():
        relative = f"{seconds / medians['chainrule']:.2f}" if "chainrule" in medians else "-"
        print(f"{name:<12}{seconds:>10.3f}{seconds / floor:>10.2f}{relative:>14}")
    before, peak, data = peak_memory(n)
    print(f"\nPeak memory (fresh process): {peak:.0f} MiB with training, {before:.0f} MiB after making the data "
          f"alone; data set {data:.0f} MiB, so training adds {peak - before:.0f} MiB "
          f"(peak - data = {peak - data:.0f} MiB, target < 150)")
    small = small_regime(2_000 if args.quick else 5_000, threads, rounds=2 if args.quick else 7)
    print("\nSmall regime: seed article 3-2-2 network, one example per step (forward, backward, update); "
          "medians of interleaved rounds")
    for name, seconds in small.items():
        print(f"{name:<12}{seconds * 1e6:>10.1f} us/step")
    if "torch" in small:
        print(f"torch / chainrule per-step time: {small['torch'] / small['chainrule']:.1f}x")


if __name__ == "__main__":
    main()
