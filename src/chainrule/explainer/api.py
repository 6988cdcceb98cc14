"""``cr.explain(...)``: the explanation as a Python object that notebooks display.

An ``Explanation`` holds a spec and which step to show; it runs the real step once (``derive``), on first use, and
hands the recorded ``Derivation`` to the same pure renderers the command line uses. Nothing here computes a number of
the network: it chooses the spec, reads the derivation and arranges output.
"""

import json
import re
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from functools import cached_property
from pathlib import Path

import numpy as np

from ..errors import ChainruleError
from .derivation import Derivation
from .pipeline import derive
from .stepping import step_count
from .render import describe_network
from .printed_digits import as_text
from .spec import NO_TARGETS, Spec, as_printed, load_spec, parse_spec

#: file suffix -> renderer name, for ``Explanation.save``
SUFFIXES = {".txt": "text", ".md": "markdown", ".tex": "latex", ".html": "html", ".htm": "html", ".json": "json"}


def explain(source=None, x=None, y=None, *, lr: float | None = None, steps: int = 1, show_step: int | None = None,
            claims=None, index: int = 0, title: str | None = None, input_gradients: bool = False) -> "Explanation":
    """Explain one gradient-descent step, every number shown.

    **Arguments**
    - ``source``: a spec (a ``cr.explainer.Spec``, a dict in the spec file's form, or a ``.json``/``.toml`` path), a
      shipped example's name (``"seed_article"``, the default), or a chainrule network with softmax outputs.
    - ``x``, ``y``: with a network, the example: ``x: (D,)`` and ``y`` its class (an index or a one-hot row; default:
      the class the network predicts); or a few rows ``x: (N, D)``, ``y: (N,)``, with ``index`` choosing the row.
      The inputs are standardised as in training.
    - ``lr``: the learning rate (default: the spec's; 0.1 for a network).
    - ``steps``: how many updates to run (the losses of all are kept); ``show_step``: which to derive (default 1).
    - ``claims``: an author's printed numbers to audit, ``{"z1": 0.43, ...}`` (replacing the spec's own); a value
      given as a string keeps its printed places (``"0.500"``).
    - ``input_gradients``: also show the error carried back to the inputs, ``dL/dx1``, ... (as the spec's own
      ``input_gradients = true`` does; a claimed one is shown without it).

    **Returns** an ``Explanation``.
    """
    if not isinstance(input_gradients, bool):
        raise ChainruleError(f"input_gradients: expected True or False, found {input_gradients!r:.60}")
    spec = resolve_spec(source, x, y, lr=lr, index=index, title=title)
    if claims is not None:
        spec = with_claims(spec, claims)
    if input_gradients:
        spec = replace(spec, input_gradients=True)
    return Explanation(spec, lr, steps=steps, show_step=1 if show_step is None else show_step)


def resolve_spec(source, x=None, y=None, *, lr=None, index: int = 0, title: str | None = None) -> Spec:
    """The spec that ``source`` names (see ``explain``)."""
    from ..network import Network
    from .shipped import example_path, examples

    if isinstance(source, Network):
        return _spec_for_network(source, x, y, lr, index, title)
    if x is not None or y is not None:
        raise ChainruleError("explain: x and y go with a network; a spec carries its own example")
    if source is None:
        source = "seed_article"
    if isinstance(source, Spec):
        return source
    if isinstance(source, dict):
        return parse_spec(_decimals(source), "spec")
    if isinstance(source, str) and source in examples():
        return load_spec(example_path(source))
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise ChainruleError(f"explain: {source!r} is neither a shipped example ({', '.join(examples())}) nor "
                                 "a spec file that exists")
        return load_spec(path)
    raise ChainruleError(f"explain: expected a spec, a spec file, an example name or a network, found "
                         f"{type(source).__name__}")


