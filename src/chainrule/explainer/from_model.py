"""A spec from a trained model and one real example: what the network computes for it, and what one
gradient-descent step on it would change."""

import numpy as np

from ..activations import ACTIVATIONS
from ..errors import ChainruleError
from ..layers import Dense, Dropout
from .spec import parse_spec


def spec_from_network(network, x: np.ndarray, label: int, learning_rate: float, title: str):
    """``x``: one raw example ``(D,)``; ``label``: its class index in the model's own order."""
    output, k = network.loss_fn.output, network.out_features
    binary = output == "sigmoid" and k == 1       # one logistic unit for two classes (scikit-learn's binary MLP)
    if output != "softmax" and not binary:
        raise ChainruleError("--model: explaining a prediction needs a classifier: softmax outputs, or one sigmoid "
                             "output for two classes")
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
    from ..report import class_scores
    _, predicted, classes = class_scores(network, x[None, :])
    predicted = int(predicted[0])
    if binary:
        layers[-1]["activation"] = "sigmoid"
    if not 0 <= label < len(classes):
        raise ChainruleError(f"--index: the example's label {label} is not one of the model's {len(classes)} "
                             f"classes")
    target = f"target y1 = {label}" if binary else f"target y{label + 1} = 1"
    notes = [f"The example's true class is {classes[label]!r} ({target}); the model predicts "
             f"{classes[predicted]!r}."]
    if network.standardizer is not None:
        notes.append("The inputs are the example's features standardised as in training (the model file's mean "
                     "and scale), which is what the network sees.")
    raw = {"title": title, "inputs": prepared.tolist(), "layers": layers, "learning_rate": learning_rate,
           "targets": [float(label)] if binary else np.eye(k)[label].tolist(), "notes": notes,
           "loss": "binary_cross_entropy" if binary else "cross_entropy"}
    return parse_spec(raw, "model")
