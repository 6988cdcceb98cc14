"""The one matrix product NumPy does not offer: ``W <- W - x^T g`` in place, as a single GEMM with beta = 1.

Plain gradient descent on a dense layer is ``W <- W - eta dL/dW`` with ``dL/dW = x^T dL/dz``. Through NumPy it is two
passes over the weights: the product writes ``dL/dW``, then the update reads it and ``W`` and writes ``W``. BLAS's
GEMM computes ``C <- alpha A B + beta C``, so with ``alpha = -1``, ``beta = 1`` and the learning rate already folded
into ``g`` (see ``SGD.loss_scale``) the step happens inside the product: no gradient array, no update pass. On the
MNIST-shaped benchmark that pass is a tenth of an epoch beyond the matrix products.

The GEMM is NumPy's own: the OpenBLAS that NumPy's wheels ship and have already loaded (same library, same thread
pool), called through ``ctypes``. Where it cannot be found (another BLAS, another build), or its answer on a small
check differs from NumPy's, ``available`` says no and training keeps the NumPy path, which stays the reference.
``CHAINRULE_FUSED_STEP=0`` (or ``false``, ``no``, ``off``) in the environment turns it off.

It changes speed, never the numbers: ``rounds_as_reference`` says, for a layer's shape and batch size, whether it
gives exactly the reference's weights, and training fuses only where it does. Up to one block of OpenBLAS's batch
dimension (256 to 512 rows on the kernels measured) the GEMM sums ``x^T g`` and subtracts it once, as NumPy's
product and subtraction do; a longer batch is summed block by block and each block's sum subtracted as it goes,
``(W - p1) - p2`` instead of ``W - (p1 + p2)``, which rounds differently in the last bit.
"""

import ctypes
import os
from pathlib import Path

import numpy as np

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112
# The symbols of the scipy-openblas builds NumPy's wheels use: ILP64 (64-bit integers), as numpy>=2 ships it.
SYMBOLS = {np.dtype(np.float32): "scipy_cblas_sgemm64_", np.dtype(np.float64): "scipy_cblas_dgemm64_"}

_gemm: dict | None = None    # dtype -> the C function, once looked up
_checked: dict = {}          # (dtype, rows of W, columns of W, batch rows) -> rounds_as_reference's answer


def _library_candidates():
    """NumPy's bundled OpenBLAS: ``numpy.libs`` beside the package (Linux, Windows) or ``numpy/.dylibs`` (macOS)."""
    package = Path(np.__file__).parent
    for folder in (package.parent / "numpy.libs", package / ".dylibs"):
        if folder.is_dir():
            yield from sorted(p for p in folder.iterdir() if "openblas" in p.name.lower())


def _load() -> dict:
    found = {}
    if os.environ.get("CHAINRULE_FUSED_STEP", "1").strip().lower() in ("0", "false", "no", "off"):
        return found
    for path in _library_candidates():
        try:
            library = ctypes.CDLL(str(path))        # already loaded by NumPy: the same handle, the same thread pool
        except OSError:
            continue
        for dtype, symbol in SYMBOLS.items():
            function = getattr(library, symbol, None)
            if function is None:
                continue
            scalar = ctypes.c_float if dtype == np.float32 else ctypes.c_double
            i64, ptr = ctypes.c_int64, ctypes.c_void_p
            function.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, i64, i64, i64, scalar, ptr, i64, ptr, i64,
                                 scalar, ptr, i64]
            function.restype = None
            if _agrees(function, dtype):
                found[dtype] = function
        if found:
            break
    return found


def _agrees(function, dtype) -> bool:
    """The library's answer on a small product against NumPy's, both layouts of each factor."""
    rng = np.random.default_rng(0)
    weight = rng.standard_normal((7, 5)).astype(dtype)
    x, g = rng.standard_normal((3, 7)).astype(dtype), rng.standard_normal((3, 5)).astype(dtype)
    expected = weight - x.T @ g
    for x_, g_ in ((x, g), (np.asfortranarray(x), np.asfortranarray(g))):
        got = weight.copy()
        _call(function, got, x_, g_)
        if not np.allclose(got, expected, rtol=1e-5, atol=1e-5):
            return False
    return True


def _layout(matrix: np.ndarray) -> tuple[int, int] | None:
    """(transpose flag, leading dimension) that describe a 2-D array to a row-major GEMM; None if it has no unit
    stride (a view BLAS cannot read in place)."""
    item = matrix.itemsize
    rows, cols = matrix.shape
    if matrix.strides[1] == item and (rows == 1 or matrix.strides[0] >= cols * item):
        return NO_TRANS, max(matrix.strides[0] // item, cols)
    if matrix.strides[0] == item and (cols == 1 or matrix.strides[1] >= rows * item):
        return TRANS, max(matrix.strides[1] // item, rows)
    return None


def _call(function, weight, x, g) -> bool:
    """weight (D_in, D_out) <- weight - x^T g, for x: (N, D_in), g: (N, D_out); False if a layout does not fit."""
    lx, lg = _layout(x), _layout(g)
    if lx is None or lg is None or not weight.flags.c_contiguous:
        return False
    n, d_in = x.shape
    d_out = g.shape[1]
    # row-major C = op(A) op(B) with A = x^T: x stored (N, D_in) row-major is x^T transposed, and vice versa
    trans_a = TRANS if lx[0] == NO_TRANS else NO_TRANS
    function(ROW_MAJOR, trans_a, lg[0], d_in, d_out, n, -1.0, x.ctypes.data, lx[1], g.ctypes.data, lg[1], 1.0,
             weight.ctypes.data, d_out)
    return True


def available(dtype) -> bool:
    """Whether the fused step can run for arrays of ``dtype``."""
    global _gemm
    if _gemm is None:
        _gemm = _load()
    return np.dtype(dtype) in _gemm


def subtract_product(weight: np.ndarray, x: np.ndarray, g: np.ndarray) -> None:
    """``weight <- weight - x^T g`` in place (``weight: (D_in, D_out)``, ``x: (N, D_in)``, ``g: (N, D_out)``), in one
    GEMM where ``available``, else as NumPy's product and subtraction."""
    function = _gemm.get(weight.dtype) if _gemm is not None else None
    if function is None or x.dtype != weight.dtype or g.dtype != weight.dtype or not _call(function, weight, x, g):
        weight -= x.T @ g


def rounds_as_reference(d_in: int, d_out: int, rows: int, dtype) -> bool:
    """Whether ``subtract_product`` gives exactly the reference's weights (NumPy's product, then the subtraction)
    for a ``(d_in, d_out)`` weight and a batch of ``rows``. The order of OpenBLAS's sums depends on the shapes, not
    on the numbers, so one product on random numbers tells (a different order changes about a third of the
    weights). The batch dimension decides it; the weight's rows are capped at 128 to keep the check cheap. Once per
    shape; False where the fused step is not ``available``."""
    if not available(dtype):
        return False
    key = (np.dtype(dtype), min(int(d_in), 128), int(d_out), int(rows))
    if key not in _checked:
        rng = np.random.default_rng(0)
        weight = rng.random(key[1:3], dtype=dtype) - 0.5
        x, g = rng.random((rows, key[1]), dtype=dtype) - 0.5, rng.random((rows, d_out), dtype=dtype) - 0.5
        reference = weight - (np.multiply(x.T, g) if rows == 1 else np.dot(x.T, g))   # as Dense.param_backward
        fused = weight.copy()
        subtract_product(fused, x, g)
        _checked[key] = bool(np.array_equal(fused, reference))
    return _checked[key]
