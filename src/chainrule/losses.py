"""Losses, each with its gradient beside it, and the output/loss pairings a network may end with.

A loss takes the network's raw output ``z: (N, K)`` and the targets ``y: (N, K)`` and returns the mean over the
batch. Three pairings are fused, softmax + cross-entropy, sigmoid + binary cross-entropy and exp + Poisson deviance:
the loss receives the logits and applies the output function itself. Fusing is both stable (log-sum-exp, so no
log(0) and no overflow) and simple, because the output function's Jacobian cancels against the loss's derivative
and the error at the logits is just ``(yhat - y) / N``. Every other pairing puts the output activation in a layer of
its own and the loss compares that layer's output with the targets.
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

    def per_example(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Each example's own loss, ``l: (N,)``, whose mean is ``forward``'s value; leaves the same state as
        ``forward`` so that ``backward`` follows it (the weighted loss uses it: see ``Weighted``)."""
        raise NotImplementedError


class SoftmaxCrossEntropy(Loss):
    """L = -(1/N) sum_n sum_k y_nk ln yhat_nk, with yhat = softmax(z)."""

    name, output = "cross_entropy", "softmax"

    def link(self, z):
        return softmax(z)

    def forward(self, z, y):
        # ln yhat_k = s_k - ln sum_m e^s_m with s = z - max(z): log-sum-exp, so no exponent is positive and
        # ln(0) never happens. With rows of y summing to one, L = mean(ln sum e^s) - mean(sum_k y_k s_k).
        # Each step works in place on the one array it made: the same operations, fewer temporaries. One example
        # (a step of the article's network) takes its max and sum as 0-d arrays and its ln sum as the element
        # itself: the same numbers, without NumPy's broadcasting and reduction set-up (about 2 µs of a 20 µs step).
        one = len(z) == 1
        peak = np.maximum.reduce(z, axis=1, keepdims=True)          # (N, 1)
        shifted = z - (peak.reshape(()) if one else peak)           # (N, K)
        picked = np.vdot(y, shifted)                                # sum_n sum_k y_nk s_nk
        e = np.exp(shifted, shifted)
        total = np.add.reduce(e, axis=1, keepdims=True)             # (N, 1), >= 1
        self.yhat, self.y = np.divide(e, total.reshape(()) if one else total, e), y
        log_total = np.log(total, total)
        summed = log_total[0, 0] if one else np.add.reduce(log_total, axis=None)
        return float((summed - picked) / len(z))

    def per_example(self, z, y):
        shifted = z - z.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        total = e.sum(axis=1, keepdims=True)
        self.yhat, self.y = e / total, y
        return np.log(total[:, 0]) - (y * shifted).sum(axis=1)

    def backward(self, scale=1.0):
        # dL/dz_k = sum_j dL/dyhat_j dyhat_j/dz_k = sum_j (-y_j / yhat_j) yhat_j (delta_jk - yhat_k) = yhat_k - y_k
        # when each row of y sums to one; the mean over the batch divides by N.
        error = self.yhat - self.y
        return np.multiply(error, scale / len(self.y), error)


class SigmoidBinaryCrossEntropy(Loss):
    """L = -(1/N) sum_n sum_k [y ln yhat + (1 - y) ln(1 - yhat)], with yhat = sigmoid(z), one unit per label."""

    name, output = "binary_cross_entropy", "sigmoid"

    def link(self, z):
        return sigmoid(z)

    def forward(self, z, y):
        # ln(1 + e^-|z|) + max(z, 0) - z y is the same sum written so that no exponent is positive.
        self.yhat, self.y = sigmoid(z), y
        return float((np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))).sum() / len(z))

    def per_example(self, z, y):
        self.yhat, self.y = sigmoid(z), y
        return (np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))).sum(axis=1)

    def backward(self, scale=1.0):
        return (self.yhat - self.y) * (scale / len(self.y))   # the sigmoid's a(1 - a) cancels as softmax's does


