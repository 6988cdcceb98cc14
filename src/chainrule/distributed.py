"""Training on a Dask cluster, two ways.

``Incremental`` (dask_ml.wrappers) hands each block of a Dask array to the estimator's ``partial_fit``, one block
after another, on whichever worker holds it: the model travels, the data stays where it is. chainrule's estimators
have ``partial_fit``, so the wrapper works on them as it is; the one thing added here is a clear error when the
blocks of ``X`` and ``y`` do not line up, which Dask-ML reports as a bare ``AssertionError``.

``fit`` trains one network data-parallel, the pattern of dask-glm's solvers: every step's loss and gradient are
summed on the workers, each over the rows it holds (``row_blocks.RowBlocks``), and the driver takes one step from
the total: full-batch L-BFGS (``objective.minimize_lbfgs``, as in memory), full-batch gradient descent, or
synchronous mini-batches drawn across all blocks, each step by the optimizer's own ``step``. The steps are those of
the same fit in memory, to rounding.
"""

import math
import time

import numpy as np

from .callbacks import Callback
from .errors import ChainruleError
from .extras import require
from .layers import Dropout
from .network import Network
from .objective import Objective, minimize_lbfgs, set_flat
from .optimizers import SGD, Optimizer
from .row_blocks import RowBlocks
from .training import History, Trainer, diverged, epoch_order, training_parameters

_wrappers = require("dask_ml.wrappers", "dist", "Training on Dask arrays (Incremental)")


def check_blocks(X, y) -> None:
    """Refuse Dask arrays whose row blocks differ: block i of ``X`` must hold the examples of block i of ``y``."""
    x_rows, y_rows = getattr(X, "chunks", None), getattr(y, "chunks", None)
    if x_rows is None or y_rows is None:
        return                                           # not Dask arrays: Dask-ML converts or refuses them
    if X.ndim == 2 and len(X.chunks[1]) != 1:
        raise ChainruleError(f"X: each block must hold whole rows, but X is also split across its columns "
                             f"(column blocks {X.chunks[1]}); use X.rechunk({{1: -1}})")
    if X.chunks[0] != y.chunks[0]:
        raise ChainruleError(f"y: its blocks must line up with X's, row for row; X's row blocks are "
                             f"{_short(X.chunks[0])} and y's are {_short(y.chunks[0])}; use "
                             f"y.rechunk({{0: X.chunks[0]}})")


def _short(blocks) -> str:
    return str(blocks) if len(blocks) <= 6 else f"({', '.join(map(str, blocks[:3]))}, ... {len(blocks)} blocks)"


class Incremental(_wrappers.Incremental):
    """``dask_ml.wrappers.Incremental`` that checks the blocks of ``X`` and ``y`` line up before training."""

    def fit(self, X, y=None, **fit_kwargs):
        check_blocks(X, y)
        return super().fit(X, y=y, **fit_kwargs)

    def partial_fit(self, X, y=None, **fit_kwargs):
        check_blocks(X, y)
        return super().partial_fit(X, y=y, **fit_kwargs)


SOLVERS = ("lbfgs", "gd", "sgd")


def fit(network: Network, X, y, *, solver: str = "lbfgs", max_iter: int = 200, batch_size: int = 200,
        optimizer: Optimizer | None = None, l2: float = 0.0, tol: float = 1e-4, max_fun: int = 15_000, seed: int = 0,
        shuffle: bool = True, callbacks: tuple[Callback, ...] = (), client=None, retries: int = 2) -> History:
    """Train ``network`` in place on the Dask arrays ``X: (N, D)`` and ``y`` (labels ``(N,)`` or targets ``(N, K)``,
    in row blocks that line up with ``X``'s), data-parallel on the cluster of ``client`` (default: the current
    one); returns the ``History``.

    ``solver``:

    - ``"lbfgs"``: full-batch L-BFGS-B on the mean loss plus ``l2 / 2 * ||W||^2`` (weights only), with
      scikit-learn's options: ``max_iter`` iterations, ``max_fun`` evaluations, gradient tolerance ``tol``. Its
      iterates are those of ``minimize_lbfgs`` on the in-memory ``Objective`` over the same rows.
    - ``"gd"``: ``max_iter`` full-batch steps of ``optimizer`` (default ``SGD(lr=0.01)``; weight decay is the
      optimizer's), each on the mean gradient over all rows.
    - ``"sgd"``: ``max_iter`` epochs of synchronous mini-batches of ``batch_size`` rows, drawn across all blocks in
      the order of ``chainrule.fit``'s seeded shuffle (``seed``, ``shuffle``), so a fit in memory with the same
      ``seed`` takes the same batches and the same steps.

    The history holds one entry per epoch: ``"loss"`` (for L-BFGS the objective, penalty included, and one entry
    per evaluation, each a pass over all rows), ``"seconds"``, and ``"lr"`` for ``gd`` and ``sgd``. ``callbacks``
    get the engine's hooks (``on_batch_end`` after every step); one that sets ``trainer.stop`` ends the fit after
    its epoch (an L-BFGS fit then keeps the parameters of its last evaluation). No dropout: each step's gradient is
    exact. A task lost with its worker is run again (``retries`` times for other failures) from the same
    parameters, so the fit goes on from the step it was taking.
    """
    solver, max_iter, batch_size, optimizer, l2 = _check_options(solver, max_iter, batch_size, optimizer, l2, tol,
                                                                 max_fun, retries)
    y = check_data(network, X, y)
    client = _client(client)
    trainer = Trainer(network, optimizer, np.random.default_rng(seed), History(examples=int(X.shape[0])))
    trainer.epochs = max_fun if solver == "lbfgs" else max_iter
    with RowBlocks(client, network, X, y, retries=retries) as blocks:
        for callback in callbacks:
            callback.on_train_begin(trainer)
        if solver == "lbfgs":
            _lbfgs(trainer, blocks, callbacks, l2, max_iter=max_iter, max_fun=max_fun, tol=tol)
        else:
            full = solver == "gd"                           # one batch of all rows: no order to draw
            _descend(trainer, blocks, callbacks, len(X) if full else batch_size, shuffle and not full)
    for callback in callbacks:
        callback.on_train_end(trainer)
    return trainer.history


