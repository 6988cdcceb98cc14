"""Gradient checks of what ``explain`` shows beyond the network's own parameter gradients (``chainrule gradcheck``):
a batch step's per-example and batch gradients, the error reaching a hidden neuron through each connection, a
softmax's e^z and denominator, and the gradients at the inputs. Each is compared with central differences in float64, as ``chainrule.gradcheck``
compares backprop; every function returns a relative error per group (``gradcheck.relative_error``).
"""

import ast
import math
import operator
import re
from dataclasses import replace
from decimal import Decimal

import numpy as np

from ..gradcheck import numeric_input_gradients, relative_error
from .derivation import connection_name
from .pipeline import derive
from .stepping import entry_names
from .spec import Claim, Spec, build_network, example_name, input_gradient_names


def _central(f, eps: float) -> float:
    return (f(eps) - f(-eps)) / (2 * eps)


def batch_step_errors(spec: Spec, values: dict[str, float] | None = None, eps: float = 1e-6) -> dict[str, float]:
    """A batch's gradients as the derivation shows them (``values``: the derivation's, derived here by default):
    each example's ``dL/dw[n]`` against central differences of that example's own loss, and the batch's ``dL/dw``
    against those of the batch loss (the mean or the sum of the examples', as the spec says)."""
    values = derive(spec).values if values is None else values
    network, where = build_network(spec)
    params, names, L = network.named_parameters(), entry_names(spec, where), spec.loss_name

    def numeric(loss) -> np.ndarray:
        result = []
        for (key, flat), _ in names.items():
            view = params[key].reshape(-1)            # a view of the parameter: nudging it nudges the network
            kept = view[flat]

            def nudged(step):
                view[flat] = kept + step
                return loss()
            result.append(_central(nudged, eps))
            view[flat] = kept
        return np.array(result)

    errors = {}
    for n in range(1, spec.batch_size + 1):
        shown = np.array([values[example_name(f"d{L}/d{name}", n)] for name in names.values()])
        errors[f"example {n}"] = relative_error(shown, numeric(lambda: network.loss(spec.X[n - 1:n], spec.Y[n - 1:n])))
    shown = np.array([values[f"d{L}/d{name}"] for name in names.values()])
    errors[f"batch ({spec.reduction})"] = relative_error(shown, numeric(lambda: spec.loss_scale * network.loss(spec.X,
                                                                                                             spec.Y)))
    return errors


def connection_names(spec: Spec) -> list[str]:
    """Every error-per-connection name of the spec (each example's, in a batch)."""
    suffixes = [f"[{n}]" for n in range(1, spec.batch_size + 1)] or [""]
    return [connection_name(spec.loss_name, a, z) + sfx for below, above in zip(spec.layers, spec.layers[1:])
            for a in below.activation_names for z in above.pre_activation_names for sfx in suffixes]


def connection_errors(spec: Spec, values: dict[str, float] | None = None, eps: float = 1e-6) -> dict[str, float]:
    """The error reaching each hidden neuron through each connection, ``dL/da_i_via_z_j`` as the derivation shows it
    when claimed (``values``: derived here by default, with every one claimed), against central differences of the
    loss when a_i is nudged in the input of neuron z_j alone: one relative error per layer (and example)."""
    if values is None:
        shown = replace(spec, claims=[Claim(name, 0.0, Decimal(0)) for name in connection_names(spec)])
        values = derive(shown).values
    network, where = build_network(spec)
    errors = {}
    for number in range(1, len(spec.layers)):
        dense = where[number][0]
        below, above = spec.layers[number - 1].activation_names, spec.layers[number].pre_activation_names
        for n in range(1, spec.batch_size + 1) if spec.batch_size else [0]:
            rows = slice(n - 1, n) if n else slice(0, 1)
            sfx = f"[{n}]" if n else ""
            pairs = [(i, j) for i in range(len(below)) for j in range(len(above))]
            shown = np.array([values[connection_name(spec.loss_name, below[i], above[j]) + sfx] for i, j in pairs])
            numeric = np.array([_central(lambda step, i=i, j=j: _loss_through(network, dense, i, j, step,
                                                                                spec.X[rows], spec.Y[rows]), eps)
                                for i, j in pairs])
            errors[f"layer {number + 1}" + (f", example {n}" if n else "")] = relative_error(shown, numeric)
    return errors