def _spec_for_network(network, x, y, lr, index, title) -> Spec:
    from .from_model import spec_from_network

    if x is None:
        raise ChainruleError("explain: give the example to explain as x (with a network)")
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 2:                       # rows: y, when given, is per row too ((N,) labels or (N, K) one-hot)
        if not 0 <= index < len(x):
            raise ChainruleError(f"explain: index: expected 0..{len(x) - 1}, found {index}")
        if y is not None:
            if np.ndim(y) == 0 or len(y) != len(x):
                raise ChainruleError(f"explain: y: expected one label per row of x ({len(x)}), found {np.shape(y)}")
            y = np.asarray(y)[index]
        x = x[index]
    if x.ndim != 1:
        raise ChainruleError(f"explain: x: expected one example (D,) or rows (N, D), found shape {x.shape}")
    if y is None:
        label = int(network.predict(x[None, :])[0])
    elif np.ndim(y) == 1:
        label = int(np.argmax(y))            # a one-hot row
    else:
        label = int(y)
    return spec_from_network(network, x, label, 0.1 if lr is None else lr, title or "a network's prediction")


def _decimals(raw):
    """Floats as Decimals, the form the spec reader keeps printed places in (a float's shortest repr is exact)."""
    if isinstance(raw, dict):
        return {k: _decimals(v) for k, v in raw.items()}
    if isinstance(raw, list):
        return [_decimals(v) for v in raw]
    if isinstance(raw, float) and np.isfinite(raw):
        return Decimal(repr(raw))
    return raw


def with_claims(spec: Spec, claims) -> Spec:
    """A copy of ``spec`` whose claims are ``claims`` (a mapping name -> number, or ``"name = number"`` lines)."""
    if isinstance(claims, str):
        claims = claims_from_text(claims)
    if not isinstance(claims, dict):
        raise ChainruleError(f"claims: expected a mapping of quantity name to printed number, found "
                             f"{type(claims).__name__}")
    raw = spec_to_raw(spec)
    raw["claims"] = {}
    for name, value in claims.items():
        if isinstance(value, str):
            try:
                value = Decimal(value.strip())
            except InvalidOperation:
                raise ChainruleError(f"claims.{name}: expected a number, found {value!r}") from None
        raw["claims"][name] = value
    return parse_spec(_decimals(raw), "spec")


_CLAIM_LINE = re.compile(r"^\s*([^\s=:]+)\s*[=:]\s*(\S+)\s*$")


def claims_from_text(text: str) -> dict[str, Decimal | list[Decimal]]:
    """``name = number`` (or ``name: number``) per line; blank lines and ``#`` comments are skipped. The numbers
    keep their printed places; a name on several lines is one quantity printed several times (a list)."""
    claims = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0]
        if not line.strip():
            continue
        match = _CLAIM_LINE.match(line)
        if not match:
            raise ChainruleError(f"claims: line {number}: expected 'name = number', found {line.strip()!r}")
        name, value = match.groups()
        try:
            parsed = Decimal(value)
        except InvalidOperation:
            parsed = None
        if parsed is None or not parsed.is_finite():
            raise ChainruleError(f"claims: line {number}: expected a number for {name}, found {value!r}")
        if name in claims:
            claims[name] = (claims[name] if isinstance(claims[name], list) else [claims[name]]) + [parsed]
        else:
            claims[name] = parsed
    return claims


def spec_to_raw(spec: Spec) -> dict:
    """The spec in its file form (JSON-ready, every name written out), which ``parse_spec`` reads back to the same
    spec; claims are left out (see ``claims_text``)."""
    layers = []
    for layer in spec.layers:
        item = {"weights": layer.weights.tolist(), "activation": layer.activation,
                "weight_names": layer.weight_names, "bias_names": list(layer.bias_names),
                "pre_activation_names": list(layer.pre_activation_names),
                "activation_names": list(layer.activation_names)}
        if layer.bias_kind == "shared":
            item["bias"] = float(layer.bias[0])
        elif layer.bias_kind == "per_neuron":
            item["bias"] = layer.bias.tolist()
        layers.append(item)
    raw = {"title": spec.title,
           "inputs": dict(zip(spec.input_names, spec.inputs.tolist(), strict=True)),
           "targets": dict(zip(spec.target_names, spec.targets.tolist(), strict=True)) if spec.target_names else {},
           "layers": layers, "loss": spec.loss, "loss_name": spec.loss_name, "learning_rate": spec.learning_rate,
           "update_order": spec.update_order, "update_biases": spec.update_biases, "notes": list(spec.notes),
           "claims_source": spec.claims_source, "notation": {"superscript": list(spec.superscript)}}
    if spec.batch_size:                  # every example of a batch, and how their losses combine
        raw["inputs"] = [dict(zip(spec.input_names, row, strict=True)) for row in spec.examples_x.tolist()]
        raw["targets"] = [dict(zip(spec.target_names, row, strict=True)) for row in spec.examples_y.tolist()]
        raw["reduction"] = spec.reduction
    if spec.loss in NO_TARGETS:          # the output itself is the loss: a spec gives it no targets
        del raw["targets"]
    if spec.rounding != "round":
        raw["rounding"] = spec.rounding
    if spec.carries_rounded is not None:
        raw["carries_rounded"] = spec.carries_rounded
    if spec.error_sign != "gradient":
        raw["error_sign"] = spec.error_sign
    if spec.optimizer.name != "gradient_descent":
        raw["optimizer"] = optimizer_to_raw(spec.optimizer)
    if spec.citation:
        raw["source"] = spec.citation
    if spec.input_gradients:
        raw["input_gradients"] = True
    return raw


