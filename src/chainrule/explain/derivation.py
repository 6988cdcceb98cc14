"""One real gradient-descent step of a spec's network, with a recorder attached, laid out as derivation steps.

Every value shown comes from the engine's own pass (the recorder) or from the parameters after the optimizer's own
step; this module only arranges them. Each step holds a formula template in which ``{name}`` stands for a quantity
(``{-name}`` for its negative), so that one template gives both the formula and the numbers put into it.
"""

import re

import numpy as np
from dataclasses import dataclass, field

from ..errors import ChainruleError
from ..schema import nearest
from ..optimizers import GradientDescent
from .audit import ClaimCheck, audit, updated_name
from .recorder import Recorder
from .spec import Spec, SpecLayer, build_network

FORWARD = {
    "sigmoid": "σ({z}) = 1/(1 + e^({-z}))",
    "tanh": "tanh({z})",
    "relu": "max(0, {z})",
    "identity": "{z}",
}
BACKWARD = {   # dL/dz from dL/da ({g}); sigmoid and tanh use the output a, ReLU the sign of z
    "sigmoid": "{g}·{a}·(1 − {a})",
    "tanh": "{g}·(1 − {a}²)",
    "relu": "{g}·[{z} > 0]",
    "identity": "{g}",
}
ACTIVATION_WORDS = {"sigmoid": "sigmoid", "tanh": "tanh", "relu": "ReLU", "identity": "identity",
                    "softmax": "softmax"}


@dataclass
class Step:
    name: str        # the quantity this step computes
    template: str    # its formula, with {name} / {-name} placeholders
    value: float     # the value the engine computed
    where: tuple = ()   # where the pass holds it, for Recorder.read: ("out", layer, j), ("grad", layer, j), ...


@dataclass
class Section:
    title: str
    steps: list[Step]
    kind: str = ""              # forward, loss, output_error, gradients, carried_back, update
    layer: int | None = None    # the spec layer (0-based) the section is about


@dataclass
class Derivation:
    spec: Spec
    learning_rate: float
    values: dict[str, float]                 # every named quantity, before the update
    sections: list[Section]
    updated: dict[str, float]                # parameter name -> value after the step
    trained: set[str] = field(default_factory=set)   # parameters the step changed (the rest are frozen)
    claims: list[ClaimCheck] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)  # the loss before each step, then after the last
    step: int = 1                                        # which step the sections show

    @property
    def order(self) -> list[str]:
        """Quantity names in the order the pass computes them."""
        return [step.name for section in self.sections for step in section.steps]

    def first_slip(self) -> ClaimCheck | None:
        """The earliest mistake in the pass (claims are kept in pass order)."""
        return next((c for c in self.claims if c.verdict == "slip"), None)


