"""The HTML renderer: one self-contained page (no network needed to view it) with MathML equations, which browsers
render natively, an SVG diagram of the network, and the audit's verdicts marked at a glance."""

from functools import lru_cache

from ..escape import html_text as escape

from .derivation import Derivation
from .latex import latex_name
from .notation import format_number, unicode_name
from .render import audit_summary, claim_lookup, describe_network, given_names, notes
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
.step { display: flex; align-items: center; gap: 1rem; padding: .25rem .6rem; border-radius: 6px; }
.step math { font-size: 1.08rem; } .eq { display: grid; } .row { display: flex; align-items: center; gap: .3rem; }
.lhs { min-width: 4.5rem; text-align: right; } .row math[display=block] { display: inline-block; margin: .1rem 0; }
.step.slip { background: #fdecea; } .step.carried { background: #fff6e5; }
.badge { white-space: nowrap; font-size: .85rem; padding: .15rem .5rem; border-radius: 999px; margin-left: auto; }
.badge.agrees { background: #e3f2e5; color: #1b5e20; } .badge.slip { background: #c62828; color: white; }
.badge.carried { background: #f9a825; color: #3e2c00; }
table.given { border-collapse: collapse; } table.given td { padding: .1rem .8rem .1rem 0; }
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
    checks = claim_lookup(d)
    title = escape(spec.title or "chainrule explain")
    body = [f"<h1>{title}</h1>", f'<p class="network">{escape(describe_network(d))}</p>']
    if d.claims:
        has_slip = any(c.verdict == "slip" for c in d.claims)
        lines = audit_summary(d, name=lambda n: f"\x00{n}\x01")
        rendered = [_with_names(escape(line), sup) for line in lines]
        body.append(f'<section class="audit{" has-slip" if has_slip else ""}" id="audit"><strong>Audit.</strong> '
                    + " ".join(rendered) + "</section>")
    body.append(f"<figure>{network_svg(d)}<figcaption>The network before the step: each neuron shows its "
                "pre-activation and activation, each connection its weight and (below) the gradient of the loss "
                "with respect to it. A red ring marks a neuron with a printed number (its value or its error) that is a "
                "slip, amber one carried from a slip.</figcaption></figure>")
    if lines := notes(d):
        body.append('<ul class="notes">' + "".join(f"<li>{escape(line)}</li>" for line in lines) + "</ul>")
    if len(d.losses) > 2:
        rows = "".join(f"<tr><td>{k}</td><td>{format_number(v)}</td></tr>" for k, v in enumerate(d.losses[:-1], 1))
        body.append(f"<h2>Loss over {len(d.losses) - 1} steps</h2><table class=\"given\"><tr><th>step</th>"
                    f"<th>{escape(spec.loss_name)}</th></tr>{rows}<tr><td>after {len(d.losses) - 1}</td>"
                    f"<td>{format_number(d.losses[-1])}</td></tr></table>")
    given = given_names(d)
    if len(given) > 60:
        body.append(f"<h2>Given</h2><p>{len(given)} numbers (inputs, targets, weights, biases).</p>")
    else:
        cells = [f"<td>{inline_mathml(latex_name(n, sup) + ' = ' + format_number(d.values[n]))}</td>" for n in given]
        body.append("<h2>Given</h2><table class=\"given\">" + "".join(
            "<tr>" + "".join(cells[i:i + 6]) + "</tr>" for i in range(0, len(cells), 6)) + "</table>")
    for number, section in enumerate(d.sections, start=1):
        body.append(f"<h2>{number}. {escape(section.title)}</h2>")
        if is_wide(d, section):
            body.append('<pre class="matrix">' + escape("\n".join(matrix_lines(d, section))) + "</pre>")
            continue
        for step in section.steps:
            rows = equation_rows(d, step)
            lines = "".join(f'<div class="row"><span class="lhs">{mathml(left) if left else ""}</span>'
                            f'{mathml("= " + right)}</div>' for left, right in rows)
            check = checks.get(step.name)
            verdict = check.verdict if check else ""
            badge = ""
            if check:
                words = f"{spec.claims_source}: {check.claimed_text} · {VERDICT_WORDS[check.verdict]}"
                if check.verdict == "slip":
                    words += f" (from its inputs: {format_number(check.from_claims)})"
                badge = f'<span class="badge {verdict}">{escape(words)}</span>'
            body.append(f'<div class="step {verdict}" data-name="{escape(step.name)}"><div class="eq">{lines}</div>'
                        f'{badge}</div>')
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title>"
            f"<style>{STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def _with_names(text: str, sup) -> str:
    """Replace the \\x00name\\x01 markers of a sentence with the names' Unicode forms."""
    out, rest = [], text
    while "\x00" in rest:
        before, rest = rest.split("\x00", 1)
        name, rest = rest.split("\x01", 1)
        out += [before, f"<b>{escape(unicode_name(name, sup))}</b>"]
    return "".join(out) + rest


def network_svg(d: Derivation) -> str:
    """Inputs on the left, outputs on the right, as textbook figures draw them."""
    if any(len(c) > 10 for c in [d.spec.input_names] + [layer.activation_names for layer in d.spec.layers]):
        return layer_svg(d)
    return neuron_svg(d)


def layer_svg(d: Derivation) -> str:
    """A wide network as one box per layer, with its width, activation and the weight matrix between."""
    spec = d.spec
    columns = [(len(spec.inputs), "inputs")] + [(len(layer.activation_names), layer.activation)
                                                for layer in spec.layers]
    gap, width = 200, 200 * len(columns)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="230" viewBox="0 0 {width} 230" '
             'role="img" aria-label="network diagram">']
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


def neuron_svg(d: Derivation) -> str:
    spec, sup, v = d.spec, d.spec.superscript, d.values
    checks = claim_lookup(d)
    columns = [spec.input_names] + [layer.activation_names for layer in spec.layers]
    pre = [None] + [layer.pre_activation_names for layer in spec.layers]
    col_gap, row_gap, radius, top = 320, 120, 30, 70
    tallest = max(len(c) for c in columns)
    width, height = 120 + col_gap * (len(columns) - 1) + 120, top + row_gap * tallest + 40
    position = {}
    for c, names in enumerate(columns):
        offset = top + (tallest - len(names)) * row_gap / 2 + row_gap / 2
        for r in range(len(names)):
            position[c, r] = (90 + c * col_gap, offset + r * row_gap)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="network diagram">']
    shown = len(columns[0]) <= 8 and all(len(c) <= 8 for c in columns)
    for c, layer in enumerate(spec.layers, start=1):
        for j in range(len(columns[c])):
            for i in range(len(columns[c - 1])):
                (x1, y1), (x2, y2) = position[c - 1, i], position[c, j]
                parts.append(f'<line x1="{x1 + radius}" y1="{y1}" x2="{x2 - radius}" y2="{y2}" stroke="#9aa3b5" '
                             'stroke-width="1.2"/>')
                if not shown:
                    continue
                name = layer.weight_names[j][i]
                t = 0.22 if j % 2 == 0 else 0.72       # near the source for one neuron's edges, the target for the next
                lx, ly = x1 + radius + (x2 - x1 - 2 * radius) * t, y1 + (y2 - y1) * t
                grad = v.get(f"d{spec.loss_name}/d{name}")
                colour = VERDICT_COLOUR.get(getattr(checks.get(f"d{spec.loss_name}/d{name}"), "verdict", ""), "#1d2330")
                parts.append(f'<text x="{lx:.0f}" y="{ly - 4:.0f}" font-size="12" text-anchor="middle" {HALO}'
                             f'fill="#1d2330">{escape(unicode_name(name, sup))} = {format_number(v[name])}</text>')
                if grad is not None:
                    parts.append(f'<text x="{lx:.0f}" y="{ly + 10:.0f}" font-size="10.5" text-anchor="middle" '
                                 f'{HALO} fill="{colour}">∂ {format_number(grad)}</text>')
        bias = layer.bias_names
        if bias:
            bx = (position[c - 1, 0][0] + position[c, 0][0]) / 2
            text = ", ".join(f"{unicode_name(b, sup)} = {format_number(v[b])}" for b in bias[:3])
            parts.append(f'<text x="{bx:.0f}" y="24" font-size="12" text-anchor="middle" fill="#4a5368">'
                         f'{escape(text)}{" …" if len(bias) > 3 else ""}</text>')
    for (c, r), (x, y) in position.items():
        name = columns[c][r]
        L = spec.loss_name
        own = [name, f"d{L}/d{name}"] + ([pre[c][r], f"d{L}/d{pre[c][r]}"] if pre[c] else [])
        verdicts = [checks[n].verdict for n in own if n in checks]
        ring = next((VERDICT_COLOUR[k] for k in ("slip", "carried") if k in verdicts), "#3f51b5")
        fill = "#eef1fb" if c else "#f4f5f7"
        parts.append(f'<circle cx="{x}" cy="{y}" r="{radius}" fill="{fill}" stroke="{ring}" '
                     f'stroke-width="{3.5 if ring != "#3f51b5" else 1.6}"/>')
        parts.append(f'<text x="{x}" y="{y + 5}" font-size="14" text-anchor="middle" font-weight="600">'
                     f'{escape(unicode_name(name, sup))}</text>')
        label = f"{format_number(v[name])}" if not c else f"{unicode_name(pre[c][r], sup)} = " \
            f"{format_number(v[pre[c][r]])}, {format_number(v[name])}"
        parts.append(f'<text x="{x}" y="{y + radius + 16}" font-size="11.5" text-anchor="middle" '
                     f'fill="#4a5368">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)
