"""The HTML renderer: one self-contained page (no network needed to view it) with MathML equations, which browsers
render natively, an SVG diagram of the network, and the audit's verdicts marked at a glance."""

import re
from functools import lru_cache

from ..escape import html_text as escape

from .derivation import Derivation
from .latex import latex_name
from .notation import format_number, unicode_name
from .render import (audit_summary, claim_lookup, printings, describe_network, given_names, is_rounding_zero, notes,
                     result_text, shown)
from .matrix import is_wide, matrix_lines
from .render_tex import VERDICT_WORDS, equation_rows

STYLE = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2rem auto; max-width: 68rem;
       color: #1d2330; line-height: 1.45; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 2rem;
     border-bottom: 1px solid #d8dde6; padding-bottom: .2rem; }
.network { color: #4a5368; } .notes li { margin: .2rem 0; }
.audit { border-left: 5px solid #2e7d32; background: #f1f8f2; padding: .6rem 1rem; margin: 1rem 0; }
.audit.has-slip { border-color: #c62828; background: #fdf1f1; }
.step { display: flex; flex-wrap: wrap; align-items: center; gap: .2rem 1rem; padding: .25rem .6rem;
        border-radius: 6px; }
.step math { font-size: 1.08rem; }
.eq { display: grid; min-width: 0; max-width: 100%; overflow: auto hidden; padding: .15rem 0; }
.row { display: flex; align-items: center; gap: .3rem; }
.lhs { min-width: 4.5rem; text-align: right; } .row math[display=block] { display: inline-block; margin: .1rem 0; }
.step.slip { background: #fdecea; } .step.carried { background: #fff6e5; }
.badge { font-size: .85rem; padding: .15rem .5rem; border-radius: 999px; margin-left: auto; }
.badge.agrees { background: #e3f2e5; color: #1b5e20; } .badge.slip { background: #c62828; color: white; }
.badge.carried { background: #f9a825; color: #3e2c00; }
table.given { border-collapse: collapse; } table.given td { padding: .1rem .8rem .1rem 0; }
.rounding { color: #4a5368; font-size: .9rem; margin-left: .5rem; }
.num { white-space: nowrap; } .scroll { max-width: 100%; overflow: auto hidden; padding: .15rem 0; }
table.weights { border-collapse: collapse; font-size: .9rem; } table.weights th { text-align: left; }
table.weights td, table.weights th { padding: .1rem .7rem .1rem 0; white-space: nowrap; }
h1, p, li, section, figcaption { overflow-wrap: break-word; }
figure { margin: 1rem 0; } figcaption { color: #4a5368; font-size: .9rem; }
svg text { font-family: system-ui, sans-serif; }
pre.matrix { background: #f4f5f7; padding: .6rem .8rem; border-radius: 6px; overflow-x: auto; font-size: .9rem; }
"""

HALO = 'stroke="white" stroke-width="3" paint-order="stroke"'   # labels stay legible where lines cross
VERDICT_COLOUR = {"slip": "#c62828", "carried": "#f9a825", "agrees": "#2e7d32"}


@lru_cache(maxsize=4096)    # pure; the studio re-renders pages whose formulas mostly repeat
def mathml(latex: str) -> str:
    from ..extras import require

    convert = require("latex2mathml.converter", "html", "The HTML format").convert
    return convert(latex, display="block")


def inline_mathml(latex: str) -> str:
    return mathml(latex).replace(' display="block"', "")


def render_html(d: Derivation) -> str:
    spec, sup = d.spec, d.spec.superscript
    checks, every_printing = claim_lookup(d), printings(d)
    title = escape(spec.title or "chainrule explain")
    body = [f"<h1>{title}</h1>", f'<p class="network">{escape(describe_network(d))}</p>']
    if spec.citation:        # as text, not a link: the page is self-contained and reaches no other address
        body.insert(1, f'<p class="source">Source: {_nowrap(escape(spec.citation))}</p>')
    if d.claims:
        has_slip = any(c.verdict == "slip" for c in d.claims)
        lines = audit_summary(d, name=lambda n: f"\x00{n}\x01")
        rendered = [_with_names(_nowrap(escape(line)), sup) for line in lines]
        body.append(f'<section class="audit{" has-slip" if has_slip else ""}" id="audit"><strong>Audit.</strong> '
                    + " ".join(rendered) + "</section>")
    svg, caption = network_svg(d)
    body.append(f"<figure>{svg}<figcaption>{escape(caption)}</figcaption></figure>")
    if svg.count("<circle") and len(given_names(d)) <= 60:
        body.append(parameter_table(d))
    if lines := notes(d):
        body.append('<ul class="notes">' + "".join(f"<li>{_nowrap(escape(line))}</li>" for line in lines) + "</ul>")
    if len(d.losses) > 2:
        rows = "".join(f"<tr><td>{k}</td><td>{_cell(v)}</td></tr>" for k, v in enumerate(d.losses[:-1], 1))
        body.append(f"<h2>Loss over {len(d.losses) - 1} steps</h2><table class=\"given\"><tr><th>step</th>"
                    f"<th>{escape(spec.loss_name)}</th></tr>{rows}<tr><td>after {len(d.losses) - 1}</td>"
                    f"<td>{_cell(d.losses[-1])}</td></tr></table>")
    given = given_names(d)
    if len(given) > 60:
        body.append(f"<h2>Given</h2><p>{len(given)} numbers (inputs, targets, weights, biases).</p>")
    else:
        cells = [f"<td>{inline_mathml(latex_name(n, sup) + ' = ' + _latex_number(d.values[n]))}</td>" for n in given]
        body.append("<h2>Given</h2><div class=\"scroll\"><table class=\"given\">" + "".join(
            "<tr>" + "".join(cells[i:i + 6]) + "</tr>" for i in range(0, len(cells), 6)) + "</table></div>")
    for number, section in enumerate(d.sections, start=1):
        body.append(f"<h2>{number}. {escape(section.title)}</h2>")
        if is_wide(d, section):
            body.append('<pre class="matrix">' + escape("\n".join(matrix_lines(d, section))) + "</pre>")   # scrolls
            continue
        for step in section.steps:
            rows = equation_rows(d, step)
            if len(rows) > 1 and rows[-1][1] == format_number(step.value):      # the result, as one number
                rows[-1] = (rows[-1][0], _latex_number(step.value))
            lines = "".join(f'<div class="row"><span class="lhs">{mathml(left) if left else ""}</span>'
                            f'{mathml("= " + right)}</div>' for left, right in rows)
            if is_rounding_zero(step.value):
                lines += f'<div class="rounding">computed {_nowrap(escape(result_text(step.value)))}</div>'

            check = checks.get(step.name)
            verdict = check.verdict if check else ""
            badge = ""
            for printed in every_printing.get(step.name, ()):
                words = f"{spec.claims_source}: {printed.claimed_text} · {VERDICT_WORDS[printed.verdict]}"
                if printed.verdict == "slip":
                    words += f" (from its inputs: {shown(printed.from_claims, printed)})"
                badge += f'<span class="badge {printed.verdict}">{_nowrap(escape(words))}</span>'
            body.append(f'<div class="step {verdict}" data-name="{escape(step.name)}"><div class="eq">{lines}</div>'
                        f'{badge}</div>')
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title>"
            f"<style>{STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


#: a number in exponent form, kept whole: never broken after its minus sign or between mantissa and exponent
_EXPONENT = re.compile(r"-?\d+(?:\.\d+)?e[-+]\d+")


def _nowrap(html: str) -> str:
    """Escaped text with each exponent-form number in an unbreakable span."""
    return _EXPONENT.sub(lambda m: f'<span class="num">{m[0]}</span>', html)


def _number(value: float) -> str:
    """A value as the page shows it outside the equations: zero up to rounding is 0 (the equations say why)."""
    return "0" if is_rounding_zero(value) else format_number(value)


def _cell(value: float) -> str:
    return f'<span class="num">{_number(value)}</span>'


def _latex_number(value: float) -> str:
    """A value for an equation: an exponent-form number as one piece of text, not e, minus and digits apart."""
    text = _number(value)
    return rf"\text{{{text}}}" if "e" in text else text


def parameter_table(d: Derivation) -> str:
    """Every weight and bias with the gradient of the loss with respect to it, for readers of a small screen and
    for connections the diagram could not label."""
    spec, sup, v, L = d.spec, d.spec.superscript, d.values, d.spec.loss_name
    columns = [spec.input_names] + [layer.activation_names for layer in spec.layers]
    rows = []
    for c, layer in enumerate(spec.layers, start=1):
        for j, row in enumerate(layer.weight_names):
            for i, name in enumerate(row):
                rows.append((name, f"{unicode_name(columns[c - 1][i], sup)} → {unicode_name(columns[c][j], sup)}"))
        rows += [(name, f"bias of layer {c}") for name in dict.fromkeys(layer.bias_names)]
    gradient = {name: _cell(v[f"d{L}/d{name}"]) if f"d{L}/d{name}" in v else "" for name, _ in rows}
    cells = "".join(f"<tr><td>{escape(unicode_name(name, sup))}</td><td>{escape(where)}</td><td>{_cell(v[name])}</td>"
                    f"<td>{gradient[name]}</td></tr>" for name, where in rows)
    return (f'<div class="scroll"><table class="weights"><tr><th>parameter</th><th>joins</th><th>value</th>'
            f"<th>gradient ∂{escape(L)}/∂</th></tr>{cells}</table></div>")


def _with_names(text: str, sup) -> str:
    """Replace the \\x00name\\x01 markers of a sentence with the names' Unicode forms."""
    out, rest = [], text
    while "\x00" in rest:
        before, rest = rest.split("\x00", 1)
        name, rest = rest.split("\x01", 1)
        out += [before, f"<b>{escape(unicode_name(name, sup))}</b>"]
    return "".join(out) + rest


def network_svg(d: Derivation) -> tuple[str, str]:
    """The diagram and its caption. Inputs on the left, outputs on the right, as textbook figures draw them."""
    if any(len(c) > 10 for c in [d.spec.input_names] + [layer.activation_names for layer in d.spec.layers]):
        return layer_svg(d), ("Each box is a whole layer, not a neuron: its activation and (in brackets) its number "
                              "of neurons; the label between two boxes is the shape of the weight matrix that joins "
                              "them. The layers are too wide to draw neuron by neuron; their values are in the "
                              "matrix-form sections below.")
    svg, labelled = neuron_svg(d)
    edges = ("each connection is labelled with its weight and (below, ∂) the gradient of the loss with respect to "
             "it" if labelled else "the connections are too many to label; hover over one for its weight")
    return svg, ("The network before the step: each circle is a neuron, with its pre-activation and activation "
                 f"below it (inputs show their value); {edges}. The table below the diagram lists every weight and "
                 "bias with its gradient. A red ring marks a neuron with a printed number (its value or its error) "
                 "that is a slip, amber one carried from a slip."
                 + (" In a batch, the neurons' values shown are example 1's." if d.spec.batch_size else ""))


def _svg_open(width: float, height: float) -> str:
    """An SVG that scales to its container (never wider than drawn, so text stays at its drawn size on a wide
    screen) and keeps its proportions."""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
            f'style="width: 100%; max-width: {width:.0f}px; height: auto" role="img" aria-label="network diagram">')


def layer_svg(d: Derivation) -> str:
    """A wide network as one box per layer, with its width, activation and the weight matrix between."""
    spec = d.spec
    columns = [(len(spec.inputs), "inputs")] + [(len(layer.activation_names), layer.activation)
                                                for layer in spec.layers]
    gap, width = 200, 200 * len(columns)
    parts = [_svg_open(width, 230)]
    for c, (size, kind) in enumerate(columns):
        x, h = 40 + c * gap, 60 + min(size, 128) * 0.9
        parts.append(f'<rect x="{x}" y="{115 - h / 2:.0f}" width="70" height="{h:.0f}" rx="10" fill="#eef1fb" '
                     'stroke="#3f51b5"/>')
        parts.append(f'<text x="{x + 35}" y="{115 - h / 2 - 8:.0f}" font-size="13" text-anchor="middle">'
                     f'{escape(kind)} ({size})</text>')
        if c:
            parts.append(f'<line x1="{x - gap + 70}" y1="115" x2="{x}" y2="115" stroke="#9aa3b5" stroke-width="2"/>'
                         f'<text x="{x - gap / 2 + 35}" y="108" font-size="12" text-anchor="middle">'
                         f'W{c}: {size} × {columns[c - 1][0]}</text>')
    parts.append("</svg>")
    return "".join(parts)


#: a generous width per character, as a share of the font size, so an estimated box holds the drawn text
CHAR_EM = 0.7


def _box(cx: float, top: float, text: str, size: float, bottom: float) -> tuple[float, float, float, float]:
    half = len(text) * size * CHAR_EM / 2 + 3
    return cx - half, top, cx + half, bottom


def _overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _place(candidates, taken) -> tuple | None:
    """The first candidate (anchor, box) whose box meets no box taken; that box is then taken too."""
    for anchor, box in candidates:
        if not any(_overlaps(box, other) for other in taken):
            taken.append(box)
            return anchor
    return None


def neuron_svg(d: Derivation) -> tuple[str, bool]:
    """The network neuron by neuron, and whether every connection carries its weight and gradient: the rows are
    spread further apart until every label finds room, or the widest spacing is reached."""
    for row_gap in (120, 160, 200):
        svg, labelled = _neuron_svg(d, row_gap)
        if labelled:
            break
    return svg, labelled


def _neuron_svg(d: Derivation, row_gap: int) -> tuple[str, bool]:
    """The network with its rows ``row_gap`` apart.

    Edge labels are placed one by one at the first point along their edge where their (generously estimated) box
    meets no neuron, no neuron's values and no label already placed; if a layer's labels cannot all be placed,
    none of that layer's are drawn, and each of its edges gives its numbers on hover instead.
    """
    spec, sup, v = d.spec, d.spec.superscript, d.values
    L = spec.loss_name
    checks = claim_lookup(d)

    def value(name):      # a batch's diagram shows example 1
        return v[name] if name in v else v[f"{name}[1]"]
    columns = [spec.input_names] + [layer.activation_names for layer in spec.layers]
    pre = [None] + [layer.pre_activation_names for layer in spec.layers]
    col_gap, radius, top = 320, 30, 60
    tallest = max(len(c) for c in columns)
    width, height = 120 + col_gap * (len(columns) - 1) + 120, top + row_gap * tallest + 30
    position = {}
    for c, names in enumerate(columns):
        offset = top + (tallest - len(names)) * row_gap / 2 + row_gap / 2
        for r in range(len(names)):
            position[c, r] = (90 + c * col_gap, offset + r * row_gap)
    parts, nodes, taken = [_svg_open(width, height)], [], []
    for (c, r), (x, y) in position.items():
        name = columns[c][r]
        own = [name, f"d{L}/d{name}"] + ([pre[c][r], f"d{L}/d{pre[c][r]}"] if pre[c] else [])
        verdicts = [checks[n].verdict for n in own if n in checks]
        ring = next((VERDICT_COLOUR[k] for k in ("slip", "carried") if k in verdicts), "#3f51b5")
        fill = "#eef1fb" if c else "#f4f5f7"
        label = _number(value(name)) if not c else f"{unicode_name(pre[c][r], sup)} = " \
            f"{_number(value(pre[c][r]))}, {_number(value(name))}"
        taken += [(x - radius - 4, y - radius - 4, x + radius + 4, y + radius + 4),
                  _box(x, y + radius + 2, label, 11.5, y + radius + 21)]
        nodes.append(f'<circle cx="{x}" cy="{y}" r="{radius}" fill="{fill}" stroke="{ring}" '
                     f'stroke-width="{3.5 if ring != "#3f51b5" else 1.6}"/>'
                     f'<text x="{x}" y="{y + 5}" font-size="14" text-anchor="middle" font-weight="600">'
                     f'{escape(unicode_name(name, sup))}</text>'
                     f'<text class="values" x="{x}" y="{y + radius + 16}" font-size="11.5" text-anchor="middle" '
                     f'fill="#4a5368">{escape(label)}</text>')
    small, all_labelled = all(len(c) <= 8 for c in columns), True
    for c, layer in enumerate(spec.layers, start=1):
        if layer.bias_names:
            bx = (position[c - 1, 0][0] + position[c, 0][0]) / 2
            text = ", ".join(f"{unicode_name(b, sup)} = {_number(v[b])}" for b in layer.bias_names[:3])
            text += " …" if len(layer.bias_names) > 3 else ""
            taken.append(_box(bx, 8, text, 12, 30))
            parts.append(f'<text class="bias" x="{bx:.0f}" y="24" font-size="12" text-anchor="middle" fill="#4a5368">'
                         f'{escape(text)}</text>')
        edges, labels, before, labelled = [], [], list(taken), small
        for j in range(len(columns[c])):
            for i in range(len(columns[c - 1])):
                (x1, y1), (x2, y2) = position[c - 1, i], position[c, j]
                name = layer.weight_names[j][i]
                grad = v.get(f"d{L}/d{name}")
                words = f"{unicode_name(name, sup)} = {_number(v[name])}"
                hover = words + ("" if grad is None else f", ∂{L}/∂{unicode_name(name, sup)} = {_number(grad)}")
                edges.append(f'<g><title>{escape(hover)}</title><line x1="{x1 + radius}" y1="{y1}" '
                             f'x2="{x2 - radius}" y2="{y2}" stroke="#9aa3b5" stroke-width="1.2"/>'
                             f'<line x1="{x1 + radius}" y1="{y1}" x2="{x2 - radius}" y2="{y2}" '
                             'stroke="transparent" stroke-width="8"/></g>')
                if not labelled:
                    continue
                second = "" if grad is None else f"∂ {_number(grad)}"
                wide = max(len(words) * 12, len(second) * 10.5) * CHAR_EM / 2 + 3
                # nearer the source for even targets, nearer the target for odd ones, then anywhere along the edge
                prefer = 0.3 if j % 2 == 0 else 0.7
                ts = sorted((k / 40 for k in range(6, 35)), key=lambda t: abs(t - prefer))
                span = x2 - x1 - 2 * radius
                candidates = [((x1 + radius + span * t, y1 + (y2 - y1) * t),
                               (x1 + radius + span * t - wide, y1 + (y2 - y1) * t - 18,
                                x1 + radius + span * t + wide, y1 + (y2 - y1) * t + (15 if second else 2)))
                              for t in ts]
                anchor = _place(candidates, taken)
                if anchor is None:
                    labelled = False
                    continue
                lx, ly = anchor
                colour = VERDICT_COLOUR.get(getattr(checks.get(f"d{L}/d{name}"), "verdict", ""), "#1d2330")
                labels.append(f'<g class="edge-label"><text x="{lx:.0f}" y="{ly - 4:.0f}" font-size="12" '
                              f'text-anchor="middle" {HALO} fill="#1d2330">{escape(words)}</text>'
                              + (f'<text x="{lx:.0f}" y="{ly + 10:.0f}" font-size="10.5" text-anchor="middle" '
                                 f'{HALO} fill="{colour}">{escape(second)}</text>' if second else "") + "</g>")
        parts += edges
        if labelled:
            parts += labels
        else:
            taken[:] = before
        all_labelled &= labelled
    parts += nodes
    parts.append("</svg>")
    return "".join(parts), all_labelled
