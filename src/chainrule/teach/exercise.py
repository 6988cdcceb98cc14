"""Seeded backpropagation exercises: a small network with numbers a person can work by hand, what to compute, and
the answer key, which is the derivation of the engine's own recorded step (``explain.derive``) with each asked
quantity marked. Nothing here computes a number of the network: the draw is checked against the derivation.
An exercise may use any optimizer the engine trains with (``update_rule``) and cover several steps (``steps``):
its key is then the derivation of each step, its quantities named for their step (``w5'@2``).

A draw is redrawn when it would make a poor exercise, in any step it covers: a ReLU input exactly 0 (the
derivative is undefined there), a saturated sigmoid or tanh, a softmax output that rounds to 0 or 1, or an asked
quantity that is 0 (in size below ``TINY``, or 0 at the precision asked: ``0.0004`` to three decimal places; a
second moment, about (1 − β₂)·g², is judged by the gradient it is made from).
"""

import re
import unicodedata
from dataclasses import dataclass, replace

import numpy as np

from ..activations import HIDDEN_ACTIVATIONS
from ..errors import ChainruleError
from ..losses import PAIRINGS
from ..schema import nearest
from ..explainer import parse_spec
from ..explainer.audit import ClaimCheck
from ..explainer.derivation import Derivation
from ..explainer.spec import LOSSES, NO_TARGETS, Claim, Spec
from ..explainer.step_names import canonical, split_step
from .precision import POLICIES, Precision
from .steps import derive_through, step_of, steps_asked
from .update_rule import WORDS, optimizer_table

FORMAT = "chainrule-exercise"
VERSION = 2
ASK_WORDS = ("forward", "loss", "gradients", "update", "full-step")
DEFAULT_LOSS = {"softmax": "cross_entropy", "sigmoid": "binary_cross_entropy", "identity": "half_squared_error",
                "tanh": "half_squared_error"}
OUTPUTS = ("softmax", "sigmoid", "identity", "tanh")
LEARNING_RATES = (0.1, 0.5)
MAX_DRAWS = 2000
# A draw of a large network costs in proportion to its numbers: the draws are capped so that every exercise within
# the limits is made or refused in seconds (weights + examples' quantities, a deterministic count, not a clock).
DRAW_BUDGET = 600_000
SATURATED = 0.05          # a sigmoid output below this or above 1 - this (tanh: |a| above 1 - this) is saturated
CERTAIN = 0.01            # a softmax probability below this or above 1 - this rounds to 0 or 1 at two places
# An asked quantity smaller than this is 0 in effect: exactly 0 or 0 but for float64 rounding (two equal paths
# cancelling), or too small for a hand computation from numbers of size 0.1 to 1 to resolve.
TINY = 1e-6
# What an exercise may ask for: fewer than 2 significant figures cannot tell a slip from rounding, and no decimal
# places would round most of the step's numbers (all below 1) to 0.
DIGIT_RANGE = {"significant": (2, 8), "decimals": (1, 8)}
SHAPE = re.compile(r"[1-8](?:-[1-8]){1,5}")     # ASCII digits only: str.isdigit also accepts ² and ٣
MAX_TITLE = 200


