"""Checks at the boundary: arrays that come from users are turned into batches here, or rejected with a message
that names the array, what was expected and what was found. Inside the engine shapes are trusted."""

import numpy as np

from .errors import ChainruleError


def as_batch(values, name: str, width: int | None = None, dtype=np.float64) -> np.ndarray:
    """Return ``values`` as a finite 2-D array of shape ``(N, width)``; a 1-D vector is one example, ``(1, D)``."""
    try:
        batch = np.asarray(values, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ChainruleError(f"{name}: expected numbers, found values that are not numeric ({exc})") from None
    if batch.ndim == 1:
        batch = batch.reshape(1, -1)
    if batch.ndim != 2:
        raise ChainruleError(f"{name}: expected a 2-D array (examples, features), found shape {batch.shape}")
    if width is not None and batch.shape[1] != width:
        raise ChainruleError(
            f"{name}: expected {width} feature(s) per example, shape (N, {width}); found shape {batch.shape}")
    check_finite(batch, name)
    return batch


def check_finite(array: np.ndarray, name: str) -> None:
    """Raise naming the first NaN or infinite entry (row, column) and how many there are."""
    # One pass with no temporary: a NaN or infinity anywhere makes the sum non-finite. A finite sum proves the
    # array finite; a non-finite one (or an overflow of huge finite values) gets the exact search below.
    if array.size == 0 or np.isfinite(array.sum()):
        return
    bad = ~np.isfinite(array)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        kind = "NaN" if np.isnan(array[where]) else "an infinite value"
        place = f"row {where[0]}, column {where[1]}" if len(where) == 2 else f"index {where}"
        raise ChainruleError(f"{name}: expected finite numbers, found {kind} at {place} "
                             f"({int(bad.sum())} non-finite value(s) in all)")
