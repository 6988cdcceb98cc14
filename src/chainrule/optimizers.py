"""Optimizers own their state and one formula each; the base class does the bookkeeping.

``step(params, grads)`` updates the arrays of ``params`` in place from ``grads``, both keyed by the network's
parameter names. Pass a subset of the names to leave the rest frozen (some worked examples keep biases fixed).
"""

import numpy as np

from .errors import ChainruleError


class Optimizer:
    def __init__(self, lr: float):
        if not (np.isfinite(lr) and lr > 0):
            raise ChainruleError(f"Invalid learning rate: expected a positive finite number, found {lr!r}")
        self.lr = float(lr)
        self.state: dict[str, dict[str, np.ndarray]] = {}

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        for name, param in params.items():
            self.update(param, grads[name], self.state.setdefault(name, {}))

    def update(self, param: np.ndarray, grad: np.ndarray, state: dict) -> None:
        raise NotImplementedError


class GradientDescent(Optimizer):
    """The article's rule, w <- w - eta * dL/dw."""

    def update(self, param, grad, state):
        param -= param.dtype.type(self.lr) * grad
