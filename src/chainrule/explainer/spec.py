"""Spec files: a small network, one example, and optionally an author's printed numbers, as JSON or TOML.

A spec writes weights as textbook matrices, row j holding neuron j's incoming weights (``z = W x + b``); the engine
keeps ``W: (D_in, D_out)``, so ``build_network`` transposes here, at the edge. Numbers are read as decimals so
that a claim remembers how many places its author printed (``0.426`` was rounded to 3 places, ``0.5`` to one).

Input-major weights (``weight_layout = "input_major"``: ``z = x W``, one column per neuron, as frameworks write it)
are transposed to the textbook layout as they are read. A batch (``inputs`` a list of examples) keeps every
example in ``examples_x``/``examples_y``; ``inputs``/``targets`` then hold the first example, which fixes the widths.
A class index as a target (``targets = 2``, counted from 0) is the one-hot row of that class. Under
``loss = "output"`` (the output itself is the objective) a spec gives no targets; zeros of the outputs' width stand
in for them, so that the engine's pass takes its usual ``(N, K)`` targets, which that loss never reads.
"""

import json
import re
import sys
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np

from ..activations import ACTIVATIONS
from ..errors import ChainruleError
from ..schema import (MAX_DEPTH, AnyOf, Boolean, Choice, ListOf, MapOf, Number, Table, Text, describe, kind_of,
                      validate)
from ..textfiles import MiB, read_text
from ..layers import Dense
from ..losses import ON_PROBABILITIES, output_head
from ..network import Network
from .optimizer_spec import OPTIMIZER, OptimizerSettings, read_optimizer, state_name
from .printed_digits import as_text, as_written, last_digit_unit
from .step_names import canonical, split_step

LOSSES = ("cross_entropy", "binary_cross_entropy", "half_squared_error", "mean_squared_error", "sum_squared_error",
          "output")
NO_TARGETS = ("output",)      # losses that read no target: the objective is the network's output itself


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
    """A number an author printed for a quantity, kept as written: it was rounded to its last printed digit.

    One quantity printed several times (two cells, two precisions) is several claims of the same name, each with its
    own digits. ``asked_unit``, when set, is the unit of the last digit the number stands for in place of the one
    its text shows: a grader's (the digit the answer was asked to give), or the spec's declaration of the precision
    it was printed at (``printed_decimals``/``printed_significant``, kept in ``printed_at``), for a printer that
    drops trailing zeros (NumPy prints 1.0 as ``1.`` under 8 decimals: its last digit is worth 1e-8, not 1)."""
    name: str
    value: float
    written: Decimal               # the digits as printed (``printed_digits``)
    asked_unit: Decimal | None = None   # the last digit's unit, asked for or declared, in place of the text's own
    printed_at: tuple[str, int] | None = None   # as declared: ("decimals", 8) or ("significant", 8)

    @property
    def unit(self) -> float:
        """What one unit of the last printed digit is worth (or of the digit asked for or declared, when set)."""
        return float(self.asked_unit) if self.asked_unit is not None else last_digit_unit(self.written)

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
    claims_source: str = "author"
    title: str = ""
    notes: list[str] = field(default_factory=list)
    superscript: list[str] = field(default_factory=list)   # name families written z^(1) rather than z_1
    source: str = "spec"           # the file (or "spec") named in messages
    examples_x: np.ndarray | None = None   # (N, D) every example of a batch; None for one example
    examples_y: np.ndarray | None = None   # (N, K)
    reduction: str = "mean"        # the batch loss: the mean of the examples' losses, or their "sum"
    weight_layout: str = "neuron_major"   # as the spec wrote its matrices (they are kept textbook-style here)
    rounding: str = "round"        # how the claims' printed digits were cut: "round" or "truncate"
    carries_rounded: int | None = None   # the author rounds every intermediate to this many places and computes on
    error_sign: str = "gradient"   # "negative": the author's error terms are δ = −∂L/∂z (error t − y)
    optimizer: OptimizerSettings = field(default_factory=OptimizerSettings)   # the update rule of every step
    citation: str = ""             # where the example comes from (the spec's ``source``: a URL or a citation)
    input_gradients: bool = False  # show dL/dx1, ... (also shown when one is claimed: see shows_input_gradients)

    @property
    def batch_size(self) -> int:
        """How many examples the step is over; 0 for a spec of one example (no per-example names)."""
        return 0 if self.examples_x is None else len(self.examples_x)

    @property
    def X(self) -> np.ndarray:
        """The examples as a batch: (N, D)."""
        return self.inputs[None, :] if self.examples_x is None else self.examples_x

    @property
    def Y(self) -> np.ndarray:
        """The targets as a batch: (N, K)."""
        return self.targets[None, :] if self.examples_y is None else self.examples_y

    @property
    def loss_scale(self) -> float:
        """The engine's loss is the mean over the batch; a summed loss is that mean times N."""
        return float(self.batch_size) if self.reduction == "sum" and self.batch_size else 1.0


