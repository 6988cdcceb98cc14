"""Matrix form: for layers wider than a few neurons, a section is shown as its vector equation, with shapes and
the vectors themselves (elided in the middle when long), instead of one line per scalar.

Only arranges numbers the derivation already holds, gathered by name into vectors.
"""

from .derivation import Derivation, Section
from .notation import SUPERSCRIPT, format_number

#: a layer with more neurons than this, or more inputs, is shown in matrix form
SCALAR_WIDTH = 4


def is_wide(d: Derivation, section: Section) -> bool:
    if d.spec.batch_size:          # a batch is small enough to show number by number (its names carry [n])
        return False
    if section.layer is None:
        return any(len(layer.pre_activation_names) > SCALAR_WIDTH for layer in d.spec.layers)
    layer = d.spec.layers[section.layer]
    n_out, n_in = layer.weights.shape
    return n_out > SCALAR_WIDTH or n_in > SCALAR_WIDTH


def vector(values: list[float], shown: int = 6) -> str:
    """[v1, v2, v3, …, vn] with the middle elided past ``shown`` entries."""
    if len(values) <= shown:
        return "[" + ", ".join(format_number(v) for v in values) + "]"
    head, tail = values[: shown - 2], values[-2:]
    return "[" + ", ".join(format_number(v) for v in head) + ", …, " + ", ".join(format_number(v) for v in tail) + "]"


def targets_text(spec, v) -> str:
    """One-hot targets as the class they mark (``one-hot, class 7 (y8 = 1)``); other targets as a vector."""
    values = [v[n] for n in spec.target_names]
    ones = [k for k, t in enumerate(values) if t == 1]
    if spec.loss == "cross_entropy" and len(ones) == 1 and sum(t == 0 for t in values) == len(values) - 1:
        return f"one-hot, class {ones[0]} ({spec.target_names[ones[0]]} = 1)"
    return vector(values)


def matrix_lines(d: Derivation, section: Section) -> list[str]:
    """The section as a few lines of vector equations (Unicode text)."""
    spec, v, L = d.spec, d.values, d.spec.loss_name
    if section.kind == "update":
        lines = []
        for number, layer in enumerate(spec.layers, start=1):
            tag = f"{number}".translate(SUPERSCRIPT)
            names = [w for row in layer.weight_names for w in row]
            kept = "" if names[0] in d.trained else "  (kept fixed)"
            lines.append(f"W⁽{tag}⁾′ = W⁽{tag}⁾ − η·∂{L}/∂W⁽{tag}⁾, η = {format_number(d.learning_rate)}: first row "
                         f"{vector([d.updated[n] for n in layer.weight_names[0]])}{kept}")
            if layer.bias_names:
                lines.append(f"b⁽{tag}⁾′ = {vector([d.updated[n] for n in layer.bias_names])}")
        return lines
    if section.kind == "loss" and spec.loss == "output":
        return [f"{L} = {format_number(v[L])}  (the network's output itself, summed over its "
                f"{len(spec.layers[-1].activation_names)} outputs; no targets)"]
    if section.kind == "loss":
        return [f"{L} = {format_number(v[L])}  ({spec.loss.replace('_', ' ')} over {len(spec.target_names)} outputs, "
                f"targets {targets_text(spec, v)})"]
    layer = spec.layers[section.layer]
    tag = f"{section.layer + 1}".translate(SUPERSCRIPT)
    n_out, n_in = layer.weights.shape
    x_names = spec.input_names if section.layer == 0 else spec.layers[section.layer - 1].activation_names
    z, a = layer.pre_activation_names, layer.activation_names
    dz = [v[f"d{L}/d{n}"] for n in z]
    x = "x" if section.layer == 0 else f"a⁽{section.layer}⁾".translate(SUPERSCRIPT)
    out = "ŷ" if section.layer == len(spec.layers) - 1 else f"a⁽{tag}⁾"
    if section.kind == "forward":
        return [f"z⁽{tag}⁾ = W⁽{tag}⁾·{x} + b⁽{tag}⁾   W⁽{tag}⁾: ({n_out} × {n_in}), {x}: ({n_in}), z⁽{tag}⁾: ({n_out})",
                f"{x} = {vector([v[n] for n in x_names])}",
                f"z⁽{tag}⁾ = {vector([v[n] for n in z])}",
                f"{out} = {layer.activation}(z⁽{tag}⁾) = {vector([v[n] for n in a])}"]
    if section.kind == "output_error":
        return [f"δ⁽{tag}⁾ = ∂{L}/∂z⁽{tag}⁾ = {vector(dz)}   ({n_out})"]
    if section.kind == "gradients":
        lines = [f"∂{L}/∂W⁽{tag}⁾ = δ⁽{tag}⁾·{x}ᵀ   ({n_out} × {n_in}), first row "
                 f"{vector([v[f'd{L}/d{w}'] for w in layer.weight_names[0]])}"]
        if layer.bias_names:
            lines.append(f"∂{L}/∂b⁽{tag}⁾ = {'Σ δ' if len(layer.bias_names) == 1 else 'δ'}⁽{tag}⁾ = "
                         f"{vector([v[f'd{L}/d{b}'] for b in layer.bias_names])}")
        return lines
    if section.kind == "carried_back":
        below = spec.layers[section.layer - 1]
        tag_below = f"{section.layer}".translate(SUPERSCRIPT)
        return [f"∂{L}/∂a⁽{tag_below}⁾ = W⁽{tag}⁾ᵀ·δ⁽{tag}⁾ = {vector([v[f'd{L}/d{n}'] for n in below.activation_names])}"
                f"   ({len(below.activation_names)})",
                f"δ⁽{tag_below}⁾ = ∂{L}/∂a⁽{tag_below}⁾ ⊙ {below.activation}′(z⁽{tag_below}⁾) = "
                f"{vector([v[f'd{L}/d{n}'] for n in below.pre_activation_names])}"]
    if section.kind == "input_gradients":
        return [f"∂{L}/∂x = W⁽{tag}⁾ᵀ·δ⁽{tag}⁾ = {vector([v[f'd{L}/d{n}'] for n in spec.input_names])}   ({n_in})"]
    return []
