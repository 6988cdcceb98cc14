"""The laid-out derivation: the recorded steps of a spec's network (``stepping``) as sections of formula steps.

Every value shown comes from the engine's own pass (the recorder) or from the parameters after the optimizer's own
step; this module only arranges them, and judges nothing (the audit, a later stage, does). Each step holds a formula template in which ``{name}`` stands for a quantity
(``{-name}`` for its negative), so that one template gives both the formula and the numbers put into it.
"""

import re

import numpy as np
from dataclasses import dataclass, field

from ..errors import ChainruleError
from .stepping import (MAX_STEPS, claimed_steps, entry_names, example_pass, given_values, gradient_step,  # noqa: F401
                       new_optimizer, set_parameters, starting_state, step_count, updated_values)
from .verdict import ClaimCheck
from .optimizer_spec import STATE_KEYS, state_name
from .optimizer_steps import rule_title, state_templates, step_term
from .step_names import at_step, qualified, split_step
from .recorder import Recorder
from .spec import (Spec, SpecLayer, build_network, claims_connections, example_name, input_gradient_names,
                   shows_input_gradients)

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
LOCAL = {   # a neuron's local derivative da/dz, the factor the activation's backward multiplies by (same values)
    "sigmoid": "{a}·(1 − {a})",
    "tanh": "1 − {a}²",
    "relu": "[{z} > 0]",
    "identity": "1",
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
    shown: list[int] = field(default_factory=list)       # every step the sections show (claims of later steps)

    def shown_words(self) -> str:
        """"step 3", or "steps 1, 2 and 5" when claims of later steps are shown beside the first."""
        steps = self.shown or [self.step]
        if len(steps) == 1:
            return f"step {steps[0]}"
        return "steps " + ", ".join(map(str, steps[:-1])) + f" and {steps[-1]}"

    @property
    def order(self) -> list[str]:
        """Quantity names in the order the pass computes them."""
        return [step.name for section in self.sections for step in section.steps]

    def first_slip(self) -> ClaimCheck | None:
        """The earliest mistake in the pass (claims are kept in pass order)."""
        return next((c for c in self.claims if c.verdict == "slip"), None)


def lay_out(spec: Spec, learning_rate: float | None = None, steps: int = 1, show_step: int = 1,
            through: int | None = None) -> Derivation:
    """Run ``steps`` real steps of the spec's optimizer on the spec's example and lay out every number of step
    ``show_step`` (forward, loss, backward, update); the loss of every step is kept for the table.

    Claims on later steps (``w5+@2``, ``L@3``) run at least as many steps and lay out the first step and every
    claimed one, each in full, its quantities named for their step (``z1@2``): the audit follows the author from one
    step into the next. (Shown from step 1, as the audit is: claims describe the first steps.) ``through``: lay out
    every step from the first to that one, named so (an exercise over several steps asks them all)."""
    eta = spec.learning_rate if learning_rate is None else float(learning_rate)
    show_step, steps = step_count(show_step, "show_step"), step_count(steps, "steps")
    claimed = claimed_steps(spec)
    steps = max(steps, show_step, claimed[-1] if show_step == 1 else 1)     # as many as the steps shown need
    shown = claimed if show_step == 1 and claimed[-1] > 1 else [show_step]
    if through is not None:
        steps = max(steps, step_count(through, "steps"))
        shown = sorted(set(shown) | set(range(1, through + 1))) if show_step == 1 else shown
    network, where = build_network(spec)
    names = entry_names(spec, where)                      # (param key, flat index) -> quantity name
    params = network.named_parameters()
    optimizer = new_optimizer(spec, eta, network, where)
    constants = {"eta": eta, **spec.optimizer.settings, **given_values(spec)}
    values = dict(constants) | starting_state(spec, names)
    losses, sections, first_updated = [], [], None
    trained_names: set[str] = set()
    for step in range(1, steps + 1):
        recorder = Recorder(claims_connections(spec)) if step in shown else None
        sequential_batch = spec.batch_size and spec.update_order == "sequential"
        if recorder is not None:
            mine = dict(constants)
            mine |= {name: float(params[key].reshape(-1)[i]) for (key, i), name in names.items()}
            if spec.optimizer.name == "adam":
                mine["t"] = float(optimizer.steps + 1)      # the step count of this step's bias correction
            before = {key: param.copy() for key, param in params.items()}
            values |= state_before(spec, optimizer, names, step)
            if not sequential_batch:     # a batch: each example on its own first
                examples = example_sections(spec, network, where, mine)
        losses.append(spec.loss_scale * network.loss(spec.X, spec.Y, recorder=recorder))
        trained = gradient_step(network, spec, optimizer, recorder)
        trained_names = {name for (key, _), name in names.items() if key in trained}
        if recorder is None:
            continue
        updated = {name: float(params[key].reshape(-1)[i]) for (key, i), name in names.items()}
        first_updated = first_updated or updated
        if sequential_batch:         # each example's error carried below a layer with the batch's update of it
            after = {key: param.copy() for key, param in params.items()}
            examples = example_sections(spec, network, where, mine, start=before, updated=after)
        if spec.batch_size:
            mine_sections = examples + [_batch_section(spec, where, recorder, mine)]
        else:
            layout = Layout(spec, where, recorder, mine)
            mine_sections = layout.forward() + [layout.loss()] + layout.backward()
        mine_sections.append(_update(spec, updated, trained_names, mine, recorder, where, step))
        if len(shown) > 1:
            mine_sections, mine = at_later_step(mine_sections, mine, step, constants)
        sections += mine_sections
        values |= mine
    losses.append(spec.loss_scale * network.loss(spec.X, spec.Y))

    overflowed = next((n for n, v in {**values, **first_updated}.items() if not np.isfinite(v)), None)
    if overflowed is not None or not np.all(np.isfinite(losses)):
        raise ChainruleError(f"{spec.source}: the step overflows float64 ({overflowed or 'the loss'} is not finite): "
                             f"expected inputs, weights and a learning rate small enough to compute with")
    return Derivation(spec, eta, values, sections, first_updated, trained_names, losses=losses, step=show_step,
                      shown=shown)


def state_before(spec: Spec, optimizer, names, step: int) -> dict[str, float]:
    """The optimizer's state as step ``step`` starts, as its formulas name it (``v_w5@2`` before step 3), read from
    the engine's optimizer."""
    if step == 1:
        return {}
    return {f"{state_name(letter, name)}@{step - 1}": float(optimizer.state[key][entry].reshape(-1)[flat])
            for letter, entry in STATE_KEYS[spec.optimizer.name].items() for (key, flat), name in names.items()}


def at_later_step(sections: list[Section], values: dict[str, float], step: int, constants) -> tuple[list, dict]:
    """One step's sections and values named for their step: titles begin "Step k", and from step 2 on every
    quantity is ``name@k`` (the learning rate, settings, inputs and targets stay as they are)."""
    def name(n):
        return n if n in constants or step == 1 else at_step(n, step)
    for section in sections:
        section.title = f"Step {step}: {section.title}"
        for one in section.steps:
            one.name, one.template = name(one.name), qualified(one.template, step, constants)
    return sections, {name(n): v for n, v in values.items()}


def example_sections(spec: Spec, network, where, values: dict[str, float], start: dict | None = None,
                     updated: dict | None = None) -> list[Section]:
    """For a batch, every example's forward and backward pass, each recorded from a real pass of that example alone
    (the batch's own pass then gives the mean or sum of their gradients); nothing for a single example. A
    sequential update gives ``start``, the parameters before the step, and ``updated``, the step's (see
    ``example_pass``); the network is left holding ``updated``."""
    sections = []
    for n in range(1, spec.batch_size + 1):
        recorder = Recorder(claims_connections(spec))
        if start is not None:
            set_parameters(network, start)
        example_pass(network, spec, n, recorder, updated)
        layout = Layout(spec, where, recorder, values, example=n)
        sections += layout.forward() + [layout.loss()] + layout.backward()
    return sections


def _batch_section(spec: Spec, where, recorder: Recorder, values: dict[str, float]) -> Section:
    """The batch's loss and gradients, read from the batch pass: the mean (or sum) of the examples'."""
    L, N = spec.loss_name, spec.batch_size
    share = "" if spec.reduction == "sum" else f"(1/{N})·"

    def over(name):
        return share + "(" + " + ".join(f"{{{example_name(name, n)}}}" for n in range(1, N + 1)) + ")"
    value = spec.loss_scale * recorder.loss_value
    values[L] = value
    steps = [Step(L, over(L), value, ("loss",))]
    for (key, flat), name in entry_names(spec, where).items():
        dense, kind = key.split(".")
        place = ("param_grad", int(dense), kind, flat)
        values[f"d{L}/d{name}"] = recorder.read(place)
        steps.append(Step(f"d{L}/d{name}", over(f"d{L}/d{name}"), values[f"d{L}/d{name}"], place))
    word = "sum" if spec.reduction == "sum" else "mean"
    return Section(f"Batch: the {word} of the {N} examples' losses and gradients", steps, "batch")


def layout_values(spec: Spec, where, recorder: Recorder, params) -> dict[str, float]:
    """Every named quantity a recorded pass holds, and (primed) the parameters as they are now."""
    values: dict[str, float] = {}
    layout = Layout(spec, where, recorder, values)
    layout.forward(), layout.loss(), layout.backward()
    for (key, i), name in entry_names(spec, where).items():
        values[f"{name}'"] = float(params[key].reshape(-1)[i])
    return values


def layout_places(spec: Spec, where, recorder: Recorder, example: int = 0) -> dict[str, tuple]:
    """Where a recorded pass holds each computed quantity (see ``Recorder.read``)."""
    layout = Layout(spec, where, recorder, {}, example)
    return {step.name: step.where for section in layout.forward() + [layout.loss()] + layout.backward()
            for step in section.steps}


def parameter_places(spec: Spec, where) -> dict[str, tuple]:
    """Where a step changes each parameter: its change ``Delta_w5`` at ``("change", dense, kind, flat)``, its
    updated value ``w5'`` at ``("updated", ...)``; a sequential update carries the error below with them."""
    places = {}
    for (key, flat), name in entry_names(spec, where).items():
        dense, kind = key.split(".")
        places[change_name(name)] = ("change", int(dense), kind, flat)
        places[f"{name}'"] = ("updated", int(dense), kind, flat)
    return places


def natural_key(name: str):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


class Layout:
    """Reads the recorder and builds the steps, section by section, storing each value under its name.

    ``example`` (from 1) lays out one example of a batch: its quantities are named ``z1[2]``, ``dL/dw1[2]`` (the
    gradient of that example's own loss ``L[2]``); parameters keep their names."""

    def __init__(self, spec: Spec, where, recorder: Recorder, values: dict[str, float], example: int = 0):
        self.spec, self.where, self.rec, self.values = spec, where, recorder, values
        self.sfx = f"[{example}]" if example else ""
        self.title = f"Example {example}: " if example else ""
        self.L = spec.loss_name

    def q(self, name: str) -> str:
        """A per-example quantity's name."""
        return name + self.sfx

    def d(self, name: str) -> str:
        """The name of the gradient of (this example's) loss with respect to ``name``."""
        return f"d{self.L}/d{name}{self.sfx}"

    def step(self, name: str, template: str, *where) -> Step:
        value = loss_share(self.spec, self.rec, where[1]) if where[0] == "share" else self.rec.read(where)
        self.values[name] = value
        return Step(name, template, value, where)

    def inputs_of(self, number: int) -> list[str]:
        names = self.spec.input_names if number == 0 else self.spec.layers[number - 1].activation_names
        return [self.q(n) for n in names]

    def activation_place(self, number: int, j: int) -> tuple:
        index = self.where[number][1]
        return ("out", index, j) if index is not None else ("yhat", j)

    def forward(self) -> list[Section]:
        sections = []
        for number, layer in enumerate(self.spec.layers):
            dense = self.where[number][0]
            x_names = self.inputs_of(number)
            steps = [self.step(self.q(z_name), _weighted_sum(layer, j, x_names), "out", dense, j)
                     for j, z_name in enumerate(layer.pre_activation_names)]
            if number == len(self.spec.layers) - 1 and self.shows_exponentials():
                steps += self.exponentials(number)
            else:
                steps += [self.step(self.q(a_name), _activation_template(layer, j, self.q),
                                    *self.activation_place(number, j))
                          for j, a_name in enumerate(layer.activation_names)]
            word = ACTIVATION_WORDS[layer.activation]
            sections.append(Section(f"{self.title}Forward pass, layer {number + 1} ({word})", steps, "forward",
                                    number))
        return sections

    def shows_exponentials(self) -> bool:
        """Whether the spec claims an e^z or the denominator of its softmax output (of any example): the softmax is
        then shown through them, ŷ_k = e^(z_k)/Σ e^z."""
        wanted = softmax_names(self.spec)
        return any(c.name.split("[")[0] in wanted for c in self.spec.claims)

    def exponentials(self, number: int) -> list[Step]:
        layer, index = self.spec.layers[number], self.where[number][1]     # index None: fused into the loss
        exps = [self.q(exp_name(z)) for z in layer.pre_activation_names]
        total = self.q(SUM_EXP)
        steps = [self.step(e, f"e^({{{self.q(z)}}})", "exp", index, j)
                 for j, (e, z) in enumerate(zip(exps, layer.pre_activation_names, strict=True))]
        steps.append(self.step(total, " + ".join(f"{{{e}}}" for e in exps), "sum_exp", index, 0))
        steps += [self.step(self.q(a), f"{{{e}}} / {{{total}}}", *self.activation_place(number, j))
                  for j, (a, e) in enumerate(zip(layer.activation_names, exps, strict=True))]
        return steps

    def targets(self) -> list[str | None]:
        """Each output's target name (None for every output of a loss that is the output itself)."""
        return [self.q(t) for t in self.spec.target_names] or [None] * len(self.spec.layers[-1].activation_names)

    def loss(self) -> Section:
        out = [self.q(o) for o in self.spec.layers[-1].activation_names]
        targets = self.targets()
        terms = {
            "cross_entropy": lambda y, o: f"{{{y}}}·ln {{{o}}}",
            "binary_cross_entropy": lambda y, o: f"{{{y}}}·ln {{{o}}} + (1 − {{{y}}})·ln(1 − {{{o}}})",
            "half_squared_error": lambda y, o: f"({{{y}}} − {{{o}}})²",
            "mean_squared_error": lambda y, o: f"({{{y}}} − {{{o}}})²",
            "sum_squared_error": lambda y, o: f"({{{o}}} − {{{y}}})²",      # Σ (ŷ − y)², no ½
            "output": lambda y, o: f"{{{o}}}",                              # L = ŷ (summed over the outputs)
        }[self.spec.loss]
        wrap = {"cross_entropy": "−({})", "binary_cross_entropy": "−({})", "half_squared_error": "½[{}]",
                "mean_squared_error": f"(1/{len(out)})[{{}}]", "sum_squared_error": "{}",
                "output": "{}"}[self.spec.loss]
        template = wrap.format(" + ".join(terms(y, o) for y, o in zip(targets, out, strict=True)))
        steps = []
        shares = [share_name(self.L, o) for o in self.spec.layers[-1].activation_names]
        if any(c.name.split("[")[0] in shares for c in self.spec.claims):    # each output's share, when claimed
            for k, (y, o, share) in enumerate(zip(targets, out, shares, strict=True)):
                steps.append(self.step(self.q(share), wrap.format(terms(y, o)), "share", k))
            template = " + ".join(f"{{{self.q(share)}}}" for share in shares)
        steps.append(self.step(self.q(self.L), template, "loss"))
        return Section(f"{self.title}Loss", steps, "loss", len(self.spec.layers) - 1)

    def backward(self) -> list[Section]:
        last = len(self.spec.layers) - 1
        layer = self.spec.layers[last]
        names = list(zip([self.q(z) for z in layer.pre_activation_names], [self.q(a) for a in layer.activation_names],
                         self.targets(), strict=True))
        if self.where[last][1] is None:      # fused output: dL/dz = yhat - y
            steps = [self.step(self.d(z0), f"{{{o}}} − {{{y}}}", "loss_grad", k)
                     for k, ((z, o, y), z0) in enumerate(zip(names, layer.pre_activation_names, strict=True))]
        else:                                # the loss's own derivative, then back through the output activation
            k_out = len(layer.activation_names)
            derivative = {"half_squared_error": "({o} − {y})", "mean_squared_error": f"(2/{k_out})·({{o}} − {{y}})",
                          "sum_squared_error": "2·({o} − {y})", "output": "1",      # dL/dŷ = dŷ/dŷ = 1
                          "cross_entropy": "−{y}/{o}", "binary_cross_entropy": "({o} − {y})/({o}·(1 − {o}))"}
            steps = [self.step(self.d(o0), derivative[self.spec.loss].format(o=f"{{{o}}}", y=f"{{{y}}}"),
                               "loss_grad", k)
                     for k, ((_, o, y), o0) in enumerate(zip(names, layer.activation_names, strict=True))]
            steps += self.through_activation(last)
        sections = [Section(f"{self.title}Backward pass, output error", steps, "output_error", last)]
        for number in range(last, -1, -1):
            sections.append(Section(f"{self.title}Backward pass, gradients of layer {number + 1}",
                                    self.gradients(number), "gradients", number))
            if number > 0:
                steps = self.carried_back(number) + self.through_activation(number - 1)
                word = ACTIVATION_WORDS[self.spec.layers[number - 1].activation]
                sections.append(Section(f"{self.title}Backward pass, error carried back through layer {number} "
                                        f"({word})", steps, "carried_back", number))
        if shows_input_gradients(self.spec):     # asked for or claimed: the first layer carries it to the inputs
            sections.append(Section(f"{self.title}Backward pass, error carried back to the inputs",
                                    self.carried_back(0), "input_gradients", 0))
        return sections

    def through_activation(self, number: int) -> list[Step]:
        layer = self.spec.layers[number]
        index = self.where[number][1]
        a_names, z_names = layer.activation_names, layer.pre_activation_names
        steps = []
        for j, (z, a) in enumerate(zip(z_names, a_names, strict=True)):
            if layer.activation == "softmax":
                mix = " + ".join(f"{{{self.q(m)}}}·{{{self.d(m)}}}" for m in a_names)
                template = f"{{{self.q(a)}}}·({{{self.d(a)}}} − ({mix}))"
            elif self.shows_local(a, z):      # the neuron's local derivative da/dz as a step of its own
                local = f"d{a}/d{z}{self.sfx}"
                steps.append(self.step(local, LOCAL[layer.activation].format(a=f"{{{self.q(a)}}}", z=f"{{{self.q(z)}}}"),
                                       "local", index, j))
                template = f"{{{self.d(a)}}}·{{{local}}}"
            else:
                template = BACKWARD[layer.activation].format(g=f"{{{self.d(a)}}}", a=f"{{{self.q(a)}}}",
                                                             z=f"{{{self.q(z)}}}")
            steps.append(self.step(self.d(z), template, "grad", index, j))
        return steps

    def shows_local(self, a: str, z: str) -> bool:
        """Whether the spec claims the local derivative ``da/dz`` of this neuron (of any example, in a batch):
        shown only then, so that a derivation without such claims reads as before."""
        wanted = f"d{a}/d{z}"
        return any(c.name.split("[")[0] == wanted for c in self.spec.claims)

    def gradients(self, number: int) -> list[Step]:
        layer = self.spec.layers[number]
        dense = self.where[number][0]
        x_names, z_names = self.inputs_of(number), layer.pre_activation_names
        n_out = len(z_names)
        steps = [(layer.weight_names[j][i], f"{{{self.d(z_names[j])}}}·{{{x_names[i]}}}", i * n_out + j)
                 for j in range(n_out) for i in range(len(x_names))]
        steps.sort(key=lambda s: natural_key(s[0]))
        result = [self.step(self.d(w), template, "param_grad", dense, "weight", flat)
                  for w, template, flat in steps]
        if layer.bias_kind == "shared":
            total = " + ".join(f"{{{self.d(z)}}}" for z in z_names)
            result.append(self.step(self.d(layer.bias_names[0]), total, "param_grad", dense, "bias", 0))
        elif layer.bias_kind == "per_neuron":
            result += [self.step(self.d(b), f"{{{self.d(z)}}}", "param_grad", dense, "bias", j)
                       for j, (b, z) in enumerate(zip(layer.bias_names, z_names, strict=True))]
        return result

    def carried_back(self, number: int) -> list[Step]:
        layer = self.spec.layers[number]
        dense = self.where[number][0]
        new = "'" if self.spec.update_order == "sequential" else ""   # sequential: the layer's updated weights
        below = self.spec.input_names if number == 0 else self.spec.layers[number - 1].activation_names
        steps = []
        for i, a in enumerate(below):
            products = [f"{{{layer.weight_names[j][i]}{new}}}·{{{self.d(z)}}}"
                        for j, z in enumerate(layer.pre_activation_names)]
            if self.shows_connections(a, layer):     # each connection's share of the error as a step of its own
                vias = [self.q(connection_name(self.L, a, z)) for z in layer.pre_activation_names]
                steps += [self.step(via, product, "via", dense, j, i)
                          for j, (via, product) in enumerate(zip(vias, products, strict=True))]
                products = [f"{{{via}}}" for via in vias]
            steps.append(self.step(self.d(a), " + ".join(products), "grad", dense, i))
        return steps

    def shows_connections(self, a: str, layer: SpecLayer) -> bool:
        """Whether the spec claims the error reaching ``a`` through one of its connections (of any example)."""
        wanted = {connection_name(self.L, a, z) for z in layer.pre_activation_names}
        return any(c.name.split("[")[0] in wanted for c in self.spec.claims)


def _weighted_sum(layer: SpecLayer, j: int, x_names: list[str]) -> str:
    terms = [f"{{{w}}}·{{{x}}}" for w, x in zip(layer.weight_names[j], x_names, strict=True)]
    if layer.bias_kind != "none":
        terms.append(f"{{{layer.bias_names[0 if layer.bias_kind == 'shared' else j]}}}")
    return " + ".join(terms)


def _activation_template(layer: SpecLayer, j: int, q=lambda name: name) -> str:
    z = q(layer.pre_activation_names[j])
    if layer.activation == "softmax":
        return f"e^({{{z}}}) / (" + " + ".join(f"e^({{{q(m)}}})" for m in layer.pre_activation_names) + ")"
    return FORWARD[layer.activation].format(z=f"{{{z}}}", **{"-z": f"{{-{z}}}"})


def optional_names(spec: Spec) -> set[str]:
    """Quantities shown only when claimed: local derivatives da/dz (elementwise activations the loss does not fuse
    with), each output's share of the loss, each updated parameter's change Δw, a softmax output's e^z and
    denominator, the error reaching a hidden neuron through each of its connections, and the error carried back to
    each input (``dL/dx1``, and through each connection ``dL/dx1_via_z1``: also shown on request)."""
    _, where = build_network(spec)
    examples = [f"[{n}]" for n in range(1, spec.batch_size + 1)] or [""]
    names = set()
    for number, layer in enumerate(spec.layers):
        if layer.activation != "softmax" and where[number][1] is not None:
            names |= {f"d{a}/d{z}{sfx}" for a, z in zip(layer.activation_names, layer.pre_activation_names,
                                                          strict=True) for sfx in examples}
        names |= {change_name(p) for p in [w for row in layer.weight_names for w in row] + layer.bias_names
                  if spec.update_biases or p not in layer.bias_names}
    names |= {share_name(spec.loss_name, o) + sfx for o in spec.layers[-1].activation_names for sfx in examples}
    names |= {name + sfx for name in softmax_names(spec) for sfx in examples}
    for layer, below in zip(spec.layers[1:], spec.layers, strict=False):
        names |= {connection_name(spec.loss_name, a, z) + sfx for a in below.activation_names
                  for z in layer.pre_activation_names for sfx in examples}
    inputs = input_gradient_names(spec) + [connection_name(spec.loss_name, x, z) for x in spec.input_names
                                           for z in spec.layers[0].pre_activation_names]
    return names | {name + sfx for name in inputs for sfx in examples}


def exp_name(z: str) -> str:
    """The name of e^z, the exponential of a softmax's logit z, unshifted: ``exp_z3``, ``exp_net_o1``."""
    return f"exp_{z}"


SUM_EXP = "sum_exp"     # the softmax output's denominator, Σ e^z over its logits


def softmax_names(spec: Spec) -> set[str]:
    """The claimable e^z of a softmax output and its denominator; none for other outputs."""
    layer = spec.layers[-1]
    return {exp_name(z) for z in layer.pre_activation_names} | {SUM_EXP} if layer.activation == "softmax" else set()


def connection_name(loss_name: str, a: str, z: str) -> str:
    """The name of the error reaching neuron ``a`` through its connection to ``z`` above, δ_z·w:
    ``dL/da1_via_z3``; summed over the neurons above, these are ``dL/da1``."""
    return f"d{loss_name}/d{a}_via_{z}"


def share_name(loss_name: str, output: str) -> str:
    """The name of one output's share of the loss: ``L_yhat1``, ``E_out_o1`` (the output's name after the loss's)."""
    return f"{loss_name}_{output}"


def loss_share(spec: Spec, recorder: Recorder, k: int) -> float:
    """Output ``k``'s share of a recorded pass's loss: the engine's loss on that output alone (a mean squared error's
    share is its term over the K outputs, as the loss averages them)."""
    from ..losses import (BinaryCrossEntropy, CrossEntropy, HalfSquaredError, MeanSquaredError, OutputObjective,
                          SumSquaredError)

    loss = {"cross_entropy": CrossEntropy, "binary_cross_entropy": BinaryCrossEntropy,
            "half_squared_error": HalfSquaredError, "mean_squared_error": MeanSquaredError,
            "sum_squared_error": SumSquaredError, "output": OutputObjective}[spec.loss]()
    share = loss.forward(recorder.predictions[:1, k:k + 1], recorder.targets[:1, k:k + 1])
    return share / recorder.targets.shape[1] if spec.loss == "mean_squared_error" else share


def change_name(parameter: str) -> str:
    """The name of a parameter's change in the step, Δw = −η·∂L/∂w: ``Delta_w5``."""
    return f"Delta_{parameter}"


def _update(spec: Spec, updated: dict[str, float], trained: set[str], values: dict[str, float], recorder,
            where, step: int = 1) -> Section:
    """The update of every parameter by the spec's optimizer: the state it moves (a velocity, moments), each as
    formula, numbers and the engine's value, then the parameter after the step (and its change Δw, when claimed)."""
    settings = spec.optimizer
    held = {name: entry for entry, name in entry_names(spec, where).items()}     # w5 -> ("0.weight", flat index)
    steps = []
    order = reversed(spec.layers) if spec.update_order == "sequential" else spec.layers
    for layer in order:
        for name in sorted((w for row in layer.weight_names for w in row), key=natural_key) + layer.bias_names:
            gradient = f"d{spec.loss_name}/d{name}"
            template = f"{{{name}}}"
            if name in trained:
                for state, formula in state_templates(settings, name, gradient, step):
                    key, flat = held[name]
                    place = ("state", key, state.split("_", 1)[0], flat)
                    values[state] = recorder.read(place)
                    steps.append(Step(state, formula, values[state], place))
                term = step_term(settings, name, gradient)
                template = f"{{{name}}} − {term}"
                change = change_name(name)
                if any(split_step(c.name)[0] == change for c in spec.claims):   # the weight change, when claimed
                    values[change] = updated[name] - values[name]        # what the optimizer's step moved it by
                    steps.append(Step(change, f"−{term}", values[change]))
                    template = f"{{{name}}} + {{{change}}}"
            values[f"{name}'"] = updated[name]
            steps.append(Step(f"{name}'", template, updated[name]))
    title = rule_title(settings, spec.loss_name)
    if spec.update_order == "sequential":
        title += " (sequential: each layer as soon as its gradients are known, output layer first)"
    return Section(title, steps, "update")