def optimizer_to_raw(settings) -> dict:
    """An ``[optimizer]`` table in its file form: the rule, its own settings, its steps taken and starting state."""
    from .optimizer_spec import OPTIMIZER

    fields = OPTIMIZER.kinds[settings.name].fields
    raw = {"name": settings.name}
    raw |= {key: getattr(settings, key) for key in ("momentum", "velocity", "rho", "beta1", "beta2", "eps",
                                                      "steps_taken") if key in fields}
    if settings.state:
        raw["state"] = dict(settings.state)
    return raw


def claims_text(spec: Spec) -> str:
    """The spec's claims as ``name = number`` lines, each to its printed places and in its author's sign; a number
    declared printed at a precision (``printed_decimals``) is written to it in full (``-1.`` at 8 decimals is
    ``-1.00000000``), and a quantity printed twice is two lines."""
    lines = []
    for claim in spec.claims:
        written = as_printed(spec, claim)
        if claim.printed_at is not None and claim.asked_unit:     # the trailing zeros the printer dropped
            written = written.quantize(claim.asked_unit)
        lines.append(f"{claim.name} = {as_text(written)}\n")
    return "".join(lines)


def spec_json(spec: Spec) -> str:
    """The spec as a JSON spec file, claims included at their printed places."""
    raw = spec_to_raw(spec)
    marks = {}
    if spec.claims:
        raw["claims"] = {}
        for name in dict.fromkeys(c.name for c in spec.claims):
            printings = [c for c in spec.claims if c.name == name]     # one quantity printed more than once
            numbers = []
            for c in printings:      # a printed "0.500" stays 0.500: JSON numbers written as printed
                marks[f"\x00{len(marks)}"] = str(as_printed(spec, c))
                numbers.append(f"\x00{len(marks) - 1}")
            value = numbers[0] if len(numbers) == 1 else numbers
            if printings[0].printed_at is not None:      # the precision the numbers were declared printed at
                kind, digits = printings[0].printed_at
                value = {"value" if len(numbers) == 1 else "values": value, f"printed_{kind}": digits}
            raw["claims"][name] = value
    text = json.dumps(raw, indent=2, ensure_ascii=False)
    for mark, number in marks.items():
        text = text.replace(json.dumps(mark), number)
    return text + "\n"


