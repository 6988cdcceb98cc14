"""Spec files: a small network, one example, and optionally an author's printed numbers, as JSON or TOML.

A spec writes weights as textbook matrices, row j holding neuron j's incoming weights (``z = W x + b``); the engine
keeps ``W: (D_in, D_out)``, so ``build_network`` transposes here, at the edge. Numbers are read as decimals so
that a claim remembers how many places its author printed (``0.426`` was rounded to 3 places, ``0.5`` to one).
"""

import json
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np

from ..activations import ACTIVATIONS
from ..errors import ChainruleError
from ..layers import Dense
from ..losses import ON_PROBABILITIES, output_head
from ..network import Network
from .printed_digits import as_text, as_written, last_digit_unit

LOSSES = ("cross_entropy", "binary_cross_entropy", "half_squared_error", "mean_squared_error")


@dataclass
class SpecLayer:
    weights: np.ndarray            # (D_out, D_in), textbook layout
    bias: np.ndarray               # (1,) shared by the layer's neurons, (D_out,) one per neuron, or (0,) none
    activation: str
    weight_names: list[list[str]]  # same layout as weights
    bias_names: list[str]          # one name per entry of bias
    pre_activation_names: list[str]
    activation_names: list[str]
    bias_kind: str = "shared"      # "shared", "per_neuron" or "none", as the Dense layer takes it


@dataclass
class Claim:
    """A number an author printed for a quantity, kept as written: it was rounded to its last printed digit."""
    name: str
    value: float
    written: Decimal               # the digits as printed (``printed_digits``)

    @property
    def unit(self) -> float:
        """What one unit of the last printed digit is worth."""
        return last_digit_unit(self.written)

    @property
    def half_unit(self) -> float:
        """How far the unrounded value may lie from the printed one."""
        return 0.5 * self.unit

    @property
    def text(self) -> str:
        return as_text(self.written)


@dataclass
class Spec:
    input_names: list[str]
    inputs: np.ndarray             # (D,)
    target_names: list[str]
    targets: np.ndarray            # (K,)
    layers: list[SpecLayer]
    loss: str
    loss_name: str
    learning_rate: float
    update_biases: bool = True
    update_order: str = "simultaneous"   # or "sequential": each layer updated before the error goes below it
    claims: list[Claim] = field(default_factory=list)
    claims_source: str = "claimed"
    title: str = ""
    notes: list[str] = field(default_factory=list)
    superscript: list[str] = field(default_factory=list)   # name families written z^(1) rather than z_1