def example_name(name: str, n: int) -> str:
    """A per-example quantity's name in a batch: ``z1`` of example 2 is ``z1[2]`` (examples counted from 1)."""
    return f"{name}[{n}]"


NAME = Text(max_length=40, pattern=r"[A-Za-z][A-Za-z0-9_]*",
            grammar="a name: a letter, then letters, digits or _ (at most 40 characters)")
RESERVED_NAMES = ("eta",)      # written by chainrule itself: the learning rate in every update formula
NUMBER = Number()
NUMBERS = ListOf(NUMBER)
NAMED_NUMBERS = AnyOf(NUMBERS, MapOf(NAME, NUMBER), what="a list of numbers or a table of name = number")
MAX_EXAMPLES = 64
EXAMPLES = ListOf(NAMED_NUMBERS, max_items=MAX_EXAMPLES,
                  what="a list of examples, each a list of numbers or a table of name = number")
CLASS_INDEX = Number(low=0, high=1_000_000, integer=True, expected="a class index (0 for the first output)")
TARGET = AnyOf(CLASS_INDEX, NUMBERS, MapOf(NAME, NUMBER),
               what="a list of numbers, a table of name = number, or a class index")
NAMES = ListOf(NAME)
LAYER = Table({
    "weights": ListOf(NUMBERS, what="a matrix: a list of rows of numbers, one row per neuron"),
    "bias": AnyOf(NUMBER, NUMBERS, what="a number (one bias shared by the layer) or a list, one per neuron"),
    "activation": Choice(ACTIVATIONS),
    "weight_names": ListOf(NAMES, what="a matrix of names in the layout of weights"),
    "bias_names": AnyOf(NAME, NAMES, what="a name or a list of names, one per bias"),
    "pre_activation_names": NAMES,
    "activation_names": NAMES,
}, required=("weights", "activation"), what="a table with weights, bias, activation")
PRINTED_DECIMALS = Number(low=0, high=30, integer=True,
                          expected="a number of decimal places from 0 to 30 (the precision the numbers were printed "
                                   "at, trailing zeros dropped)")
PRINTED_SIGNIFICANT = Number(low=1, high=17, integer=True,
                             expected="a number of significant digits from 1 to 17 (the precision the numbers were "
                                      "printed at, trailing zeros dropped)")
MAX_PRINTINGS = 8               # printings of one quantity a claim may list
PRINTINGS = ListOf(NUMBER, max_items=MAX_PRINTINGS,
                   what=f"a list of printed numbers of one quantity (at most {MAX_PRINTINGS})")
CLAIM = AnyOf(NUMBER, PRINTINGS, Table({"value": NUMBER, "values": PRINTINGS, "printed_decimals": PRINTED_DECIMALS,
                                        "printed_significant": PRINTED_SIGNIFICANT}),
              what="a printed number, a list of printings of it, or a table such as { value = -1.0, "
                   "printed_decimals = 8 }")
CLAIM_NAME = Text(max_length=90, pattern=r"[A-Za-z0-9_/'+]+(\[[0-9]{1,3}\])?(@[0-9]{1,4})?",
                  grammar="a quantity name such as z1, dL/dw5, w5+, z1[2] (example 2 of a batch) or w5+@2 (w5 "
                          "as step 2 left it)")