def input_gradient_errors(spec: Spec, values: dict[str, float] | None = None, eps: float = 1e-6) -> dict[str, float]:
    """The gradients of the loss at the inputs as the derivation shows them (``values``: derived here by default,
    with ``input_gradients`` on): ``dL/dx1``, ..., in a batch each example's ``dL/dx1[n]`` (the gradient of that
    example's own loss), against central differences of that loss in each input; one relative error per example.
    The step is taken as a simultaneous update: a sequential one carries the error with the first layer's updated
    weights, as its author does, which no difference of the loss gives."""
    spec = replace(spec, update_order="simultaneous", input_gradients=True, claims=[])
    values = derive(spec).values if values is None else values
    network, _ = build_network(spec)
    errors = {}
    for n in range(1, spec.batch_size + 1) if spec.batch_size else [0]:
        rows = slice(n - 1, n) if n else slice(0, 1)
        shown = np.array([values[example_name(name, n) if n else name] for name in input_gradient_names(spec)])
        numeric = numeric_input_gradients(network, spec.X[rows], spec.Y[rows], eps)[0]
        errors[f"example {n}" if n else "example"] = relative_error(shown, numeric)
    return errors


def _loss_through(network, dense: int, i: int, j: int, step: float, x, y) -> float:
    """The loss with input ``i`` of dense layer ``dense`` moved by ``step`` in the weighted sum of output ``j`` only:
    the engine's layers run forward one by one, the nudged input fed to that layer a second time for output j."""
    for index, layer in enumerate(network.layers):
        if index == dense:
            nudged = x.copy()
            nudged[:, i] += step
            out = np.array(layer.forward(x), copy=True)
            out[:, j] = layer.forward(nudged)[:, j]
            x = out
        else:
            x = layer.forward(x)
    return network.loss_fn.forward(x, y)


def softmax_exponential_errors(eps: float = 1e-6, seed: int = 0) -> dict[str, float]:
    """A softmax's e^z and denominator as the recorder forms them (what explain shows for claimed ``exp_z3`` and
    ``sum_exp``), at random logits up to ±30: e^z/Σe^z against the engine's softmax, and the engine's softmax
    against central differences of ln Σe^z (log-sum-exp's gradient is the softmax)."""
    from ..activations import softmax
    from .recorder import Recorder

    z = np.random.default_rng(seed).uniform(-30.0, 30.0, size=(4, 5))      # (N, K)

    def log_sum(logits) -> np.ndarray:
        recorder = Recorder()
        recorder.exponentiate(None, logits)
        return np.log(recorder.sums[None][:, 0])

    recorder = Recorder()
    recorder.exponentiate(None, z)
    ratio = recorder.exps[None] / recorder.sums[None]
    numeric = np.zeros_like(z)
    for k in range(z.shape[1]):
        nudge = np.zeros_like(z)
        nudge[:, k] = 1.0
        numeric[:, k] = _central(lambda step: log_sum(z + step * nudge), eps)
    return {"e^z / sum": relative_error(ratio, softmax(z)), "d ln sum / dz": relative_error(softmax(z), numeric)}