def derive(spec: Spec, learning_rate: float | None = None, steps: int = 1, show_step: int = 1) -> Derivation:
    """Run ``steps`` real gradient-descent steps on the spec's example and lay out every number of step
    ``show_step`` (forward, loss, backward, update); the loss of every step is kept for the table."""
    eta = spec.learning_rate if learning_rate is None else float(learning_rate)
    if not 1 <= show_step <= steps:
        raise ChainruleError(f"--show-step: expected a step between 1 and {steps}, found {show_step}")
    network, where = build_network(spec)
    names = _parameter_names(spec, where)                      # (param key, flat index) -> quantity name
    params = network.named_parameters()
    x, y = spec.inputs[None, :], spec.targets[None, :]
    losses = []
    for step in range(1, steps + 1):
        recorder = Recorder() if step == show_step else None
        if recorder is not None:
            values = {"eta": eta, **dict(zip(spec.input_names, spec.inputs, strict=True)),
                      **dict(zip(spec.target_names, spec.targets, strict=True))}
            values |= {name: float(params[key].reshape(-1)[i]) for (key, i), name in names.items()}
        losses.append(network.loss(x, y, recorder=recorder))
        trained = gradient_step(network, spec, eta, recorder)
        if recorder is not None:
            shown = recorder
            updated = {name: float(params[key].reshape(-1)[i]) for (key, i), name in names.items()}
    losses.append(network.loss(x, y))

    trained_names = {name for (key, _), name in names.items() if key in trained}
    layout = _Layout(spec, where, shown, values)
    sections = layout.forward() + [layout.loss()] + layout.backward()
    sections.append(_update(spec, updated, trained_names, values))
    overflowed = next((n for n, v in {**values, **updated}.items() if not np.isfinite(v)), None)
    if overflowed is not None or not np.all(np.isfinite(losses)):
        raise ChainruleError(f"{spec.source}: the step overflows float64 ({overflowed or 'the loss'} is not finite): "
                             f"expected inputs, weights and a learning rate small enough to compute with")
    derivation = Derivation(spec, eta, values, sections, updated, trained_names, losses=losses, step=show_step)
    unknown = [c.name for c in spec.claims if updated_name(c.name) not in values]
    if unknown:
        known = ", ".join(sorted(values, key=natural_key)[:12])
        hint = nearest(updated_name(unknown[0]), values)
        raise ChainruleError(f"{spec.source}: claims.{unknown[0]}: expected the name of a quantity of this network "
                             f"(such as {known}, ...), found none called \"{unknown[0]}\"{hint}")
    if show_step == 1:        # printed numbers describe the first step
        derivation.claims = audit(spec, eta, values, derivation.order)
    return derivation


def gradient_step(network, spec: Spec, eta: float, recorder=None) -> set[str]:
    """Backward pass and one gradient-descent update, simultaneous or sequential as the spec says; returns the
    names of the parameter arrays it changed (biases stay fixed when the spec says so)."""
    params = network.named_parameters()
    trainable = {k: p for k, p in params.items() if spec.update_biases or not k.endswith(".bias")}
    optimizer = GradientDescent(eta)
    if spec.update_order == "sequential":
        def update_layer(index, layer):
            mine = {k: p for k, p in trainable.items() if k.split(".")[0] == str(index)}
            optimizer.step(mine, network.named_gradients())
        network.backward(recorder=recorder, after_params=update_layer)
    else:
        network.backward(recorder=recorder)
        optimizer.step(trainable, network.named_gradients())
    return set(trainable)


def layout_values(spec: Spec, where, recorder: Recorder, params) -> dict[str, float]:
    """Every named quantity a recorded pass holds, and (primed) the parameters as they are now."""
    values: dict[str, float] = {}
    layout = _Layout(spec, where, recorder, values)
    layout.forward(), layout.loss(), layout.backward()
    for (key, i), name in _parameter_names(spec, where).items():
        values[f"{name}'"] = float(params[key].reshape(-1)[i])
    return values


def layout_places(spec: Spec, where, recorder: Recorder) -> dict[str, tuple]:
    """Where a recorded pass holds each computed quantity (see ``Recorder.read``)."""
    layout = _Layout(spec, where, recorder, {})
    return {step.name: step.where for section in layout.forward() + [layout.loss()] + layout.backward()
            for step in section.steps}


def _parameter_names(spec: Spec, where) -> dict[tuple[str, int], str]:
    names = {}
    for layer, (dense, _) in zip(spec.layers, where, strict=True):
        n_out, n_in = layer.weights.shape
        for j in range(n_out):
            for i in range(n_in):     # engine weight (D_in, D_out), flat index i * D_out + j
                names[f"{dense}.weight", i * n_out + j] = layer.weight_names[j][i]
        for k, bias_name in enumerate(layer.bias_names):
            names[f"{dense}.bias", k] = bias_name
    return names


def natural_key(name: str):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