@dataclass
class Exercise:
    seed: int | None         # the draw's seed (None for a roster's variant: its draw comes from the class secret)
    options: dict            # what was asked for, as given (shape, activations, ask, ...)
    document: dict           # the spec, as written to the exercise file
    spec: Spec
    derivation: Derivation
    asked: list[str]         # the quantities to compute, in the order the step computes them
    precision: Precision     # what each answer is given to
    policy: str              # "strict": too few digits earn nothing; "partial": half the points when it agrees

    @property
    def steps(self) -> int:
        """How many steps the exercise covers (its quantities of step k >= 2 are named ``z1@k``)."""
        return self.options.get("steps", 1)

    @property
    def answers(self) -> dict[str, float]:
        return {name: self.derivation.values[name] for name in self.asked}

    def answer_text(self, name: str) -> str:
        """The key's answer: the value rounded half away from zero from its shortest decimal (``precision.text``)."""
        return self.precision.text(self.derivation.values[name])

    def tolerance(self, name: str) -> float:
        """One unit of the answer's last digit: what a careful hand computation may be off by."""
        return float(self.precision.unit(self.derivation.values[name]))

    def key_derivation(self) -> Derivation:
        """The derivation with every asked quantity claimed at its rounded answer and marked as agreeing, so that
        every renderer marks it at its step.

        The key is not audited: each answer is the computed value rounded to half a unit of its last digit, which
        the audit accepts by construction (its tolerance is at least that half unit). Auditing would run two passes
        of the network for each of thousands of claims of a large exercise; tests audit the keys of small ones."""
        claims, checks = [], []
        for name in self.asked:
            value, text = self.derivation.values[name], self.answer_text(name)
            written = self.precision.rounded(value)
            claims.append(Claim(name, float(written), written))
            checks.append(ClaimCheck(name, float(written), value, text, "agrees", value, float(claims[-1].half_unit)))
        spec = replace(self.spec, claims=claims, claims_source="answer")
        return replace(self.derivation, spec=spec, claims=checks)


def parse_shape(text: str) -> tuple[int, ...]:
    """``2-2-2`` -> (2, 2, 2): inputs, hidden widths, outputs."""
    if not SHAPE.fullmatch(text):
        raise ChainruleError(f"--shape: expected widths from 1 to 8 joined by '-', inputs first and outputs last, "
                             f"at most 6 layers (such as 2-2-2 or 3-4-2-1), found {text!r}")
    return tuple(int(p) for p in text.split("-"))


def make_exercise(shape=(2, 2, 2), hidden: str = "sigmoid", output: str = "softmax", loss: str | None = None,
                  seed: int = 0, ask=("full-step",), batch: int = 1, reduction: str = "mean",
                  update_order: str = "simultaneous", update_biases: bool = True,
                  weight_layout: str = "neuron_major", precision: Precision = Precision("significant", 4),
                  policy: str = "strict", title: str = "", optimizer: dict | None = None,
                  steps: int | None = None) -> Exercise:
    """An exercise drawn from ``numpy.random.default_rng(seed)``: the same arguments give the same exercise.

    **Arguments:** ``shape`` (inputs, hidden widths..., outputs); ``hidden`` and ``output`` activations; ``loss``
    (default: the output's usual one); ``ask``: any of ``forward``, ``loss``, ``gradients``, ``update``,
    ``full-step`` or quantity names (``dL/dw5``); ``batch`` examples (mean or sum ``reduction``); ``precision``:
    what the answers are given to (2 to 8 significant figures or 1 to 8 decimal places); ``policy``: how an answer
    with too few digits is marked (``strict`` or ``partial``); ``title``: the teacher's, put before the network's
    description. ``seed`` is any non-negative integer (a roster's variants use 256-bit ones). ``optimizer``: the
    update rule and its settings, ``{"name": "momentum", "momentum": 0.9}`` (``nesterov``, ``rmsprop`` with
    ``rho``/``eps``, ``adam`` with ``beta1``/``beta2``/``eps``; default plain gradient descent); ``steps``: how many
    steps the exercise covers, 1 to 3 (default: the latest step ``ask`` names, ``w5'@2`` or ``update@2``; a word
    without ``@k`` asks its part of every step). The optimizer and the steps draw no numbers of their own: a seed
    draws the same networks under each, and keeps the first that makes a good exercise of what is asked."""
    loss = loss or DEFAULT_LOSS[output]
    options = {"shape": "-".join(map(str, shape)), "hidden": hidden, "output": output, "loss": loss,
               "ask": list(ask), "batch": batch, "reduction": reduction, "update_order": update_order,
               "update_biases": update_biases, "weight_layout": weight_layout, "title": title}
    _check_options(shape, hidden, output, loss, batch, precision, policy, update_order, ask, title)
    table, steps = optimizer_table(optimizer), steps_asked(ask, steps)
    if table is not None:          # written only where the exercise is not plain gradient descent over one step
        options["optimizer"] = table
        if update_order == "sequential":
            raise ChainruleError(f"--update-order: expected simultaneous with --optimizer {table['name']} (a "
                                 f"sequential update is plain gradient descent's, layer by layer)")
    if steps > 1:
        options["steps"] = steps
    rng = np.random.default_rng(seed)
    heading = f"{title or 'Exercise'}: a {'-'.join(map(str, shape))} network, {hidden} hidden, {output} output, " \
              f"{'the output as the loss' if loss == 'output' else loss.replace('_', ' ')}"
    if table is not None or steps > 1:
        rule = WORDS[table["name"] if table else "gradient_descent"]
        heading += f", {'one step' if steps == 1 else f'{steps} steps'} of {rule}"
    for _ in range(draws_allowed(shape, batch, steps)):
        document = _draw(rng, shape, hidden, output, loss, batch, reduction, update_order, update_biases,
                         weight_layout, heading)
        if table is not None:
            document["optimizer"] = dict(table)
        spec = parse_spec(document, "exercise")
        derivation = derive_through(spec, steps)
        asked = asked_quantities(derivation, ask)
        if not degenerate(derivation, asked, precision):
            return Exercise(seed, options, document, spec, derivation, asked, precision, policy)
    raise ChainruleError(f"exercise: no draw of {draws_allowed(shape, batch, steps)} avoided saturated or zero values "
                         f"at {precision.describe()}; expected a smaller network, other activations or more digits"
                         + _second_moments_hint(table, precision))