def load_spec(path) -> Spec:
    """Read a JSON (``.json``) or TOML (``.toml``) spec; every problem names the file and the field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ChainruleError(f"{path}: cannot read the spec file ({exc.strerror or exc})") from None
    try:
        if path.suffix.lower() == ".toml":
            raw = tomllib.loads(text, parse_float=Decimal)
        else:
            raw = json.loads(text, parse_float=Decimal, parse_int=Decimal)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        kind = "TOML" if path.suffix.lower() == ".toml" else "JSON"
        raise ChainruleError(f"{path}: not valid {kind} ({exc})") from None
    return parse_spec(raw, str(path))


def parse_spec(raw, source: str = "spec") -> Spec:
    return _Reader(source).spec(raw)


class _Reader:
    """Turns the raw mapping into a ``Spec``; each method validates one field and names its path on error."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, path: str, expected: str, found) -> None:
        raise ChainruleError(f"{self.source}: {path}: expected {expected}, found {found}")

    def number(self, value, path: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
            self.fail(path, "a number", repr(value))
        number = float(value)
        if not np.isfinite(number):
            self.fail(path, "a finite number", value)
        return number

    def vector(self, value, path: str, length: int | None = None) -> list[float]:
        if not isinstance(value, list) or not value:
            self.fail(path, "a non-empty list of numbers", repr(value))
        if length is not None and len(value) != length:
            self.fail(path, f"{length} numbers", f"{len(value)}")
        return [self.number(v, f"{path}[{i}]") for i, v in enumerate(value)]

    def named_values(self, value, path: str, prefix: str) -> tuple[list[str], list[float]]:
        """``{"x1": 1, ...}`` or ``[1, ...]`` (named ``prefix1, prefix2, ...``)."""
        if isinstance(value, dict) and value:
            return list(value), [self.number(v, f"{path}.{k}") for k, v in value.items()]
        values = self.vector(value, path)
        return [f"{prefix}{i + 1}" for i in range(len(values))], values

    def names(self, value, path: str, length: int, default: list[str]) -> list[str]:
        if value is None:
            return default
        if not isinstance(value, list) or len(value) != length or not all(isinstance(v, str) and v for v in value):
            self.fail(path, f"a list of {length} names", repr(value))
        return list(value)

    def spec(self, raw) -> Spec:
        if not isinstance(raw, dict):
            self.fail("top level", "a table/object with inputs, targets, layers, loss", type(raw).__name__)
        for key in ("inputs", "targets", "layers", "loss"):
            if key not in raw:
                self.fail(key, "this field to be present", "nothing")
        input_names, inputs = self.named_values(raw["inputs"], "inputs", "x")
        layers = self.layers(raw["layers"], len(inputs))
        width = len(layers[-1].pre_activation_names)
        loss = raw["loss"]
        if loss not in LOSSES:
            self.fail("loss", f"one of {', '.join(LOSSES)}", repr(loss))
        output_head(layers[-1].activation, loss)   # rejects a pairing the engine does not offer
        target_prefix = "t" if loss == "half_squared_error" else "y"
        target_names, targets = self.named_values(raw["targets"], "targets", target_prefix)
        if len(targets) != width:
            self.fail("targets", f"{width} values, one per output neuron", len(targets))
        rate = self.number(raw.get("learning_rate", Decimal("0.1")), "learning_rate")
        if rate <= 0:
            self.fail("learning_rate", "a positive number", rate)
        order = raw.get("update_order", "simultaneous")
        if order not in ("simultaneous", "sequential"):
            self.fail("update_order", "'simultaneous' or 'sequential'", repr(order))
        update_biases = raw.get("update_biases", True)
        if not isinstance(update_biases, bool):
            self.fail("update_biases", "true or false", repr(update_biases))
        spec = Spec(input_names, np.array(inputs), target_names, np.array(targets), layers, loss,
                    self.text(raw.get("loss_name", "L"), "loss_name"),
                    rate, update_biases, order, title=self.text(raw.get("title", ""), "title"),
                    claims_source=self.text(raw.get("claims_source", "claimed"), "claims_source"),
                    notes=self.texts(raw.get("notes", []), "notes"),
                    superscript=self.texts(raw.get("notation", {}).get("superscript", []), "notation.superscript"))
        self.check_unique_names(spec)
        spec.claims = self.claims(raw.get("claims", {}))
        return spec

    def text(self, value, path: str) -> str:
        if not isinstance(value, str):
            self.fail(path, "a string", repr(value))
        return value

    def texts(self, value, path: str) -> list[str]:
        if not isinstance(value, list):
            self.fail(path, "a list of strings", repr(value))
        return [self.text(v, f"{path}[{i}]") for i, v in enumerate(value)]

    def layers(self, raw, in_width: int) -> list[SpecLayer]:
        if not isinstance(raw, list) or not raw:
            self.fail("layers", "a non-empty list of layers", repr(raw))
        layers, width, counts = [], in_width, {"w": 0, "z": 0, "a": 0, "b": 0}
        for index, item in enumerate(raw):
            path = f"layers[{index}]"
            if not isinstance(item, dict):
                self.fail(path, "a table/object with weights, bias, activation", repr(item))
            layer = self.layer(item, path, width, counts, last=index == len(raw) - 1)
            layers.append(layer)
            width = len(layer.pre_activation_names)
        return layers

    def layer(self, item, path, width, counts, last) -> SpecLayer:
        rows = item.get("weights")
        if not isinstance(rows, list) or not rows:
            self.fail(f"{path}.weights", "a matrix, one row of incoming weights per neuron", repr(rows))
        weights = []
        for j, row in enumerate(rows):
            if not isinstance(row, list) or len(row) != width:
                found = f"{len(row)}" if isinstance(row, list) else repr(row)
                self.fail(f"{path}.weights[{j}]", f"{width} columns, one per input of this layer", found)
            weights.append(self.vector(row, f"{path}.weights[{j}]"))
        n_out = len(weights)
        activation = item.get("activation")
        if activation not in ACTIVATIONS:
            self.fail(f"{path}.activation", f"one of {', '.join(ACTIVATIONS)}", repr(activation))
        raw_bias = item.get("bias")
        bias_kind = "none" if raw_bias is None else "per_neuron" if isinstance(raw_bias, list) else "shared"
        bias = [] if raw_bias is None else self.vector(raw_bias, f"{path}.bias", n_out) \
            if bias_kind == "per_neuron" else [self.number(raw_bias, f"{path}.bias")]
        default_w = [[f"w{counts['w'] + j * width + i + 1}" for i in range(width)] for j in range(n_out)]
        weight_names = item.get("weight_names")
        if weight_names is None:
            weight_names = default_w
        elif not isinstance(weight_names, list) or len(weight_names) != n_out:
            self.fail(f"{path}.weight_names", f"{n_out} rows of names, the layout of weights", repr(weight_names))
        else:
            weight_names = [self.names(r, f"{path}.weight_names[{j}]", width, []) for j, r in enumerate(weight_names)]
        default_b = [f"b{counts['b'] + k + 1}" for k in range(len(bias))]   # bias parameters numbered in order
        bias_names = item.get("bias_names")
        bias_names = [bias_names] if isinstance(bias_names, str) else \
            self.names(bias_names, f"{path}.bias_names", len(bias), default_b)
        default_z = [f"z{counts['z'] + j + 1}" for j in range(n_out)]
        default_a = [f"yhat{j + 1}" for j in range(n_out)] if last else [f"a{counts['a'] + j + 1}" for j in range(n_out)]
        layer = SpecLayer(np.array(weights), np.array(bias), activation, weight_names, bias_names,
                          self.names(item.get("pre_activation_names"), f"{path}.pre_activation_names", n_out, default_z),
                          self.names(item.get("activation_names"), f"{path}.activation_names", n_out, default_a),
                          bias_kind)
        counts["w"] += n_out * width
        counts["z"] += n_out
        counts["a"] += 0 if last else n_out
        counts["b"] += len(bias)
        return layer

    def check_unique_names(self, spec: Spec) -> None:
        seen = set()
        for layer in spec.layers:
            for name in [n for row in layer.weight_names for n in row] + layer.bias_names + \
                    layer.pre_activation_names + layer.activation_names:
                if name in seen:
                    self.fail("names", "every name to be used once", f"{name!r} twice")
                seen.add(name)
        for name in spec.input_names + spec.target_names + [spec.loss_name]:
            if name in seen:
                self.fail("names", "every name to be used once", f"{name!r} twice")
            seen.add(name)

    def claims(self, raw) -> list[Claim]:
        if not isinstance(raw, dict):
            self.fail("claims", "a table/object of quantity name = printed number", repr(raw))
        claims = []
        for name, value in raw.items():
            claims.append(Claim(name, self.number(value, f"claims.{name}"), as_written(value)))
        return claims


def build_network(spec: Spec, fused: bool = True) -> tuple[Network, list[tuple[int, int | None]]]:
    """The engine's network for a spec, in float64, and for each spec layer the indices of its dense layer and of
    its activation layer (``None`` where the loss applies the output function itself). ``fused=False`` keeps the
    output activation a layer of its own even for softmax + cross-entropy, so its outputs can be inspected and
    replaced (the audit does this with an author's printed probabilities)."""
    layers, where = [], []
    width = len(spec.inputs)
    for number, spec_layer in enumerate(spec.layers):
        n_out = len(spec_layer.pre_activation_names)
        dense = Dense(width, n_out, bias=spec_layer.bias_kind, init="zeros")
        dense.params["weight"][:] = spec_layer.weights.T          # textbook (D_out, D_in) -> engine (D_in, D_out)
        if spec_layer.bias_kind != "none":
            dense.params["bias"][:] = spec_layer.bias
        layers.append(dense)
        if number < len(spec.layers) - 1:
            layers.append(ACTIVATIONS[spec_layer.activation]())
            where.append((len(layers) - 2, len(layers) - 1))
        width = n_out
    head, loss = output_head(spec.layers[-1].activation, spec.loss)
    if not fused and not head:
        head, loss = [ACTIVATIONS[spec.layers[-1].activation]()], ON_PROBABILITIES[spec.loss]()
    layers += head
    where.append((len(layers) - 1 - len(head), len(layers) - 1 if head else None))
    return Network(layers, loss), where
