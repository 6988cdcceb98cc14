"""The rows of a Dask array kept on the workers that hold them, and the one question a step asks of them: at these
parameters, what are the sums of the loss and of its gradient over your rows?

Each block of ``X`` and ``y`` is prepared once on a worker (standardised as the network does, targets encoded as the
loss takes them) and stays in that worker's memory for the whole fit. A step sends each worker the parameters
``theta: (P,)``, the network's architecture (a few kB) and the list of its own blocks (for a mini-batch, with the rows
of each block the batch takes); the worker answers ``(loss sum, gradient sum: (P,), rows)`` from
``objective.loss_and_gradient_sum``, the engine's own forward and backward. Only ``theta`` goes out and only the sums
come back: no row moves between machines.

If a worker dies, Dask computes its blocks again from their graph on the workers left, runs the lost step's task
again with the same ``theta`` (the driver holds it), and the fit goes on from the step it was taking.
"""

import threading
import uuid

import numpy as np

from .errors import ChainruleError
from .extras import require
from .io import network_from_arrays
from .modelfile import model_arrays
from .network import Network
from .objective import loss_and_gradient_sum, set_flat
from .training import encode_targets

_dask = require("dask", "dist", "Data-parallel training on Dask")
_distributed = require("dask.distributed", "dist", "Data-parallel training on Dask")

# --- on the workers ---------------------------------------------------------------------------------------------

# One network per fit and thread of each worker process, built from the fit's model arrays on first use: a network
# holds its last pass's activations, so two threads must never share one.
_networks: dict[tuple[str, int], Network] = {}
_networks_lock = threading.Lock()


def _network(fit_id: str, spec: dict) -> Network:
    key = (fit_id, threading.get_ident())
    with _networks_lock:
        if key not in _networks:
            arrays = {name: np.zeros(value) if isinstance(value, tuple) else value for name, value in spec.items()}
            _networks[key] = network_from_arrays(arrays, "the network sent to the workers")
        return _networks[key]


def weightless(network: Network) -> dict:
    """The network's model arrays (``modelfile.model_arrays``) with each parameter array replaced by its shape:
    what a worker needs to build the same network (a few kB), whose parameters every step then sets."""
    return {name: value.shape if name.startswith("param/") else value
            for name, value in model_arrays(network).items()}


def forget(fit_id: str) -> None:
    """Drop this process's networks of one fit (run on every worker when the fit ends)."""
    with _networks_lock:
        for key in [key for key in _networks if key[0] == fit_id]:
            del _networks[key]


def prepare_block(fit_id: str, spec: dict, index: int, rows: int, x_block, y_block) -> tuple[np.ndarray, np.ndarray]:
    """Block ``index`` as the engine takes it: inputs ``(n, D)`` prepared by the network (its standardisation, its
    dtype, finite values of the right width) and targets ``(n, K)`` encoded for its loss. ``rows``: how many rows the
    Dask array says the block has."""
    network = _network(fit_id, spec)
    if len(x_block) != rows or len(y_block) != rows:
        raise ChainruleError(f"block {index}: expected {rows} rows (the array's chunks), found {len(x_block)} in X "
                             f"and {len(y_block)} in y")
    if not rows:                       # an empty partition: it adds nothing to any sum
        return (np.empty((0, network.in_features), network.dtype), np.empty((0, network.out_features),
                                                                            network.dtype))
    return network.prepare(x_block, f"X block {index}"), encode_targets(network, y_block, rows)


def block_sums(fit_id: str, spec: dict, theta: np.ndarray, blocks: list, picks: list) -> tuple[float, np.ndarray, int]:
    """``(loss sum, gradient sum: (P,), rows)`` over this worker's ``blocks`` at parameters ``theta: (P,)``; with
    ``picks[i]`` an array of row numbers, only those rows of block ``i`` (a mini-batch's share), else all of it."""
    network = _network(fit_id, spec)
    set_flat(network, theta)
    loss, grad, rows = 0.0, np.zeros_like(theta), 0
    for (x, Y), pick in zip(blocks, picks, strict=True):
        if pick is not None:
            x, Y = x[pick], Y[pick]
        block_loss, block_grad = loss_and_gradient_sum(network, x, Y)
        loss, rows = loss + block_loss, rows + len(x)
        grad += block_grad
    return loss, grad, rows


