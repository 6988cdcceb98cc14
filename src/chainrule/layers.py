"""Layers: each computes its output and, beside it, how the gradient flows back through it.

The protocol (micrograd's habit, batched): ``forward(x)`` keeps only what ``backward`` needs; ``backward(grad_out)``
returns the gradient for the input and stores parameter gradients in ``grads`` under the same keys as ``params``.
A layer never changes its own parameters: that is the optimizer's job. Shapes are batch first, ``x: (N, D_in)``,
``W: (D_in, D_out)``, so ``x @ W`` reads as it runs; explanations convert to the textbook ``z = W x + b`` at the edge.

Training is the hot path, so with ``training=True`` a layer writes its outputs into buffers it reuses from step to
step and may overwrite the array it was given (its input, or in backward the incoming gradient) when nothing else
needs it. Outside training every call returns fresh arrays, so predictions and explanations are never overwritten.
Gradient arrays are allocated once; each backward writes into them.

On the hot path NumPy functions get their output array as a positional argument (``np.add(z, b, z)``, not
``out=z``): NumPy parses a ufunc's keywords more slowly, a third of a microsecond a call, which on the article's
small network is several percent of a step. The values are the same.
"""

import numpy as np

from .errors import ChainruleError


class Layer:
    """Base class: no parameters, and the width of the output equals the width of the input."""

    params: dict[str, np.ndarray]
    grads: dict[str, np.ndarray]

    def __init__(self):
        self.params, self.grads = {}, {}
        self.training = False
        self._buffers: dict[str, np.ndarray] = {}

    def buffer(self, name: str, shape: tuple, dtype) -> np.ndarray:
        """A reusable array of ``shape``: a leading slice of the largest one asked for under ``name``."""
        held = self._buffers.get(name)
        if held is not None and held.shape == shape and held.dtype == dtype:
            return held
        if held is None or held.shape[0] < shape[0] or held.shape[1:] != shape[1:] or held.dtype != dtype:
            held = self._buffers[name] = np.empty(shape, dtype=dtype)
        return held if held.shape[0] == shape[0] else held[:shape[0]]

    def output_width(self, input_width: int) -> int:
        return input_width

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def describe(self) -> str:
        return type(self).__name__


BIAS_KINDS = ("per_neuron", "shared", "none")


