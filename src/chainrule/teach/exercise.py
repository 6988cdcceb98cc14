"""Seeded backpropagation exercises: a small network with numbers a person can work by hand, what to compute, and
the answer key, which is the derivation of the engine's own recorded step (``explain.derive``) with each asked
quantity marked. Nothing here computes a number of the network: the draw is checked against the derivation.

A draw is redrawn when it would make a poor exercise: a ReLU input exactly 0 (the derivative is undefined there),
a saturated sigmoid or tanh, a softmax output that rounds to 0 or 1, or an asked quantity that is 0 (in size
below ``TINY``).
"""

import hashlib
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from ..activations import HIDDEN_ACTIVATIONS
from ..errors import ChainruleError
from ..losses import PAIRINGS
from ..schema import nearest
from ..explain import derive, parse_spec
from ..explain.derivation import Derivation
from ..explain.spec import LOSSES, Claim, Spec

FORMAT = "chainrule-exercise"
ASK_WORDS = ("forward", "loss", "gradients", "update", "full-step")
DEFAULT_LOSS = {"softmax": "cross_entropy", "sigmoid": "binary_cross_entropy", "identity": "half_squared_error",
                "tanh": "half_squared_error"}
OUTPUTS = ("softmax", "sigmoid", "identity", "tanh")
LEARNING_RATES = (0.1, 0.5)
MAX_DRAWS = 2000
SATURATED = 0.05          # a sigmoid output below this or above 1 - this (tanh: |a| above 1 - this) is saturated
CERTAIN = 0.01            # a softmax probability below this or above 1 - this rounds to 0 or 1 at two places
# An asked quantity smaller than this is 0 in effect: exactly 0 or 0 but for float64 rounding (two equal paths
# cancelling), or too small for a hand computation from numbers of size 0.1 to 1 to resolve.
TINY = 1e-6


@dataclass
class Exercise:
    seed: int
    options: dict            # what was asked for, as given (shape, activations, ask, ...)
    document: dict           # the spec, as written to the exercise file
    spec: Spec
    derivation: Derivation
    asked: list[str]         # the quantities to compute, in the order the step computes them
    digits: int              # significant digits of the answers

    @property
    def answers(self) -> dict[str, float]:
        return {name: self.derivation.values[name] for name in self.asked}

    def answer_text(self, name: str) -> str:
        return rounded(self.derivation.values[name], self.digits)

    def tolerance(self, name: str) -> float:
        """One unit of the answer's last significant digit: what a careful hand computation may be off by."""
        return float(Decimal(1).scaleb(Decimal(self.answer_text(name)).as_tuple().exponent))

    def key_derivation(self) -> Derivation:
        """The derivation with every asked quantity claimed at its rounded answer (each agrees: the audit marks
        them in every format)."""
        claims = [Claim(name, float(self.answer_text(name)), Decimal(self.answer_text(name))) for name in self.asked]
        spec = parse_spec(self.document, self.spec.source)
        spec.claims, spec.claims_source = claims, "answer"
        return derive(spec)


def rounded(value: float, digits: int) -> str:
    """``value`` to ``digits`` significant digits, written plainly (``0.0001234``, ``-0.5498``)."""
    if value == 0:
        return "0"
    exponent = int(np.floor(np.log10(abs(value))))
    places = max(digits - 1 - exponent, 0)
    text = f"{value:.{places}f}"
    if Decimal(text).adjusted() != exponent:          # 0.99996 -> 1.0000: one digit fewer after the point
        text = f"{value:.{max(places - 1, 0)}f}"
    return "0" if Decimal(text) == 0 else text


def parse_shape(text: str) -> tuple[int, ...]:
    """``2-2-2`` -> (2, 2, 2): inputs, hidden widths, outputs."""
    parts = text.split("-")
    if len(parts) < 2 or not all(p.isdigit() and 1 <= int(p) <= 8 for p in parts) or len(parts) > 6:
        raise ChainruleError(f"--shape: expected widths from 1 to 8 joined by '-', inputs first and outputs last, "
                             f"at most 6 layers (such as 2-2-2 or 3-4-2-1), found {text!r}")
    return tuple(int(p) for p in parts)


