import os
import shutil

import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def numeric_grad(f, array: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar ``f()`` with respect to every entry of ``array`` (nudged in place)."""
    grad = np.zeros_like(array)
    flat, out = array.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        kept = flat[i]
        flat[i] = kept + eps
        plus = f()
        flat[i] = kept - eps
        minus = f()
        flat[i] = kept
        out[i] = (plus - minus) / (2 * eps)
    return grad


def missing(reason: str):
    """Skip a test whose system tool (Chromium, pdflatex) is absent here. Under CI, where ``make test`` installs
    them, fail instead: a skip there would hide a broken set-up and verify nothing."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; under CI make test installs it")
    pytest.skip(reason)


def pdflatex() -> str:
    """pdflatex's path, for the tests that compile LaTeX (see ``missing``)."""
    found = shutil.which("pdflatex")
    if found is None:
        missing("pdflatex is not installed (make test installs it as root)")
    return found


# Files whose tests are independent, each slow, and share no fixture worth keeping: pytest-xdist spreads them over
# its workers. Every other file's tests stay together on one worker (its module and session fixtures made once: a
# browser, the hostile corpus's runs, a Dask cluster).
SPREAD_OVER_WORKERS = {"test_blas_kernels.py", "test_readme.py"}


@pytest.hookimpl(optionalhook=True)      # a hook of pytest-xdist's: without it, pytest runs serially
def pytest_xdist_make_scheduler(config, log):
    """pytest-xdist's scheduling by file, but one test at a time for the files above. (Its own "loadgroup" marks
    do not reach the scheduler under pytest 9.2, which no longer lets a plugin rename a test's node id.)"""
    from xdist.scheduler import LoadScopeScheduling

    class ByFile(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            file = nodeid.split("::", 1)[0]
            return nodeid if file.rsplit("/", 1)[-1] in SPREAD_OVER_WORKERS else file

    return ByFile(config, log)
