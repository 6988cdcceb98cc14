"""benchmarks/lbfgs_speed.py runs in its smallest configuration and prints its whole table, so that it cannot rot
unnoticed. No time is asserted: timings belong to the benchmark's own run, not to tests."""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parent.parent / "benchmarks" / "lbfgs_speed.py"


def test_the_lbfgs_benchmark_runs_in_small():
    run = subprocess.run([sys.executable, str(SCRIPT), "--quick"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    rows = [line.split() for line in run.stdout.splitlines() if line.startswith(("digits ", "synthetic "))]
    assert [(row[0], row[1], row[2]) for row in rows] == [
        (data, dtype, who) for data in ("digits", "synthetic") for dtype in ("float64", "float32")
        for who in ("sklearn", "chainrule")]
    max_fun = {"digits": 10, "synthetic": 5}
    for theirs, ours in zip(rows[::2], rows[1::2], strict=True):
        assert int(theirs[3]) >= max_fun[theirs[0]] and int(ours[3]) >= max_fun[ours[0]]
        assert float(ours[-1]) > 0                                       # the paired ratio was printed
        if theirs[1] == "float64":       # the same function from the same start: the same evaluations and loss
            # (the loss as printed, to 5 decimals: within one unit of its last digit, as another CPU's rounding may
            # put the two on either side of a printed digit's edge)
            assert ours[3] == theirs[3] and abs(float(ours[6]) - float(theirs[6])) <= 1e-5, (theirs, ours)