SPEC = Table({
    "title": Text(max_length=300),
    "inputs": AnyOf(NUMBERS, MapOf(NAME, NUMBER), EXAMPLES,
                    what="a list of numbers, a table of name = number, or a list of examples (a batch)"),
    "targets": AnyOf(CLASS_INDEX, NUMBERS, MapOf(NAME, NUMBER), ListOf(TARGET, max_items=MAX_EXAMPLES),
                     what="a list of numbers, a table of name = number, a class index, or one of these per "
                          "example (a batch)"),
    "reduction": Choice(("mean", "sum")),
    "weight_layout": Choice(("neuron_major", "input_major")),
    "rounding": Choice(("round", "truncate")),
    "error_sign": Choice(("gradient", "negative")),
    "carries_rounded": Number(low=0, high=12, integer=True,
                              expected="a number of decimal places from 0 to 12 (the author rounds every "
                                       "intermediate to it and computes on)"),
    "layers": ListOf(LAYER, max_items=32, what="a non-empty list of layers"),
    "loss": Choice(LOSSES),
    "loss_name": NAME,
    "learning_rate": Number(low=0, high=1e6, open_low=True, expected="a positive learning rate of at most 1e6"),
    "update_order": Choice(("simultaneous", "sequential")),
    "optimizer": OPTIMIZER,
    "update_biases": Boolean(),
    "claims": MapOf(CLAIM_NAME, CLAIM, min_items=0, what="a table of quantity name = printed number"),
    "printed_decimals": PRINTED_DECIMALS,
    "printed_significant": PRINTED_SIGNIFICANT,
    "source": Text(max_length=1000, min_length=1, pattern=r"[^\x00-\x1f\x7f-\x9f\u2028\u2029]+",
                   grammar="a URL or a citation: one line of text without control characters"),
    "target_names": NAMES,
    "input_gradients": Boolean(),
    "claims_source": Text(max_length=40, pattern=r"[A-Za-z][A-Za-z '-]*",
                          grammar="a word or two for who printed the claims, such as author, article or student"),
    "notes": ListOf(Text(max_length=2000), min_items=0, max_items=50),
    "notation": Table({"superscript": ListOf(Text(max_length=20, pattern=r"[A-Za-z]+",
                                                  grammar="a name family (letters only), such as z"), min_items=0)}),
}, required=("inputs", "layers", "loss"), what="a table/object with inputs, targets, layers, loss")
MAX_SPEC_BYTES = 4 * MiB
MAX_PRINTED_EXPONENT = 330      # a claim's last printed digit: 1e-330 is below every float, 1e330 above


def load_spec(path) -> Spec:
    """Read a JSON (``.json``) or TOML (``.toml``) spec; every problem names the file and the field."""
    path = Path(path)
    text = read_text(path, "spec file", MAX_SPEC_BYTES)
    kind = "TOML" if path.suffix.lower() == ".toml" else "JSON"
    try:
        if kind == "TOML":
            raw = tomllib.loads(text, parse_float=Decimal)
        else:
            raw = json.loads(text, parse_float=Decimal, parse_int=Decimal, object_pairs_hook=unique_keys)
    except DuplicateKey as exc:
        raise ChainruleError(f"{path}: {exc.args[0]}: expected each key once in a table, found it twice "
                             f"(JSON keeps only the last, silently)") from None
    except ValueError as exc:
        if kind == "TOML" and not isinstance(exc, tomllib.TOMLDecodeError):    # Python's limit on int digits
            limit = sys.get_int_max_str_digits()
            long = re.search(r"\d{%d}" % limit, text)
            line = f" on line {text.count(chr(10), 0, long.start()) + 1}" if long else ""
            raise ChainruleError(f"{path}: expected numbers of at most {limit} digits, found a longer whole "
                                 f"number{line}") from None
        raise ChainruleError(f"{path}: not valid {kind} ({exc})") from None
    except RecursionError:
        raise ChainruleError(f"{path}: expected lists and tables nested at most {MAX_DEPTH} deep, found "
                             f"far deeper nesting") from None
    return parse_spec(raw, str(path))


class DuplicateKey(Exception):
    pass


def unique_keys(pairs):
    table = {}
    for key, value in pairs:
        if key in table:
            raise DuplicateKey(key)
        table[key] = value
    return table


def parse_spec(raw, source: str = "spec") -> Spec:
    """A spec from a parsed document: the whole document is checked against ``SPEC`` before any field is used."""
    validate(SPEC, raw, source)
    spec = _Reader(source).spec(raw)
    spec.source = source
    return spec


