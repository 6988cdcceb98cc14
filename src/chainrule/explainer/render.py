"""Renderers: a derivation in, text out. No arithmetic here: every number shown was computed by the engine
(negating a recorded value for ``{-name}`` is the only thing done to one)."""

import json
import re

from .verdict import ClaimCheck, carried_into
from .derivation import Derivation, natural_key
from .matrix import is_wide, matrix_lines
from .notation import format_number, unicode_name

_PLACEHOLDER = re.compile(r"\{(-?)([^{}]+)\}")
LOSS_WORDS = {"cross_entropy": "cross-entropy", "binary_cross_entropy": "binary cross-entropy",
              "half_squared_error": "half squared error", "mean_squared_error": "mean squared error",
              "sum_squared_error": "sum of squared errors", "output": "the output itself"}


def symbolic(template: str, superscript) -> str:
    return _PLACEHOLDER.sub(lambda m: ("−" if m[1] else "") + unicode_name(m[2], superscript), template)


def substituted(template: str, values: dict[str, float]) -> str:
    """The template with numbers for names; a negative number gets brackets unless it stands alone in some."""
    def number(match):
        value = -values[match[2]] if match[1] else values[match[2]]
        text = format_number(value)
        before, after = template[match.start() - 1: match.start()], template[match.end(): match.end() + 1]
        alone = before in ("", "(") and after in ("", ")")
        return f"({text})" if value < 0 and not alone else text
    return _PLACEHOLDER.sub(number, template)


ROUNDING_NOTE = "zero up to floating-point rounding"


def is_rounding_zero(value: float) -> bool:
    """Nonzero only through floating-point rounding (``0.1 * 3 - 0.3``), by the size no quantity here reaches."""
    return value != 0 and abs(value) < 1e-12


def result_text(value: float) -> str:
    """A result; one that is zero but for floating-point rounding says so rather than print as a real number."""
    if is_rounding_zero(value):
        return f"{format_number(value)} ({ROUNDING_NOTE})"
    return format_number(value)


def claim_mark(check: ClaimCheck, source: str) -> str:
    printed = check.claimed_text
    if check.verdict == "agrees":
        return f"{source}: {printed}  ✓ agrees"
    if check.verdict == "carried":
        return f"{source}: {printed}  ✗ carried (right from its own wrong inputs)"
    return f"{source}: {printed}  ✗ SLIP (from its own inputs: {shown(check.from_claims, check)})"


def describe_network(d: Derivation) -> str:
    spec = d.spec
    widths = [f"{len(spec.inputs)} inputs"] + [
        f"{len(layer.pre_activation_names)} {layer.activation}" for layer in spec.layers]
    batch = ""
    if spec.batch_size:
        batch = f"; a batch of {spec.batch_size} examples, the loss the {spec.reduction} of theirs"
    return (" → ".join(widths) + f"; loss: {LOSS_WORDS[spec.loss]}{batch}; learning rate η = "
            f"{format_number(d.learning_rate)}")


