"""Plots with matplotlib: training curves, a confusion matrix, decision regions of a 2-D problem evolving over
training, and the first layer's weights as images. Each function returns a matplotlib ``Figure`` (a notebook shows
it inline) and, given a path, also writes it as PNG or SVG (by the suffix). Figures are made without pyplot, so
nothing here changes matplotlib's backend or keeps figures open."""

import json
from pathlib import Path

import numpy as np

from .errors import ChainruleError
from .extras import require
from .callbacks import Callback


def _figure(rows: int = 1, columns: int = 1, figsize=(5, 4)):
    """A figure and its axes ``(rows, columns)``, made without pyplot."""
    require("matplotlib", "plot", "Plotting")
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize)
    return figure, figure.subplots(rows, columns, squeeze=False)


def _save(figure, path):
    """Write ``figure`` to ``path`` (PNG or SVG by its suffix, atomically) when a path is given; return the figure."""
    if path is None:
        return figure
    from .atomicfile import write_atomic

    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg"):
        raise ChainruleError(f"{path}: expected a .png or .svg file name")
    write_atomic(path, lambda handle: figure.savefig(handle, format=path.suffix[1:].lower(), dpi=110,
                                                     bbox_inches="tight"))
    return figure


def image_shape(n_inputs: int) -> tuple[int, int] | None:
    """The square image a first layer's inputs form (16 pixels or more, such as digits' 8x8), or None."""
    side = int(round(n_inputs ** 0.5))
    return (side, side) if side * side == n_inputs and side >= 4 else None


def plot_history(history, path=None):
    """Loss and accuracy per epoch, training and (when present) validation."""
    h = history.history if hasattr(history, "history") else history
    panels = [key for key in ("loss", "accuracy") if key in h]
    figure, axes = _figure(1, len(panels), figsize=(5.2 * len(panels), 3.6))
    epochs = np.arange(1, len(h["loss"]) + 1)
    for ax, key in zip(axes[0], panels, strict=True):
        ax.plot(epochs, h[key], marker="o", markersize=3, label="training")
        if f"val_{key}" in h:
            ax.plot(epochs, h[f"val_{key}"], marker="o", markersize=3, label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.set_title(key.capitalize())
        ax.grid(alpha=0.3)
        ax.legend()
    return _save(figure, path)


def plot_confusion(network, X, y, path=None, class_names=None):
    """Counts of true class (rows) against predicted class (columns)."""
    from .report import confusion_counts

    k = network.out_features
    counts = confusion_counts(np.asarray(y), network.predict(X), k)
    names = [str(c) for c in (class_names if class_names is not None else
                              network.classes if network.classes is not None else range(k))]
    figure, axes = _figure(figsize=(1.0 + 0.55 * k, 0.8 + 0.55 * k))
    ax = axes[0, 0]
    ax.imshow(counts, cmap="Blues")
    for (i, j), count in np.ndenumerate(counts):
        ax.text(j, i, str(count), ha="center", va="center",
                color="white" if count > counts.max() / 2 else "black", fontsize=9)
    ax.set_xticks(range(k), names, rotation=45 if max(map(len, names)) > 2 else 0)
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"Confusion counts (accuracy {np.trace(counts) / max(counts.sum(), 1):.1%})")
    return _save(figure, path)


def plot_first_layer(network, path=None, shape=None):
    """Each first-layer neuron's incoming weights drawn as an image (for image inputs, e.g. digits' 8x8)."""
    from .layers import Dense

    dense = next((layer for layer in network.layers if isinstance(layer, Dense)), None)
    weights = dense.params["weight"]                       # (D_in, D_out)
    shape = shape or image_shape(weights.shape[0])
    if shape is None or shape[0] * shape[1] != weights.shape[0]:
        raise ChainruleError(f"plot weights: the model's {weights.shape[0]} inputs are not an image: expected a "
                             f"square number of pixels, 16 or more (such as digits' 8x8)")
    n = min(weights.shape[1], 64)
    columns = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / columns))
    figure, axes = _figure(rows, columns, figsize=(1.2 * columns, 1.2 * rows))
    limit = np.abs(weights[:, :n]).max()
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < n:
            ax.imshow(weights[:, k].reshape(shape), cmap="RdBu_r", vmin=-limit, vmax=limit)
    figure.suptitle(f"First-layer weights of {n} neurons (red positive, blue negative)")
    return _save(figure, path)


