"""The model file format: one ``.npz`` holding the weights, the input standardisation and a JSON record of the
architecture; what writes it and what checks one read back, with no ``Network`` in sight (``io.py`` builds the
network from a checked file), so that ``Network.save`` and checkpoints use it without importing the network back.

Read with ``allow_pickle=False``: a model file is data, never code. Written atomically (``atomicfile``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import activations
from .arrayfiles import read_npz as read_arrays
from .atomicfile import write_atomic
from .errors import ChainruleError
from .layers import Dense, Dropout
from .losses import PAIRINGS
from .schema import AnyOf, Boolean, Choice, ListOf, Null, Number, Table, Tagged, Text, describe, validate

if TYPE_CHECKING:
    from .network import Network

FORMAT = "chainrule-model"
FORMAT_VERSION = 1
ACTIVATION_TYPES = {"sigmoid": activations.Sigmoid, "tanh": activations.Tanh, "relu": activations.ReLU,
                    "identity": activations.Identity, "softmax": activations.Softmax}
MAX_WIDTH = 1_000_000
MAX_PARAMETERS = 100_000_000          # 400 MB of float32: checked from the record, before anything is allocated
MAX_WEIGHT = 1e6                      # no training produces larger weights; larger ones only overflow at inference
MAX_MEMBER_BYTES = 2 << 30            # any one array of the archive, uncompressed
WIDTH = Number(low=1, high=MAX_WIDTH, integer=True)
LAYER = Tagged("type", {
    "dense": Table({"type": Choice(["dense"]), "in": WIDTH, "out": WIDTH,
                    "bias": Choice(["shared", "per_neuron", "none"])}, required=("type", "in", "out", "bias")),
    "dropout": Table({"type": Choice(["dropout"]), "rate": Number(low=0, high=0.99)}, required=("type", "rate")),
} | {name: Table({"type": Choice([name])}, required=("type",)) for name in ACTIVATION_TYPES},
    what="a layer record with a type")
ARCHITECTURE = Table({
    "format": Choice([FORMAT]),
    "version": Number(low=1, high=FORMAT_VERSION, integer=True),
    "in_features": WIDTH,
    "dtype": Choice(["float32", "float64"]),
    "layers": ListOf(LAYER, max_items=256),
    "loss": Table({"name": Choice(sorted({loss for _, loss in PAIRINGS})),
                   "output": Choice(sorted({output for output, _ in PAIRINGS})),
                   "epsilon": Number(low=0, open_low=True)}, required=("name", "output")),   # Huber's
    "classes": AnyOf(Null(), ListOf(Text(max_length=200), max_items=100_000), what="null or a list of class names"),
    "standardized": Boolean(),
    "info": Table({"data": AnyOf(Null(), Text(max_length=4096), what="null or a string"),
                   "label": AnyOf(Null(), Text(max_length=200), Number(integer=True), what="null, a name or an index"),
                   "test_size": AnyOf(Null(), Number(low=0, high=1, open_low=True), what="null or a fraction"),
                   "seed": AnyOf(Null(), Number(low=0, high=2 ** 32 - 1, integer=True),
                                 what="null or a seed from 0 to 2**32-1")}),
}, required=("format", "version", "in_features", "dtype", "layers", "loss", "standardized"),
    what="a chainrule architecture record")


def _loss_record(loss_fn) -> dict:
    """The loss's name and output, and its setting when it has one (Huber's epsilon); a weighted loss (during a
    weighted fit) is recorded as the loss it weights."""
    loss_fn = getattr(loss_fn, "base", loss_fn)
    record = {"name": loss_fn.name, "output": loss_fn.output}
    return record | ({"epsilon": loss_fn.epsilon} if hasattr(loss_fn, "epsilon") else {})


def describe_layers(network: Network) -> list[dict]:
    described = []
    for layer in network.layers:
        if isinstance(layer, Dense):
            described.append({"type": "dense", "in": layer.in_features, "out": layer.out_features,
                              "bias": layer.bias_kind})
        elif isinstance(layer, Dropout):
            described.append({"type": "dropout", "rate": layer.rate})
        else:
            name = next((k for k, cls in ACTIVATION_TYPES.items() if type(layer) is cls), None)
            if name is None:
                raise ChainruleError(f"save: layer {type(layer).__name__} has no file format")
            described.append({"type": name})
    return described


def architecture(network: Network) -> dict:
    return {"format": FORMAT, "version": FORMAT_VERSION, "in_features": network.in_features,
            "dtype": str(network.dtype), "layers": describe_layers(network),
            "loss": _loss_record(network.loss_fn),
            "classes": None if network.classes is None else [str(c) for c in network.classes],
            "standardized": network.standardizer is not None, "info": network.info}


def model_arrays(network: Network) -> dict[str, np.ndarray]:
    arrays = {"architecture": json_array(architecture(network))}
    arrays |= {f"param/{name}": p for name, p in network.named_parameters().items()}
    if network.standardizer is not None:
        arrays["standardizer/mean"] = network.standardizer.mean
        arrays["standardizer/scale"] = network.standardizer.scale
    return arrays


def json_array(document) -> np.ndarray:
    return np.frombuffer(json.dumps(document).encode("utf-8"), dtype=np.uint8)


def json_from(array: np.ndarray, what: str, path) -> dict:
    if not isinstance(array, np.ndarray) or array.dtype != np.uint8 or array.ndim != 1 or array.size > 16 * 2 ** 20:
        raise ChainruleError(f"{path}: the {what} record: expected at most 16 MiB of JSON text as bytes, found "
                             f"{getattr(array, 'dtype', type(array).__name__)} of shape {getattr(array, 'shape', '?')}")
    try:
        return json.loads(array.tobytes().decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise ChainruleError(f"{path}: the {what} record is not valid JSON: the file is damaged") from None
    except RecursionError:
        raise ChainruleError(f"{path}: the {what} record is nested far too deep: the file is damaged") from None


def write_npz_atomic(path, arrays: dict[str, np.ndarray]) -> None:
    write_atomic(path, lambda handle: np.savez(handle, **arrays))


def save_model(network: Network, path) -> None:
    write_npz_atomic(path, model_arrays(network))


def read_npz(path) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file, or a clear error for a missing, empty, truncated or foreign file, or for a
    member that is not an array or whose header does not match its data (see ``arrayfiles``)."""
    path = Path(path)
    if not path.is_file():
        raise ChainruleError(f"{path}: no such model file")
    return read_arrays(path, ".npz model file", MAX_MEMBER_BYTES)


