"""Model files: one ``.npz`` holding the weights, the input standardisation and a JSON record of the architecture.

Read with ``allow_pickle=False``: a model file is data, never code. Written to a temporary file in the same
folder, flushed to disk and renamed over the target, so a crash leaves either the old file or the new one.
"""

import json
import os
from pathlib import Path

import numpy as np

from . import activations
from .arrayfiles import read_npz as read_arrays
from .errors import ChainruleError
from .layers import Dense, Dropout
from .losses import FUSED, PAIRINGS, UNFUSED
from .network import Network
from .schema import AnyOf, Boolean, Choice, ListOf, Null, Number, Table, Tagged, Text, describe, validate

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


def write_atomic(path, write) -> None:
    """Call ``write(handle)`` on a temporary file beside ``path``, flush it to disk and rename it over ``path``:
    a crash leaves the old file or the new one, never half of one. Leftover temporary files of killed writers
    (``.NAME.PID.tmp`` whose process is gone) are removed first."""
    path = Path(path)
    if not str(path) or path.name in ("", ".", ".."):
        raise ChainruleError(f"{str(path)!r}: expected a file name to write, found an empty or folder-like name")
    if path.is_dir():
        raise ChainruleError(f"{path}: cannot write, it is a folder")
    if not path.parent.exists():
        raise ChainruleError(f"{path}: cannot write, the folder {path.parent} does not exist")
    remove_stale_temporaries(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        raise ChainruleError(f"{path}: cannot write ({exc.strerror or exc})") from None
    finally:
        if temporary.exists():
            temporary.unlink()


def write_text_atomic(path, text: str) -> None:
    write_atomic(path, lambda handle: handle.write(text.encode("utf-8")))


def remove_stale_temporaries(path: Path) -> None:
    """Delete ``.NAME.PID.tmp`` files beside ``path`` left by writers that were killed (their PID is gone)."""
    for leftover in path.parent.glob(f".{glob_escape(path.name)}.*.tmp"):
        pid = leftover.name[len(path.name) + 2:-len(".tmp")]
        if pid.isdigit() and not _running(int(pid)):
            try:
                leftover.unlink()
            except OSError:
                pass


def glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


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


def network_from_arrays(arrays: dict[str, np.ndarray], path) -> Network:
    """The network a model file describes, after checking all of it: the record against ``ARCHITECTURE``, the
    layers' widths and size, every array's presence, shape, dtype and finiteness, the standardisation and the
    classes against the outputs. Nothing is allocated or used before it was checked."""
    from .training import Standardizer

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
    shapes = _check_layers(arch, path)
    for name, shape in shapes.items():
        _check_array(arrays, f"param/{name}", shape, path, limit=MAX_WEIGHT)
    if arch["standardized"]:
        _check_array(arrays, "standardizer/mean", (arch["in_features"],), path)
        _check_array(arrays, "standardizer/scale", (arch["in_features"],), path, positive=True)
    network = _build(arch)
    for name, param in network.named_parameters().items():
        param[...] = arrays[f"param/{name}"]
    if arch["standardized"]:
        network.standardizer = Standardizer(arrays["standardizer/mean"], arrays["standardizer/scale"])
    network.info = arch.get("info") or {}
    if arch.get("classes") is not None:
        network.classes = np.array(_check_classes(arch["classes"], network, path))
    return network


def _check_layers(arch: dict, path) -> dict[str, tuple]:
    """Each parameter's shape from the record, after checking that the widths chain and the total is bounded."""
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
    return shapes


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


def _check_classes(classes: list[str], network: Network, path) -> list[str]:
    k = network.out_features
    expected = (k, 2) if k == 1 else (k,)
    if len(classes) not in expected:
        raise ChainruleError(f"{path}: architecture: classes: expected {k} class names (one per output), "
                             f"found {len(classes)}")
    if len(set(classes)) != len(classes):
        raise ChainruleError(f"{path}: architecture: classes: expected distinct names, found a repeated one")
    return classes


def _build(arch: dict) -> Network:
    dtype = np.dtype(arch["dtype"])
    layers = []
    for item in arch["layers"]:
        kind = item["type"]
        if kind == "dense":
            layers.append(Dense(item["in"], item["out"], bias=item["bias"], init="zeros", dtype=dtype))
        elif kind == "dropout":
            layers.append(Dropout(float(item["rate"]), rng=np.random.default_rng()))
        else:
            layers.append(ACTIVATION_TYPES[kind]())
    loss = arch["loss"]
    fused = FUSED.get((loss["output"], loss["name"]))
    loss_fn = fused() if fused else UNFUSED[loss["name"]](**({"epsilon": loss["epsilon"]} if "epsilon" in loss else {}))
    return Network(layers, loss_fn, in_features=arch["in_features"])


def load(path) -> Network:
    """Load a model saved by ``Network.save``: the network with its standardisation and class labels."""
    return network_from_arrays(read_npz(path), path)