def notes(d: Derivation) -> list[str]:
    """The spec's own notes, then what chainrule does that a reader might not expect."""
    spec, lines = d.spec, list(d.spec.notes)
    for number, layer in enumerate(spec.layers, start=1):
        if layer.bias_kind == "shared" and len(layer.pre_activation_names) > 1:
            lines.append(f"{unicode_name(layer.bias_names[0], spec.superscript)} is one bias parameter shared by the {len(layer.pre_activation_names)} "
                         f"neurons of layer {number}; chainrule keeps it as one parameter, so its gradient is the "
                         f"sum of the layer's ∂{spec.loss_name}/∂z over those neurons.")
    if spec.loss == "output":
        outputs = spec.layers[-1].activation_names
        what = "output itself" if len(outputs) == 1 else f"sum of its {len(outputs)} outputs"
        lines.append(f"The loss {spec.loss_name} is the network's {what} (as when backward() is called on a "
                     f"neuron's output): no target enters it, and the backward pass starts from "
                     f"∂{spec.loss_name}/∂{unicode_name(outputs[0], spec.superscript)} = 1.")
    if not spec.update_biases:
        lines.append("Biases are kept fixed: the update changes weights only.")
    if spec.weight_layout == "input_major":
        lines.append("The spec gives each weight matrix input-major (z = x W, one column per neuron); the formulas "
                     "below write each neuron's weighted sum, the same numbers.")
    if spec.batch_size:
        L = spec.loss_name
        lines.append(f"Each example's quantities carry its number in brackets: z1[2] is z1 for example 2, and "
                     f"d{L}/dw1[2] the gradient of that example's own loss {L}[2]. {L}, d{L}/dw1, ... without "
                     f"brackets are the batch's: the {spec.reduction} over the {spec.batch_size} examples.")
    if spec.error_sign == "negative" and spec.claims:
        L = spec.loss_name
        lines.append(f"The {spec.claims_source}'s error terms are δ = −∂{L}/∂z (the error t − y, the update "
                     f"w ← w + η·δ·x): their printed numbers at ∂{L}/∂z, ∂{L}/∂a and ∂{L}/∂ŷ are compared after "
                     f"a change of sign, and shown here as ∂{L}/∂…, in chainrule's convention.")
    if spec.carries_rounded is not None and spec.claims:
        lines.append(f"The {spec.claims_source} rounds every intermediate to {spec.carries_rounded} decimal places "
                     "and computes on with the rounded value: a printed number that is right under that rounding "
                     "agrees.")
    if spec.rounding == "truncate" and spec.claims:
        lines.append("The printed numbers were truncated, not rounded: each may lie up to one unit of its last "
                     "digit from the value it stands for.")
    if spec.claims and not d.claims:
        lines.append(f"The {len(spec.claims)} printed number(s) describe step 1 and are audited only there; this "
                     f"shows step {d.step} (run with --show-step 1 for the audit).")
    return lines


def render_text(d: Derivation) -> str:
    spec, sup = d.spec, d.spec.superscript
    checks = printings(d)
    out = [f"chainrule explain: {spec.title}" if spec.title else "chainrule explain", "",
           "Network: " + describe_network(d)]
    if spec.citation:
        out[1:1] = [f"Source: {spec.citation}"]
    if lines := notes(d):
        out += ["", "Notes:"] + [f"  - {line}" for line in lines]
    if len(d.losses) > 2:
        out += ["", f"Loss over {len(d.losses) - 1} steps (the derivation below is {d.shown_words()}):"]
        out += [f"  step {k:>4}   {spec.loss_name} = {format_number(loss)}" for k, loss in enumerate(d.losses[:-1], 1)]
        out += [f"  after step {len(d.losses) - 1}: {spec.loss_name} = {format_number(d.losses[-1])}"]
    if any(len(layer.pre_activation_names) > 24 for layer in spec.layers):
        out += ["", f"Given: {len(given_names(d))} numbers (inputs, targets, weights, biases); see --format json."]
    else:
        out += ["", "Given:"] + _columns([f"{unicode_name(n, sup)} = {format_number(d.values[n])}"
                                          for n in given_names(d)])
    for number, section in enumerate(d.sections, start=1):
        out += ["", f"{number}. {section.title}"]
        if is_wide(d, section):
            out += ["  " + line for line in matrix_lines(d, section)]
            continue
        for step in section.steps:
            name, *rest = step_parts(step, d.values, sup)
            pad = " " * len(name)
            lines = [f"{name} = {rest[0]}"] + [f"{pad} = {part}" for part in rest[1:]]
            if step.name in checks:
                marks = "; ".join(claim_mark(check, spec.claims_source) for check in checks[step.name])
                lines[-1] = f"{lines[-1]:<60}  {marks}"
            out += ["  " + line for line in lines]
    if d.claims:
        out += ["", "Audit:"] + ["  " + line for line in audit_summary(d)]
    return "\n".join(out) + "\n"


def step_parts(step, values: dict[str, float], superscript=()) -> list[str]:
    """One step as the text derivation writes it: its name, its formula, the numbers put in and the result, each
    left out where it reads the same as the one before (``z⁽¹⁾``, ``w₁·x₁ + b⁽¹⁾``, ``0.2·1 + 0.5``, ``0.7``)."""
    formula, numbers = symbolic(step.template, superscript), substituted(step.template, values)
    parts = [unicode_name(step.name, superscript), formula]
    if numbers != formula:
        parts.append(numbers)
    if numbers != result_text(step.value):
        parts.append(result_text(step.value))
    return parts


