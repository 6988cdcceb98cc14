"""The training loss as a function of one flat parameter vector: what full-batch solvers need.

scipy's L-BFGS asks for ``f(theta) -> (loss, gradient)`` on a 1-D vector; data-parallel training asks each worker
for the sum of the loss and its gradient over the rows it holds, and adds those up. Both are the network's own
``_loss`` and ``backward`` on the network's own flat parameter array (``Network.flat_parameters``): no second
implementation of the maths. Sums, not means, are what travel: a worker with no rows sends zeros, and the mean over
all rows is the total divided by the number of rows, however the rows are split.
"""

import numpy as np

from .layers import Dense, Dropout
from .losses import Weighted
from .network import Network

#: the full batch is summed block by block, each block's widest activations about this size: small enough to stay in
#: a core's cache between a layer's product and its elementwise work (bias, activation, loss), which then cost a
#: fraction of a pass over memory. Measured for 100-100-10 on 50,000 rows: 512 rows a block (400 KB of float64
#: activations) takes 65 ms an evaluation, 4,096 rows 78 ms, with the same products.
BLOCK_BYTES = 400 * 1024
MIN_BLOCK_ROWS, MAX_BLOCK_ROWS = 256, 4096


def block_rows_for(network: Network) -> int:
    """Rows per block for ``network``: its widest layer's activations in ``BLOCK_BYTES``, within the bounds."""
    widest = max([network.in_features] + [getattr(layer, "out_features", 0) for layer in network.layers])
    rows = BLOCK_BYTES // (widest * np.dtype(network.dtype).itemsize)
    return int(min(MAX_BLOCK_ROWS, max(MIN_BLOCK_ROWS, rows)))


def weight_mask(network: Network) -> np.ndarray:
    """``(P,)``, True where the network's flat parameter array holds a weight and False where it holds a bias: the
    entries an L2 penalty reaches (scikit-learn's, in every solver)."""
    mask = np.zeros(network.flat_parameters()[0].shape, dtype=bool)
    offset = 0
    for layer in network.layers:
        for name, param in layer.params.items():
            mask[offset:offset + param.size] = name == "weight"
            offset += param.size
    return mask


def set_flat(network: Network, theta: np.ndarray) -> np.ndarray:
    """Copy ``theta: (P,)`` into the network's parameters (in the order of ``named_parameters``); returns the
    network's flat gradient array, which ``backward`` writes."""
    flat_params, flat_grads = network.flat_parameters()
    if theta.shape != flat_params.shape:
        raise ValueError(f"theta: expected shape {flat_params.shape}, found {theta.shape}")
    flat_params[...] = theta
    return flat_grads


def loss_and_gradient_sum(network: Network, X: np.ndarray, Y: np.ndarray, *, weight: np.ndarray | None = None,
                          block_rows: int | None = None) -> tuple[float, np.ndarray]:
    """The sum over the rows of ``X: (N, D)`` (prepared inputs) and ``Y: (N, K)`` (encoded targets) of each
    example's loss, and its gradient with respect to the flat parameters ``(P,)``, at the network's current
    parameters. ``N`` may be 0 (loss 0, gradient 0). No dropout: a full-batch objective must be a function (the
    training pass, faster, runs when it computes the same function: see ``_fast_pass_is_the_function``).

    ``weight: (N,)``, non-negative, weighs each row's loss: the sums become sum_n w_n l_n and its gradient. The
    engine's own weighted loss (``losses.Weighted``) takes each block, whose mean sum w l / sum w times the block's
    sum of weights is the block's part of the total."""
    flat_params, flat_grads = network.flat_parameters()
    total_loss, total_grad = 0.0, np.zeros_like(flat_params)
    block_rows = block_rows or block_rows_for(network)
    training = _fast_pass_is_the_function(network)
    if training and isinstance(network.layers[-1], Dense):     # the softmax over columns, as fit lays it out
        network.layers[-1].outputs_by_column = network.loss_fn.output == "softmax"
    base = network.loss_fn
    if weight is not None:
        if weight.shape != (len(X),):
            raise ValueError(f"weight: expected shape ({len(X)},), one per row of X, found {weight.shape}")
        network.loss_fn = Weighted(base, network.out_features)
    try:
        for start in range(0, len(X), block_rows):
            x, y = X[start:start + block_rows], Y[start:start + block_rows]
            if weight is None:
                part = float(len(x))          # the block's mean loss times its rows: its sum
            else:
                w = weight[start:start + block_rows]
                y, part = np.column_stack([y, w.astype(y.dtype)]), float(w.sum())
            total_loss += network._loss(x, y, training=training) * part
            network.backward(scale=part)          # the gradient of part * mean = the block's sum
            total_grad += flat_grads
    finally:
        network.loss_fn = base
    return total_loss, total_grad