class Dense(Layer):
    """A fully connected layer, ``z = x @ W + b``.

    **Arguments**
    - ``in_features``, ``out_features``: widths ``D_in`` and ``D_out``.
    - ``bias``: ``"per_neuron"`` (``b: (D_out,)``), ``"shared"`` (``b: (1,)``, one parameter for the whole layer, as
      many worked examples write it; its gradient is the sum over the layer's neurons) or ``"none"``.
    - ``init``: ``"glorot"`` (for sigmoid and tanh), ``"he"`` (for ReLU) or ``"zeros"``; ``rng`` a
      ``numpy.random.Generator`` (randomness is passed in, never global).
    """

    def __init__(self, in_features: int, out_features: int, *, bias: str = "per_neuron", init: str = "glorot",
                 rng: np.random.Generator | None = None, dtype=np.float64):
        super().__init__()
        if int(in_features) < 1 or int(out_features) < 1:
            raise ChainruleError(f"Dense: expected positive widths, found in_features={in_features}, "
                                 f"out_features={out_features}")
        if bias not in BIAS_KINDS:
            raise ChainruleError(f"Dense: bias must be one of {BIAS_KINDS}, found {bias!r}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.params["weight"] = _initial_weights(self.in_features, self.out_features, init, rng, dtype)
        if bias != "none":
            self.params["bias"] = np.zeros(1 if bias == "shared" else self.out_features, dtype=dtype)
        self.grads = {name: np.zeros_like(p) for name, p in self.params.items()}
        self.bias_kind = bias
        self.needs_input_grad = True  # the first layer of a network can skip dL/dx: one matrix product less
        self.outputs_by_column = False  # set by fit on the output layer of a softmax classifier (see forward)
        self._ones = np.ones(0, dtype=dtype)

    def output_width(self, input_width: int) -> int:
        return self.out_features

    def forward(self, x, training=False):
        self.x, self.training = x, training          # x: (N, D_in), kept for dL/dW
        weight = self.params["weight"]
        if training and self.outputs_by_column:
            # (D_out, N) in memory, seen as (N, D_out): the loss's max and sum over a few classes then run along
            # the outer axis, several times faster than over rows of 10 (same code, only the memory order differs)
            z = np.matmul(x, weight, out=self.buffer("zT", (self.out_features, len(x)), weight.dtype).T)
        elif training:
            z = _product(x, weight, self.buffer("z", (len(x), self.out_features), weight.dtype))
        else:
            z = x @ weight                           # (N, D_out)
        if "bias" in self.params:
            bias = self.params["bias"]
            # a shared bias as a 0-d view: NumPy adds one number without broadcasting it (0.3 against 1.5 µs)
            np.add(z, bias.reshape(()) if self.bias_kind == "shared" else bias, z)
        return z

    def backward(self, grad_out):
        self.param_backward(grad_out)
        return self.input_backward(grad_out)

    def param_backward(self, grad_out) -> None:
        """dL/dW = x^T dL/dz and dL/db (summed over the batch, and over the neurons when shared), into ``grads``."""
        x = self.x
        if len(x) == 1:   # an outer product: the same single products, but NumPy's matmul is 4x slower with one row
            np.multiply(x.T, grad_out, self.grads["weight"])
        else:
            _product(x.T, grad_out, self.grads["weight"])             # (D_in, D_out); grad_out: (N, D_out)
        self.bias_backward(grad_out)

    def bias_backward(self, grad_out) -> None:
        """dL/db alone, into ``grads`` (a step that takes dL/dW straight into the weights needs only this)."""
        x = self.x
        if self.bias_kind == "per_neuron":
            # 1^T dL/dz: a matrix-vector product (BLAS) is twice as fast as add.reduce over the batch axis
            if len(x) == 1:
                np.copyto(self.grads["bias"], grad_out[0])
            else:
                np.matmul(self.ones(len(x), grad_out.dtype), grad_out, out=self.grads["bias"])
        elif self.bias_kind == "shared":
            np.add.reduce(grad_out, None, None, self.grads["bias"].reshape(()))   # into the one number, in place

    def ones(self, n: int, dtype) -> np.ndarray:
        """A vector of ``n`` ones, kept between steps."""
        if len(self._ones) < n or self._ones.dtype != dtype:
            self._ones = np.ones(n, dtype=dtype)
        return self._ones[:n]

    def input_backward(self, grad_out):
        """dL/dx = dL/dz W^T with the weights as they are now (None for the first layer, which needs none)."""
        if not self.needs_input_grad:
            return None
        weight = self.params["weight"]
        if self.training:                                               # dL/dx: (N, D_in)
            return _product(grad_out, weight.T, self.buffer("dx", (len(grad_out), self.in_features), weight.dtype))
        return grad_out @ weight.T

    def describe(self) -> str:
        return f"Dense {self.in_features}->{self.out_features}"


def _product(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``a @ b`` into ``out``. ``np.dot`` is the same BLAS product as ``matmul`` with half its per-call cost on small
    arrays (0.5 against 1.3 µs: a tenth of the article network's step), but takes only operands of ``out``'s dtype;
    anything else (a float64 batch into a float32 network) goes through ``matmul``, which casts."""
    if a.dtype == out.dtype and b.dtype == out.dtype:
        return np.dot(a, b, out)
    return np.matmul(a, b, out=out)


def _initial_weights(fan_in, fan_out, init, rng, dtype):
    if init == "zeros":
        return np.zeros((fan_in, fan_out), dtype=dtype)
    if rng is None:
        raise ChainruleError(f"Dense: init={init!r} draws random weights and needs rng=numpy.random.Generator")
    if init == "glorot":   # Glorot & Bengio (2010): keeps activation variance for tanh/sigmoid
        limit = np.sqrt(6.0 / (fan_in + fan_out))
    elif init == "he":     # He et al. (2015): ReLU zeroes half its inputs, so double the variance
        limit = np.sqrt(6.0 / fan_in)
    else:
        raise ChainruleError(f"Dense: init must be 'glorot', 'he' or 'zeros', found {init!r}")
    return rng.uniform(-limit, limit, size=(fan_in, fan_out)).astype(dtype)


class Dropout(Layer):
    """Inverted dropout: in training, zero each unit with probability ``rate`` and scale the survivors by
    ``1 / (1 - rate)``, so that inference needs no rescaling and is the identity."""

    def __init__(self, rate: float, *, rng: np.random.Generator):
        super().__init__()
        if not 0.0 <= float(rate) < 1.0:
            raise ChainruleError(f"Dropout: rate must be in [0, 1), found {rate!r}")
        self.rate, self.rng = float(rate), rng
        self.mask = None

    def forward(self, x, training=False):
        if not training or self.rate == 0.0:
            self.mask = None
            return x
        keep = self.rng.random(x.shape, dtype=np.float64 if x.dtype == np.float64 else np.float32) >= self.rate
        self.mask = keep.astype(x.dtype) / x.dtype.type(1.0 - self.rate)   # (N, D)
        return x * self.mask

    def backward(self, grad_out):
        return grad_out if self.mask is None else grad_out * self.mask

    def describe(self) -> str:
        return f"Dropout({self.rate})"
