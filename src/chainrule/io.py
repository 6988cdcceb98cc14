"""Model files: one ``.npz`` holding the weights, the input standardisation and a JSON record of the architecture.

Read with ``allow_pickle=False``: a model file is data, never code. Written to a temporary file in the same
folder, flushed to disk and renamed over the target, so a crash leaves either the old file or the new one.
"""

import json
import os
import zipfile
from pathlib import Path

import numpy as np

from . import activations
from .errors import ChainruleError
from .layers import Dense, Dropout
from .losses import FUSED, UNFUSED
from .network import Network

FORMAT = "chainrule-model"
FORMAT_VERSION = 1
ACTIVATION_TYPES = {"sigmoid": activations.Sigmoid, "tanh": activations.Tanh, "relu": activations.ReLU,
                    "identity": activations.Identity, "softmax": activations.Softmax}


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
            "loss": {"name": network.loss_fn.name, "output": network.loss_fn.output},
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
    try:
        return json.loads(np.asarray(array, dtype=np.uint8).tobytes().decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise ChainruleError(f"{path}: the {what} record is not valid JSON: the file is damaged") from None


def write_atomic(path, write) -> None:
    """Call ``write(handle)`` on a temporary file beside ``path``, flush it to disk and rename it over ``path``:
    a crash leaves the old file or the new one, never half of one."""
    path = Path(path)
    if not path.parent.exists():
        raise ChainruleError(f"{path}: cannot save, the folder {path.parent} does not exist")
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        raise ChainruleError(f"{path}: cannot save ({exc.strerror or exc})") from None
    finally:
        if temporary.exists():
            temporary.unlink()


def write_npz_atomic(path, arrays: dict[str, np.ndarray]) -> None:
    write_atomic(path, lambda handle: np.savez(handle, **arrays))


def save_model(network: Network, path) -> None:
    write_npz_atomic(path, model_arrays(network))


def read_npz(path) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file, or a clear error for a missing, truncated or foreign file."""
    path = Path(path)
    if not path.is_file():
        raise ChainruleError(f"{path}: no such model file")
    with open(path, "rb") as handle:
        if handle.read(4) != b"PK\x03\x04":     # an .npz is a zip archive; anything else is refused unread
            raise ChainruleError(f"{path}: not a readable .npz model file (it is not a zip archive)")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise ChainruleError(f"{path}: not a readable .npz model file (truncated or another format: {exc})") from None
    except ValueError as exc:   # an object array needs pickle, which is refused
        raise ChainruleError(f"{path}: holds data that could only be read by unpickling it, which chainrule "
                             f"never does ({exc})") from None


def network_from_arrays(arrays: dict[str, np.ndarray], path) -> Network:
    from .training import Standardizer

    if "architecture" not in arrays:
        raise ChainruleError(f"{path}: not a chainrule model: it has no architecture record "
                             f"(found arrays: {', '.join(sorted(arrays)[:6])})")
    arch = json_from(arrays["architecture"], "architecture", path)
    if not isinstance(arch, dict) or arch.get("format") != FORMAT:
        raise ChainruleError(f"{path}: not a chainrule model (format {arch.get('format') if isinstance(arch, dict) else arch!r})")
    if not isinstance(arch.get("version"), int) or arch["version"] > FORMAT_VERSION:
        raise ChainruleError(f"{path}: written in model format version {arch.get('version')!r}, newer than this "
                             f"chainrule reads ({FORMAT_VERSION}); upgrade chainrule to load it")
    try:
        network = _build(arch)
    except (KeyError, TypeError) as exc:
        raise ChainruleError(f"{path}: the architecture record is incomplete ({exc!r} missing or wrong)") from None
    for name, param in network.named_parameters().items():
        stored = arrays.get(f"param/{name}")
        if stored is None or stored.shape != param.shape:
            found = "nothing" if stored is None else f"shape {stored.shape}"
            raise ChainruleError(f"{path}: parameter {name}: expected shape {param.shape}, found {found}")
        param[...] = stored
    if arch.get("standardized"):
        network.standardizer = Standardizer(arrays["standardizer/mean"], arrays["standardizer/scale"])
    network.info = arch.get("info") or {}
    if arch.get("classes") is not None:
        network.classes = np.array(arch["classes"])
    return network


def _build(arch: dict) -> Network:
    dtype = np.dtype(arch["dtype"])
    layers = []
    for item in arch["layers"]:
        kind = item["type"]
        if kind == "dense":
            layers.append(Dense(item["in"], item["out"], bias=item["bias"], init="zeros", dtype=dtype))
        elif kind == "dropout":
            layers.append(Dropout(item["rate"], rng=np.random.default_rng()))
        elif kind in ACTIVATION_TYPES:
            layers.append(ACTIVATION_TYPES[kind]())
        else:
            raise ChainruleError(f"unknown layer type {kind!r}")
    loss = arch["loss"]
    fused = FUSED.get((loss["output"], loss["name"]))
    loss_fn = fused() if fused else UNFUSED[loss["name"]]()
    return Network(layers, loss_fn, in_features=arch["in_features"])


def load(path) -> Network:
    """Load a model saved by ``Network.save``: the network with its standardisation and class labels."""
    return network_from_arrays(read_npz(path), path)