class ExpPoissonDeviance(Loss):
    """Half the Poisson deviance, L = (1/N) sum_n sum_k [y ln(y / yhat) - y + yhat] with yhat = e^z: the loss of
    counts and rates (targets y >= 0), as scikit-learn's ``MLPRegressor(loss="poisson")`` has it.

    Fused with its output for the reason softmax and cross-entropy are: ln yhat is z itself, so no logarithm of a
    prediction is taken and dL/dz = (yhat - y) / N. The term y ln y - y does not depend on z; with it a perfect fit
    has loss 0 (y ln y is taken as 0 at y = 0, its limit)."""

    name, output = "poisson", "exp"

    def link(self, z):
        return np.exp(z)

    def forward(self, z, y):
        return float(self.per_example(z, y).sum() / len(z))

    def per_example(self, z, y):
        self.yhat, self.y = np.exp(z), y
        y_ln_y = y * np.log(np.where(y > 0, y, 1.0))          # 0 where y = 0
        return (y_ln_y - y * z - y + self.yhat).sum(axis=1)

    def backward(self, scale=1.0):
        return (self.yhat - self.y) * (scale / len(self.y))


class HalfSquaredError(Loss):
    """E = (1/N) sum_n 1/2 sum_k (t_nk - o_nk)^2: the worked examples' E = 1/2 sum (t - o)^2, per example."""

    name = "half_squared_error"

    def forward(self, z, y):
        self.yhat, self.diff = z, z - y               # (N, K); the output layer already applied its activation
        return float(0.5 * (self.diff ** 2).sum() / len(z))

    def per_example(self, z, y):
        self.yhat, self.diff = z, z - y
        return 0.5 * (self.diff ** 2).sum(axis=1)

    def backward(self, scale=1.0):
        return self.diff * (scale / len(self.diff))


class SumSquaredError(Loss):
    """E = (1/N) sum_n sum_k (o_nk - t_nk)^2: each example's sum of squared errors over its outputs, without the
    1/2 that HalfSquaredError carries (so dE/do = 2 (o - t)); the batch is averaged as every loss here averages it
    (an explained spec's ``reduction = "sum"`` adds the examples' instead)."""

    name = "sum_squared_error"

    def forward(self, z, y):
        return float(self.per_example(z, y).sum() / len(z))

    def per_example(self, z, y):
        self.yhat, self.diff = z, z - y               # (N, K); the output layer already applied its activation
        return (self.diff ** 2).sum(axis=1)

    def backward(self, scale=1.0):
        return self.diff * (2.0 * scale / len(self.diff))


class OutputObjective(Loss):
    """L = (1/N) sum_n sum_k o_nk: the network's output itself is what is differentiated, as when a worked example
    calls ``o.backward()`` on a neuron's output o (micrograd), so that do/do = 1 starts the backward pass.

    No target enters it: ``y: (N, K)`` is taken only because every loss takes it, and is never read. With K outputs
    the objective is their sum; over a batch, the mean (an explained spec's ``reduction = "sum"`` adds them)."""

    name = "output"

    def forward(self, z, y):
        return float(self.per_example(z, y).sum() / len(z))

    def per_example(self, z, y):
        self.yhat = z                                 # (N, K); the output layer already applied its activation
        return z.sum(axis=1)

    def backward(self, scale=1.0):
        return np.full_like(self.yhat, scale / len(self.yhat))     # dL/do = 1, scaled as the batch is


class MeanSquaredError(Loss):
    """L = (1/(N K)) sum_n sum_k (y_nk - o_nk)^2: the mean over every output of every example."""

    name = "mean_squared_error"

    def forward(self, z, y):
        self.yhat, self.diff = z, z - y
        return float((self.diff ** 2).mean())

    def per_example(self, z, y):
        self.yhat, self.diff = z, z - y
        return (self.diff ** 2).mean(axis=1)

    def backward(self, scale=1.0):
        return self.diff * (2.0 * scale / self.diff.size)


class AbsoluteError(Loss):
    """L = (1/N) sum_n sum_k |o_nk - t_nk|: the median's loss, robust to outlying targets.

    Its gradient is sign(o - t) / N; at o = t, where |.| has no derivative, it is 0 (a subgradient)."""

    name = "absolute_error"

    def forward(self, z, y):
        return float(self.per_example(z, y).sum() / len(z))

    def per_example(self, z, y):
        self.yhat, self.diff = z, z - y
        return np.abs(self.diff).sum(axis=1)

    def backward(self, scale=1.0):
        return np.sign(self.diff) * (scale / len(self.diff))