class _Stopped(Exception):
    """A callback set ``trainer.stop`` during an L-BFGS fit: leaves scipy's loop."""


def _lbfgs(trainer: Trainer, blocks, callbacks, l2: float, **options) -> None:
    network, n = trainer.network, int(blocks.offsets[-1])
    # The penalty is the in-memory Objective's own, so a fit on the cluster differs from one in memory only in the
    # order its rows are summed.
    no_rows = (np.empty((0, network.in_features), network.dtype), np.empty((0, network.out_features), network.dtype))
    penalty = Objective(network, *no_rows, l2=l2).penalty

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        epoch, started = trainer.epoch, time.perf_counter()
        for callback in callbacks:
            callback.on_epoch_begin(trainer, epoch)
        loss_sum, grad_sum = blocks.sums(theta)
        extra, extra_grad = penalty(theta)
        set_flat(network, np.asarray(theta, dtype=network.dtype))   # the network holds the point evaluated
        loss, grad = loss_sum / n + extra, grad_sum / n + extra_grad
        for callback in callbacks:
            callback.on_batch_end(trainer, epoch, 0, loss)
        _end_epoch(trainer, epoch, {"loss": loss, "seconds": time.perf_counter() - started}, callbacks)
        if trainer.stop:
            raise _Stopped
        return float(loss), grad.astype(np.float64, copy=False)

    try:
        result = minimize_lbfgs(objective, network.flat_parameters()[0].copy(), **options)
    except _Stopped:
        return
    set_flat(network, np.asarray(result.x, dtype=network.dtype))
    if result.status != 0:
        import warnings
        warnings.warn(f"chainrule: lbfgs stopped after {result.nit} iteration(s) and {result.nfev} evaluation(s) "
                      f"without converging ({result.message}); raise max_iter or max_fun", RuntimeWarning,
                      stacklevel=3)


def _descend(trainer: Trainer, blocks, callbacks, batch_size: int, shuffle: bool) -> None:
    """Epochs of steps of ``trainer.optimizer``, each on the mean gradient over one batch of rows; a batch of all
    the rows asks every block for all of its rows."""
    network, optimizer = trainer.network, trainer.optimizer
    params, _ = training_parameters(network)
    n = int(blocks.offsets[-1])
    while trainer.epoch < trainer.epochs and not trainer.stop:
        epoch, started = trainer.epoch, time.perf_counter()
        optimizer.start_epoch(epoch)
        for callback in callbacks:
            callback.on_epoch_begin(trainer, epoch)
        last_good = params["all"].copy()
        order = epoch_order(trainer.rng, n, shuffle)        # chainrule.fit's draw, for its batches
        total = 0.0
        for batch, start in enumerate(range(0, n, batch_size)):
            rows = order[start:start + batch_size]
            loss_sum, grad_sum = blocks.sums(params["all"], None if len(rows) == n else rows)
            loss = loss_sum / len(rows)
            if not math.isfinite(loss):
                params["all"][...] = last_good
                raise diverged(loss, epoch, f"batch {batch + 1}", optimizer.lr)
            optimizer.step(params, {"all": grad_sum / len(rows)})
            total += loss_sum
            for callback in callbacks:
                callback.on_batch_end(trainer, epoch, batch, loss)
        _end_epoch(trainer, epoch, {"loss": total / n, "lr": optimizer.lr, "seconds": time.perf_counter() - started},
                   callbacks)
        blocks.by_worker = blocks.placement()     # a block computed again after a lost worker lives elsewhere