class _Reader:
    """Builds a ``Spec`` from a document that passed ``SPEC``: what is left to check here is what one field says
    about another (row lengths, one target per output, every name used once)."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, path: str, expected: str, found) -> None:
        raise ChainruleError(f"{self.source}: {path}: expected {expected}, found {found}")

    def number(self, value, path: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
            self.fail(path, "a number", describe(value))
        number = float(value)
        if not np.isfinite(number):
            self.fail(path, "a finite number", describe(value))
        return number

    def named_values(self, value, path: str, prefix: str) -> tuple[list[str], list[float]]:
        """``{"x1": 1, ...}`` or ``[1, ...]`` (named ``prefix1, prefix2, ...``)."""
        if isinstance(value, dict):
            return list(value), [float(v) for v in value.values()]
        return [f"{prefix}{i + 1}" for i in range(len(value))], [float(v) for v in value]

    def names(self, value, path: str, length: int, default: list[str]) -> list[str]:
        if value is None:
            return default
        if len(value) != length:
            self.fail(path, f"a list of {length} names", f"{len(value)} names")
        return list(value)

    def spec(self, raw) -> Spec:
        batch = isinstance(raw["inputs"], list) and bool(raw["inputs"]) and not isinstance(raw["inputs"][0],
                                                                                          (int, float, Decimal))
        examples = raw["inputs"] if batch else [raw["inputs"]]
        input_names, first = self.named_values(examples[0], "inputs[0]" if batch else "inputs", "x")
        rows = [first] + [self.example(item, f"inputs[{n}]", input_names, "x") for n, item in
                          enumerate(examples[1:], 1)]
        self.layout = raw.get("weight_layout", "neuron_major")
        layers = self.layers(raw["layers"], len(first))
        width = len(layers[-1].pre_activation_names)
        loss = raw["loss"]
        output_head(layers[-1].activation, loss)   # rejects a pairing the engine does not offer
        target_names, targets = self.targets(raw, batch, len(examples), width, loss, layers[-1].activation)
        if "reduction" in raw and not batch:
            self.fail("reduction", "inputs given as a list of examples (a batch) for a reduction to apply",
                      "one example")
        spec = Spec(input_names, np.array(first), target_names, np.array(targets[0]), layers, loss,
                    raw.get("loss_name", "L"),
                    float(raw.get("learning_rate", Decimal("0.1"))), raw.get("update_biases", True),
                    raw.get("update_order", "simultaneous"), title=raw.get("title", ""),
                    claims_source=raw.get("claims_source", "author"), notes=list(raw.get("notes", [])),
                    superscript=list(raw.get("notation", {}).get("superscript", [])),
                    reduction=raw.get("reduction", "mean"), weight_layout=self.layout,
                    rounding=raw.get("rounding", "round"),
                    carries_rounded=int(raw["carries_rounded"]) if "carries_rounded" in raw else None)
        if batch:
            spec.examples_x, spec.examples_y = np.array(rows, dtype=float), np.array(targets, dtype=float)
        spec.citation, spec.input_gradients = raw.get("source", ""), raw.get("input_gradients", False)
        self.printed_at = self.precision(raw, "")
        self.check_unique_names(spec)
        self.check_superscript(spec)
        spec.error_sign = raw.get("error_sign", "gradient")
        self.optimizer(raw.get("optimizer"), spec)
        spec.claims = self.claims(raw.get("claims", {}), spec)
        return spec

    def targets(self, raw, batch: bool, count: int, width: int, loss: str, output: str):
        """The targets, one row per example, and their names: ``target_names`` when given, else a table's own or
        y1..yK (t1..tK for the half squared error). A loss that is the output itself takes no targets (one given is
        refused, not ignored: it would say the author compared the outputs with something): zeros stand in."""
        if loss in NO_TARGETS:
            for key in ("targets", "target_names"):
                if key in raw:
                    self.fail(key, f'no {key} with loss = "{loss}" (the objective is the network\'s output itself, '
                              "which no target enters)", describe(raw[key]))
            return [], [[0.0] * width for _ in range(count)]
        if "targets" not in raw:
            self.fail("targets", f'this field to be present (loss = "{loss}" compares the outputs with targets; '
                      'only loss = "output" takes none)', "nothing")
        raw_targets = raw["targets"]
        if batch:
            if not isinstance(raw_targets, list) or len(raw_targets) != count:
                self.fail("targets", f"a list of {count} targets, one per example of inputs", describe(raw_targets))
            per_example = [(item, f"targets[{n}]") for n, item in enumerate(raw_targets)]
        else:
            per_example = [(raw_targets, "targets")]
        prefix = "t" if loss == "half_squared_error" else "y"
        target_names, targets = None, []
        for item, path in per_example:
            names, values = self.target(item, path, width, prefix, loss, output)
            if target_names is not None and names != target_names:
                self.fail(path, f"the target names of the first example ({', '.join(target_names)})",
                          ", ".join(names))
            target_names = names
            targets.append(values)
        given = raw.get("target_names")
        if given is None:
            return target_names, targets
        if len(given) != width:
            self.fail("target_names", f"{width} names, one per output neuron", f"{len(given)} names")
        if isinstance(per_example[0][0], dict) and list(given) != target_names:
            self.fail("target_names", f"the names the targets table gives ({', '.join(target_names)}), or no "
                      "target_names", ", ".join(given))
        return list(given), targets

    def example(self, item, path: str, names: list[str], prefix: str) -> list[float]:
        """One more example of a batch: the same names (or as many numbers) as the first."""
        own, values = self.named_values(item, path, prefix)
        if isinstance(item, dict) and own != names:
            self.fail(path, f"the names of the first example ({', '.join(names)})", ", ".join(own))
        if len(values) != len(names):
            self.fail(path, f"{len(names)} values, as the first example", len(values))
        return values

    def target(self, item, path, width, prefix, loss, output) -> tuple[list[str], list[float]]:
        """A target vector, or a class index read as the one-hot row of that class (softmax outputs)."""
        if isinstance(item, (int, Decimal)) and not isinstance(item, bool):
            if loss != "cross_entropy" or output != "softmax" or width < 2:
                self.fail(path, "a list of target values (a class index is for a softmax output with "
                          "cross_entropy)", describe(item))
            if not 0 <= int(item) < width:
                self.fail(path, f"a class index from 0 to {width - 1}", describe(item))
            return [f"{prefix}{k + 1}" for k in range(width)], [float(k == int(item)) for k in range(width)]
        if not isinstance(item, (list, dict)):
            self.fail(path, "a list of numbers, a table of name = number or a class index", describe(item))
        nested = next((k for k, v in enumerate(item) if isinstance(v, (list, dict))), None) \
            if isinstance(item, list) else None
        if nested is not None:     # the schema lets a list of targets through: a batch's, one per example
            self.fail(f"{path}[{nested}]", "a number (inputs hold one example, so targets is one list of numbers; "
                      "a list of targets goes with a list of examples in inputs)", kind_of(item[nested]))
        names, values = self.named_values(item, path, prefix)
        if len(values) != width:
            self.fail(path, f"{width} values, one per output neuron", len(values))
        return names, values

    def layers(self, raw, in_width: int) -> list[SpecLayer]:
        layers, width, counts = [], in_width, {"w": 0, "z": 0, "a": 0, "b": 0}
        for index, item in enumerate(raw):
            layer = self.layer(item, f"layers[{index}]", width, counts, last=index == len(raw) - 1)
            layers.append(layer)
            width = len(layer.pre_activation_names)
        return layers

    def layer(self, item, path, width, counts, last) -> SpecLayer:
        rows = item["weights"]
        if self.layout == "input_major":     # z = x W: row i holds input i's weights, one column per neuron
            if len(rows) != width:
                self.fail(f"{path}.weights", f"{width} rows, one per input of this layer (weight_layout = "
                          f'"input_major")', f"{len(rows)}")
            columns = len(rows[0])
            for i, row in enumerate(rows):
                if len(row) != columns:
                    self.fail(f"{path}.weights[{i}]", f"{columns} columns, one per neuron, as row 0", f"{len(row)}")
            rows = [[row[j] for row in rows] for j in range(columns)]
            names = item.get("weight_names")
            if names is not None:
                if len(names) != width or any(len(r) != columns for r in names):
                    self.fail(f"{path}.weight_names", f"a {width} × {columns} matrix of names, the layout of weights",
                              f"{len(names)} rows")
                item = {**item, "weight_names": [[r[j] for r in names] for j in range(columns)]}
        for j, row in enumerate(rows):
            if len(row) != width:
                self.fail(f"{path}.weights[{j}]", f"{width} columns, one per input of this layer", f"{len(row)}")
        weights = [[float(v) for v in row] for row in rows]
        n_out = len(weights)
        activation = item["activation"]
        raw_bias = item.get("bias")
        bias_kind = "none" if raw_bias is None else "per_neuron" if isinstance(raw_bias, list) else "shared"
        if bias_kind == "per_neuron" and len(raw_bias) != n_out:
            self.fail(f"{path}.bias", f"{n_out} numbers, one per neuron (or one number shared by the layer)",
                      f"{len(raw_bias)}")
        bias = [] if raw_bias is None else [float(v) for v in raw_bias] if bias_kind == "per_neuron" \
            else [float(raw_bias)]
        default_w = [[f"w{counts['w'] + j * width + i + 1}" for i in range(width)] for j in range(n_out)]
        weight_names = item.get("weight_names")
        if weight_names is None:
            weight_names = default_w
        elif len(weight_names) != n_out:
            self.fail(f"{path}.weight_names", f"{n_out} rows of names, the layout of weights",
                      f"{len(weight_names)} rows")
        else:
            weight_names = [self.names(r, f"{path}.weight_names[{j}]", width, []) for j, r in enumerate(weight_names)]
        default_b = [f"b{counts['b'] + k + 1}" for k in range(len(bias))]   # bias parameters numbered in order
        bias_names = item.get("bias_names")
        if isinstance(bias_names, str):
            if len(bias) != 1:
                what = "no bias" if not bias else f"{len(bias)} biases, one per neuron"
                self.fail(f"{path}.bias_names", f"a list of {len(bias)} names (the layer has {what})",
                          describe(bias_names))
            bias_names = [bias_names]
        bias_names = self.names(bias_names, f"{path}.bias_names", len(bias), default_b)
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

    def optimizer(self, raw, spec: Spec) -> None:
        """The update rule, its settings and starting state; its settings' names (``mu``, ``beta1``, ...) and its
        state's (``v_w5``) are then chainrule's, as ``eta`` is."""
        parameters = parameter_names(spec)
        frozen = () if spec.update_biases else [b for layer in spec.layers for b in layer.bias_names]
        spec.optimizer = read_optimizer(raw, parameters, self.fail, frozen)
        if spec.optimizer.name != "gradient_descent" and spec.update_order == "sequential":
            self.fail("update_order", f'"simultaneous" with optimizer {spec.optimizer.name} (a sequential update is '
                      "plain gradient descent's, layer by layer)", '"sequential"')
        taken = set(spec.optimizer.settings) | ({"t"} if spec.optimizer.name == "adam" else set())
        taken |= {state_name(letter, p) for letter in spec.optimizer.letters for p in parameters}
        clash = next((n for n in names_of(spec) if n in taken), None)
        if clash is not None:
            self.fail("names", f"names other than those chainrule gives the optimizer's settings and state "
                      f"({', '.join(sorted(spec.optimizer.settings) or ['t'])}, {state_name(spec.optimizer.letters[0], parameters[0])}, ...)",
                      f'"{clash}"')

    def check_superscript(self, spec: Spec) -> None:
        """``notation.superscript`` names families of indexed names (``z`` for z1, z2, ...) that the spec has."""
        names = [n for layer in spec.layers for n in [w for row in layer.weight_names for w in row] +
                 layer.bias_names + layer.pre_activation_names + layer.activation_names] + spec.input_names
        families = {m[1] for m in (re.fullmatch(r"([A-Za-z]+?)_?(\d+)", n) for n in names) if m}
        for k, family in enumerate(spec.superscript):
            if family not in families:
                self.fail(f"notation.superscript[{k}]", f"a family of this spec's indexed names "
                          f"({', '.join(sorted(families)) or 'none'})", f'"{family}"')

    def check_unique_names(self, spec: Spec) -> None:
        seen = set(RESERVED_NAMES)
        derived = derived_names(spec)
        for name in names_of(spec):
            if name in RESERVED_NAMES:
                self.fail("names", f"names other than {', '.join(RESERVED_NAMES)} (chainrule writes the "
                          "learning rate as eta)", f'"{name}"')
            if "_via_" in name:
                self.fail("names", 'names without "_via_" (chainrule writes the error reaching a1 through z3 as '
                          "dL/da1_via_z3)", f'"{name}"')
            if name.startswith("exp_"):
                self.fail("names", 'names that do not start with "exp_" (chainrule writes exp_z3, a softmax\'s '
                          "e^z, as e^z₃)", f'"{name}"')
            if name in derived:
                self.fail("names", f"names other than those chainrule gives the intermediates it shows when "
                          f"claimed (e^z: exp_z3, the softmax's sum_exp, Delta_w5, each output's share "
                          f"{spec.loss_name}_yhat1)", f'"{name}"')
            if name in seen:
                self.fail("names", "every name to be used once", f'"{name}" twice')
            seen.add(name)

    def claims(self, raw, spec: Spec) -> list[Claim]:
        """The printed numbers; under ``error_sign = "negative"`` an error term the author printed (δ = −∂L/∂z, the
        error t − y) is turned into chainrule's ∂L/∂z here, at the edge, digits and all."""
        claims = []
        neurons = {n for layer in spec.layers for n in layer.pre_activation_names + layer.activation_names}
        neurons |= set(spec.input_names)      # dL/dx1: the error carried back to an input
        for name, value in raw.items():
            for written, printed_at in self.printings(value, f"claims.{name}"):
                unit = printed_unit(written, printed_at)
                if spec.error_sign == "negative" and is_error_term(name.split("@")[0], spec.loss_name, neurons):
                    written = written.copy_negate()
                claims.append(Claim(name, self.number(written, f"claims.{name}"), written, unit, printed_at))
        return claims

    def precision(self, table, path: str) -> tuple[str, int] | None:
        """A declared printing precision, ``printed_decimals = N`` or ``printed_significant = N`` (one, not both)."""
        given = [key for key in ("printed_decimals", "printed_significant") if key in table]
        if len(given) > 1:
            where = f"{path}." if path else ""
            self.fail(f"{where}printed_significant", "either printed_decimals or printed_significant, not both "
                      "(the numbers were printed at one precision)", f"printed_decimals = "
                      f"{describe(table['printed_decimals'])} as well")
        return (given[0].removeprefix("printed_"), int(table[given[0]])) if given else None

    def printings(self, value, path: str) -> list[tuple[Decimal, tuple[str, int] | None]]:
        """Each printing of one quantity, as written, with the precision it was declared printed at (the claim's
        own, else the spec's): a number, a list of numbers, or a table with ``value`` or ``values`` and optionally
        ``printed_decimals`` or ``printed_significant``."""
        printed_at = getattr(self, "printed_at", None)
        if isinstance(value, dict):
            if ("value" in value) == ("values" in value):
                self.fail(path, "a table with value (one printing) or values (a list of printings)",
                          "both" if "value" in value else describe(value))
            printed_at = self.precision(value, path) or printed_at
            value = value.get("values", [value.get("value")])
        numbers = value if isinstance(value, list) else [value]
        result = []
        for k, number in enumerate(numbers):
            where = f"{path}[{k}]" if isinstance(value, list) and len(numbers) > 1 else path
            written = self.printed(as_written(number), where)
            if printed_at is not None and written.is_finite():
                check_printed_at(written, printed_at, lambda expected, found: self.fail(where, expected, found))
            result.append((written, printed_at))
        return result

    def printed(self, written: Decimal, path: str) -> Decimal:
        """A claim's printed digits, checked to lie within 10^±``MAX_PRINTED_EXPONENT``: the unit of the last digit
        is what the audit compares within, and for ``0e-999999999`` or ``1e999999999`` no float or decimal context
        holds it. (NaN and infinities are left to ``number``, which names them.)"""
        if not written.is_finite():
            return written
        exponent = written.as_tuple().exponent
        top = written.adjusted() if written else exponent
        if -MAX_PRINTED_EXPONENT <= exponent and top <= MAX_PRINTED_EXPONENT:
            return written
        text = str(written)
        self.fail(path, f"a number printed within 10^-{MAX_PRINTED_EXPONENT} to 10^{MAX_PRINTED_EXPONENT}",
                  text if len(text) <= 40 else text[:20] + "..." + text[-12:])


