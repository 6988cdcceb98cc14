"""The progress bar: a tqdm bar per epoch with loss, accuracy, validation figures and samples per second."""

from .extras import require
from .training import Callback


class ProgressBar(Callback):
    def __init__(self, n_samples: int, batch_size: int):
        self.n_samples, self.batch_size = n_samples, batch_size
        self.bar = None

    def on_epoch_begin(self, trainer, epoch):
        tqdm = require("tqdm.auto", "train", "The progress bar (verbose=1)").tqdm
        self.bar = tqdm(total=self.n_samples, desc=f"epoch {epoch + 1}/{trainer.epochs}", unit=" samples",
                        unit_scale=True, leave=True, dynamic_ncols=True, mininterval=0.2)
        self.seen = 0

    def on_batch_end(self, trainer, epoch, batch, batch_loss):
        # a stream of chunks has no known length: its loop says how many rows each batch had
        step = trainer.batch_rows if self.n_samples is None else min(self.batch_size, self.n_samples - self.seen)
        self.seen += step
        self.bar.update(step)

    def on_epoch_end(self, trainer, epoch, logs):
        shown = {key: f"{value:.4f}" for key, value in logs.items() if key not in ("lr", "seconds")}
        shown["samples/s"] = f"{self.seen / max(logs['seconds'], 1e-9):,.0f}"
        self.bar.set_postfix(shown, refresh=True)
        self.bar.close()

    def on_train_end(self, trainer):
        if self.bar is not None and not self.bar.disable:
            self.bar.close()
