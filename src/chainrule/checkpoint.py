"""Checkpoints: after every epoch, everything needed to continue exactly where training stopped.

One file, ``DIR/checkpoint.npz``: the model, the optimizer's state, the random generators' states (the shuffle's
and any dropout layer's) and the history so far, written atomically. Resuming restores all of it, so a run that is
killed and resumed ends with the same weights, bit for bit, as one that never stopped.
"""

from pathlib import Path

from .errors import ChainruleError
from .layers import Dropout
from .modelfile import (check_model_arrays, describe_layers, json_array, json_from, model_arrays, read_npz,
                        write_npz_atomic)
from .schema import AnyOf, ListOf, MapOf, Number, Table, Text, validate
from .standardize import Standardizer

INTEGER = Number(integer=True, low=0)
RNG = Table({"bit_generator": Text(max_length=40), "state": MapOf(Text(max_length=40), INTEGER),
             "has_uint32": INTEGER, "uinteger": INTEGER}, required=("bit_generator", "state"))
TRAINING_STATE = Table({
    "epoch": INTEGER,
    "rng": RNG,
    "dropout_rngs": ListOf(RNG, min_items=0, max_items=256),
    "history": MapOf(Text(max_length=40), ListOf(Number(), min_items=0, max_items=10_000_000), min_items=0),
    "optimizer": MapOf(Text(max_length=40), AnyOf(Number(), Text(max_length=40), ListOf(Number(), max_items=8),
                                                  what="a number, a name or a list of numbers")),
}, required=("epoch", "rng", "dropout_rngs", "history", "optimizer"), what="a training record")


class CheckpointStore:
    def __init__(self, directory):
        self.directory = Path(directory)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ChainruleError(f"checkpoint: cannot create the folder {self.directory} ({exc.strerror})") from None
        self.path = self.directory / "checkpoint.npz"

    def save(self, trainer) -> None:
        network, optimizer = trainer.network, trainer.optimizer
        state = {
            "epoch": trainer.epoch,
            "rng": trainer.rng.bit_generator.state,
            "dropout_rngs": [layer.rng.bit_generator.state for layer in network.layers if isinstance(layer, Dropout)],
            "history": trainer.history.history,
            "optimizer": {"type": type(optimizer).__name__, **optimizer.config()},
        }
        arrays = model_arrays(network) | {"training": json_array(state)}
        arrays |= {f"optimizer/{key}": value for key, value in optimizer.state_arrays().items()}
        write_npz_atomic(self.path, arrays)

    def restore(self, trainer) -> bool:
        """Load the last checkpoint into the trainer; False (and nothing changed) when there is none yet."""
        if not self.path.exists():
            return False
        arrays = read_npz(self.path)
        if "training" not in arrays:
            raise ChainruleError(f"{self.path}: not a checkpoint: it has no training record (is it a model file? "
                                 f"--checkpoint takes the folder that an earlier train --checkpoint wrote)")
        check_model_arrays(arrays, self.path)           # the whole model part checked as a model file is
        network, optimizer = trainer.network, trainer.optimizer
        saved = json_from(arrays["architecture"], "architecture", self.path)
        if saved.get("layers") != describe_layers(network):
            raise ChainruleError(f"{self.path}: the checkpoint is of a different network "
                                 f"({saved.get('layers')}) than the one being trained ({describe_layers(network)})")
        state = json_from(arrays["training"], "training", self.path)
        validate(TRAINING_STATE, state, f"{self.path}: training record")
        for key in ("type", "steps", "lr"):
            if key not in state["optimizer"]:
                raise ChainruleError(f"{self.path}: training record: optimizer.{key}: expected this field to be "
                                     f"present, found nothing")
        if state["optimizer"]["type"] != type(optimizer).__name__:
            raise ChainruleError(f"{self.path}: the checkpoint was made with {state['optimizer']['type']}, "
                                 f"not {type(optimizer).__name__}")
        params = network.named_parameters()
        for name, param in params.items():
            param[...] = arrays[f"param/{name}"]
        if saved.get("standardized"):
            network.standardizer = Standardizer(arrays["standardizer/mean"], arrays["standardizer/scale"])
        optimizer.load_state_arrays({k[len("optimizer/"):]: v for k, v in arrays.items()
                                     if k.startswith("optimizer/")}, trainer.parameters())
        optimizer.steps, optimizer.lr = state["optimizer"]["steps"], state["optimizer"]["lr"]
        trainer.rng.bit_generator.state = state["rng"]
        for layer, rng_state in zip([l for l in network.layers if isinstance(l, Dropout)], state["dropout_rngs"],
                                    strict=True):
            layer.rng.bit_generator.state = rng_state
        trainer.history.history = {k: list(v) for k, v in state["history"].items()}
        trainer.epoch = int(state["epoch"])
        return True
