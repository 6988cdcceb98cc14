"""Loading model files: the network a checked model file describes. The format itself (what is written, what is
checked) is ``modelfile.py``; writing whole files, ``atomicfile.py``. Their names are kept here too, where code
written against earlier releases imports them.
"""

import numpy as np

from .atomicfile import glob_escape, remove_stale_temporaries, write_atomic, write_text_atomic  # noqa: F401
from .layers import Dense, Dropout
from .losses import FUSED, UNFUSED
from .modelfile import (ACTIVATION_TYPES, ARCHITECTURE, FORMAT, FORMAT_VERSION, LAYER, MAX_MEMBER_BYTES,  # noqa: F401
                        MAX_PARAMETERS, MAX_WEIGHT, MAX_WIDTH, WIDTH, architecture, check_model_arrays,
                        describe_layers, json_array, json_from, model_arrays, read_npz, save_model, write_npz_atomic)
from .network import Network
from .standardize import Standardizer


def network_from_arrays(arrays: dict[str, np.ndarray], path) -> Network:
    """The network a model file describes, after ``check_model_arrays`` checked all of it: nothing is allocated
    or used before it was checked."""
    arch = check_model_arrays(arrays, path)
    network = _build(arch)
    for name, param in network.named_parameters().items():
        param[...] = arrays[f"param/{name}"]
    if arch["standardized"]:
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