def printed_unit(written: Decimal, printed_at: tuple[str, int] | None) -> Decimal | None:
    """The unit of the last digit a number printed at ``printed_at`` stands for (None: the text's own): 10^-N for N
    decimals; for N significant digits, 10^(e - N + 1) where 10^e is the number's leading digit (a printed 0 is 0
    itself, unit 0: a printer of significant digits writes 0 for nothing else)."""
    if printed_at is None or not written.is_finite():
        return None
    kind, digits = printed_at
    if kind == "decimals":
        return Decimal(1).scaleb(-digits)
    return Decimal(1).scaleb(written.adjusted() - digits + 1) if written else Decimal(0)


def check_printed_at(written: Decimal, printed_at: tuple[str, int], fail) -> None:
    """A number declared printed at ``printed_at`` cannot show more digits than that precision gives."""
    kind, digits = printed_at
    shown = -written.as_tuple().exponent if kind == "decimals" else len(written.normalize().as_tuple().digits)
    if shown > digits and written:
        fail(f"a number of at most {digits} {'decimal places' if kind == 'decimals' else 'significant digits'} "
             f"(printed_{kind} = {digits})", f"{as_text(written)}, with {shown}")


def parameter_names(spec: Spec) -> list[str]:
    """Every parameter's name, layer by layer: its weights row by row, then its biases."""
    return [p for layer in spec.layers for p in [w for row in layer.weight_names for w in row] + layer.bias_names]


