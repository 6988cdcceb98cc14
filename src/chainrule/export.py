"""ONNX export: a trained network as a standard graph that any ONNX runtime can run.

The graph computes what ``Network.predict_proba`` computes on raw inputs: the input standardisation fitted in
training (Sub, Div), each dense layer (MatMul, Add), each activation, and the output function of a fused loss
(Softmax or Sigmoid). Dropout is the identity at inference and is left out.
"""

import numpy as np

from . import activations
from .errors import ChainruleError
from .extras import require
from .layers import Dense, Dropout

OPS = {activations.ReLU: "Relu", activations.Sigmoid: "Sigmoid", activations.Tanh: "Tanh",
       activations.Identity: "Identity", activations.Softmax: "Softmax"}
OPSET = 17


def to_onnx(network):
    """The ``onnx.ModelProto`` of a network: input ``input`` (N, D), output ``probabilities`` (N, K)."""
    onnx = require("onnx", "onnx", "ONNX export")
    from onnx import TensorProto, helper, numpy_helper

    elem = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float64): TensorProto.DOUBLE}.get(network.dtype)
    if elem is None:
        raise ChainruleError(f"export: ONNX export supports float32 and float64 networks, found {network.dtype}")
    nodes, constants, current = [], [], "input"

    def constant(name, array):
        constants.append(numpy_helper.from_array(np.asarray(array, dtype=network.dtype), name))
        return name

    def node(op, inputs, **attributes):
        nonlocal current
        output = f"{op.lower()}_{len(nodes)}"
        nodes.append(helper.make_node(op, inputs, [output], **attributes))
        current = output

    if network.standardizer is not None:
        node("Sub", [current, constant("mean", network.standardizer.mean)])
        node("Div", [current, constant("scale", network.standardizer.scale)])
    for index, layer in enumerate(network.layers):
        if isinstance(layer, Dense):
            node("MatMul", [current, constant(f"layer{index}.weight", layer.params["weight"])])
            if "bias" in layer.params:
                node("Add", [current, constant(f"layer{index}.bias", layer.params["bias"])])
        elif isinstance(layer, Dropout):
            continue
        elif type(layer) in OPS:
            node(OPS[type(layer)], [current], **({"axis": -1} if type(layer) is activations.Softmax else {}))
        else:
            raise ChainruleError(f"export: layer {index} ({layer.describe()}) has no ONNX form")
    link = {"softmax": ("Softmax", {"axis": -1}), "sigmoid": ("Sigmoid", {}),
            "exp": ("Exp", {})}.get(network.loss_fn.output)          # every output the losses apply themselves
    if link:
        node(link[0], [current], **link[1])
    nodes[-1].output[0] = "probabilities"
    graph = helper.make_graph(
        nodes, "chainrule", [helper.make_tensor_value_info("input", elem, ["N", network.in_features])],
        [helper.make_tensor_value_info("probabilities", elem, ["N", network.out_features])], constants)
    model = helper.make_model(graph, producer_name="chainrule", opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = min(model.ir_version, 9)
    onnx.checker.check_model(model)
    return model


def export_onnx(network, path) -> None:
    """Write the network's ONNX graph to ``path``, atomically (a temporary file renamed into place)."""
    from .atomicfile import write_atomic

    data = to_onnx(network).SerializeToString()
    write_atomic(path, lambda handle: handle.write(data))
