"""Gradient checking: every backprop gradient against central finite differences, in float64.

For each array of the parameter registry, each entry is nudged by +-eps and the loss re-evaluated;
(L(w + eps) - L(w - eps)) / (2 eps) has error O(eps^2), against O(eps) for a one-sided difference.
The figure reported per array is ``||analytic - numeric|| / (||analytic|| + ||numeric||)`` (0 when both vanish).
"""

import numpy as np

from .errors import ChainruleError
from .losses import PAIRINGS
from .network import Network, mlp

#: the largest relative error accepted; float64 central differences with eps=1e-6 give about 1e-9 or less
TOLERANCE = 1e-6


#: differences below this are float64 noise of central differences (about 1e-16 / eps); a gradient that is exactly 0
#: (absolute error's signs cancelling over a batch) must not read as a relative error of 1 against that noise
NOISE = 1e-9


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """``|a - n| / (|a| + |n|)``; where the two differ by no more than the noise of the differences themselves,
    that absolute difference (below the tolerance) instead."""
    difference = float(np.linalg.norm(analytic - numeric))
    if difference <= NOISE:
        return difference
    return difference / float(np.linalg.norm(analytic) + np.linalg.norm(numeric))


def central_differences(array: np.ndarray, loss, eps: float = 1e-6) -> np.ndarray:
    """(loss() with each entry of ``array`` nudged up by eps, minus nudged down) / 2 eps: an array of the shape of
    ``array``, nudged in place and each entry restored."""
    grad, flat = np.zeros_like(array), array.reshape(-1)   # a view: nudging flat nudges the array
    for i in range(flat.size):
        kept = flat[i]
        flat[i] = kept + eps
        plus = loss()
        flat[i] = kept - eps
        minus = loss()
        flat[i] = kept
        grad.reshape(-1)[i] = (plus - minus) / (2 * eps)
    return grad


def numeric_gradients(network: Network, x, y, eps: float = 1e-6) -> dict[str, np.ndarray]:
    """Central differences of the loss for every parameter entry (restores every parameter afterwards)."""
    return {name: central_differences(param, lambda: network.loss(x, y), eps)
            for name, param in network.named_parameters().items()}


def numeric_input_gradients(network: Network, x, y, eps: float = 1e-6) -> np.ndarray:
    """Central differences of the loss in each input entry: ``(N, D)``, the shape of ``x``. The loss is the batch's
    mean, so pass one example's row for the gradient of that example's own loss (what ``explain`` shows as
    ``dL/dx1``)."""
    x = np.array(x, dtype=np.float64)                          # a copy: the caller's inputs are not nudged
    return central_differences(x, lambda: network.loss(x, y), eps)


def check_gradients(network: Network, x, y, eps: float = 1e-6) -> dict[str, float]:
    """The relative error of backprop against finite differences, per parameter array of a float64 network."""
    if network.dtype != np.float64:
        raise ChainruleError(f"gradient check: expected a float64 network, found {network.dtype}")
    network.loss(x, y)
    network.backward()
    analytic = {name: g.copy() for name, g in network.named_gradients().items()}
    numeric = numeric_gradients(network, x, y, eps)
    return {name: relative_error(analytic[name], numeric[name]) for name in analytic}


def check_local_derivatives(eps: float = 1e-6, seed: int = 0) -> dict[str, float]:
    """Each elementwise activation's local derivative da/dz, as its layer's backward gives it (what ``explain``
    shows for a claimed ``da1/dz1``), against central differences of its forward, at random z away from 0."""
    from .activations import ACTIVATIONS

    rng = np.random.default_rng(seed)
    z = rng.uniform(0.1, 3.0, size=(4, 6)) * rng.choice([-1.0, 1.0], size=(4, 6))   # (N, K); ReLU's kink avoided
    errors = {}
    for name in ("sigmoid", "tanh", "relu", "identity"):
        layer = ACTIVATIONS[name]()
        numeric = (layer.forward(z + eps) - layer.forward(z - eps)) / (2 * eps)
        layer.forward(z)
        errors[name] = relative_error(layer.backward(np.ones_like(z)), numeric)
    return errors


def check_loss_derivatives(eps: float = 1e-6, seed: int = 0) -> dict[str, float]:
    """Each loss that compares a layer's outputs with targets, by its spec name: its gradient dL/dŷ as its own
    ``backward`` gives it (what ``explain`` shows as ``dL/dyhat1``), against central differences of its ``forward``,
    on a batch of outputs ``o: (N, K)`` away from the targets (absolute error's kink avoided)."""
    from .losses import ON_PROBABILITIES, UNFUSED

    rng = np.random.default_rng(seed)
    y = rng.uniform(0.2, 0.8, size=(3, 4))                                  # (N, K), probabilities for the BCE
    o = np.clip(y + rng.choice([-1.0, 1.0], size=y.shape) * rng.uniform(0.05, 0.15, size=y.shape), 0.01, 0.99)
    errors = {}
    for name, make in {**UNFUSED, **{f"{k} (on probabilities)": v for k, v in ON_PROBABILITIES.items()}}.items():
        loss = make()
        numeric = np.zeros_like(o)
        for index in np.ndindex(o.shape):
            step = np.zeros_like(o)
            step[index] = eps
            numeric[index] = (loss.forward(o + step, y) - loss.forward(o - step, y)) / (2 * eps)
        loss.forward(o, y)
        errors[name] = relative_error(loss.backward(), numeric)
    return errors


def random_targets(output: str, loss: str, n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    if loss == "cross_entropy":
        return np.eye(k)[rng.integers(0, k, size=n)]
    if loss == "binary_cross_entropy":
        return rng.integers(0, 2, size=(n, k)).astype(np.float64)
    return rng.normal(size=(n, k)) if output in ("identity", "tanh") else rng.uniform(size=(n, k))


def random_cases(sizes, batch: int, seed: int):
    """Every hidden activation with every output/loss pairing: yields ``(label, network, x, y)``."""
    from .activations import HIDDEN_ACTIVATIONS

    rng = np.random.default_rng(seed)
    for activation in HIDDEN_ACTIVATIONS:
        for output, loss in PAIRINGS:
            net = mlp(sizes, activation, output=output, loss=loss, dtype=np.float64, seed=rng)
            for layer in net.layers:   # random biases too, so that a wrong bias gradient cannot hide behind zero
                if "bias" in layer.params:
                    layer.params["bias"][:] = rng.normal(scale=0.5, size=layer.params["bias"].shape)
            x = rng.normal(size=(batch, sizes[0]))
            yield f"{activation} hidden, {output} + {loss}", net, x, random_targets(output, loss, batch, sizes[-1], rng)
