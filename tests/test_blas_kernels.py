"""The stored numbers hold on another CPU: the golden explanations, the README's outputs and the hand-worked values
are checked again under each OpenBLAS kernel this machine can run (``OPENBLAS_CORETYPE``), in a fresh process each,
since OpenBLAS picks its kernel once, when it loads.

Haswell (AVX2) is what most x86-64 machines without AVX-512 get; SkylakeX is AVX-512's; Prescott is OpenBLAS's
generic SSE3 kernel, which sums in yet another order. A kernel the CPU cannot run, or a NumPy not built on OpenBLAS,
is skipped with the reason (under CI, where the machine is known to have OpenBLAS, a BLAS that cannot be probed
fails instead). The tolerance these tests use is the one of ``tests/stored.py``.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import missing

TESTS = Path(__file__).parent

# Every test that compares a computed number with one stored in the repository, or a verdict that hangs on where a
# number falls against a printed one's last digit.
STORED_NUMBER_TESTS = [
    "test_hot_path.py::test_explain_numbers_unchanged",
    "test_readme_outputs.py",
    "test_teach_readme.py",
    "test_newcomer.py::test_make_demos_training_reaches_the_readmes_digits_figure",
    "test_explain.py",
    "test_audit.py",
    "test_printed_digits.py",
    "test_spec_batch.py",
    "test_spec_intermediates.py",
    "test_teach_grade.py",
]
# In those files, the tests that check only exit statuses or volume, not a number: the full run covers them.
NO_STORED_NUMBER = [
    "test_readme_outputs.py::test_the_readmes_commands_run_in_order_in_one_folder",
    "test_teach_grade.py::test_a_folder_of_300_submissions_grades_completely",
]

# What the CPU must offer (flags of /proc/cpuinfo) for OpenBLAS to run each kernel.
KERNELS = {"Haswell": {"avx2", "fma"}, "SkylakeX": {"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"},
           "Prescott": {"pni"}}      # /proc/cpuinfo calls SSE3 "pni"

# On x86-64 OpenBLAS's Katmai is its Prescott kernel under another name, and reports itself by the first name.
REPORTED_AS = {"Prescott": {"prescott", "katmai"}}

PROBE = ("import json, numpy, threadpoolctl; "
         "print(json.dumps([i for i in threadpoolctl.threadpool_info() if i['user_api'] == 'blas']))")


def cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    return {flag for line in text.splitlines() if line.startswith("flags") for flag in line.split(":", 1)[1].split()}


def kernel_in_use(kernel: str) -> str:
    """The kernel NumPy's OpenBLAS reports in a fresh process asked for ``kernel``, or why it cannot be asked."""
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120,
                          env=os.environ | {"OPENBLAS_CORETYPE": kernel})
    if done.returncode != 0:
        missing(f"NumPy did not start with OPENBLAS_CORETYPE={kernel}: {done.stderr.strip()[-300:]}")
    libraries = json.loads(done.stdout)
    if not libraries or libraries[0]["internal_api"] != "openblas":
        missing(f"NumPy's BLAS here is not OpenBLAS ({libraries}), so it has no kernels to choose")
    return libraries[0].get("architecture") or "(unknown)"


@pytest.mark.parametrize("kernel", sorted(KERNELS))
def test_stored_numbers_hold_under_every_blas_kernel(kernel, tmp_path):
    if sys.platform != "linux":
        pytest.skip("the CPU's features are read from /proc/cpuinfo (Linux)")
    lacking = KERNELS[kernel] - cpu_flags()
    if lacking:
        pytest.skip(f"this CPU cannot run OpenBLAS's {kernel} kernel: it lacks {', '.join(sorted(lacking))}")
    in_use = kernel_in_use(kernel)
    assert in_use.lower() in REPORTED_AS.get(kernel, {kernel.lower()}), f"asked OpenBLAS for {kernel}, it chose {in_use}"
    done = subprocess.run([sys.executable, "-m", "pytest", "-o", "addopts=", "-q", "-p", "no:cacheprovider",
                           *[str(TESTS / name) for name in STORED_NUMBER_TESTS],
                           *[f"--deselect={TESTS / name}" for name in NO_STORED_NUMBER]],
                          capture_output=True, text=True, cwd=tmp_path, timeout=900,
                          env=os.environ | {"OPENBLAS_CORETYPE": kernel})
    summary = done.stdout.strip().splitlines()[-1:] or ["(no output)"]
    assert done.returncode == 0, f"under {kernel}: {summary[0]}\n{done.stdout[-6000:]}\n{done.stderr[-2000:]}"
    assert " passed" in summary[0] and "failed" not in summary[0], summary[0]