# --- on the driver ----------------------------------------------------------------------------------------------

class RowBlocks:
    """The prepared blocks of one fit on a cluster. ``sums(theta)`` over all rows, ``sums(theta, batch)`` over the
    rows numbered ``batch: (m,)`` (positions in ``X``); ``placement()`` asks the scheduler again which worker holds
    each block. Use as a context manager: leaving it releases the blocks and the workers' networks."""

    def __init__(self, client, network: Network, X, y, *, retries: int):
        self.client, self.retries, self.fit_id = client, retries, uuid.uuid4().hex
        self.dtype = network.dtype
        self.rows = tuple(int(n) for n in X.chunks[0])                           # per block
        self.offsets = np.concatenate([[0], np.cumsum(self.rows)]).astype(np.int64)
        # Every task carries the network without its weights (not a scattered copy, which a lost worker could take
        # with it), and each worker builds its own network from it once per fit.
        self.spec = weightless(network)
        prepare = _dask.delayed(prepare_block, pure=True)
        parts = [prepare(self.fit_id, self.spec, i, n, xb, yb) for i, (n, xb, yb) in
                 enumerate(zip(self.rows, X.to_delayed().ravel(), y.to_delayed().ravel(), strict=True))]
        self.blocks = client.compute(parts)
        _distributed.wait(self.blocks)
        failed = next((block for block in self.blocks if block.status == "error"), None)
        if failed is not None:                 # the worker's error, raised here: a ChainruleError naming the block
            error = failed.exception()
            self.__exit__()
            raise error
        self.by_worker = self.placement()

    def placement(self) -> dict[str, list[int]]:
        """``{worker address: [block numbers it holds]}``."""
        holders = self.client.who_has(self.blocks)
        by_worker: dict[str, list[int]] = {}
        for i, block in enumerate(self.blocks):
            by_worker.setdefault(sorted(holders[block.key])[0] if holders[block.key] else "", []).append(i)
        return by_worker

    def sums(self, theta: np.ndarray, batch: np.ndarray | None = None) -> tuple[float, np.ndarray]:
        """``(loss sum, gradient sum: (P,))`` over all rows, or over the rows numbered ``batch``, at ``theta``: one
        task per worker, on its own blocks, added up here."""
        theta = np.asarray(theta, dtype=self.dtype)
        picks = self._picks(batch)
        tasks = []
        for worker, numbers in self.by_worker.items():
            numbers = [i for i in numbers if picks is None or i in picks]
            if numbers:
                tasks.append(self.client.submit(
                    block_sums, self.fit_id, self.spec, theta, [self.blocks[i] for i in numbers],
                    [None if picks is None else picks[i] for i in numbers], workers=[worker] if worker else None,
                    allow_other_workers=True, pure=False, retries=self.retries))
        answers = self.client.gather(tasks)
        rows = sum(answer[2] for answer in answers)
        assert rows == (self.offsets[-1] if batch is None else len(batch)), (rows, batch)
        return sum(answer[0] for answer in answers), sum(answer[1] for answer in answers)

    def _picks(self, batch) -> dict[int, np.ndarray] | None:
        """``{block number: row numbers within it}`` for the rows of ``batch`` (positions in ``X``)."""
        if batch is None:
            return None
        block_of = np.searchsorted(self.offsets, batch, side="right") - 1
        return {int(b): batch[block_of == b] - self.offsets[b] for b in np.unique(block_of)}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.client.cancel(self.blocks)
        self.client.run(forget, self.fit_id, on_error="ignore")   # a worker lost meanwhile forgot
