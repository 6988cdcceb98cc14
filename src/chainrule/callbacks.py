"""Callbacks for ``fit``: the hooks, and early stopping (with the best weights restored). The progress bar lives in
progress.py."""

import numpy as np

from .errors import ChainruleError


class Callback:
    """Hooks into ``fit``; set ``trainer.stop = True`` to end training after the current epoch."""

    def on_train_begin(self, trainer): ...
    def on_epoch_begin(self, trainer, epoch): ...
    def on_batch_end(self, trainer, epoch, batch, batch_loss): ...
    def on_epoch_end(self, trainer, epoch, logs): ...
    def on_train_end(self, trainer): ...


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs; with
    ``restore_best_weights`` the network ends with the weights of its best epoch. Losses are minimised, accuracies
    maximised."""

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0,
                 restore_best_weights: bool = True):
        if int(patience) < 0:
            raise ChainruleError(f"EarlyStopping: patience must be >= 0, found {patience!r}")
        self.monitor, self.patience, self.min_delta = monitor, int(patience), abs(float(min_delta))
        self.restore_best_weights = restore_best_weights
        self.sign = -1.0 if "acc" in monitor else 1.0       # compare sign * value: smaller is better
        self.best, self.best_epoch, self.best_weights, self.wait = np.inf, None, None, 0
        self.stopped_epoch = None

    def on_epoch_end(self, trainer, epoch, logs):
        if self.monitor not in logs:
            raise ChainruleError(f"EarlyStopping: monitor {self.monitor!r} is not among this run's figures "
                                 f"{sorted(logs)}; give validation data to monitor val_*")
        value = self.sign * logs[self.monitor]
        if value < self.best - self.min_delta:
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = {k: p.copy() for k, p in trainer.network.named_parameters().items()}
        else:
            self.wait += 1
            if self.wait > self.patience:
                trainer.stop, self.stopped_epoch = True, epoch

    def on_train_end(self, trainer):
        if self.restore_best_weights and self.best_weights is not None:
            for name, param in trainer.network.named_parameters().items():
                param[...] = self.best_weights[name]