class Explanation:
    """One explained step. The step runs once, when a value or an output is first asked for.

    ``values`` (every named quantity but the updated parameters of step 1; a later step's are ``w5'@2``),
    ``gradients`` (the ``dL/d...`` among them), ``updated``
    (parameters after the step), ``claims`` (the audit's checks, each with its ``verdict``), ``losses`` (the loss
    before each step and after the last); ``to_text()``, ``to_markdown()``, ``to_latex()``, ``to_html()``,
    ``to_json()``, ``save(path)``; ``next_step()`` is the explanation of the step after this one; ``spec_dict()`` the
    spec as a dict to edit.
    """

    def __init__(self, spec: Spec, learning_rate: float | None = None, *, steps: int = 1, show_step: int = 1):
        show_step, steps = step_count(show_step, "show_step"), step_count(steps, "steps")
        if learning_rate is not None and not (np.isfinite(learning_rate) and learning_rate > 0):
            raise ChainruleError(f"lr: expected a positive learning rate, found {learning_rate}")
        self.spec, self.learning_rate = spec, learning_rate
        self.steps, self.show_step = max(steps, show_step), show_step
        self.derivation        # the step runs now, so that a bad request fails here and not on display

    @cached_property
    def derivation(self) -> Derivation:
        return derive(self.spec, self.learning_rate, steps=self.steps, show_step=self.show_step)

    @property
    def values(self) -> dict[str, float]:
        return {k: v for k, v in self.derivation.values.items() if not k.endswith("'")}

    @property
    def gradients(self) -> dict[str, float]:
        prefix = f"d{self.spec.loss_name}/d"
        return {k: v for k, v in self.values.items() if k.startswith(prefix)}

    @property
    def updated(self) -> dict[str, float]:
        return dict(self.derivation.updated)

    @property
    def claims(self):
        return list(self.derivation.claims)

    @property
    def verdicts(self) -> dict[str, str]:
        return {c.name: c.verdict for c in self.derivation.claims}

    @property
    def losses(self) -> list[float]:
        return [float(v) for v in self.derivation.losses]

    @property
    def step(self) -> int:
        return self.show_step

    def spec_dict(self) -> dict:
        """The spec in its file form, a fresh dict to edit and explain again (claims left out)."""
        return spec_to_raw(self.spec)

    def next_step(self) -> "Explanation":
        return Explanation(self.spec, self.learning_rate, steps=max(self.steps, self.show_step + 1),
                           show_step=self.show_step + 1)

    def render(self, fmt: str) -> str:
        from .renderers import RENDERERS
        if fmt not in RENDERERS:
            raise ChainruleError(f"format: expected one of {', '.join(sorted(RENDERERS))}, found {fmt!r}")
        return RENDERERS[fmt](self.derivation)

    def to_text(self) -> str:
        return self.render("text")

    def to_markdown(self) -> str:
        return self.render("markdown")

    def to_latex(self) -> str:
        return self.render("latex")

    def to_html(self) -> str:
        return self.render("html")

    def to_json(self) -> str:
        return self.render("json")

    def save(self, path) -> Path:
        """Write the explanation in the format its suffix names (.txt .md .tex .html .json), atomically."""
        from ..atomicfile import write_atomic

        path = Path(path)
        fmt = SUFFIXES.get(path.suffix.lower())
        if fmt is None:
            raise ChainruleError(f"{path}: expected a file name ending in {', '.join(SUFFIXES)}")
        text = self.render(fmt)
        write_atomic(path, lambda handle: handle.write(text.encode("utf-8")))
        return path

    def __repr__(self) -> str:
        return f"<Explanation, step {self.show_step}: {describe_network(self.derivation)}>"

    def _repr_html_(self) -> str:
        return html_fragment(self.to_html())

    def _repr_markdown_(self) -> str:
        return self.to_markdown()


_STYLE = re.compile(r"<style>(.*?)</style>", re.S)
_BODY = re.compile(r"<body>(.*)</body>", re.S)


def html_fragment(page: str, scope: str = "chainrule-explanation") -> str:
    """The body of a page from ``render_html`` as one ``<div class=scope>``, its style limited to that div, for
    placing inside another page (a notebook's output, the studio)."""
    style, body = _STYLE.search(page), _BODY.search(page)
    css = scope_css(style[1], f".{scope}") if style else ""
    return f'<div class="{scope}"><style>{css}</style>{body[1].strip() if body else page}</div>'


def scope_css(css: str, scope: str) -> str:
    """Every rule's selectors prefixed by ``scope`` (``body`` becomes the scope itself); @-rules' inner rules too."""
    out, i = [], 0
    while i < len(css):
        open_at = css.find("{", i)
        if open_at < 0:
            break
        selectors = css[i:open_at].strip()
        depth, j = 1, open_at + 1
        while j < len(css) and depth:
            depth += {"{": 1, "}": -1}.get(css[j], 0)
            j += 1
        inner = css[open_at + 1:j - 1]
        if selectors.startswith("@"):
            out.append(f"{selectors} {{{scope_css(inner, scope) if '{' in inner else inner}}}")
        else:
            scoped = ", ".join(scope if s.strip() in ("body", "html") else f"{scope} {s.strip()}"
                               for s in selectors.split(","))
            out.append(f"{scoped} {{{inner}}}")
        i = j
    return "\n".join(out)
