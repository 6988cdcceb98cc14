"""Losses, each with its gradient beside it, and the output/loss pairings a network may end with.

A loss takes the network's raw output ``z: (N, K)`` and the targets ``y: (N, K)`` and returns the mean over the
batch. Two pairings are fused, softmax + cross-entropy and sigmoid + binary cross-entropy: the loss receives the
logits and applies the output function itself. Fusing is both stable (log-sum-exp, so no log(0) and no overflow)
and simple, because the output function's Jacobian cancels against the loss's derivative and the error at the
logits is just ``(yhat - y) / N``. Every other pairing puts the output activation in a layer of its own and the
loss compares that layer's output with the targets.
"""

import numpy as np

from .activations import ACTIVATIONS, sigmoid, softmax
from .errors import ChainruleError


class Loss:
    name = "loss"
    #: the output activation the loss applies itself to turn ``z`` into predictions ("identity" if it is a layer)
    output = "identity"

    def link(self, z: np.ndarray) -> np.ndarray:
        """The network's predictions from its raw output ``z: (N, K)``."""
        return z

    def forward(self, z: np.ndarray, y: np.ndarray) -> float:
        raise NotImplementedError

    def backward(self, scale: float = 1.0) -> np.ndarray:
        """dL/dz: (N, K), for the ``z`` and ``y`` of the last ``forward`` (which leaves the predictions in ``yhat``);
        times ``scale`` when given (the gradient of ``scale * L``, in the same number of operations)."""
        raise NotImplementedError


class SoftmaxCrossEntropy(Loss):
    """L = -(1/N) sum_n sum_k y_nk ln yhat_nk, with yhat = softmax(z)."""

    name, output = "cross_entropy", "softmax"

    def link(self, z):
        return softmax(z)

    def forward(self, z, y):
        # ln yhat_k = s_k - ln sum_m e^s_m with s = z - max(z): log-sum-exp, so no exponent is positive and
        # ln(0) never happens. With rows of y summing to one, L = mean(ln sum e^s) - mean(sum_k y_k s_k).
        shifted = z - np.maximum.reduce(z, axis=1, keepdims=True)   # (N, K)
        e = np.exp(shifted)
        total = np.add.reduce(e, axis=1, keepdims=True)             # (N, 1), >= 1
        self.yhat, self.y = e / total, y
        return float((np.add.reduce(np.log(total), axis=None) - np.vdot(y, shifted)) / len(z))

    def backward(self, scale=1.0):
        # dL/dz_k = sum_j dL/dyhat_j dyhat_j/dz_k = sum_j (-y_j / yhat_j) yhat_j (delta_jk - yhat_k) = yhat_k - y_k
        # when each row of y sums to one; the mean over the batch divides by N.
        return (self.yhat - self.y) * (scale / len(self.y))


class SigmoidBinaryCrossEntropy(Loss):
    """L = -(1/N) sum_n sum_k [y ln yhat + (1 - y) ln(1 - yhat)], with yhat = sigmoid(z), one unit per label."""

    name, output = "binary_cross_entropy", "sigmoid"

    def link(self, z):
        return sigmoid(z)

    def forward(self, z, y):
        # ln(1 + e^-|z|) + max(z, 0) - z y is the same sum written so that no exponent is positive.
        self.yhat, self.y = sigmoid(z), y
        return float((np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))).sum() / len(z))

    def backward(self, scale=1.0):
        return (self.yhat - self.y) * (scale / len(self.y))   # the sigmoid's a(1 - a) cancels as softmax's does


class HalfSquaredError(Loss):
    """E = (1/N) sum_n 1/2 sum_k (t_nk - o_nk)^2: the worked examples' E = 1/2 sum (t - o)^2, per example."""

    name = "half_squared_error"

    def forward(self, z, y):
        self.yhat, self.diff = z, z - y               # (N, K); the output layer already applied its activation
        return float(0.5 * (self.diff ** 2).sum() / len(z))

    def backward(self, scale=1.0):
        return self.diff * (scale / len(self.diff))


class MeanSquaredError(Loss):
    """L = (1/(N K)) sum_n sum_k (y_nk - o_nk)^2: the mean over every output of every example."""

    name = "mean_squared_error"

    def forward(self, z, y):
        self.yhat, self.diff = z, z - y
        return float((self.diff ** 2).mean())

    def backward(self, scale=1.0):
        return self.diff * (2.0 * scale / self.diff.size)


class CrossEntropy(Loss):
    """L = -(1/N) sum_n sum_k y_nk ln p_nk on probabilities ``p`` that a Softmax layer already produced.

    Training always uses the fused SoftmaxCrossEntropy; this unfused form exists for audits, where an author's
    printed probabilities must enter the loss exactly as printed. ``p`` is floored at the smallest normal number,
    so ln(0) never happens.
    """

    name = "cross_entropy_on_probabilities"

    def forward(self, p, y):
        self.yhat, self.y = p, y
        return float(-(y * np.log(np.maximum(p, np.finfo(p.dtype).tiny))).sum() / len(p))

    def backward(self, scale=1.0):
        return -self.y / np.maximum(self.yhat, np.finfo(self.yhat.dtype).tiny) * (scale / len(self.y))


class BinaryCrossEntropy(Loss):
    """L = -(1/N) sum [y ln p + (1 - y) ln(1 - p)] on probabilities from a Sigmoid layer (for audits, like
    CrossEntropy); ``p`` is kept inside [tiny, 1 - eps] so neither logarithm sees 0."""

    name = "binary_cross_entropy_on_probabilities"

    def forward(self, p, y):
        self.yhat, self.y = p, y
        q = np.clip(p, np.finfo(p.dtype).tiny, 1 - np.finfo(p.dtype).epsneg)
        return float(-(y * np.log(q) + (1 - y) * np.log1p(-q)).sum() / len(p))

    def backward(self, scale=1.0):
        q = np.clip(self.yhat, np.finfo(self.yhat.dtype).tiny, 1 - np.finfo(self.yhat.dtype).epsneg)
        return (q - self.y) / (q * (1 - q)) * (scale / len(self.y))


#: the unfused forms of the fused pairings: the output activation as a layer, the loss on its probabilities
ON_PROBABILITIES = {"cross_entropy": CrossEntropy, "binary_cross_entropy": BinaryCrossEntropy}

FUSED = {("softmax", "cross_entropy"): SoftmaxCrossEntropy,
         ("sigmoid", "binary_cross_entropy"): SigmoidBinaryCrossEntropy}
UNFUSED = {"half_squared_error": HalfSquaredError, "mean_squared_error": MeanSquaredError}
PAIRINGS = list(FUSED) + [(out, loss) for out in ("identity", "sigmoid", "tanh", "softmax") for loss in UNFUSED]
DEFAULT_LOSS = {"softmax": "cross_entropy", "sigmoid": "binary_cross_entropy", "identity": "mean_squared_error"}


def output_head(output: str, loss: str | None = None):
    """The layers to append after the last dense layer, and the loss, for an output activation and a loss name.

    Returns ``(layers, loss)``: ``([], fused_loss)`` for a fused pairing, else ``([ActivationLayer()], loss)``.
    """
    loss = loss or DEFAULT_LOSS.get(output)
    if (output, loss) in FUSED:
        return [], FUSED[output, loss]()
    if (output, loss) in PAIRINGS:
        return [ACTIVATIONS[output]()], UNFUSED[loss]()
    valid = ", ".join(f"{o} + {name}" for o, name in PAIRINGS)
    raise ChainruleError(f"output/loss pairing: expected one of {valid}; found {output} + {loss}")
