"""``fit``: mini-batches from a seeded shuffle, callbacks, a returned history, checkpoints that survive a crash.

The loop is the engine's hot path, so it does as little as it can besides the layers' own work: the data set is
converted once, never copied per epoch (each batch is gathered by index into one reused buffer), and the per-batch
bookkeeping is a few scalar additions. It prints nothing: the progress bar is a callback.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from . import blas
from .callbacks import Callback
from .errors import ChainruleError
from .layers import Dense
from .optimizers import SGD, Optimizer
from .standardize import Standardizer
from .validation import as_batch, check_finite

if TYPE_CHECKING:       # the network calls fit, so fit does not import the network back
    from .network import Network


class TrainingDiverged(ChainruleError):
    """The loss became NaN or infinite; the network holds the last weights whose loss was finite."""


def diverged(loss: float, epoch: int, where: str, lr: float) -> TrainingDiverged:
    """The error every training loop raises when a step's loss is not finite, once it has put back the weights of
    the start of the epoch; ``where`` names the step (``"batch 3"``, ``"chunk 0"``)."""
    return TrainingDiverged(f"training diverged: the loss became {loss} in epoch {epoch + 1}, {where}. The network "
                            f"keeps its weights from the start of epoch {epoch + 1}. Try a smaller learning rate "
                            f"(this run used {lr:g}).")


@dataclass
class History:
    """Per-epoch figures: ``history["loss"]``, ``["accuracy"]``, ``["val_loss"]``, ``["val_accuracy"]``, ``["lr"]``,
    ``["seconds"]`` (lists, one entry per epoch, as Keras's ``History.history``)."""
    history: dict[str, list[float]] = field(default_factory=dict)
    examples: int = 0                  # how many examples each epoch trained on (after any held-out split)
    validation_examples: int = 0

    def append(self, logs: dict[str, float]) -> None:
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    @property
    def epochs(self) -> int:
        return len(next(iter(self.history.values()), []))


def encode_targets(network: Network, y, n_rows: int) -> np.ndarray:
    """Targets in the loss's own form, ``(N, K)`` in the network's dtype: integer labels become one-hot rows."""
    k, output = network.out_features, network.loss_fn.output
    y = np.asarray(y)
    if len(y) != n_rows:
        raise ChainruleError(f"y: expected one target per example ({n_rows}), found {len(y)}")
    if output == "softmax" and y.ndim == 1:
        if not np.issubdtype(y.dtype, np.integer):
            if not (np.issubdtype(y.dtype, np.floating) and np.all(np.isfinite(y)) and np.all(y == np.round(y))):
                raise ChainruleError(f"y: expected integer class labels 0..{k - 1} or one-hot rows, "
                                     f"found values of type {y.dtype}")
            y = y.astype(np.int64)
        bad = np.flatnonzero((y < 0) | (y >= k))
        if bad.size:
            raise ChainruleError(f"y: the network has {k} outputs, so labels must be 0..{k - 1}; found label "
                                 f"{y[bad[0]]} at row {bad[0]} ({bad.size} such rows)")
        onehot = np.zeros((n_rows, k), dtype=network.dtype)
        onehot[np.arange(n_rows), y] = 1
        return onehot
    return as_batch(y.reshape(n_rows, -1) if y.ndim == 1 else y, "y", k, dtype=network.dtype)


def check_two_classes(network: Network, y) -> None:
    """A softmax classifier's labels ``y: (N,)`` must hold two classes at least: with one, every step only pushes
    that class's probability towards 1, and a wrong label column is the usual cause. Targets given as rows
    ``(N, K)`` (one-hot or soft) are taken as they are (``partial_fit``'s chunks of one class come that way)."""
    y = np.asarray(y)
    if network.loss_fn.output == "softmax" and y.ndim == 1 and len(y) and np.all(y == y[0]):
        raise ChainruleError(f"y: every example is of one class ({int(y[0])}): expected labels of at least 2 "
                             f"classes, since a classifier learns to tell classes apart (is y the right column?)")


def labels_of(targets: np.ndarray, output: str) -> np.ndarray | None:
    """What accuracy compares predictions with: class indices, 0/1 per unit, or None for regression."""
    if output == "softmax":
        return targets.argmax(axis=1)
    if output == "sigmoid":
        return (targets >= 0.5)
    return None


def decide(yhat: np.ndarray, output: str, out: np.ndarray | None = None) -> np.ndarray:
    """Predicted labels from predictions: the class with the largest probability, or 0/1 per sigmoid unit
    (written into ``out`` when given)."""
    if output == "softmax":
        return yhat.argmax(axis=1, out=out)
    if out is None:
        return yhat >= 0.5
    return np.greater_equal(yhat, 0.5, out=out)


def accuracy(predicted: np.ndarray, labels: np.ndarray, output: str) -> float:
    """The fraction of examples classified right (for sigmoid outputs, of units)."""
    return float(np.count_nonzero(predicted == labels)) / predicted.size


class Trainer:
    """The state of one ``fit``: what callbacks and checkpoints see."""

    def __init__(self, network: Network, optimizer: Optimizer, rng: np.random.Generator, history: History):
        self.network, self.optimizer, self.rng, self.history = network, optimizer, rng, history
        self.stop = False
        self.epoch = 0                      # the next epoch to run (count of completed epochs)
        self.epochs = 0

    def parameters(self) -> dict[str, np.ndarray]:
        """What the optimizer updates (see ``training_parameters``): checkpoints save and restore its state by it."""
        return training_parameters(self.network)[0]


def fit(network: Network, X, y=None, *, epochs: int = 10, batch_size: int = 32, optimizer: Optimizer | None = None,
        validation_data=None, validation_split: float = 0.0, callbacks=(), verbose: int = 1, seed: int = 0,
        shuffle: bool = True, standardize: bool = False, checkpoint=None, resume: bool = False,
        sample_weight=None) -> History:
    """Train ``network`` on ``X: (N, D)`` and ``y`` (labels ``(N,)`` or targets ``(N, K)``); returns the History.
    ``X`` may instead be an iterable of ``(X_batch, y_batch)`` chunks, with ``y`` left out (see ``_fit_stream``).

    ``validation_split`` holds out that fraction of the examples, drawn with a generator seeded from ``seed``
    (stratified by class for classifiers), unless ``validation_data=(X_val, y_val)`` is given. ``standardize=True``
    fits the network's input standardisation on the training part (it then travels with the model; the
    standardised inputs are made once, one copy of the data set, before the first epoch). ``checkpoint=DIR`` saves everything
    needed to continue after every epoch; ``resume=True`` continues from the last one saved there.
    ``sample_weight: (N,)``, non-negative, weights each example's loss as scikit-learn does (a weight of 2 counts
    the example twice; see ``losses.Weighted``); validation figures stay unweighted. Without it nothing changes.

    Plain SGD (no momentum, no weight decay) on a network of at least ``FUSED_STEP_MIN_WEIGHTS`` weights takes each
    dense layer's step inside its weight-gradient product (``fuses_step``, ``blas.py``) wherever that gives the same
    weights bit for bit (checked once per layer shape and batch size); ``grads["weight"]`` is then not written
    during the fit. ``CHAINRULE_FUSED_STEP=0`` turns it off.
    """
    from .progress import ProgressBar

    epochs, batch_size = _positive_int(epochs, "epochs"), _positive_int(batch_size, "batch_size")
    optimizer = optimizer or SGD(lr=0.01)
    if y is None and is_stream(X):
        if validation_split or standardize or sample_weight is not None:
            raise ChainruleError("fit on a stream of (X_batch, y_batch) chunks: validation_split, standardize and "
                                 "sample_weight need the whole data set; give validation_data instead")
        return _fit_stream(network, X, epochs, batch_size, optimizer, validation_data, callbacks, verbose, seed,
                           shuffle, checkpoint, resume)
    mapped = isinstance(X, np.memmap)
    # Standardising happens in float64, so that features far outside float32's range (1e-150, 1e39) are scaled
    # into it rather than flushed to zero or infinity by the cast.
    scaling = standardize or network.standardizer is not None
    wide = np.float32 if getattr(X, "dtype", None) == np.float32 else np.float64     # no copy of float32 data
    if mapped:
        X = _mapped_batch(X, network)
    else:
        X = as_batch(X, "X", network.in_features, dtype=wide)
    if not scaling and not mapped:
        check_range(X, network.dtype, "X")
        X = X.astype(network.dtype, copy=False)
    Y = encode_targets(network, y, len(X))
    check_two_classes(network, y)
    if sample_weight is not None:                   # one extra target column: the batches carry the weights
        Y = np.column_stack([Y, check_sample_weight(sample_weight, len(X)).astype(Y.dtype)])
    held_out = None                                  # (raw inputs, encoded targets) for validation
    if validation_data is not None:
        Xv, yv = validation_data
        held_out = (Xv, encode_targets(network, yv, len(Xv)))
    elif validation_split:
        if mapped:
            raise ChainruleError("validation_split: it would copy the memory-mapped X into memory; give "
                                 "validation_data=(X_val, y_val) instead (for example the file's last rows)")
        X, Y, held_out = _hold_out(X, Y, network.loss_fn.output, validation_split, seed, network.out_features)
        held_out = held_out[0], held_out[1][:, :network.out_features]
    if standardize:
        if mapped:
            raise ChainruleError("standardize: it would copy the memory-mapped X into memory; standardise the "
                                 "file's values before mapping it, or train without standardize")
        network.standardizer = Standardizer.fit(X)   # on the training part only
    if network.standardizer is not None:
        if mapped:
            raise ChainruleError("the network standardises its inputs, which would copy the memory-mapped X into "
                                 "memory; train it on standardised data instead")
        X = network.standardizer.transform(X, network.dtype)
    validation = None if held_out is None else (network.prepare(held_out[0], "validation X"), held_out[1])

    trainer, store, callbacks = start_training(
        network, optimizer, seed, History(examples=len(X), validation_examples=0 if validation is None else
                                          len(validation[0])), epochs, checkpoint, resume, callbacks,
        ProgressBar(len(X), batch_size) if verbose else None)
    base_loss = network.loss_fn
    if sample_weight is not None:
        from .losses import Weighted
        network.loss_fn = Weighted(base_loss, network.out_features)
    try:
        with np.errstate(over="ignore", invalid="ignore"):   # a diverging run is caught by its loss, with a clear error
            _run_epochs(trainer, MappedRows(X, network.dtype) if mapped else X, Y, batch_size, shuffle, validation, callbacks, store)
    finally:
        network.loss_fn = base_loss
    for callback in callbacks:
        callback.on_train_end(trainer)
    return trainer.history


def _run_epochs(trainer: Trainer, X, Y, batch_size, shuffle, validation, callbacks, store):
    network, optimizer = trainer.network, trainer.optimizer
    params, grads = training_parameters(network)
    output = network.loss_fn.output
    labels = labels_of(Y[:, :network.out_features], output)     # Y may carry a column of sample weights
    n = len(X)
    predicted = None if labels is None else np.empty(labels.shape, dtype=labels.dtype)   # in shuffled order
    # The first layer reads its input and never writes it when it is Dense (an activation first would work in place)
    batches = Batches(X, Y, batch_size, views=isinstance(network.layers[0], Dense))
    # Softmax reduces over each example's few classes: faster when the output layer lays its logits out by column
    # (see Dense.forward); only the memory order of one buffer changes, not the maths. One example has no columns
    # to gain from, only two transposes to pay.
    if isinstance(network.layers[-1], Dense):
        network.layers[-1].outputs_by_column = network.loss_fn.output == "softmax" and batch_size > 1
    while trainer.epoch < trainer.epochs and not trainer.stop:
        epoch = trainer.epoch
        optimizer.start_epoch(epoch)
        # Plain SGD's step is linear in the gradient: backward then gives the gradient of lr * L and the step is
        # w <- w - g (see SGD.loss_scale). The learning rate changes only between epochs.
        scale = optimizer.loss_scale()
        step = optimizer.step if scale is None else optimizer.step_prescaled
        descend = optimizer.descend if fuses_step(network, optimizer, scale, min(batch_size, n)) else None
        for callback in callbacks:
            callback.on_epoch_begin(trainer, epoch)
        started = time.perf_counter()
        last_good = {name: p.copy() for name, p in params.items()}   # one copy of the flat array an epoch
        order = epoch_order(trainer.rng, n, shuffle)
        total_loss = 0.0
        for batch, start, xb, yb in batches.epoch(order):
            m = len(xb)
            loss = network._loss(xb, yb, training=True)
            if not math.isfinite(loss):
                for name, p in params.items():
                    p[...] = last_good[name]
                raise diverged(loss, epoch, f"batch {batch + 1}", optimizer.lr)
            network.backward(scale=1.0 if scale is None else scale, descend=descend)
            if descend is None:
                step(params, grads)
            else:
                step({}, {})   # every layer took its step inside backward: count it
            total_loss += loss * m
            if predicted is not None:
                decide(network.loss_fn.yhat, output, out=predicted[start:start + m])
            for callback in callbacks:
                callback.on_batch_end(trainer, epoch, batch, loss)
        logs = {"loss": total_loss / n}
        if predicted is not None:
            logs["accuracy"] = accuracy(predicted, labels[order], output)
        end_epoch(trainer, epoch, logs, validation, callbacks, store, started)


def start_training(network, optimizer, seed, history, epochs, checkpoint, resume, callbacks, progress):
    """What every ``fit`` starts with, whether it reads an array or a stream: the trainer, the checkpoint store
    (restored from with ``resume``), and the callbacks told that training begins. Returns all three."""
    trainer = Trainer(network, optimizer, np.random.default_rng(seed), history)
    trainer.epochs = epochs
    store = None
    if checkpoint is not None:
        from .checkpoint import CheckpointStore
        store = CheckpointStore(checkpoint)
        if resume:
            store.restore(trainer)
    callbacks = list(callbacks) + ([progress] if progress is not None else [])
    for callback in callbacks:
        callback.on_train_begin(trainer)
    return trainer, store, callbacks


def end_epoch(trainer, epoch: int, logs: dict, validation, callbacks, store, started: float) -> None:
    """The bookkeeping every epoch ends with, whether it read an array or a stream: validation figures, the
    learning rate and time, the history, the callbacks and the checkpoint."""
    if validation is not None:
        logs["val_loss"], val_accuracy = evaluate_encoded(trainer.network, *validation)
        if val_accuracy is not None:
            logs["val_accuracy"] = val_accuracy
    logs["lr"], logs["seconds"] = trainer.optimizer.lr, time.perf_counter() - started
    trainer.history.append(logs)
    trainer.epoch = epoch + 1
    for callback in callbacks:
        callback.on_epoch_end(trainer, epoch, logs)
    if store is not None:
        store.save(trainer)


def is_stream(X) -> bool:
    """With no ``y``: True for an iterable of ``(X_batch, y_batch)`` chunks (a list of pairs, a generator, ...),
    False for an array."""
    return not (isinstance(X, np.ndarray) or hasattr(X, "__array__")) and hasattr(X, "__iter__")


def _fit_stream(network, chunks, epochs, batch_size, optimizer, validation_data, callbacks, verbose, seed, shuffle,
                checkpoint, resume) -> History:
    """``fit`` over data that arrives in chunks (made on the fly, read from elsewhere): each chunk is shuffled
    within itself and cut into batches; an epoch is one pass over the iterable, so several epochs need an iterable
    that starts again (a list, or an object whose ``__iter__`` restarts), not a one-shot generator."""
    from .progress import ProgressBar

    if epochs > 1 and iter(chunks) is chunks:
        raise ChainruleError(f"fit: epochs={epochs} needs a stream that can be read again, and this one is a "
                             f"one-shot iterator (a generator); pass epochs=1, or an iterable whose __iter__ "
                             f"starts the data again")
    validation = None
    if validation_data is not None:
        Xv, yv = validation_data
        validation = (network.prepare(Xv, "validation X"), encode_targets(network, yv, len(Xv)))
    trainer, store, callbacks = start_training(
        network, optimizer, seed, History(validation_examples=0 if validation is None else len(validation[0])),
        epochs, checkpoint, resume, callbacks, ProgressBar(None, batch_size) if verbose else None)
    params, grads = training_parameters(network)
    output = network.loss_fn.output
    with np.errstate(over="ignore", invalid="ignore"):
        while trainer.epoch < trainer.epochs and not trainer.stop:
            epoch = trainer.epoch
            optimizer.start_epoch(epoch)
            for callback in callbacks:
                callback.on_epoch_begin(trainer, epoch)
            started = time.perf_counter()
            last_good = {name: p.copy() for name, p in params.items()}
            total_loss, seen, right, batch = 0.0, 0, 0, 0
            for index, chunk in enumerate(chunks):
                if not (isinstance(chunk, (tuple, list)) and len(chunk) == 2):
                    raise ChainruleError(f"fit: chunk {index} of the stream: expected a pair (X_batch, y_batch), "
                                         f"found {type(chunk).__name__}")
                X = network.prepare(chunk[0], f"X of chunk {index}")
                Y = encode_targets(network, chunk[1], len(X))
                order = epoch_order(trainer.rng, len(X), shuffle)
                for _, _, xb, yb in Batches(X, Y, batch_size).epoch(order):
                    loss = network._loss(xb, yb, training=True)
                    if not math.isfinite(loss):
                        for name, p in params.items():
                            p[...] = last_good[name]
                        raise diverged(loss, epoch, f"chunk {index}", optimizer.lr)
                    network.backward()
                    optimizer.step(params, grads)
                    m = len(xb)
                    total_loss, seen = total_loss + loss * m, seen + m
                    labels = labels_of(yb, output)
                    if labels is not None:
                        right += int(np.count_nonzero(decide(network.loss_fn.yhat, output) == labels))
                    trainer.batch_rows = m
                    for callback in callbacks:
                        callback.on_batch_end(trainer, epoch, batch, loss)
                    batch += 1
            if not seen:
                raise ChainruleError(f"fit: the stream gave no examples in epoch {epoch + 1}")
            trainer.history.examples = seen
            logs = {"loss": total_loss / seen}
            if labels_of(Y, output) is not None:
                logs["accuracy"] = right / (seen * (1 if output == "softmax" else Y.shape[1]))
            end_epoch(trainer, epoch, logs, validation, callbacks, store, started)
    for callback in callbacks:
        callback.on_train_end(trainer)
    return trainer.history


#: Below this many weights a network's update pass costs less than the calls that would fuse it into the products.
FUSED_STEP_MIN_WEIGHTS = 65_536


def fuses_step(network: Network, optimizer: Optimizer, scale, rows: int) -> bool:
    """Whether plain SGD's step goes inside each dense layer's weight-gradient product (``SGD.descend``, ``blas.py``):
    gradients of ``lr * L`` (no momentum, no weight decay), only dense layers with parameters, enough weights for the
    pass it saves to matter, and NumPy's own BLAS reachable for the network's dtype and giving the reference's bits
    for every layer at batches of ``rows``."""
    if scale is None or not isinstance(optimizer, SGD) or optimizer.momentum:
        return False
    with_params = [layer for layer in network.layers if layer.params]
    if not all(isinstance(layer, Dense) for layer in with_params):
        return False
    weights = sum(layer.params["weight"].size for layer in with_params)
    return weights >= FUSED_STEP_MIN_WEIGHTS and all(
        blas.rounds_as_reference(layer.in_features, layer.out_features, rows, network.dtype) for layer in with_params)


def epoch_order(rng: np.random.Generator, n: int, shuffle: bool) -> np.ndarray:
    """The order of an epoch's ``n`` examples: one seeded permutation per epoch (or the rows as they are). Data-
    parallel training draws the same, so its batches are those of ``fit``."""
    return rng.permutation(n) if shuffle else np.arange(n)


def training_parameters(network: Network) -> tuple[dict, dict]:
    """What the optimizer updates during fit: the network's flat parameter and gradient arrays, as one entry."""
    flat_params, flat_grads = network.flat_parameters()
    return {"all": flat_params}, {"all": flat_grads}


class Batches:
    """Mini-batches in a given order, gathered by index into one reused buffer: never a copy of the data set.

    (Gathering the next batch on a worker thread was measured and lost: on two cores the thread hand-off costs
    more than the gather it hides.)
    """

    def __init__(self, X: np.ndarray, Y: np.ndarray, batch_size: int, *, views: bool = False):
        self.X, self.Y, self.batch_size = X, Y, batch_size
        rows = min(batch_size, len(X))
        self.x_buffer = np.empty((rows, X.shape[1]), X.dtype)
        self.y_buffer = np.empty((rows, Y.shape[1]), Y.dtype)
        # One example at a time: a one-row view of the data needs no gather (two calls fewer a step, a fifth of a
        # small network's step). Only for arrays, and only when the caller promises not to write into the batch.
        self.views = views and batch_size == 1 and isinstance(X, np.ndarray)

    def epoch(self, order: np.ndarray):
        """Yields ``(batch number, first position in order, x: (m, D), y: (m, K))``; the arrays are overwritten
        by the next batch (with ``views``, they are the data's own rows: read them, never write)."""
        if self.views:
            X, Y = self.X, self.Y
            for batch, row in enumerate(order.tolist()):
                yield batch, batch, X[row:row + 1], Y[row:row + 1]
            return
        for batch, start in enumerate(range(0, len(order), self.batch_size)):
            index = order[start:start + self.batch_size]
            m = len(index)
            # mode="clip": the indices come from a permutation, so they are in range; the default "raise" mode
            # gathers into a temporary first (to leave `out` untouched on error), which costs 40% more.
            yield (batch, start, self.X.take(index, axis=0, out=self.x_buffer[:m], mode="clip"),
                   self.Y.take(index, axis=0, out=self.y_buffer[:m], mode="clip"))


def evaluate_encoded(network: Network, X, Y, batch_size: int = 4096) -> tuple[float, float | None]:
    """Mean loss and accuracy (None for regression) over prepared inputs and encoded targets, in chunks."""
    output = network.loss_fn.output
    labels = labels_of(Y, output)
    total, predicted = 0.0, []
    for start in range(0, len(X), batch_size):
        xb, yb = X[start:start + batch_size], Y[start:start + batch_size]
        total += network._loss(xb, yb) * len(xb)
        if labels is not None:
            predicted.append(decide(network.loss_fn.yhat, output))
    if labels is None or not len(X):
        return total / max(len(X), 1), None
    return total / len(X), accuracy(np.concatenate(predicted), labels, output)


def _hold_out(X, Y, output, fraction, seed, k=None):
    if not 0.0 < float(fraction) < 1.0:
        raise ChainruleError(f"validation_split: expected a fraction between 0 and 1, found {fraction!r}")
    rng = np.random.default_rng([seed, 1])          # its own stream: the shuffle's stays the same
    n_val = max(1, int(round(len(X) * fraction)))
    if output == "softmax":                          # stratified: every class keeps its share
        k = k or Y.shape[1]                          # the class columns (Y may carry sample weights after them)
        parts = [rng.permutation(np.flatnonzero(Y[:, :k].argmax(axis=1) == c)) for c in range(k)]
        val = np.concatenate([p[:int(round(len(p) * fraction))] for p in parts])
        if len(val) == 0:
            val = rng.permutation(len(X))[:n_val]
    else:
        val = rng.permutation(len(X))[:n_val]
    keep = np.ones(len(X), dtype=bool)
    keep[val] = False
    if not keep.any():
        raise ChainruleError(f"validation_split: {fraction} of {len(X)} examples leaves none to train on; expected a "
                             f"smaller fraction")
    return X[keep], Y[keep], (X[val], Y[val])


class MappedRows:
    """Rows of a memory map gathered the way ``Batches`` asks (``take``), converted into the batch's dtype.

    ``ndarray.take`` first makes the whole array contiguous when it is not (and a map whose label column sits beside
    the features is not): one copy of the data set per batch. Indexing the map by rows reads just those rows."""

    def __init__(self, X: np.memmap, dtype):
        self.X, self.shape, self.dtype = X, X.shape, np.dtype(dtype)   # the batches' dtype: the network's

    def __len__(self):
        return len(self.X)

    def take(self, index, axis=0, out=None, mode="clip"):
        out[...] = self.X[index]        # (m, D) from the page cache, cast into the network's dtype
        return out


def _mapped_batch(X: np.memmap, network: Network) -> np.memmap:
    """A memory-mapped ``X`` stays a map in its own dtype: each batch is gathered from it and converted into the
    network's dtype then (see ``MappedRows``), so the data set is never read into memory at once.
    Its shape is checked here; its values are checked block by block by ``datasets.load_mapped``."""
    if X.ndim != 2 or X.shape[1] != network.in_features:
        raise ChainruleError(f"X: expected a memory-mapped array of shape (N, {network.in_features}), found "
                             f"{X.shape}")
    return X


def check_sample_weight(sample_weight, n_rows: int) -> np.ndarray:
    """Weights ``(N,)`` as float64: one per example, finite, non-negative and not all zero; else a ChainruleError
    naming the first bad row."""
    try:
        w = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError):
        raise ChainruleError(f"sample_weight: expected one number per example, found {type(sample_weight).__name__}"
                             ) from None
    if w.ndim != 1 or len(w) != n_rows:
        raise ChainruleError(f"sample_weight: expected one weight per example, shape ({n_rows},); "
                             f"found shape {w.shape}")
    bad = np.flatnonzero(~np.isfinite(w) | (w < 0))
    if bad.size:
        raise ChainruleError(f"sample_weight: expected finite weights >= 0, found {w[bad[0]]} at row {bad[0]} "
                             f"({bad.size} such rows)")
    if n_rows and not w.any():
        raise ChainruleError("sample_weight: every weight is zero, so there is nothing to learn from")
    return w


def check_range(X: np.ndarray, dtype, name: str) -> None:
    """Refuse features that the training dtype cannot hold (they would become infinite), and warn about features
    so small that they flush to zero; standardising (``standardize=True``) avoids both."""
    info = np.finfo(dtype)
    if X.dtype.itemsize <= info.dtype.itemsize or X.size == 0:
        return
    big, largest = max(float(X.max()), -float(X.min())), float(info.max)    # no temporary the size of the data set
    if big > largest:
        row, col = np.argwhere(np.abs(X) > largest)[0]
        raise ChainruleError(f"{name}: row {row}, column {col}: {X[row, col]:g} is beyond what {info.dtype} holds "
                             f"(±{info.max:.3g}); standardise the features (standardize=True) or train in float64")
    if 0 < big < 1e3 * float(info.tiny):
        import warnings
        warnings.warn(f"{name}: every feature is below {1e3 * info.tiny:.1g} in size and underflows in {info.dtype}; "
                      f"standardise the features (standardize=True) or train in float64", RuntimeWarning, stacklevel=3)


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or int(value) != value or int(value) < 1:
        raise ChainruleError(f"{name}: expected a positive whole number, found {value!r}")
    return int(value)
