"""Training on Dask arrays larger than one machine's memory, through Dask-ML's ``Incremental`` wrapper.

``Incremental`` (dask_ml.wrappers) hands each block of a Dask array to the estimator's ``partial_fit``, one block
after another, on whichever worker holds it: the model travels, the data stays where it is. chainrule's estimators
have ``partial_fit``, so the wrapper works on them as it is; the one thing added here is a clear error when the
blocks of ``X`` and ``y`` do not line up, which Dask-ML reports as a bare ``AssertionError``.
"""

from .errors import ChainruleError
from .extras import require

_wrappers = require("dask_ml.wrappers", "dist", "Training on Dask arrays (Incremental)")


def check_blocks(X, y) -> None:
    """Refuse Dask arrays whose row blocks differ: block i of ``X`` must hold the examples of block i of ``y``."""
    x_rows, y_rows = getattr(X, "chunks", None), getattr(y, "chunks", None)
    if x_rows is None or y_rows is None:
        return                                           # not Dask arrays: Dask-ML converts or refuses them
    if X.ndim == 2 and len(X.chunks[1]) != 1:
        raise ChainruleError(f"X: each block must hold whole rows, but X is also split across its columns "
                             f"(column blocks {X.chunks[1]}); use X.rechunk({{1: -1}})")
    if X.chunks[0] != y.chunks[0]:
        raise ChainruleError(f"y: its blocks must line up with X's, row for row; X's row blocks are "
                             f"{_short(X.chunks[0])} and y's are {_short(y.chunks[0])}; use "
                             f"y.rechunk({{0: X.chunks[0]}})")


def _short(blocks) -> str:
    return str(blocks) if len(blocks) <= 6 else f"({', '.join(map(str, blocks[:3]))}, ... {len(blocks)} blocks)"


class Incremental(_wrappers.Incremental):
    """``dask_ml.wrappers.Incremental`` that checks the blocks of ``X`` and ``y`` line up before training."""

    def fit(self, X, y=None, **fit_kwargs):
        check_blocks(X, y)
        return super().fit(X, y=y, **fit_kwargs)

    def partial_fit(self, X, y=None, **fit_kwargs):
        check_blocks(X, y)
        return super().partial_fit(X, y=y, **fit_kwargs)