def student_seed(seed: int, student: str) -> int:
    """A student's own reproducible seed, from the exercise's seed and the student's id."""
    digest = hashlib.sha256(f"{seed}:{student}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def make_exercise(shape=(2, 2, 2), hidden: str = "sigmoid", output: str = "softmax", loss: str | None = None,
                  seed: int = 0, ask=("full-step",), batch: int = 1, reduction: str = "mean",
                  update_order: str = "simultaneous", update_biases: bool = True,
                  weight_layout: str = "neuron_major", digits: int = 4) -> Exercise:
    """An exercise drawn from ``numpy.random.default_rng(seed)``: the same arguments give the same exercise.

    **Arguments:** ``shape`` (inputs, hidden widths..., outputs); ``hidden`` and ``output`` activations; ``loss``
    (default: the output's usual one); ``ask``: any of ``forward``, ``loss``, ``gradients``, ``update``,
    ``full-step`` or quantity names (``dL/dw5``); ``batch`` examples (mean or sum ``reduction``); ``digits``:
    significant digits of the answers."""
    loss = loss or DEFAULT_LOSS[output]
    options = {"shape": "-".join(map(str, shape)), "hidden": hidden, "output": output, "loss": loss,
               "ask": list(ask), "batch": batch, "reduction": reduction, "update_order": update_order,
               "update_biases": update_biases, "weight_layout": weight_layout, "digits": digits}
    _check_options(shape, hidden, output, loss, batch, digits, update_order, ask)
    rng = np.random.default_rng(seed)
    for _ in range(MAX_DRAWS):
        document = _draw(rng, shape, hidden, output, loss, batch, reduction, update_order, update_biases,
                         weight_layout, seed)
        spec = parse_spec(document, f"exercise (seed {seed})")
        derivation = derive(spec)
        asked = asked_quantities(derivation, ask)
        if not degenerate(derivation, asked, digits):
            return Exercise(seed, options, document, spec, derivation, asked, digits)
    raise ChainruleError(f"exercise: no draw of {MAX_DRAWS} for seed {seed} avoided saturated or zero values; "
                         f"expected a smaller network or other activations")


def _check_options(shape, hidden, output, loss, batch, digits, update_order, ask) -> None:
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
    if not 2 <= digits <= 8:
        raise ChainruleError(f"--digits: expected 2 to 8 significant digits, found {digits}")
    if not ask:
        raise ChainruleError(f"--ask: expected one or more of {', '.join(ASK_WORDS)} or quantity names")


def _draw(rng, shape, hidden, output, loss, batch, reduction, update_order, update_biases, weight_layout, seed):
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
    title = (f"Exercise {seed}: a {'-'.join(map(str, shape))} network, {hidden} hidden, {output} output, "
             f"{loss.replace('_', ' ')}")
    document = {"title": title, "inputs": inputs[0] if batch == 1 else inputs,
                "targets": targets[0] if batch == 1 else targets, "layers": layers, "loss": loss,
                "learning_rate": float(LEARNING_RATES[int(rng.integers(0, len(LEARNING_RATES)))]),
                "update_order": update_order, "update_biases": update_biases, "weight_layout": weight_layout}
    if batch > 1:
        document["reduction"] = reduction
    return document


def asked_quantities(d: Derivation, ask) -> list[str]:
    """The quantities ``ask`` names, in the order the step computes them (updated parameters as ``w5'``)."""
    kinds = {"forward": {"forward"}, "loss": {"loss", "batch_loss"},
             "gradients": {"gradients", "batch"} if d.spec.batch_size else {"gradients"},
             "update": {"update"}}
    kinds["full-step"] = {"forward", "loss", "output_error", "gradients", "carried_back", "batch", "batch_loss",
                          "update"}
    chosen: set[str] = set()
    for item in ask:
        if item in kinds:
            for section in d.sections:
                for step in section.steps:
                    kind = section.kind
                    if kind == "batch":
                        kind = "batch_loss" if step.name == d.spec.loss_name else "batch"
                        if item == "loss" and kind == "batch_loss":
                            chosen.add(step.name)
                            continue
                    if kind in kinds[item] and (kind != "update" or "eta" in step.template):
                        if item == "gradients" and d.spec.batch_size and kind == "gradients":
                            continue          # a batch asks for the batch's gradients, not each example's
                        chosen.add(step.name)
        elif item.replace("+", "'") in d.order:
            chosen.add(item.replace("+", "'"))
        else:
            known = ", ".join(d.order[:8])
            raise ChainruleError(f"--ask: expected {', '.join(ASK_WORDS)} or the name of a quantity of this "
                                 f"network (such as {known}, ...), found {item!r}{nearest(item, d.order)}")
    position = {name: k for k, name in enumerate(d.order)}
    return sorted(chosen, key=lambda name: position[name])


def degenerate(d: Derivation, asked: list[str], digits: int) -> bool:
    """Whether the draw would make a poor exercise (see the module's docstring)."""
    v = d.values
    for section in d.sections:
        if section.kind != "forward":
            continue
        layer = d.spec.layers[section.layer]
        for step in section.steps:
            base = step.name.split("[")[0]
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
    return any(abs(v[name]) < TINY for name in asked)


def exercise_document(ex: Exercise) -> dict:
    """What the exercise's JSON file holds: the spec, the questions and the answers."""
    return {"format": FORMAT, "version": 1, "seed": ex.seed, "options": ex.options, "spec": ex.document,
            "questions": [{"name": name, "digits": ex.digits} for name in ex.asked],
            "answers": {name: {"value": ex.derivation.values[name], "rounded": ex.answer_text(name),
                               "tolerance": ex.tolerance(name)} for name in ex.asked}}
