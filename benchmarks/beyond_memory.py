"""What sample weights and memory-mapped files cost, side by side in one run.

1. The MNIST-shaped epoch of mlp_speed.py (60,000 x 784 float32, 784-256-128-10 ReLU, batch 128, SGD) without
   sample weights and with them (target: under 5% more).
2. The same epoch from a memory-mapped .npy file (188 MB, 31 MB with --quick; in the page cache: it was just
   written) against the arrays in memory (target: within 1.5x).
3. Only when asked (``--beyond-memory SIZE`` or the variable CHAINRULE_BENCH_BEYOND_MEMORY=SIZE): the process's own
   memory (RssAnon) while one epoch trains from a map, in a fresh process, for a file of SIZE bytes (``30G``,
   ``500M``, ``1.5GiB``, ``4000000``), or ``auto``: 1.1 x the available memory, a file larger than memory. The file
   is never larger than SIZE, and SIZE is refused when it is more than half of the free space of the disk that holds
   --dir. A file larger than memory is read in its own order (shuffled batches would read a random row from disk per
   example). Without it, part 3 is skipped and says how to ask for it.
Runs are interleaved and times are medians. The files live in one folder ``chainrule-bench-*`` in --dir, removed
with the probe process of part 3 when the benchmark ends, fails or is stopped (Ctrl-C, SIGINT, SIGTERM, SIGHUP:
it then exits with 128 + the signal's number); see cleanup.py.

    python benchmarks/beyond_memory.py [--rounds N] [--quick] [--dir FOLDER] [--beyond-memory SIZE|auto]

For the tests, CHAINRULE_BENCH_PROBE_HOLD=SECONDS makes part 3's probe wait that long with the file mapped, so that a
test can stop the run while the probe is reading.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

import chainrule as cr
import cleanup
from mlp_speed import BATCH, D, H1, H2, K, LR, make_data, paired_ratio, time_interleaved

SIZE_VARIABLE = "CHAINRULE_BENCH_BEYOND_MEMORY"
ROW_BYTES = 4 * (D + 1)        # 784 float32 features and a float32 label
HEADER_BYTES = 4096            # the .npy header (128 bytes for these shapes), with room to spare
UNITS = {"": 1, "b": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12,
         "ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40}

FRESH_PROCESS = r"""
import json, os, sys, time
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
time.sleep(float(os.environ.get("CHAINRULE_BENCH_PROBE_HOLD", "0")))    # for the tests: stopped while mapped
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
    whether the data was ``mapped``. The child is killed and reaped if the wait is interrupted, and dies with this
    process (cleanup.python). The tests use it too."""
    done = cleanup.python(FRESH_PROCESS, path, mode, order, hidden, batch_size)
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


def size_text(n: int) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.1f} MB"


def parse_size(text: str) -> int | str:
    """``"30G"``, ``"500M"``, ``"1.5GiB"``, ``"4000000"`` (K, M, G, T: powers of 1000; Ki, Mi, Gi, Ti: of 1024; a
    trailing B allowed) -> bytes; ``"auto"`` stays ``"auto"``. Raises ValueError naming the text."""
    text = text.strip()
    if text.lower() == "auto":
        return "auto"
    match = re.fullmatch(r"(\d+(?:\.\d*)?)\s*([kmgt]i?)?b?", text, re.IGNORECASE)
    if not match:
        raise ValueError(f"expected a size such as 30G, 500M, 1.5GiB, 4000000 (bytes) or auto; found {text!r}")
    return int(float(match[1]) * UNITS[(match[2] or "").lower()])


def beyond_memory_bytes(asked: int | str, free_disk: int, memory: int) -> int:
    """The size of part 3's file: ``asked`` bytes, or 1.1 x ``memory`` (the available memory) for ``"auto"``.
    Never more than half of ``free_disk`` (the room left to others): ValueError saying so, as for a size too small
    to hold one row."""
    size = int(1.1 * memory) if asked == "auto" else asked
    if size > free_disk // 2:
        raise ValueError(f"{size_text(size)} is more than half of the {size_text(free_disk)} free on the disk: the "
                         f"most this benchmark writes is {size_text(free_disk // 2)}; ask for less, or choose a "
                         f"folder on a larger disk with --dir")
    if size < HEADER_BYTES + ROW_BYTES:
        raise ValueError(f"{size} bytes cannot hold one row of the data set: at least {HEADER_BYTES + ROW_BYTES}")
    return size


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, help="interleaved rounds of parts 1 and 2 (default 5; 2 with --quick)")
    parser.add_argument("--quick", action="store_true", help="10,000 examples and 2 rounds")
    parser.add_argument("--dir", default=tempfile.gettempdir(),
                        help="the folder in which the benchmark's own folder of files is made and removed "
                             "(default: %(default)s)")
    parser.add_argument("--beyond-memory", metavar="SIZE",
                        help=f"run part 3 on a file of at most SIZE (30G, 500M, 1.5GiB, bytes) or of 'auto' (1.1 x "
                             f"the available memory); refused when that is more than half of the free space on "
                             f"--dir's disk. Also {SIZE_VARIABLE}=SIZE. Without either, part 3 is skipped")
    args = parser.parse_args(argv)
    if not os.path.isdir(args.dir):
        parser.error(f"--dir {args.dir}: not a folder")
    asked_as = f"--beyond-memory {args.beyond_memory}" if args.beyond_memory else \
        f"{SIZE_VARIABLE}={os.environ.get(SIZE_VARIABLE, '')}"
    asked = args.beyond_memory or os.environ.get(SIZE_VARIABLE, "").strip() or None
    if asked:
        try:
            asked = parse_size(asked)
            beyond_memory_bytes(asked, shutil.disk_usage(args.dir).free, available_memory())   # refused up front
        except ValueError as error:
            parser.error(f"{asked_as} (--dir {args.dir}): {error}")
    n = 10_000 if args.quick else 60_000
    rounds = args.rounds or (2 if args.quick else 5)
    X, y = make_data(n)
    weights = np.random.default_rng(1).uniform(0.5, 2.0, n)

    times = time_interleaved({"no weights": epoch(), "sample_weight": epoch(weights)}, X, y, rounds)
    print(f"MNIST-shaped epoch ({n} x {D}, {D}-{H1}-{H2}-{K}, batch {BATCH}, SGD), median of {rounds}:")
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"  no weights     {median['no weights']:.3f} s")
    print(f"  sample_weight  {median['sample_weight']:.3f} s   {paired_ratio(times, 'sample_weight', 'no weights'):.3f}x "
          f"(target under 1.05x)", flush=True)

    with cleanup.temporary_folder(args.dir) as folder:
        if n * ROW_BYTES > shutil.disk_usage(folder).free // 2:
            print(f"the epoch from a memory map: skipped, its {n * ROW_BYTES / 1e6:.0f} MB file would take more than "
                  f"half of the free space in {args.dir}")
        else:
            map_against_memory(folder / "mnist.npy", n, rounds)
        if asked is None:
            print(f"one epoch from a map larger than memory: skipped (it writes a file as large as asked; ask with "
                  f"--beyond-memory SIZE or {SIZE_VARIABLE}=SIZE, e.g. 30G or auto)")
            return
        try:       # the disk may have filled since the start
            big = beyond_memory_bytes(asked, shutil.disk_usage(folder).free, available_memory())
        except ValueError as error:
            raise SystemExit(f"{Path(sys.argv[0]).name}: {asked_as} (--dir {args.dir}): {error}") from None
        map_larger_than_memory(folder / "larger.npy", big)


def map_against_memory(path: Path, n: int, rounds: int):
    """Part 2: the epoch from a just-written map against the same arrays in memory."""
    write_npy(path, n)
    mapped = cr.datasets.load(str(path), mmap=True)
    in_memory = np.ascontiguousarray(mapped.X)
    times = time_interleaved({"in memory": lambda X, y: epoch()(in_memory, y),
                              "memory map": lambda X, y: epoch()(mapped.X, y)}, None, mapped.y, rounds)
    print(f"the same epoch from a memory-mapped .npy ({path.stat().st_size / 1e6:.0f} MB, in the page cache):")
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"  in memory   {median['in memory']:.3f} s")
    print(f"  memory map  {median['memory map']:.3f} s   {paired_ratio(times, 'memory map', 'in memory'):.2f}x "
          f"(target within 1.5x)", flush=True)
    del mapped
    path.unlink()


def map_larger_than_memory(path: Path, big: int):
    """Part 3: one epoch from a file of at most ``big`` bytes in a fresh process, with its RssAnon watched."""
    memory = available_memory()
    rows = (big - HEADER_BYTES) // ROW_BYTES
    write_npy(path, rows)
    size = path.stat().st_size
    # larger than memory, the file is read in its own order (shuffle its rows when writing it): a shuffled
    # order would read a random row from disk for every example
    order = "sequential" if size > memory else "shuffle"
    note = "" if size > memory else ", so the file fits in it: ask for more than that, or auto, for one that does not"
    figures = train_in_fresh_process(path, "mmap", order, hidden=16, batch_size=512)
    figures["grown"] = figures["peak"] - figures["before"]
    print(f"one epoch ({order} batches) from a {size_text(size)} map in a fresh process (available memory "
          f"{memory / 1e9:.1f} GB{note}):")
    print(f"  RssAnon grew {figures['grown'] / 1e6:.1f} MB = {figures['grown'] / size:.2%} of the file; "
          f"{rows / figures['seconds']:,.0f} examples/s")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    cleanup.run(main)
