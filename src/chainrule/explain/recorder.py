"""The recorder: attached to a real forward and backward pass, it keeps a copy of what each layer computed.

It computes nothing itself. Copies, because the engine may reuse its buffers on the next pass.
"""

import numpy as np

ELEMENTWISE = ("Sigmoid", "Tanh", "ReLU", "Identity")   # activation layers whose Jacobian is diagonal


class Recorder:
    def __init__(self):
        self.outputs: dict[int, np.ndarray] = {}        # layer index -> its output
        self.grad_inputs: dict[int, np.ndarray] = {}    # layer index -> dL/d(its input), absent when not needed
        self.param_grads: dict[int, dict[str, np.ndarray]] = {}
        self.loss_value: float | None = None
        self.predictions: np.ndarray | None = None      # what the loss compared with the targets, after its link
        self.loss_grad: np.ndarray | None = None        # dL/d(network output)
        self.local: dict[int, np.ndarray] = {}           # elementwise activation layer -> its local derivative da/dz

    def forward(self, index, layer, x, out):
        self.outputs[index] = np.array(out, copy=True)

    def loss(self, loss_fn, z, y, value):
        self.loss_value, self.predictions = value, np.array(loss_fn.yhat, copy=True)
        self.targets = np.array(y, copy=True)

    def loss_backward(self, loss_fn, grad):
        self.loss_grad = np.array(grad, copy=True)

    def backward(self, index, layer, grad_out, grad_in):
        if grad_in is not None:
            self.grad_inputs[index] = np.array(grad_in, copy=True)
        self.param_grads[index] = {name: np.array(g, copy=True) for name, g in layer.grads.items()}
        if type(layer).__name__ in ELEMENTWISE:     # da/dz: the layer's own backward of a gradient of ones
            self.local[index] = np.array(layer.backward(np.ones_like(grad_out)), copy=True)

    def read(self, where: tuple) -> float:
        """One recorded number of the first example, by place: ``("out", layer, j)`` a layer's output,
        ``("grad", layer, j)`` dL/d(its input), ``("local", layer, j)`` an activation's da/dz,
        ``("param_grad", layer, name, flat index)``, ``("yhat", k)`` and ``("loss_grad", k)`` at the loss,
        ``("loss",)``."""
        kind, *rest = where
        if kind == "loss":
            return float(self.loss_value)
        array = {"out": lambda: self.outputs[rest[0]], "grad": lambda: self.grad_inputs[rest[0]],
                 "local": lambda: self.local[rest[0]],
                 "param_grad": lambda: self.param_grads[rest[0]][rest[1]], "yhat": lambda: self.predictions,
                 "loss_grad": lambda: self.loss_grad}[kind]()
        return float(array.reshape(-1)[rest[-1]] if kind == "param_grad" else array[0, rest[-1]])


class ClampingRecorder(Recorder):
    """Records what each layer computed, then overwrites chosen entries with given numbers before the pass goes on.

    With an author's printed numbers as the clamps, the engine's own pass computes every quantity from the author's
    numbers for its inputs: what the author should have printed, had each step been done right from the last.
    """

    def __init__(self, clamps: dict[tuple, float], row_clamps: dict[tuple[int, tuple], float] | None = None):
        super().__init__()
        # (example row, place, value); ``clamps`` are of row 0, ``row_clamps`` keyed (row, place) for a batch
        self.entries = [(0, where, value) for where, value in clamps.items()]
        self.entries += [(row, where, value) for (row, where), value in (row_clamps or {}).items()]

    def _clamp(self, kind, index, array):
        for row, where, value in self.entries:
            if where[0] == kind and where[1] == index:
                array[row, where[2]] = value

    def forward(self, index, layer, x, out):
        super().forward(index, layer, x, out)
        self._clamp("out", index, out)

    def loss_backward(self, loss_fn, grad):
        super().loss_backward(loss_fn, grad)
        for row, where, value in self.entries:
            if where[0] == "loss_grad":
                grad[row, where[1]] = value

    def backward(self, index, layer, grad_out, grad_in):
        for row, where, value in self.entries:
            if where[0] == "local" and where[1] == index:
                # a printed local derivative carries the error through the neuron in its place: the chain rule's
                # one product, dL/dz = dL/da · da/dz, as the activation's backward forms it
                grad_in[row, where[2]] = grad_out[row, where[2]] * value
        super().backward(index, layer, grad_out, grad_in)
        if grad_in is not None:
            self._clamp("grad", index, grad_in)
        for _, where, value in self.entries:
            if where[0] == "param_grad" and where[1] == index:
                layer.grads[where[2]].reshape(-1)[where[3]] = value


class RoundingRecorder(Recorder):
    """Records each number the pass computes, then rounds it to ``places`` decimals before the pass goes on: the
    step as an author works it who rounds each intermediate and computes on with the rounded value. What is
    recorded is each value as computed from the rounded ones before it, before its own rounding (the author may
    print it with more digits)."""

    def __init__(self, places: int):
        super().__init__()
        self.places = places

    def forward(self, index, layer, x, out):
        super().forward(index, layer, x, out)
        np.round(out, self.places, out=out)

    def loss_backward(self, loss_fn, grad):
        super().loss_backward(loss_fn, grad)
        np.round(grad, self.places, out=grad)

    def backward(self, index, layer, grad_out, grad_in):
        super().backward(index, layer, grad_out, grad_in)
        if grad_in is not None:
            np.round(grad_in, self.places, out=grad_in)
        for g in layer.grads.values():
            np.round(g, self.places, out=g)