def _end_epoch(trainer: Trainer, epoch: int, logs: dict, callbacks) -> None:
    trainer.history.append(logs)
    trainer.epoch = epoch + 1
    for callback in callbacks:
        callback.on_epoch_end(trainer, epoch, logs)


# --- the boundary -----------------------------------------------------------------------------------------------

def check_data(network: Network, X, y):
    """Refuse, before any step, what ``fit`` cannot train on: arrays that are not Dask arrays, row blocks of unknown
    size, an ``X`` whose width is not the network's input width or that is split across columns, blocks of ``X``
    and ``y`` that do not line up, no rows, a network with dropout. Returns ``y`` with its columns in one block."""
    for name, array in (("X", X), ("y", y)):
        if not hasattr(array, "to_delayed") or not hasattr(array, "chunks"):
            raise ChainruleError(f"{name}: expected a Dask array, found {type(array).__name__}; make one with "
                                 f"dask.array.from_array({name}, chunks=...)")
        if any(math.isnan(rows) for rows in array.chunks[0]):
            raise ChainruleError(f"{name}: expected row blocks of known sizes, found unknown ones (nan); call "
                                 f"{name}.compute_chunk_sizes() first")
    if X.ndim != 2:
        raise ChainruleError(f"X: expected a 2-D array (examples, features), found shape {X.shape}")
    if X.shape[1] != network.in_features:
        raise ChainruleError(f"X: the network takes {network.in_features} features per example, so X must have "
                             f"{network.in_features} columns; found {X.shape[1]} (X's shape {X.shape})")
    if y.ndim not in (1, 2):
        raise ChainruleError(f"y: expected labels (N,) or targets (N, K), found shape {y.shape}")
    check_blocks(X, y)
    if X.shape[0] == 0:
        raise ChainruleError(f"X: expected at least one row to train on, found shape {X.shape}")
    for index, layer in enumerate(network.layers):
        if isinstance(layer, Dropout) and layer.rate > 0:
            raise ChainruleError(f"network: layer {index} is dropout (rate {layer.rate:g}); data-parallel steps "
                                 f"take exact gradients, so expected a network without dropout")
    return y.rechunk({1: -1}) if y.ndim == 2 else y


def _check_options(solver, max_iter, batch_size, optimizer, l2, tol, max_fun, retries):
    if solver not in SOLVERS:
        raise ChainruleError(f"solver: expected one of {', '.join(map(repr, SOLVERS))}, found {solver!r}")
    for name, value in (("max_iter", max_iter), ("batch_size", batch_size), ("max_fun", max_fun)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ChainruleError(f"{name}: expected a positive whole number, found {value!r}")
    if isinstance(retries, bool) or not isinstance(retries, (int, np.integer)) or retries < 0:
        raise ChainruleError(f"retries: expected a whole number >= 0, found {retries!r}")
    if not (isinstance(tol, (int, float)) and math.isfinite(tol) and tol > 0):
        raise ChainruleError(f"tol: expected a finite number > 0, found {tol!r}")
    if not (isinstance(l2, (int, float)) and math.isfinite(l2) and l2 >= 0):
        raise ChainruleError(f"l2: expected a finite number >= 0, found {l2!r}")
    if solver == "lbfgs" and optimizer is not None:
        raise ChainruleError(f"optimizer: solver='lbfgs' takes its own steps, so expected no optimizer, found "
                             f"{type(optimizer).__name__}")
    if solver != "lbfgs" and l2:
        raise ChainruleError(f"l2: solver={solver!r} penalises through its optimizer, so expected l2=0, found {l2!r}; "
                             f"use the optimizer's weight_decay")
    if solver != "lbfgs":
        optimizer = SGD(lr=0.01) if optimizer is None else optimizer
        if not isinstance(optimizer, Optimizer):
            raise ChainruleError(f"optimizer: expected a chainrule optimizer (SGD, Adam, ...), found "
                                 f"{type(optimizer).__name__}")
    return solver, int(max_iter), int(batch_size), optimizer, float(l2)


def _client(client):
    if client is not None:
        return client
    try:
        return require("dask.distributed", "dist", "Data-parallel training on Dask").default_client()
    except ValueError:
        raise ChainruleError("client: expected a Dask client, found none; start one (Client(LocalCluster(...)) or "
                             "Client(\"tcp://host:8786\")) or pass client=") from None