def claim_key(spec: Spec, name: str) -> str:
    """The name a claim's quantity has in the derivation (``step_names.canonical``): ``w5+`` is ``w5'``, ``w5@3`` is
    ``w5'@2``, and an input or target is the same in every step (``x1@2`` is ``x1``)."""
    base, step = split_step(name)
    if step >= 2 and base.split("[")[0] in set(spec.input_names + spec.target_names):
        return base
    return canonical(name, set(parameter_names(spec)))


def names_of(spec: Spec) -> list[str]:
    """Every name the spec gives: parameters, neurons, inputs, targets and the loss."""
    return [n for layer in spec.layers for n in [w for row in layer.weight_names for w in row] + layer.bias_names +
            layer.pre_activation_names + layer.activation_names] + spec.input_names + spec.target_names + \
        [spec.loss_name]


def derived_names(spec: Spec) -> set[str]:
    """The plain names (no ``/``) chainrule gives intermediates shown when claimed: a softmax output's ``exp_z3``
    and ``sum_exp``, each parameter's change ``Delta_w5``, each output's share of the loss ``L_yhat1``."""
    last = spec.layers[-1]
    names = {f"{spec.loss_name}_{o}" for o in last.activation_names}
    names |= {f"Delta_{p}" for layer in spec.layers for p in [w for row in layer.weight_names for w in row] +
              layer.bias_names}
    if last.activation == "softmax":
        names |= {f"exp_{z}" for z in last.pre_activation_names} | {"sum_exp"}
    return names