#: the optimizers ``optimizer_step_errors`` checks, with the settings its specs give them
OPTIMIZER_CASES = {"momentum": {"name": "momentum", "momentum": 0.9},
                   "momentum, a velocity of steps": {"name": "momentum", "momentum": 0.9, "velocity": "steps"},
                   "nesterov": {"name": "nesterov", "momentum": 0.8},
                   "rmsprop": {"name": "rmsprop", "rho": 0.9, "eps": 1e-8},
                   "adam": {"name": "adam", "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}}


def optimizer_step_errors(spec: Spec, steps: int = 3) -> dict[str, float]:
    """Each optimizer's steps as the explanation shows them, against the training path: the parameters the
    explanation gives after each of ``steps`` steps, and those ``Network.fit`` leaves after as many epochs of the
    spec's examples as one batch (the optimizer built as ``chainrule train`` builds it, never through the
    explainer). The explanation's numbers are the recorded state of the same optimizer classes, so this checks
    the recording and the layout: a relative error per optimizer, the largest over the steps."""
    from ..optimizers import SGD, Adam, RMSprop, SGDVelocityOfSteps
    from .optimizer_spec import read_optimizer

    errors = {}
    for label, raw in OPTIMIZER_CASES.items():
        settings = read_optimizer(raw, [], None)
        every_step = [Claim(f"{spec.loss_name}@{k}", 0.0, Decimal(0)) for k in range(2, steps + 1)]  # each laid out
        mine = replace(spec, optimizer=settings, claims=every_step)
        derivation = derive(mine)
        values = derivation.values
        # each update formula, with the numbers the explanation shows put in, gives the value it shows beside it
        worst = max(relative_error(np.array([step.value]), np.array([formula_value(step.template, values)]))
                    for section in derivation.sections if section.kind == "update" for step in section.steps)
        for epochs in range(1, steps + 1):
            eta = spec.learning_rate
            engine = {"momentum": lambda: (SGDVelocityOfSteps if settings.velocity == "steps" else SGD)(
                          eta, momentum=settings.momentum),
                      "nesterov": lambda: SGD(eta, momentum=settings.momentum, nesterov=True),
                      "rmsprop": lambda: RMSprop(eta, rho=settings.rho, eps=settings.eps),
                      "adam": lambda: Adam(eta, betas=(settings.beta1, settings.beta2), eps=settings.eps)}[
                settings.name]()
            network, where = build_network(mine)
            network.fit(mine.X, mine.Y, epochs=epochs, batch_size=len(mine.X), optimizer=engine, shuffle=False,
                        verbose=0)
            params = network.named_parameters()
            names = entry_names(mine, where)
            trained = np.array([params[key].reshape(-1)[flat] for (key, flat) in names])
            suffix = "'" if epochs == 1 else f"'@{epochs}"
            explained = np.array([values[name + suffix] for name in names.values()])
            worst = max(worst, relative_error(explained, trained))
        errors[label] = worst
    return errors


_OPERATORS = {"·": "*", "−": "-", "²": "**2", "^": "**"}
_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.Pow: operator.pow}


def formula_value(template: str, values: dict[str, float]) -> float:
    """An update formula of the derivation evaluated with the numbers put in: ``{name}`` placeholders, + − · / ^ ²
    and √ of a placeholder. Arithmetic on the shown numbers, for a check only (the values shown are the engine's):
    the template is read as a Python expression and only numbers, the placeholders' values, the five operators and
    √ are evaluated; anything else is refused."""
    names: list[str] = []

    def placeholder(match):
        names.append(match[2])
        return f"({'-' if match[1] else ''}V[{len(names) - 1}])"
    expression = re.sub(r"\{(-?)([^{}]+)\}", placeholder, template)
    for symbol, python in _OPERATORS.items():
        expression = expression.replace(symbol, python)
    expression = re.sub(r"√(\(-?V\[\d+\]\))", r"sqrt\1", expression)
    shown = [values[name] for name in names]

    def value(node) -> float:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return _BINARY[type(node.op)](value(node.left), value(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            return -value(node.operand) if isinstance(node.op, ast.USub) else value(node.operand)
        if isinstance(node, ast.Subscript) and getattr(node.value, "id", None) == "V":
            return shown[int(value(node.slice))]
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "sqrt" and len(node.args) == 1:
            return math.sqrt(value(node.args[0]))
        raise ValueError(f"not an update formula: {template}")
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError:
        raise ValueError(f"not an update formula: {template}") from None
    return float(value(tree.body))
