"""A spec from a trained model and one real example: what the network computes for it, and what one
gradient-descent step on it would change."""

import numpy as np

from ..activations import ACTIVATIONS
from ..errors import ChainruleError
from ..layers import Dense, Dropout
from .spec import parse_spec


def spec_from_network(network, x: np.ndarray, label: int, learning_rate: float, title: str):
    """``x``: one raw example ``(D,)``; ``label``: its class index in the model's own order."""
    if network.loss_fn.output != "softmax":
        raise ChainruleError("--model: explaining a prediction needs a classifier with softmax outputs")
    prepared = network.prepare(x[None, :])[0].astype(np.float64)
    layers, dense = [], None
    for layer in network.layers:
        if isinstance(layer, Dense):
            dense = layer
            layers.append({"weights": layer.params["weight"].T.astype(np.float64).tolist(),
                           "activation": "softmax"})
            if "bias" in layer.params:
                bias = layer.params["bias"].astype(np.float64)
                layers[-1]["bias"] = float(bias[0]) if layer.bias_kind == "shared" else bias.tolist()
        elif isinstance(layer, Dropout):
            continue                      # off at inference
        else:
            name = next((k for k, cls in ACTIVATIONS.items() if type(layer) is cls), None)
            if name is None or dense is None:
                raise ChainruleError(f"--model: cannot explain a {type(layer).__name__} layer")
            layers[-1]["activation"] = name
    k = network.out_features
    if not 0 <= label < k:
        raise ChainruleError(f"--index: the example's label {label} is not one of the model's {k} classes")
    classes = [str(c) for c in network.classes] if network.classes is not None else [str(c) for c in range(k)]
    predicted = int(network.predict(x[None, :])[0])
    notes = [f"The example's true class is {classes[label]!r} (target y{label + 1} = 1); the model predicts "
             f"{classes[predicted]!r}."]
    if network.standardizer is not None:
        notes.append("The inputs are the example's features standardised as in training (the model file's mean "
                     "and scale), which is what the network sees.")
    raw = {"title": title, "inputs": prepared.tolist(), "targets": np.eye(k)[label].tolist(), "layers": layers,
           "loss": "cross_entropy", "learning_rate": learning_rate, "notes": notes}
    return parse_spec(raw, "model")