def claims_connections(spec: Spec) -> bool:
    """Whether the spec claims an error per connection (``dL/da1_via_z3``): only then do its passes record them."""
    return any("_via_" in claim.name for claim in spec.claims)


def input_gradient_names(spec: Spec) -> list[str]:
    """The gradients of the loss at the inputs, ``dL/dx1``, ... (an example's carry ``[n]`` after them)."""
    return [f"d{spec.loss_name}/d{x}" for x in spec.input_names]


def shows_input_gradients(spec: Spec) -> bool:
    """Whether the step shows dL/dx1, ...: when the spec asks (``input_gradients``) or claims one (of any example,
    or through one connection, ``dL/dx1_via_z1``). Only then does the first layer carry the error to the inputs."""
    wanted = set(input_gradient_names(spec))
    return spec.input_gradients or any(re.split(r"\[|@|_via_", c.name)[0] in wanted for c in spec.claims)


def as_printed(spec: Spec, claim: Claim) -> Decimal:
    """A claim's digits in its author's sign: under ``error_sign = "negative"`` an error term was read as −δ, and is
    written back as the author printed it (so that a spec written out reads back to the same claims)."""
    neurons = {n for layer in spec.layers for n in layer.pre_activation_names + layer.activation_names}
    neurons |= set(spec.input_names)
    if spec.error_sign == "negative" and is_error_term(claim.name.split("@")[0], spec.loss_name, neurons):
        return claim.written.copy_negate()
    return claim.written


def is_error_term(name: str, loss_name: str, neurons) -> bool:
    """``dL/dz3``, ``dL/da1``, ``dL/dyhat1`` (of any example): the gradient at a neuron, an author's error term; and
    the share of one reaching a neuron through one connection, ``dL/da1_via_z3``."""
    prefix = f"d{loss_name}/d"
    return name.startswith(prefix) and name[len(prefix):].split("[")[0].split("_via_")[0] in neurons


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
    network = Network(layers, loss)
    layers[0].needs_input_grad = shows_input_gradients(spec)    # the engine skips dL/dx unless it is shown
    return network, where
