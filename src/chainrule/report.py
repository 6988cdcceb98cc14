"""Evaluation reports for the command line: accuracy, loss and confusion counts as aligned text."""

import numpy as np

from .errors import ChainruleError


def confusion_counts(true: np.ndarray, predicted: np.ndarray, k: int) -> np.ndarray:
    """``counts[i, j]``: examples of class i predicted as class j."""
    return np.bincount(true * k + predicted, minlength=k * k).reshape(k, k)


def labels_for_model(network, data, y: np.ndarray) -> np.ndarray:
    """The data set's class indices re-expressed in the model's own class order; unknown labels are an error."""
    if network.classes is None:
        return y
    known = {str(name): i for i, name in enumerate(network.classes)}
    present = set(np.unique(y).tolist())
    unknown = [name for i, name in enumerate(data.class_names) if name not in known and i in present]
    if unknown:
        known_names = ", ".join(f'"{c}"' for c in list(network.classes)[:20])
        raise ChainruleError(f"{data.name}: unknown label \"{unknown[0]}\": expected one of the model's classes "
                             f"{known_names}")
    mapping = np.array([known.get(name, -1) for name in data.class_names])
    return mapping[y]


def class_scores(network, X) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``(probabilities (N, K), predicted class indices (N,), the K class names)`` of a classifier: softmax outputs,
    or one logistic unit read as two classes (scikit-learn's binary MLP: p is the second class's probability)."""
    proba = network.predict_proba(X)
    output, k = network.loss_fn.output, network.out_features
    if output == "sigmoid" and k == 1:
        proba = np.column_stack([1.0 - proba[:, 0], proba[:, 0]])
    elif output != "softmax":
        raise ChainruleError(f"the model has {k} {output} output(s): expected a classifier (softmax outputs, or one "
                             f"sigmoid output for two classes)")
    names = [str(c) for c in network.classes] if network.classes is not None else [str(i) for i in range(len(proba[0]))]
    return proba, proba.argmax(axis=1), names


def report(network, X, y, what: str) -> str:
    scores = network.evaluate(X, y)
    _, predicted, names = class_scores(network, X)
    k = len(names)
    counts = confusion_counts(np.asarray(y), predicted, k)
    width = max(5, *(len(n) for n in names), len(str(counts.max())))
    lines = [f"{what}: accuracy {scores['accuracy']:.2%} ({int(np.trace(counts))}/{len(y)}), "
             f"loss {scores['loss']:.4f}",
             "confusion counts (rows: true class, columns: predicted):",
             " " * (width + 2) + " ".join(f"{n:>{width}}" for n in names)]
    lines += [f"{names[i]:>{width}}  " + " ".join(f"{c:>{width}}" for c in row) for i, row in enumerate(counts)]
    return "\n".join(lines)
