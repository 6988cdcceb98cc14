"""The recorder: attached to a real forward and backward pass, it keeps a copy of what each layer computed.

It computes nothing itself. Copies, because the engine may reuse its buffers on the next pass.
"""

import numpy as np


class Recorder:
    def __init__(self):
        self.outputs: dict[int, np.ndarray] = {}        # layer index -> its output
        self.grad_inputs: dict[int, np.ndarray] = {}    # layer index -> dL/d(its input), absent when not needed
        self.param_grads: dict[int, dict[str, np.ndarray]] = {}
        self.loss_value: float | None = None
        self.predictions: np.ndarray | None = None      # what the loss compared with the targets, after its link
        self.loss_grad: np.ndarray | None = None        # dL/d(network output)

    def forward(self, index, layer, x, out):
        self.outputs[index] = np.array(out, copy=True)

    def loss(self, loss_fn, z, y, value):
        self.loss_value, self.predictions = value, np.array(loss_fn.yhat, copy=True)

    def loss_backward(self, loss_fn, grad):
        self.loss_grad = np.array(grad, copy=True)

    def backward(self, index, layer, grad_out, grad_in):
        if grad_in is not None:
            self.grad_inputs[index] = np.array(grad_in, copy=True)
        self.param_grads[index] = {name: np.array(g, copy=True) for name, g in layer.grads.items()}