class Huber(Loss):
    """L = (1/N) sum_n sum_k h(o_nk - t_nk), with h(r) = r^2 / 2 for |r| <= epsilon and
    epsilon (|r| - epsilon / 2) beyond: squared error near the target, absolute error (scaled) far from it.

    The two pieces meet with equal value and slope at |r| = epsilon, so the gradient, dh/dr = clip(r, -epsilon,
    epsilon), is continuous. ``epsilon`` is in the targets' units; 1.35 is scikit-learn's HuberRegressor default.
    """

    name = "huber"

    def __init__(self, epsilon: float = 1.35):
        epsilon = float(epsilon)
        if not (np.isfinite(epsilon) and epsilon > 0):
            raise ChainruleError(f"huber loss: epsilon must be a finite number > 0, found {epsilon!r}")
        self.epsilon = epsilon

    def forward(self, z, y):
        return float(self.per_example(z, y).sum() / len(z))

    def per_example(self, z, y):
        self.yhat, self.diff = z, z - y
        r = np.abs(self.diff)
        return np.where(r <= self.epsilon, 0.5 * r ** 2, self.epsilon * (r - 0.5 * self.epsilon)).sum(axis=1)

    def backward(self, scale=1.0):
        return np.clip(self.diff, -self.epsilon, self.epsilon) * (scale / len(self.diff))


class Weighted(Loss):
    """``base`` with a weight per example: L = sum_n w_n l_n / sum_n w_n over the batch, scikit-learn's meaning
    of ``sample_weight`` (a weight of 2 counts the example twice; equal weights give back the plain mean).

    ``fit`` passes the weights as one extra target column, so that the batches it gathers carry them with no second
    gather: targets ``(N, K + 1)`` are weighted, targets ``(N, K)`` (validation, evaluation) are not. A batch whose
    weights are all 0 contributes nothing (loss and gradient 0). Writing
    v_n = w_n N / sum w, L = (1/N) sum v_n l_n, so dL/dz_n = v_n times the unweighted mean's gradient row.
    """

    def __init__(self, base: Loss, outputs: int):
        self.base, self.outputs = base, outputs
        self.name, self.output = base.name, base.output
        self.v = None

    @property
    def yhat(self):
        return self.base.yhat

    def link(self, z):
        return self.base.link(z)

    def forward(self, z, y):
        if y.shape[1] == self.outputs:
            self.v = None
            return self.base.forward(z, y)
        w = y[:, self.outputs]
        total = w.sum()
        # a batch whose weights are all 0 counts for nothing: loss and gradient 0, as if it were not there
        self.v = (w * (len(w) / total) if total > 0 else np.zeros_like(w))[:, None]   # (N, 1), mean 1
        return float(np.dot(self.v[:, 0], self.base.per_example(z, y[:, :self.outputs])) / len(z))

    def backward(self, scale=1.0):
        grad = self.base.backward(scale)
        return grad if self.v is None else grad * self.v


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
         ("sigmoid", "binary_cross_entropy"): SigmoidBinaryCrossEntropy,
         ("exp", "poisson"): ExpPoissonDeviance}
UNFUSED = {"half_squared_error": HalfSquaredError, "mean_squared_error": MeanSquaredError,
           "absolute_error": AbsoluteError, "huber": Huber, "sum_squared_error": SumSquaredError,
           "output": OutputObjective}
PAIRINGS = list(FUSED) + [(out, loss) for out in ("identity", "sigmoid", "tanh", "softmax") for loss in UNFUSED]
PAIRINGS.append(("relu", "output"))     # a ReLU neuron's output as the objective (micrograd's Neuron); no target
DEFAULT_LOSS = {"softmax": "cross_entropy", "sigmoid": "binary_cross_entropy", "identity": "mean_squared_error",
                "exp": "poisson"}


def output_head(output: str, loss: str | None = None):
    """The layers to append after the last dense layer, and the loss, for an output activation and a loss name.

    Returns ``(layers, loss)``: ``([], fused_loss)`` for a fused pairing, else ``([ActivationLayer()], loss)``.
    ``loss`` may also be a ``Loss`` made with its own settings, such as ``Huber(epsilon=0.5)``.
    """
    if isinstance(loss, Loss):
        if (output, loss.name) in FUSED and loss.output == output:
            return [], loss
        if (output, loss.name) in PAIRINGS and loss.output == "identity":
            return [ACTIVATIONS[output]()], loss
        loss = loss.name
    loss = loss or DEFAULT_LOSS.get(output)
    if (output, loss) in FUSED:
        return [], FUSED[output, loss]()
    if (output, loss) in PAIRINGS:
        return [ACTIVATIONS[output]()], UNFUSED[loss]()
    valid = ", ".join(f"{o} + {name}" for o, name in PAIRINGS)
    raise ChainruleError(f"output/loss pairing: expected one of {valid}; found {output} + {loss}")