def _fast_pass_is_the_function(network: Network) -> bool:
    """Whether the training pass (each layer's reused buffers, work in place: fewer passes over memory) computes the
    same function as the plain one: when no dropout is drawn, and the first layer is dense, which reads the rows
    of ``X`` and never writes them (an activation first would work in place on the caller's data)."""
    dropping = any(isinstance(layer, Dropout) and layer.rate > 0 for layer in network.layers)
    return isinstance(network.layers[0], Dense) and not dropping


class Objective:
    """``f(theta) -> (mean loss + penalty, gradient)`` over one full batch, for ``scipy.optimize.minimize``
    (``jac=True``). ``l2``: the penalty ``l2 / 2 * ||W||^2`` on the weights (never the biases), scikit-learn's
    ``alpha / (2 N)`` when ``l2 = alpha / N``. ``sample_weight: (N,)`` makes the mean a weighted one,
    ``sum w l / sum w`` (scikit-learn's ``alpha / (2 sum w)`` is then ``l2 = alpha / sum w``). Counts its
    evaluations in ``calls``."""

    def __init__(self, network: Network, X: np.ndarray, Y: np.ndarray, *, l2: float = 0.0, sample_weight=None):
        self.network, self.X, self.Y, self.l2, self.calls = network, X, Y, float(l2), 0
        self.weight = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        self.total = float(len(X)) if self.weight is None else float(self.weight.sum())
        self.weight_mask = weight_mask(network)          # (P,): True where theta holds a weight

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        self.calls += 1
        set_flat(self.network, np.asarray(theta, dtype=self.network.dtype))
        loss, grad = loss_and_gradient_sum(self.network, self.X, self.Y, weight=self.weight)
        n = self.total if self.total > 0 else 1.0
        extra, extra_grad = self.penalty(theta)
        return float(loss / n + extra), (grad / n + extra_grad).astype(np.float64, copy=False)

    def penalty(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """``l2 / 2 * ||W||^2`` over the weights of ``theta: (P,)`` and its gradient ``l2 * W`` (0 at biases): what
        every full-batch fit adds to its mean loss, in memory or summed over a cluster's workers."""
        weights = np.where(self.weight_mask, theta, 0.0)
        return 0.5 * self.l2 * float(np.dot(weights, weights)), self.l2 * weights


def minimize_lbfgs(fun, theta0: np.ndarray, *, max_iter: int, max_fun: int, tol: float):
    """L-BFGS-B on ``fun(theta) -> (loss, gradient)`` as scikit-learn's MLP runs it (``maxiter``, ``maxfun``,
    ``gtol``), returning scipy's ``OptimizeResult``. One place for the options, so that every full-batch fit (in
    memory or over a cluster's workers) takes the same iterates from the same function values, and ends with the
    same check: weights that became non-finite are refused, never handed back."""
    from .extras import require
    from .training import TrainingDiverged

    minimize = require("scipy.optimize", "sklearn", "solver='lbfgs'").minimize
    result = minimize(fun, np.asarray(theta0, dtype=np.float64), method="L-BFGS-B", jac=True,
                      options={"maxfun": max_fun, "maxiter": max_iter, "gtol": tol})
    if not np.all(np.isfinite(result.x)):
        raise TrainingDiverged("lbfgs: the weights became non-finite; the inputs may hold very large values, "
                               "expected standardised features (StandardScaler, or standardize=True)")
    return result