def audit_summary(d: Derivation, name=None, number=format_number) -> list[str]:
    """The audit in sentences; ``name`` writes a quantity's name (Unicode by default), ``number`` a computed value
    (a printed one is shown as its author wrote it)."""
    source, sup = d.spec.claims_source, d.spec.superscript
    name = name or (lambda n: unicode_name(n, sup))
    counts = {v: sum(c.verdict == v for c in d.claims) for v in ("agrees", "slip", "carried")}
    lines = [f"{len(d.claims)} printed number(s) checked: {counts['agrees']} agree, {counts['slip']} slip(s), "
             f"{counts['carried']} carried from an earlier slip. (Agreement allows for the rounding of the printed "
             f"digits and of the printed numbers each was computed from.)"]
    slips = [c for c in d.claims if c.verdict == "slip"]
    for k, slip in enumerate(slips):
        lines.append(f"{'First slip' if k == 0 else 'Further slip'}: {name(slip.name)} is printed as "
                     f"{slip.claimed_text}; from {possessive(source)} own inputs it is "
                     f"{shown(slip.from_claims, slip, number)}, and the correct value is "
                     f"{shown(slip.computed, slip, number)}.")
        carried = carried_into(d.claims, slip)
        if carried:
            lines.append("It carried into: " + ", ".join(
                f"{name(c.name)} (printed {c.claimed_text}, correct {shown(c.computed, c, number)})"
                for c in carried) + ".")
    return lines


def possessive(source: str) -> str:
    """"the author's", "the authors'", or a name's own: "Mazur's" (a word that starts with a capital)."""
    if source[:1].isupper():
        return f"{source}'" if source.endswith("s") else f"{source}'s"
    return f"the {source}'" if source.endswith("s") else f"the {source}'s"


def shown(value: float, check: ClaimCheck, number=format_number) -> str:
    """A computed value beside a printed one, with at least two decimals more than were printed (unless it is shown
    exactly already), so that the difference shows: never three identical-looking numbers."""
    from decimal import Decimal

    text = number(value)
    places = max(0, -Decimal(check.claimed_text).as_tuple().exponent) + 2
    decimals = len(text.split(".")[1]) if "." in text else 0
    exact = abs(float(text) - value) <= 1e-12 * max(1.0, abs(value)) if "e" not in text else True
    if exact or decimals >= places or places > 17:     # shown in full already, or with the digits asked for
        return text
    return f"{value:.{places}f}"


def printings(d: Derivation) -> dict[str, list[ClaimCheck]]:
    """Each printing of a quantity, by the name of the step that computes it (updated values as ``w5'``, a
    parameter at the start of step k as step k − 1 left it): a quantity printed twice is judged twice."""
    from .spec import claim_key

    found: dict[str, list[ClaimCheck]] = {}
    for check in d.claims:
        found.setdefault(claim_key(d.spec, check.name), []).append(check)
    return found


def claim_lookup(d: Derivation) -> dict[str, ClaimCheck]:
    """The claim of each step's quantity; of several printings, the one judged worst (its colour is the step's)."""
    rank = {"slip": 0, "carried": 1, "agrees": 2}
    return {name: min(group, key=lambda c: rank[c.verdict]) for name, group in printings(d).items()}


def given_names(d: Derivation) -> list[str]:
    spec = d.spec
    if spec.batch_size:
        given = [f"{name}[{n}]" for n in range(1, spec.batch_size + 1) for name in spec.input_names + spec.target_names]
    else:
        given = spec.input_names + spec.target_names
    return given + [n for layer in spec.layers for n in sorted(
        [w for row in layer.weight_names for w in row], key=natural_key) + layer.bias_names]


def _columns(cells: list[str], width: int = 4) -> list[str]:
    size = max(len(c) for c in cells) + 3
    return ["  " + "".join(f"{c:<{size}}" for c in cells[i:i + width]).rstrip() for i in range(0, len(cells), width)]


def render_json(d: Derivation) -> str:
    quantities = {name: value for name, value in d.values.items() if not name.endswith("'")}
    document = {
        "title": d.spec.title,
        "source": d.spec.citation,
        "network": describe_network(d),
        "notes": notes(d),
        "learning_rate": d.learning_rate,
        "quantities": quantities,
        "claims": [{"name": c.name, "claimed": c.claimed, "computed": c.computed, "agrees": c.agrees,
                    "verdict": c.verdict, "from_claims": c.from_claims} for c in d.claims],
        "updated": d.updated,
        "order": d.order,
        "losses": d.losses,
        "step": d.step,
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
