"""Activation functions as layers, forward and backward side by side.

Each backward says which value its derivative is taken from: sigmoid and tanh from their output ``a`` (which the
forward pass has anyway), ReLU from the sign of its output (the same as that of its input). Mixing ``z`` and ``a``
is the classic silent bug of from-scratch networks; the gradient checks in the tests would catch it.
"""

import numpy as np

from .layers import Layer


def sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-z) = exp(-ln(1 + e^-z)), with ln(1 + e^-z) from ``logaddexp(0, -z)``, which never overflows.

    Accurate to the last bits at both ends (sigma(-30) = 9.4e-14 keeps its relative precision, unlike forms that
    compute 1 - something), and silent at z = +-1000.
    """
    out = np.negative(z)
    np.logaddexp(_ZEROS.get(out.dtype, 0), out, out)   # `out` positional: see layers.py on the hot path
    np.negative(out, out)
    return np.exp(out, out)


# 0 as an array of each float dtype: a ufunc converts a Python number on every call, which costs as much as the
# operation itself on a small network's few values (the result is the same: the same dtype, the same 0)
_ZEROS = {np.dtype(t): np.zeros((), t) for t in (np.float16, np.float32, np.float64, np.longdouble)}
_ONES = {np.dtype(t): np.ones((), t) for t in (np.float16, np.float32, np.float64, np.longdouble)}


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax of ``z: (N, K)``; subtracting the row maximum keeps every exponent <= 0."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class Sigmoid(Layer):
    def forward(self, z, training=False):
        self.a = sigmoid(z)
        return self.a

    def backward(self, grad_out):
        grad = grad_out * self.a                      # from the output: sigma'(z) = a (1 - a)
        return np.multiply(grad, np.subtract(_ONES.get(self.a.dtype, 1.0), self.a), grad)


class Tanh(Layer):
    def forward(self, z, training=False):
        self.a = np.tanh(z)
        return self.a

    def backward(self, grad_out):
        return grad_out * (1.0 - self.a * self.a)    # from the output: tanh'(z) = 1 - a^2


class ReLU(Layer):
    def forward(self, z, training=False):
        self.training = training
        if not training:
            self.mask = z > 0
            return np.maximum(z, 0)
        # In training, in place: z * [z > 0] is one comparison and one multiply, and the mask is kept for backward.
        # The mask is stored as 0.0/1.0 in z's dtype: multiplying by it is twice as fast as by booleans.
        self.mask = np.greater(z, 0, out=self.buffer("mask", z.shape, z.dtype), casting="unsafe")
        return np.multiply(z, self.mask, z)

    def backward(self, grad_out):
        # from the sign of z (the same as that of the output): the derivative is 1 where z > 0, else 0
        if self.training:
            return np.multiply(grad_out, self.mask, grad_out)
        return grad_out * self.mask


class Identity(Layer):
    def forward(self, z, training=False):
        return z

    def backward(self, grad_out):
        return grad_out


class Softmax(Layer):
    """Softmax as a layer of its own, for pairings other than cross-entropy (which fuses it; see losses.py)."""

    def forward(self, z, training=False):
        self.p = softmax(z)
        return self.p

    def backward(self, grad_out):
        # Jacobian-vector product: dL/dz_k = p_k (dL/dp_k - sum_m p_m dL/dp_m).
        return self.p * (grad_out - (grad_out * self.p).sum(axis=1, keepdims=True))


ACTIVATIONS = {"sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU, "identity": Identity, "softmax": Softmax}
HIDDEN_ACTIVATIONS = ("sigmoid", "tanh", "relu", "identity")
