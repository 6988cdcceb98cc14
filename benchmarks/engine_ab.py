"""The engine at an earlier revision against the engine now, in one process, interleaved: the MNIST-shaped epoch
(with the streaming floor and PyTorch beside them) and the seed network's one-example step.

    python benchmarks/engine_ab.py REV [--rounds N]

REV is any git revision of this repository; its ``src/chainrule`` is unpacked into a temporary folder and imported
as ``chainrule_before`` (the package's own imports are relative, so only that one name changes).
"""

import argparse
import importlib
import io
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

import chainrule as cr
import cleanup
import mlp_speed as bench

ROOT = Path(__file__).resolve().parent.parent


def import_revision(rev: str, folder: Path):
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "src/chainrule"], check=True,
                             capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    package = folder / "chainrule_before"
    (folder / "src" / "chainrule").rename(package)
    for path in package.rglob("*.py"):   # the few absolute imports of the package by name
        text = path.read_text()
        path.write_text(text.replace("from chainrule.", "from chainrule_before.").replace(
            "from chainrule import", "from chainrule_before import"))
    sys.path.insert(0, str(folder))
    return importlib.import_module("chainrule_before")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("rev")
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        before = import_revision(args.rev, Path(folder))
        sizes, threads = [bench.D, bench.H1, bench.H2, bench.K], bench.blas_threads()
        X, y = bench.make_data(bench.N)

        def epoch(module):
            def run(X, y):
                net = module.mlp(sizes, activation="relu", seed=0)
                net.fit(X, y, epochs=1, batch_size=bench.BATCH, optimizer=module.SGD(lr=bench.LR), verbose=0, seed=0)
            return run

        contenders = {"floor": bench.floor_factory(sizes, bench.BATCH), "before": epoch(before), "now": epoch(cr)}
        torch_run = bench.torch_factory(sizes, bench.BATCH, threads)
        if torch_run is not None:
            contenders["torch"] = torch_run
        times = bench.time_interleaved(contenders, X, y, args.rounds)
        print(f"MNIST-shaped epoch, {threads} BLAS thread(s), median of {args.rounds} interleaved rounds "
              f"(before: {args.rev})")
        for name, values in times.items():
            print(f"{name:<8}{statistics.median(values):>8.3f} s  x floor {bench.paired_ratio(times, name, 'floor'):.3f}"
                  f"  spread {bench.spread(values):.0%}")

        spec = cr.explainer.seed_article()
        _, x, t = cr.explainer.build_network_for(spec)
        steps = 5000
        Xs, Ys = np.repeat(x, steps, axis=0), np.repeat(t, steps, axis=0)

        def small(module):
            def run(*_):
                explainer = getattr(module, "explainer", None) or module.explain    # an older chainrule: explain
                net, _, _ = explainer.build_network_for(explainer.seed_article())
                net.fit(Xs, Ys, epochs=1, batch_size=1, optimizer=module.GradientDescent(0.1), verbose=0,
                        shuffle=False)
            return run

        small_times = bench.time_interleaved({"before": small(before), "now": small(cr)}, None, None, args.rounds)
        per_step = {k: statistics.median(v) / steps * 1e6 for k, v in small_times.items()}
        print(f"seed network, one example a step: before {per_step['before']:.1f} us, now {per_step['now']:.1f} us "
              f"(now/before {bench.paired_ratio(small_times, 'now', 'before'):.2f})")


if __name__ == "__main__":
    cleanup.run(main)        # stopped, the unpacked revision's folder is removed too
