"""How a number stored in the repository (a golden file, a README output, an expected value) is compared with the
number computed now, on whatever CPU runs the tests.

The BLAS kernel NumPy's OpenBLAS picks depends on the CPU (Haswell, SkylakeX, a generic one, ...), and each sums a
matrix product's terms in its own order, so the last bits of a product differ between machines: 1-3 ulps on the
golden explanations (measured under OPENBLAS_CORETYPE=Haswell, SkylakeX and Prescott). Stored numbers therefore
agree within

- a relative tolerance of 1e-12 (about 4,500 ulps of float64): summing n terms in another order moves a result by
  at most about n·ε·Σ|terms|, which for the explanations' few-term products stays below 1e-14 of the result, while a
  change in the maths moves a number by far more than 1e-12;
- an absolute floor of 1e-12 times the largest magnitude in the same document, for a number that cancellation
  brings near 0 (its error is relative to the terms it came from, not to itself).

Everything that is not a number (verdicts, names, formulas, counts) must be identical. Bit-for-bit equality is
tested only where it is promised: the same seed twice on one machine, and two paths in one process.
"""

import math

RTOL = 1e-12
ABS_FLOOR = 1e-12


def leaves(document, path=""):
    """Every leaf of a JSON document by its path (``/quantities/z3``, ``/claims/0/verdict``, ...)."""
    if isinstance(document, dict):
        return {k: v for key, value in document.items() for k, v in leaves(value, f"{path}/{key}").items()}
    if isinstance(document, list):
        return {k: v for i, value in enumerate(document) for k, v in leaves(value, f"{path}/{i}").items()}
    return {path: document}


def is_float(value) -> bool:
    return isinstance(value, float)


def differences(recorded, now) -> dict[str, tuple]:
    """The leaves of the stored JSON document that the one computed now lacks or disagrees with: path -> (stored,
    now). Floats agree within the tolerance above; every other leaf (strings, booleans, integers, null) exactly.
    Leaves only ``now`` has (a field added since the file was recorded) are not differences."""
    recorded, now = leaves(recorded), leaves(now)
    scale = max((abs(v) for v in recorded.values() if is_float(v) and math.isfinite(v)), default=1.0)
    return {path: (value, now.get(path, "(missing)")) for path, value in recorded.items()
            if not agrees(value, now.get(path, "(missing)"), ABS_FLOOR * scale)}


def agrees(recorded, now, abs_tol: float) -> bool:
    if is_float(recorded) and isinstance(now, (int, float)) and not isinstance(now, bool):
        if not math.isfinite(recorded):
            return recorded == now or (math.isnan(recorded) and math.isnan(now))
        return math.isclose(now, recorded, rel_tol=RTOL, abs_tol=abs_tol)
    return type(recorded) is type(now) and recorded == now