def check_model_arrays(arrays: dict[str, np.ndarray], path) -> dict:
    """A model file's arrays checked whole before anything is built from them: the record against
    ``ARCHITECTURE``, the layers' widths and size, every array's presence, shape, dtype and finiteness, the
    standardisation and the classes against the outputs. Returns the architecture record."""
    if "architecture" not in arrays:
        raise ChainruleError(f"{path}: not a chainrule model: it has no architecture record "
                             f"(found arrays: {', '.join(sorted(arrays)[:6])})")
    arch = json_from(arrays["architecture"], "architecture", path)
    if not isinstance(arch, dict) or arch.get("format") != FORMAT:
        found = describe(arch.get("format")) if isinstance(arch, dict) else describe(arch)
        raise ChainruleError(f"{path}: not a chainrule model (expected format \"{FORMAT}\", found {found})")
    version = arch.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise ChainruleError(f"{path}: written in model format version {version}, newer than this "
                             f"chainrule reads ({FORMAT_VERSION}); upgrade chainrule to load it")
    validate(ARCHITECTURE, arch, f"{path}: architecture")
    shapes, outputs = _check_layers(arch, path)
    for name, shape in shapes.items():
        _check_array(arrays, f"param/{name}", shape, path, limit=MAX_WEIGHT)
    if arch["standardized"]:
        _check_array(arrays, "standardizer/mean", (arch["in_features"],), path)
        _check_array(arrays, "standardizer/scale", (arch["in_features"],), path, positive=True)
    if arch.get("classes") is not None:
        _check_classes(arch["classes"], outputs, path)
    return arch


def _check_layers(arch: dict, path) -> tuple[dict[str, tuple], int]:
    """Each parameter's shape from the record, after checking that the widths chain and the total is bounded;
    and the network's output width."""
    width, shapes, total = arch["in_features"], {}, 0
    for index, item in enumerate(arch["layers"]):
        if item["type"] != "dense":
            continue
        if item["in"] != width:
            raise ChainruleError(f"{path}: architecture: layers[{index}].in: expected {width} (the width before "
                                 f"it), found {item['in']}")
        shapes[f"{index}.weight"] = (item["in"], item["out"])
        if item["bias"] != "none":
            shapes[f"{index}.bias"] = (1,) if item["bias"] == "shared" else (item["out"],)
        total += item["in"] * item["out"] + item["out"]
        if total > MAX_PARAMETERS:
            raise ChainruleError(f"{path}: architecture: expected at most {MAX_PARAMETERS:,} parameters, found "
                                 f"layers[{index}] of {item['in']} x {item['out']}")
        width = item["out"]
    if not shapes:
        raise ChainruleError(f"{path}: architecture: layers: expected at least one dense layer, found none")
    loss = arch["loss"]
    if (loss["output"], loss["name"]) not in PAIRINGS:
        raise ChainruleError(f"{path}: architecture: loss: expected an output/loss pairing chainrule trains, found "
                             f"{loss['output']} + {loss['name']}")
    return shapes, width


def _check_array(arrays, key, shape, path, limit=None, positive=False) -> None:
    array = arrays.get(key)
    if array is None:
        raise ChainruleError(f"{path}: array {key}: expected shape {shape}, found nothing")
    if array.dtype.kind != "f" or array.dtype.itemsize not in (4, 8):
        raise ChainruleError(f"{path}: array {key}: expected float32 or float64 numbers, found dtype {array.dtype}")
    if array.shape != shape:
        raise ChainruleError(f"{path}: array {key}: expected shape {shape}, found shape {array.shape}")
    finite = np.isfinite(array)
    if not finite.all():
        where = int(np.argwhere(~finite.reshape(-1))[0][0])
        raise ChainruleError(f"{path}: array {key}: expected finite numbers, found {array.reshape(-1)[where]} "
                             f"at flat index {where}")
    if limit is not None and array.size and np.abs(array).max() > limit:
        raise ChainruleError(f"{path}: array {key}: expected values of magnitude at most {limit:g}, found "
                             f"{np.abs(array).max():g}")
    if positive and array.size and array.min() <= 0:
        raise ChainruleError(f"{path}: array {key}: expected positive scales, found {array.min():g}")


def _check_classes(classes: list[str], k: int, path) -> list[str]:
    expected = (k, 2) if k == 1 else (k,)
    if len(classes) not in expected:
        raise ChainruleError(f"{path}: architecture: classes: expected {k} class names (one per output), "
                             f"found {len(classes)}")
    if len(set(classes)) != len(classes):
        raise ChainruleError(f"{path}: architecture: classes: expected distinct names, found a repeated one")
    return classes
