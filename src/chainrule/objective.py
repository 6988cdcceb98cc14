"""The training loss as a function of one flat parameter vector: what full-batch solvers need.

scipy's L-BFGS asks for ``f(theta) -> (loss, gradient)`` on a 1-D vector; data-parallel training asks each worker
for the sum of the loss and its gradient over the rows it holds, and adds those up. Both are the network's own
``_loss`` and ``backward`` on the network's own flat parameter array (``Network.flat_parameters``): no second
implementation of the maths. Sums, not means, are what travel: a worker with no rows sends zeros, and the mean over
all rows is the total divided by the number of rows, however the rows are split.
"""

import numpy as np

from .network import Network

#: rows per forward/backward pass: the full batch is summed block by block, so its memory stays that of one block
BLOCK_ROWS = 4096


def set_flat(network: Network, theta: np.ndarray) -> np.ndarray:
    """Copy ``theta: (P,)`` into the network's parameters (in the order of ``named_parameters``); returns the
    network's flat gradient array, which ``backward`` writes."""
    flat_params, flat_grads = network.flat_parameters()
    if theta.shape != flat_params.shape:
        raise ValueError(f"theta: expected shape {flat_params.shape}, found {theta.shape}")
    flat_params[...] = theta
    return flat_grads


def loss_and_gradient_sum(network: Network, X: np.ndarray, Y: np.ndarray, *,
                          block_rows: int = BLOCK_ROWS) -> tuple[float, np.ndarray]:
    """The sum over the rows of ``X: (N, D)`` (prepared inputs) and ``Y: (N, K)`` (encoded targets) of each
    example's loss, and its gradient with respect to the flat parameters ``(P,)``, at the network's current
    parameters. ``N`` may be 0 (loss 0, gradient 0). No dropout: a full-batch objective must be a function. ``Y``
    holds targets only: ``fit``'s extra column of sample weights is normalised per batch, which a sum over blocks
    cannot be (weight the rows' sum outside instead)."""
    flat_params, flat_grads = network.flat_parameters()
    total_loss, total_grad = 0.0, np.zeros_like(flat_params)
    for start in range(0, len(X), block_rows):
        x, y = X[start:start + block_rows], Y[start:start + block_rows]
        m = len(x)
        total_loss += network._loss(x, y, training=False) * m
        network.backward(scale=float(m))          # the gradient of m * mean = the block's sum
        total_grad += flat_grads
    return total_loss, total_grad


class Objective:
    """``f(theta) -> (mean loss + penalty, gradient)`` over one full batch, for ``scipy.optimize.minimize``
    (``jac=True``). ``l2``: the penalty ``l2 / 2 * ||W||^2`` on the weights (never the biases), scikit-learn's
    ``alpha / (2 N)`` when ``l2 = alpha / N``. Counts its evaluations in ``calls``."""

    def __init__(self, network: Network, X: np.ndarray, Y: np.ndarray, *, l2: float = 0.0):
        self.network, self.X, self.Y, self.l2, self.calls = network, X, Y, float(l2), 0
        flat_params, _ = network.flat_parameters()
        self.weight_mask = np.zeros(flat_params.shape, dtype=bool)   # (P,): True where theta holds a weight
        offset = 0
        for layer in network.layers:
            for name, param in layer.params.items():
                self.weight_mask[offset:offset + param.size] = name == "weight"
                offset += param.size

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        self.calls += 1
        set_flat(self.network, np.asarray(theta, dtype=self.network.dtype))
        loss, grad = loss_and_gradient_sum(self.network, self.X, self.Y)
        n = max(len(self.X), 1)
        loss, grad = loss / n, grad / n
        if self.l2:
            weights = np.where(self.weight_mask, theta, 0.0)
            loss += 0.5 * self.l2 * float(np.dot(weights, weights))
            grad += self.l2 * weights
        return float(loss), grad.astype(np.float64, copy=False)


def minimize_lbfgs(fun, theta0: np.ndarray, *, max_iter: int, max_fun: int, tol: float):
    """L-BFGS-B on ``fun(theta) -> (loss, gradient)`` as scikit-learn's MLP runs it (``maxiter``, ``maxfun``,
    ``gtol``), returning scipy's ``OptimizeResult``. One place for the options, so that every full-batch fit (in
    memory or over a cluster's workers) takes the same iterates from the same function values."""
    from .extras import require

    minimize = require("scipy.optimize", "sklearn", "solver='lbfgs'").minimize
    return minimize(fun, np.asarray(theta0, dtype=np.float64), method="L-BFGS-B", jac=True,
                    options={"maxfun": max_fun, "maxiter": max_iter, "gtol": tol})