class _Layout:
    """Reads the recorder and builds the steps, section by section, storing each value under its name."""

    def __init__(self, spec: Spec, where, recorder: Recorder, values: dict[str, float]):
        self.spec, self.where, self.rec, self.values = spec, where, recorder, values
        self.L = spec.loss_name

    def step(self, name: str, template: str, *where) -> Step:
        value = self.rec.read(where)
        self.values[name] = value
        return Step(name, template, value, where)

    def inputs_of(self, number: int) -> list[str]:
        return self.spec.input_names if number == 0 else self.spec.layers[number - 1].activation_names

    def activation_place(self, number: int, j: int) -> tuple:
        index = self.where[number][1]
        return ("out", index, j) if index is not None else ("yhat", j)

    def forward(self) -> list[Section]:
        sections = []
        for number, layer in enumerate(self.spec.layers):
            dense = self.where[number][0]
            x_names = self.inputs_of(number)
            steps = [self.step(z_name, _weighted_sum(layer, j, x_names), "out", dense, j)
                     for j, z_name in enumerate(layer.pre_activation_names)]
            steps += [self.step(a_name, _activation_template(layer, j), *self.activation_place(number, j))
                      for j, a_name in enumerate(layer.activation_names)]
            word = ACTIVATION_WORDS[layer.activation]
            sections.append(Section(f"Forward pass, layer {number + 1} ({word})", steps, "forward", number))
        return sections

    def loss(self) -> Section:
        out, targets = self.spec.layers[-1].activation_names, self.spec.target_names
        terms = {
            "cross_entropy": lambda y, o: f"{{{y}}}·ln {{{o}}}",
            "binary_cross_entropy": lambda y, o: f"{{{y}}}·ln {{{o}}} + (1 − {{{y}}})·ln(1 − {{{o}}})",
            "half_squared_error": lambda y, o: f"({{{y}}} − {{{o}}})²",
            "mean_squared_error": lambda y, o: f"({{{y}}} − {{{o}}})²",
        }[self.spec.loss]
        body = " + ".join(terms(y, o) for y, o in zip(targets, out, strict=True))
        template = {"cross_entropy": f"−({body})", "binary_cross_entropy": f"−({body})",
                    "half_squared_error": f"½[{body}]", "mean_squared_error": f"(1/{len(out)})[{body}]"}[self.spec.loss]
        return Section("Loss", [self.step(self.L, template, "loss")], "loss", len(self.spec.layers) - 1)

    def backward(self) -> list[Section]:
        L, last = self.L, len(self.spec.layers) - 1
        layer = self.spec.layers[last]
        names = zip(layer.pre_activation_names, layer.activation_names, self.spec.target_names, strict=True)
        if self.where[last][1] is None:      # fused output: dL/dz = yhat - y
            steps = [self.step(f"d{L}/d{z}", f"{{{o}}} − {{{y}}}", "loss_grad", k) for k, (z, o, y) in enumerate(names)]
        else:                                # the loss's own derivative, then back through the output activation
            k_out = len(layer.activation_names)
            derivative = {"half_squared_error": "({o} − {y})", "mean_squared_error": f"(2/{k_out})·({{o}} − {{y}})",
                          "cross_entropy": "−{y}/{o}", "binary_cross_entropy": "({o} − {y})/({o}·(1 − {o}))"}
            steps = [self.step(f"d{L}/d{o}", derivative[self.spec.loss].format(o=f"{{{o}}}", y=f"{{{y}}}"),
                               "loss_grad", k) for k, (_, o, y) in enumerate(names)]
            steps += self.through_activation(last)
        sections = [Section("Backward pass, output error", steps, "output_error", last)]
        for number in range(last, -1, -1):
            sections.append(Section(f"Backward pass, gradients of layer {number + 1}", self.gradients(number),
                                    "gradients", number))
            if number > 0:
                steps = self.carried_back(number) + self.through_activation(number - 1)
                word = ACTIVATION_WORDS[self.spec.layers[number - 1].activation]
                sections.append(Section(f"Backward pass, error carried back through layer {number} ({word})", steps,
                                        "carried_back", number))
        return sections

    def through_activation(self, number: int) -> list[Step]:
        layer, L = self.spec.layers[number], self.L
        index = self.where[number][1]
        a_names, z_names = layer.activation_names, layer.pre_activation_names
        steps = []
        for j, (z, a) in enumerate(zip(z_names, a_names, strict=True)):
            if layer.activation == "softmax":
                mix = " + ".join(f"{{{m}}}·{{d{L}/d{m}}}" for m in a_names)
                template = f"{{{a}}}·({{d{L}/d{a}}} − ({mix}))"
            else:
                template = BACKWARD[layer.activation].format(g=f"{{d{L}/d{a}}}", a=f"{{{a}}}", z=f"{{{z}}}")
            steps.append(self.step(f"d{L}/d{z}", template, "grad", index, j))
        return steps

    def gradients(self, number: int) -> list[Step]:
        layer, L = self.spec.layers[number], self.L
        dense = self.where[number][0]
        x_names, z_names = self.inputs_of(number), layer.pre_activation_names
        n_out = len(z_names)
        steps = [(layer.weight_names[j][i], f"{{d{L}/d{z_names[j]}}}·{{{x_names[i]}}}", i * n_out + j)
                 for j in range(n_out) for i in range(len(x_names))]
        steps.sort(key=lambda s: natural_key(s[0]))
        result = [self.step(f"d{L}/d{w}", template, "param_grad", dense, "weight", flat)
                  for w, template, flat in steps]
        if layer.bias_kind == "shared":
            total = " + ".join(f"{{d{L}/d{z}}}" for z in z_names)
            result.append(self.step(f"d{L}/d{layer.bias_names[0]}", total, "param_grad", dense, "bias", 0))
        elif layer.bias_kind == "per_neuron":
            result += [self.step(f"d{L}/d{b}", f"{{d{L}/d{z}}}", "param_grad", dense, "bias", j)
                       for j, (b, z) in enumerate(zip(layer.bias_names, z_names, strict=True))]
        return result

    def carried_back(self, number: int) -> list[Step]:
        layer, L = self.spec.layers[number], self.L
        dense = self.where[number][0]
        new = "'" if self.spec.update_order == "sequential" else ""   # sequential: the layer's updated weights
        steps = []
        for i, a in enumerate(self.inputs_of(number)):
            terms = " + ".join(f"{{{layer.weight_names[j][i]}{new}}}·{{d{L}/d{z}}}"
                               for j, z in enumerate(layer.pre_activation_names))
            steps.append(self.step(f"d{L}/d{a}", terms, "grad", dense, i))
        return steps


