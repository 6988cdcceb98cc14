"""Input standardisation, fitted on the training part and kept with the model: predictions, evaluation, files and
checkpoints all apply the same one."""

import numpy as np

from .validation import check_finite


class Standardizer:
    """Per-feature ``(x - mean) / scale`` fitted on training data; a constant feature keeps scale 1."""

    def __init__(self, mean: np.ndarray, scale: np.ndarray):
        self.mean, self.scale = np.asarray(mean, dtype=np.float64), np.asarray(scale, dtype=np.float64)

    @classmethod
    def fit(cls, X: np.ndarray) -> "Standardizer":
        check_finite(X, "X")
        # Each column divided by its largest magnitude first: the variance of features of size 1e-170 would
        # underflow to 0, and of size 1e160 overflow, though their spread is perfectly representable.
        size = np.maximum(X.max(axis=0), -X.min(axis=0)).astype(np.float64)
        size = np.where(size > 0, size, 1.0)
        unit = X / size                                 # one temporary, as X.std itself makes
        scale = unit.std(axis=0, dtype=np.float64) * size
        mean = unit.mean(axis=0, dtype=np.float64) * size
        return cls(mean, np.where(scale > 0, scale, 1.0))

    def transform(self, X: np.ndarray, dtype=np.float32) -> np.ndarray:
        return ((X - self.mean) / self.scale).astype(dtype, copy=False)