class Snapshots(Callback):
    """Keeps a copy of the parameters at the end of the chosen epochs (counted from 1)."""

    def __init__(self, epochs):
        self.epochs, self.taken = set(epochs), {}

    def on_epoch_end(self, trainer, epoch, logs):
        if epoch + 1 in self.epochs:
            self.taken[epoch + 1] = {k: p.copy() for k, p in trainer.network.named_parameters().items()}


def plot_decision_regions(network, X, y, snapshots: dict, path=None):
    """The class the network predicts over the plane, after each snapshot's epoch, with the data on top."""
    X, y = np.asarray(X), np.asarray(y)
    if X.shape[1] != 2:
        raise ChainruleError(f"plot regions: decision regions need 2-D data (moons, spiral, circles or a CSV of "
                             f"2 feature columns and a label); found {X.shape[1]} features")
    pad = 0.5
    xs = np.linspace(X[:, 0].min() - pad, X[:, 0].max() + pad, 200)
    ys = np.linspace(X[:, 1].min() - pad, X[:, 1].max() + pad, 200)
    grid = np.column_stack([a.ravel() for a in np.meshgrid(xs, ys)])
    kept = {k: p.copy() for k, p in network.named_parameters().items()}
    figure, axes = _figure(1, len(snapshots), figsize=(3.4 * len(snapshots), 3.4))
    try:
        for ax, (epoch, params) in zip(axes[0], sorted(snapshots.items()), strict=True):
            for name, param in network.named_parameters().items():
                param[...] = params[name]
            regions = network.predict(grid).reshape(len(ys), len(xs))
            ax.contourf(xs, ys, regions, alpha=0.35, cmap="coolwarm", levels=np.arange(network.out_features + 1) - 0.5)
            ax.scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", s=9, edgecolors="k", linewidths=0.2)
            accuracy = np.mean(network.predict(X) == y)
            ax.set_title(f"epoch {epoch}: accuracy {accuracy:.0%}")
            ax.set_xticks([])
            ax.set_yticks([])
    finally:
        for name, param in network.named_parameters().items():
            param[...] = kept[name]
    return _save(figure, path)


def read_history(path) -> dict:
    """A history from ``train --plot``'s history.json or from a checkpoint."""
    from .schema import ListOf, MapOf, Number, Text, validate
    from .textfiles import MiB, read_text

    path = Path(path)
    if not path.exists():
        raise ChainruleError(f"{path}: no such file")
    if path.suffix == ".npz" or path.is_dir():
        from .modelfile import json_from, read_npz
        file = path / "checkpoint.npz" if path.is_dir() else path
        arrays = read_npz(file)
        if "training" not in arrays:
            raise ChainruleError(f"{file}: not a checkpoint (no training record): expected train --plot's "
                                 f"history.json or a checkpoint")
        history = json_from(arrays["training"], "training", file).get("history")
    else:
        try:
            history = json.loads(read_text(path, "history file", 64 * MiB))
        except ValueError as exc:
            raise ChainruleError(f"{path}: not a history JSON file ({exc})") from None
        except RecursionError:
            raise ChainruleError(f"{path}: not a history JSON file (nested far too deep)") from None
    validate(MapOf(Text(max_length=40), ListOf(Number(), max_items=1_000_000),
                   what="a table of figure name = list of numbers per epoch"), history, str(path))
    if "loss" not in history:
        raise ChainruleError(f"{path}: loss: expected the training loss per epoch, found nothing")
    return history