def _weighted_sum(layer: SpecLayer, j: int, x_names: list[str]) -> str:
    terms = [f"{{{w}}}·{{{x}}}" for w, x in zip(layer.weight_names[j], x_names, strict=True)]
    if layer.bias_kind != "none":
        terms.append(f"{{{layer.bias_names[0 if layer.bias_kind == 'shared' else j]}}}")
    return " + ".join(terms)


def _activation_template(layer: SpecLayer, j: int) -> str:
    z = layer.pre_activation_names[j]
    if layer.activation == "softmax":
        return f"e^({{{z}}}) / (" + " + ".join(f"e^({{{m}}})" for m in layer.pre_activation_names) + ")"
    return FORWARD[layer.activation].format(z=f"{{{z}}}", **{"-z": f"{{-{z}}}"})


def _update(spec: Spec, updated: dict[str, float], trained: set[str], values: dict[str, float]) -> Section:
    steps = []
    order = reversed(spec.layers) if spec.update_order == "sequential" else spec.layers
    for layer in order:
        for name in sorted((w for row in layer.weight_names for w in row), key=natural_key) + layer.bias_names:
            template = f"{{{name}}} − {{eta}}·{{d{spec.loss_name}/d{name}}}" if name in trained else f"{{{name}}}"
            values[f"{name}'"] = updated[name]
            steps.append(Step(f"{name}'", template, updated[name]))
    title = f"Update, w′ = w − η·∂{spec.loss_name}/∂w"
    if spec.update_order == "sequential":
        title += " (sequential: each layer as soon as its gradients are known, output layer first)"
    return Section(title, steps, "update")