def draws_allowed(shape, batch: int, steps: int = 1) -> int:
    """How many draws to try before giving up: ``MAX_DRAWS``, fewer for a network whose draws are large (each step
    of an exercise of several is drawn and laid out in full)."""
    numbers = (sum(a * b + b for a, b in zip(shape[:-1], shape[1:])) + batch * sum(shape) * 4) * steps
    return max(20, min(MAX_DRAWS, DRAW_BUDGET // numbers))


def _second_moments_hint(table, precision: Precision) -> str:
    """Why an RMSprop or Adam exercise at decimal places may find no draw: its mean squares are tiny."""
    if table is None or table["name"] not in ("rmsprop", "adam") or precision.kind != "decimals":
        return ""
    return (f" ({table['name']}'s mean squares, such as v_w1 = (1 − β₂)·g², are far below one unit of the last "
            f"decimal place: ask significant figures with --digits, or leave them out of --ask)")


def _check_options(shape, hidden, output, loss, batch, precision, policy, update_order, ask, title) -> None:
    if hidden not in HIDDEN_ACTIVATIONS:
        raise ChainruleError(f"--hidden: expected one of {', '.join(HIDDEN_ACTIVATIONS)}, found {hidden!r}")
    if (output, loss) not in PAIRINGS or loss not in LOSSES:       # the pairings a spec can state
        pairs = ", ".join(f"{o} + {name}" for o, name in PAIRINGS if name in LOSSES)
        raise ChainruleError(f"--output/--loss: expected one of the engine's pairings ({pairs}), found "
                             f"{output} + {loss}")
    if output == "softmax" and shape[-1] < 2:
        raise ChainruleError(f"--shape: expected at least 2 outputs for a softmax output (one is always 1), found "
                             f"{shape[-1]}")
    if not 1 <= batch <= 8:
        raise ChainruleError(f"--batch: expected 1 to 8 examples, found {batch}")
    if not isinstance(precision, Precision):
        raise ChainruleError(f"precision: expected a Precision, found {type(precision).__name__}")
    low, high = DIGIT_RANGE[precision.kind]
    if not low <= precision.digits <= high:
        flag = "--digits" if precision.kind == "significant" else "--decimals"
        raise ChainruleError(f"{flag}: expected {low} to {high} {precision.describe().split(' ', 1)[1]}, found "
                             f"{precision.digits}")
    if policy not in POLICIES:
        raise ChainruleError(f"--precision-policy: expected one of {', '.join(POLICIES)}, found {policy!r}")
    if not ask:
        raise ChainruleError(f"--ask: expected one or more of {', '.join(ASK_WORDS)} or quantity names")
    if not isinstance(title, str) or len(title) > MAX_TITLE or any(unicodedata.category(c) == "Cc" for c in title):
        raise ChainruleError(f"--title: expected at most {MAX_TITLE} characters without control characters, found "
                             f"{str(title)[:80]!r}")


def _draw(rng, shape, hidden, output, loss, batch, reduction, update_order, update_biases, weight_layout, title):
    """Numbers with one decimal: inputs and biases from -1 to 1, weights from -0.9 to 0.9 without 0."""
    def tenths(size, low=-10, high=10, zero=True):
        values = rng.integers(low, high + 1, size=size)
        if not zero:
            values = np.where(values == 0, rng.choice([-1, 1], size=size) * rng.integers(1, high + 1, size=size),
                              values)
        return [round(float(v) / 10, 1) for v in np.ravel(values)]

    layers = []
    for number, (n_in, n_out) in enumerate(zip(shape[:-1], shape[1:], strict=True)):
        weights = np.array(tenths(n_out * n_in, -9, 9, zero=False)).reshape(n_out, n_in)
        if weight_layout == "input_major":
            weights = weights.T
        last = number == len(shape) - 2
        layers.append({"weights": weights.tolist(), "bias": tenths(n_out, -5, 5),
                       "activation": output if last else hidden})
    k = shape[-1]

    def target():
        if loss == "cross_entropy":
            return int(rng.integers(0, k)) if k > 1 else [1.0]
        if loss == "binary_cross_entropy" or output == "sigmoid":
            return [float(v) for v in rng.integers(0, 2, size=k)] if loss == "binary_cross_entropy" \
                else tenths(k, 1, 9)
        return tenths(k, -9, 9) if output in ("identity", "tanh") else tenths(k, 1, 9)
    inputs = [tenths(shape[0]) for _ in range(batch)]
    targets = [target() for _ in range(batch)]
    document = {"title": title, "inputs": inputs[0] if batch == 1 else inputs,
                "targets": targets[0] if batch == 1 else targets, "layers": layers, "loss": loss,
                "learning_rate": float(LEARNING_RATES[int(rng.integers(0, len(LEARNING_RATES)))]),
                "update_order": update_order, "update_biases": update_biases, "weight_layout": weight_layout}
    if batch > 1:
        document["reduction"] = reduction
    if loss in NO_TARGETS:          # the output itself is the loss: no targets to give
        del document["targets"]
    return document


def asked_quantities(d: Derivation, ask) -> list[str]:
    """The quantities ``ask`` names, in the order the steps compute them (updated parameters as ``w5'``). A word
    asks its part of every step the derivation lays out, ``update@2`` of step 2 only; a name with ``@k`` is of step
    k (``w5+@2`` is ``w5'@2``), a plain one of step 1."""
    kinds = {"forward": {"forward"}, "loss": {"loss", "batch_loss"},
             "gradients": {"gradients", "batch"} if d.spec.batch_size else {"gradients"},
             "update": {"update"}}
    kinds["full-step"] = {"forward", "loss", "output_error", "gradients", "carried_back", "batch", "batch_loss",
                          "update"}
    chosen: set[str] = set()
    order = d.order
    position = {name: k for k, name in enumerate(order)}
    parameters = {p for layer in d.spec.layers for p in [w for row in layer.weight_names for w in row] +
                  layer.bias_names}
    for item in ask:
        word, only = (split_step(item)[0], step_of(item)) if step_of(item) is not None else (item, None)
        if word in kinds:
            for section in d.sections:
                for step in section.steps:
                    base, number = split_step(step.name)
                    if only is not None and number != only:
                        continue
                    kind = section.kind
                    if kind == "batch":
                        kind = "batch_loss" if base == d.spec.loss_name else "batch"
                        if word == "loss" and kind == "batch_loss":
                            chosen.add(step.name)
                            continue
                    if kind in kinds[word] and (kind != "update" or not _left_as_it_was(step.template)):
                        if word == "gradients" and d.spec.batch_size and kind == "gradients":
                            continue          # a batch asks for the batch's gradients, not each example's
                        chosen.add(step.name)
        elif canonical(item, parameters) in position:
            chosen.add(canonical(item, parameters))
        else:
            known = ", ".join(order[:8])
            raise ChainruleError(f"--ask: expected {', '.join(ASK_WORDS)} or the name of a quantity of this "
                                 f"network (such as {known}, ...), found {item!r}{nearest(item, order)}")
    return sorted(chosen, key=lambda name: position[name])


def _left_as_it_was(template: str) -> bool:
    """An update step that only restates its parameter (``{b1}``: a bias kept fixed): nothing to ask."""
    return re.fullmatch(r"\{[^{}]+\}", template) is not None


# the second moments of RMSprop and Adam, about (1 − ρ)·g²: far below TINY for an everyday gradient, not noise
SECOND_MOMENTS = {"rmsprop": ("s",), "adam": ("v", "vhat")}


def degenerate(d: Derivation, asked: list[str], precision: Precision) -> bool:
    """Whether the draw would make a poor exercise (see the module's docstring), in any step it covers."""
    for section in d.sections:
        if section.kind != "forward":
            continue
        layer = d.spec.layers[section.layer]
        for step in section.steps:
            base = split_step(step.name)[0].split("[")[0]
            if layer.activation == "relu" and base in layer.pre_activation_names and step.value == 0:
                return True
            if base in layer.activation_names:
                a = step.value
                if layer.activation == "sigmoid" and not SATURATED <= a <= 1 - SATURATED:
                    return True
                if layer.activation == "tanh" and abs(a) > 1 - SATURATED:
                    return True
                if layer.activation == "softmax" and not CERTAIN <= a <= 1 - CERTAIN:
                    return True
    # a value at least one unit of the last decimal place asked for cannot round to 0: only smaller ones are rounded
    smallest = 10.0 ** -precision.digits if precision.kind == "decimals" else 0.0
    return any(abs(size) < TINY or (abs(v) < smallest and precision.rounded(v) == 0)
               for v, size in ((d.values[name], _size(d, name)) for name in asked))


def _size(d: Derivation, name: str) -> float:
    """The size an asked quantity is judged 0 by: its own, except a second moment's (``v_w5`` of Adam, about
    (1 − β₂)·g²), which is 0 in effect only where the gradient it is made from is."""
    base, step = split_step(name)
    letter, _, parameter = base.partition("_")
    if letter in SECOND_MOMENTS.get(d.spec.optimizer.name, ()):
        gradient = f"d{d.spec.loss_name}/d{parameter}" + ("" if step == 1 else f"@{step}")
        return d.values.get(gradient, d.values[name])
    return d.values[name]


def exercise_document(ex: Exercise) -> dict:
    """What the teacher's exercise.json holds: the precision asked, the spec, the questions and the answers (and the
    seed of a single exercise). Never handed to a student: it holds every answer."""
    document = {"format": FORMAT, "version": VERSION}
    if ex.seed is not None:
        document["seed"] = ex.seed
    return document | {
        "precision": ex.precision.to_document(), "precision_policy": ex.policy, "options": ex.options,
        "spec": ex.document, "questions": [{"name": name, "points": 1} for name in ex.asked],
        "answers": {name: {"value": ex.derivation.values[name], "rounded": ex.answer_text(name),
                           "tolerance": ex.tolerance(name)} for name in ex.asked}}
