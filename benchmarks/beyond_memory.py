"""What sample weights and memory-mapped files cost, side by side in one run.

1. The MNIST-shaped epoch of mlp_speed.py (60,000 x 784 float32, 784-256-128-10 ReLU, batch 128, SGD) without
   sample weights and with them (target: under 5% more).
2. The same epoch from a memory-mapped .npy file (in the page cache: it was just written) against the arrays in
   memory (target: within 1.5x).
3. The process's own memory (RssAnon) while one epoch trains from a map, in a fresh process, for a file larger than
   the machine's available memory when the disk has room for one (twice the file, to leave room for others);
   otherwise the figure is given for a smaller file and the reason is printed. A file larger than memory is read in
   its own order (shuffled batches would read a random row from disk per example). The file is deleted afterwards.
Runs are interleaved and times are medians.

    python benchmarks/beyond_memory.py [--rounds 5] [--quick] [--big-bytes N]
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

import chainrule as cr
from mlp_speed import BATCH, D, H1, H2, K, LR, make_data, paired_ratio, time_interleaved

FRESH_PROCESS = r"""
import json, sys, time
import numpy as np
import chainrule as cr

def rss_anon():
    for line in open("/proc/self/status"):
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) * 1024

class Peak(cr.Callback):
    peak = 0
    def on_batch_end(self, trainer, epoch, batch, loss):
        Peak.peak = max(Peak.peak, rss_anon())          # every batch: a copy made and freed within one shows

path, mode, order, hidden, batch = sys.argv[1:6]
before = rss_anon()
data = cr.datasets.load(path, mmap=mode == "mmap")
net = cr.mlp([data.X.shape[1], int(hidden), 10], seed=0)
started = time.perf_counter()
history = net.fit(data.X, data.y, epochs=1, batch_size=int(batch), optimizer=cr.SGD(lr=0.01), verbose=0,
                  callbacks=[Peak()], shuffle=order == "shuffle")
seconds = time.perf_counter() - started
print(json.dumps({"before": before, "peak": max(Peak.peak, rss_anon()), "seconds": seconds,
                  "accuracy": history["accuracy"][-1], "mapped": isinstance(data.X, np.memmap)}))
"""


def train_in_fresh_process(path, mode="mmap", order="shuffle", hidden=64, batch_size=256) -> dict:
    """One epoch on the data set at ``path`` (``mode``: "mmap" or "memory") in a fresh Python, with the growth of
    its own memory (RssAnon) watched at every batch: ``before``, ``peak`` (bytes), ``seconds``, ``accuracy`` and
    whether the data was ``mapped``. The tests use it too."""
    done = subprocess.run([sys.executable, "-c", FRESH_PROCESS, str(path), mode, order, str(hidden), str(batch_size)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def epoch(weights=None):
    def run(X, y):
        net = cr.mlp([D, H1, H2, K], activation="relu", seed=0)
        net.fit(X, y, epochs=1, batch_size=BATCH, optimizer=cr.SGD(lr=LR), verbose=0, seed=0, sample_weight=weights)
    return run


def write_npy(path: Path, rows: int):
    """Rows of 784 features and a label column, float32, written a block at a time through a map."""
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, D + 1))
    rng = np.random.default_rng(0)
    for start in range(0, rows, 20_000):
        m = min(20_000, rows - start)
        out[start:start + m, :-1] = rng.random((m, D), dtype=np.float32)
        out[start:start + m, -1] = rng.integers(0, K, m)
    out.flush()
    del out


def available_memory() -> int:
    for line in open("/proc/meminfo"):
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="10,000 examples and 2 rounds")
    parser.add_argument("--big-bytes", type=int, help="the size of file 3 (default: above the available memory)")
    args = parser.parse_args()
    n, rounds = (10_000, 2) if args.quick else (60_000, args.rounds)
    X, y = make_data(n)
    weights = np.random.default_rng(1).uniform(0.5, 2.0, n)

    times = time_interleaved({"no weights": epoch(), "sample_weight": epoch(weights)}, X, y, rounds)
    print(f"MNIST-shaped epoch ({n} x {D}, {D}-{H1}-{H2}-{K}, batch {BATCH}, SGD), median of {rounds}:")
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"  no weights     {median['no weights']:.3f} s")
    print(f"  sample_weight  {median['sample_weight']:.3f} s   {paired_ratio(times, 'sample_weight', 'no weights'):.3f}x "
          f"(target under 1.05x)")

    folder = Path(tempfile.mkdtemp(prefix="chainrule-bench-"))
    try:
        path = folder / "mnist.npy"
        write_npy(path, n)
        mapped = cr.datasets.load(str(path), mmap=True)
        in_memory = np.ascontiguousarray(mapped.X)
        times = time_interleaved({"in memory": lambda X, y: epoch()(in_memory, y),
                                  "memory map": lambda X, y: epoch()(mapped.X, y)}, None, mapped.y, rounds)
        print(f"the same epoch from a memory-mapped .npy ({path.stat().st_size / 1e6:.0f} MB, in the page cache):")
        median = {name: statistics.median(values) for name, values in times.items()}
        print(f"  in memory   {median['in memory']:.3f} s")
        print(f"  memory map  {median['memory map']:.3f} s   {paired_ratio(times, 'memory map', 'in memory'):.2f}x "
              f"(target within 1.5x)")
        path.unlink()

        free_disk, memory = shutil.disk_usage(folder).free, available_memory()
        big = args.big_bytes or int(memory * 1.1)
        reason = ""
        if not args.big_bytes and 2 * big > free_disk:
            reason = (f" (the disk has {free_disk / 1e9:.1f} GB free, not twice the {big / 1e9:.1f} GB a file larger "
                      f"than the available memory needs: a smaller file instead)")
            big = min(big, free_disk // 4)
        rows = max(1, big // (4 * (D + 1)))
        write_npy(path, rows)
        size = path.stat().st_size
        # larger than memory, the file is read in its own order (shuffle its rows when writing it): a shuffled
        # order would read a random row from disk for every example
        order = "sequential" if size > memory else "shuffle"
        figures = train_in_fresh_process(path, "mmap", order, hidden=16, batch_size=512)
        figures["grown"] = figures["peak"] - figures["before"]
        print(f"one epoch ({order} batches) from a {size / 1e9:.2f} GB map in a fresh process (available memory "
              f"{memory / 1e9:.1f} GB){reason}:")
        print(f"  RssAnon grew {figures['grown'] / 1e6:.1f} MB = {figures['grown'] / size:.2%} of the file; "
              f"{rows / figures['seconds']:,.0f} examples/s")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
