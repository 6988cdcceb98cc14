"""The progress bar: a tqdm bar while an epoch runs (samples done, samples/s), then one line per epoch with its
figures, as Keras prints with ``verbose=2``. Every line fits 80 columns."""

import sys

from .extras import require
from .callbacks import Callback

SHORT = {"loss": "loss", "accuracy": "acc", "val_loss": "val_loss", "val_accuracy": "val_acc"}


def epoch_line(epoch: int, epochs: int, logs: dict) -> str:
    """``epoch 3/30  loss 0.2311  acc 93.52%  val_loss 0.2519  val_acc 92.59%  0.04 s``."""
    parts = [f"epoch {epoch + 1}/{epochs}"]
    for key, short in SHORT.items():
        if key in logs:
            value = logs[key]
            parts.append(f"{short} {value:.2%}" if "acc" in key else f"{short} {value:.4f}")
    parts.append(f"{logs['seconds']:.2f} s")
    return "  ".join(parts)


class ProgressBar(Callback):
    def __init__(self, n_samples: int, batch_size: int, stream=None):
        self.n_samples, self.batch_size = n_samples, batch_size
        self.stream = stream or sys.stderr
        self.bar = None

    def on_epoch_begin(self, trainer, epoch):
        tqdm = require("tqdm.auto", "train", "The progress bar (verbose=1)").tqdm
        self.tqdm = tqdm
        self.bar = tqdm(total=self.n_samples, desc=f"epoch {epoch + 1}/{trainer.epochs}", unit=" samples",
                        unit_scale=True, leave=False, ncols=80, mininterval=0.2, file=self.stream)
        self.seen = 0

    def on_batch_end(self, trainer, epoch, batch, batch_loss):
        # a stream of chunks has no known length: its loop says how many rows each batch had
        step = trainer.batch_rows if self.n_samples is None else min(self.batch_size, self.n_samples - self.seen)
        self.seen += step
        self.bar.update(step)

    def on_epoch_end(self, trainer, epoch, logs):
        self.bar.close()
        self.tqdm.write(epoch_line(epoch, trainer.epochs, logs), file=self.stream)

    def on_train_end(self, trainer):
        if self.bar is not None and not self.bar.disable:
            self.bar.close()
