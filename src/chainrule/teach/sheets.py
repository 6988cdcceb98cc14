"""Question sheets, answer keys and a Moodle quiz for an exercise. Pure: an exercise in, text out.

The question sheet gives the network as its formulas (from the derivation's own templates, without numbers), the
given numbers, and one numbered line per asked quantity. The key is the derivation of the real step, each asked
quantity marked (it is claimed at its rounded answer and the audit marks it), after a table of the answers.
"""

import xml.etree.ElementTree as ET

from ..escape import html_text, latex_text, markdown_text
from ..explain import RENDERERS
from ..explain.latex import latex_name, symbolic_atom, to_latex
from ..explain.notation import format_number, unicode_name
from ..explain.render import describe_network, given_names
from .exercise import Exercise

ASKING = "Give each answer to {digits} significant figures."


def _definition(ex: Exercise) -> list[tuple[str, str]]:
    """(name, template) of the formulas that define the network and loss: example 1's forward pass and loss."""
    rows = []
    for section in ex.derivation.sections:
        if section.kind in ("forward", "loss") and (not ex.spec.batch_size or section.title.startswith("Example 1:")):
            rows += [(step.name, step.template) for step in section.steps]
        if section.kind == "batch":
            rows.append((section.steps[0].name, section.steps[0].template))
    return rows


def _given(ex: Exercise) -> list[str]:
    return given_names(ex.derivation) + ["eta"]


def _conventions(ex: Exercise) -> list[str]:
    spec, lines = ex.spec, []
    lines.append(f"Network: {describe_network(ex.derivation)}.")
    lines.append("One step of gradient descent: every weight and bias w becomes w′ = w − η·∂L/∂w"
                 + ("; biases are kept fixed." if not spec.update_biases else "."))
    if spec.update_order == "sequential":
        lines.append("Sequential update: the output layer is updated first and its new weights carry the error "
                     "back to the layer below.")
    if spec.batch_size:
        lines.append(f"The step is over a batch of {spec.batch_size} examples; a quantity of example n is "
                     f"written with [n] (z1[2]: z1 of example 2).")
    if any(layer.activation == "relu" for layer in spec.layers):
        lines.append("ReLU's derivative is 1 where z > 0 and 0 otherwise.")
    return lines


def question_markdown(ex: Exercise, key: bool = False) -> str:
    sup = ex.spec.superscript
    out = [f"# {markdown_text(ex.spec.title)}" + (" — answer key" if key else ""), ""]
    out += [f"- {markdown_text(line)}" for line in _conventions(ex)] + [""]
    out += ["## The network", "", "$$", "\\begin{aligned}"]
    out += [" \\\\\n".join(f"{latex_name(n, sup)} &= {to_latex(t, symbolic_atom(sup))}" for n, t in _definition(ex))]
    out += ["\\end{aligned}", "$$", "", "## Given", "", "| quantity | value |", "|---|---|"]
    out += [f"| ${latex_name(n, sup)}$ | {format_number(ex.derivation.values[n])} |" for n in _given(ex)]
    out += ["", "## Questions", "", markdown_text(ASKING.format(digits=ex.digits)), ""]
    for number, name in enumerate(ex.asked, 1):
        out.append(f"{number}. ${latex_name(name, sup)}$ = " + (f"**{ex.answer_text(name)}**" if key else "?"))
    if key:
        out += ["", "## Worked solution", ""]
        body = _without_audit(RENDERERS["markdown"](ex.key_derivation()), "## Audit\n", "\n## ")
        out += [body.split("\n", 1)[1].lstrip()]          # without its own title
    return "\n".join(out).rstrip() + "\n"


def _without_audit(document: str, start: str, end: str, keep_end: bool = True) -> str:
    """The worked derivation without its audit summary: in a key every answer agrees, and each is marked at its
    step already."""
    if start not in document:
        return document
    head, rest = document.split(start, 1)
    tail = rest.split(end, 1)[1] if end in rest else ""
    return head + (end.lstrip("\n") if keep_end else "") + tail


def question_latex(ex: Exercise, key: bool = False) -> str:
    sup = ex.spec.superscript
    head = [r"\section*{" + ("Answers" if key else "Questions") + "}", latex_text(ASKING.format(digits=ex.digits)),
            r"\begin{enumerate}"]
    for name in ex.asked:
        head.append(r"\item $" + latex_name(name, sup) + " = " + (ex.answer_text(name) if key else r"\;?") + "$")
    head.append(r"\end{enumerate}")
    intro = [r"\begin{itemize}"] + [r"\item " + latex_text(line) for line in _conventions(ex)] + [r"\end{itemize}"]
    intro += [r"\section*{The network}", r"\begin{align*}"]
    intro += [" \\\\\n".join(f"{latex_name(n, sup)} &= {to_latex(t, symbolic_atom(sup))}" for n, t in _definition(ex))]
    intro += [r"\end{align*}", r"\section*{Given}", r"\begin{align*}"]
    given = [f"{latex_name(n, sup)} = {format_number(ex.derivation.values[n])}" for n in _given(ex)]
    intro += [" ,\\quad ".join(given[i:i + 4]) + r" \\" for i in range(0, len(given), 4)] + [r"\end{align*}"]
    title = latex_text(ex.spec.title + (" (answer key)" if key else ""))
    if not key:
        return "\n".join([r"\documentclass[11pt]{article}", r"\usepackage[utf8]{inputenc}", r"\usepackage{amsmath}",
                          r"\setlength{\textwidth}{16cm}", r"\setlength{\oddsidemargin}{0cm}",
                          r"\title{" + title + "}", r"\date{}", r"\begin{document}", r"\maketitle", *intro, *head,
                          r"\end{document}"]) + "\n"
    document = _without_audit(RENDERERS["latex"](ex.key_derivation()), "\\section*{Audit}", "\\end{itemize}\n",
                              keep_end=False)
    document = document.replace(r"\title{" + latex_text(ex.spec.title) + "}", r"\title{" + title + "}", 1)
    return document.replace("\\maketitle\n", "\\maketitle\n" + "\n".join(intro + head) + "\n"
                            + r"\section*{Worked solution}" + "\n", 1)


def question_html(ex: Exercise, key: bool = False) -> str:
    from ..explain.render_html import STYLE, inline_mathml

    sup = ex.spec.superscript
    title = html_text(ex.spec.title + (" — answer key" if key else ""))
    body = [f"<h1>{title}</h1>", "<ul>" + "".join(f"<li>{html_text(line)}</li>" for line in _conventions(ex)) + "</ul>",
            f"<figure>{network_diagram(ex)}<figcaption>The network with its given weights.</figcaption></figure>",
            "<h2>The network</h2>"]
    body += [f"<div>{inline_mathml(latex_name(n, sup) + ' = ' + to_latex(t, symbolic_atom(sup)))}</div>"
             for n, t in _definition(ex)]
    cells = [f"<td>{inline_mathml(latex_name(n, sup) + ' = ' + format_number(ex.derivation.values[n]))}</td>"
             for n in _given(ex)]
    body.append("<h2>Given</h2><table class=\"given\">" + "".join(
        "<tr>" + "".join(cells[i:i + 6]) + "</tr>" for i in range(0, len(cells), 6)) + "</table>")
    body.append(f"<h2>Questions</h2><p>{html_text(ASKING.format(digits=ex.digits))}</p><ol>")
    for name in ex.asked:
        answer = f" <b>{html_text(ex.answer_text(name))}</b>" if key else " ?"
        body.append(f'<li data-name="{html_text(name)}">{inline_mathml(latex_name(name, sup) + " =")}{answer}</li>')
    body.append("</ol>")
    if key:
        worked = _without_audit(RENDERERS["html"](ex.key_derivation()), '<section class="audit', "</section>",
                                keep_end=False)
        inner = worked[worked.index("<body>") + len("<body>"):worked.index("</body>")]
        body.append("<h2>Worked solution</h2>" + inner.split("</h1>", 1)[1])
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title>"
            f"<style>{STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def network_diagram(ex: Exercise) -> str:
    """An SVG of the network showing names and the given weights only (no computed value: it is a question)."""
    spec, sup, v = ex.spec, ex.spec.superscript, ex.derivation.values
    columns = [spec.input_names] + [layer.activation_names for layer in spec.layers]
    gap, row_gap, radius, top = 260, 100, 26, 40
    tallest = max(len(c) for c in columns)
    width, height = 100 + gap * (len(columns) - 1) + 100, top + row_gap * tallest + 20
    position = {(c, r): (70 + c * gap, top + (tallest - len(names)) * row_gap / 2 + row_gap / 2 + r * row_gap)
                for c, names in enumerate(columns) for r in range(len(names))}
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="network diagram">']
    for c, layer in enumerate(spec.layers, start=1):
        for j in range(len(columns[c])):
            for i in range(len(columns[c - 1])):
                (x1, y1), (x2, y2) = position[c - 1, i], position[c, j]
                parts.append(f'<line x1="{x1 + radius}" y1="{y1}" x2="{x2 - radius}" y2="{y2}" stroke="#9aa3b5"/>')
                t = 0.25 if j % 2 == 0 else 0.7
                lx, ly = x1 + radius + (x2 - x1 - 2 * radius) * t, y1 + (y2 - y1) * t
                name = layer.weight_names[j][i]
                parts.append(f'<text x="{lx:.0f}" y="{ly - 4:.0f}" font-size="12" text-anchor="middle" '
                             f'stroke="white" stroke-width="3" paint-order="stroke">'
                             f'{html_text(unicode_name(name, sup))} = {format_number(v[name])}</text>')
    for (c, r), (x, y) in position.items():
        parts.append(f'<circle cx="{x}" cy="{y}" r="{radius}" fill="#eef1fb" stroke="#3f51b5"/>'
                     f'<text x="{x}" y="{y + 5}" font-size="14" text-anchor="middle">'
                     f'{html_text(unicode_name(columns[c][r], sup))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def moodle_xml(ex: Exercise, category: str | None = None) -> str:
    """A Moodle quiz (Moodle XML): one numerical question per asked quantity, the answer rounded as in the key,
    with a tolerance of one unit of its last significant digit."""
    sup = ex.spec.superscript
    quiz = ET.Element("quiz")
    if category:
        question = ET.SubElement(quiz, "question", type="category")
        ET.SubElement(ET.SubElement(question, "category"), "text").text = f"$course$/{category}"
    given = ", ".join(f"{unicode_name(n, sup)} = {format_number(ex.derivation.values[n])}" for n in _given(ex))
    setting = " ".join(_conventions(ex))
    for number, name in enumerate(ex.asked, 1):
        question = ET.SubElement(quiz, "question", type="numerical")
        ET.SubElement(ET.SubElement(question, "name"), "text").text = f"{number:02d} {name}"
        text = (f"<p>{html_text(ex.spec.title)}</p><p>{html_text(setting)}</p><p>Given: {html_text(given)}</p>"
                f"<p>Compute <b>{html_text(unicode_name(name, sup))}</b> to {ex.digits} significant figures.</p>")
        body = ET.SubElement(question, "questiontext", format="html")
        ET.SubElement(body, "text").text = text
        ET.SubElement(ET.SubElement(question, "generalfeedback", format="html"), "text").text = ""
        ET.SubElement(question, "defaultgrade").text = "1"
        ET.SubElement(question, "penalty").text = "0.3333333"
        ET.SubElement(question, "hidden").text = "0"
        answer = ET.SubElement(question, "answer", fraction="100", format="moodle_auto_format")
        ET.SubElement(answer, "text").text = ex.answer_text(name)
        ET.SubElement(answer, "tolerance").text = format(ex.tolerance(name), "g")
        ET.SubElement(ET.SubElement(answer, "feedback", format="html"), "text").text = ""
        ET.SubElement(question, "unitgradingtype").text = "0"
        ET.SubElement(question, "unitpenalty").text = "0.1000000"
        ET.SubElement(question, "showunits").text = "3"
        ET.SubElement(question, "unitsleft").text = "0"
    ET.indent(quiz)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(quiz, encoding="unicode") + "\n"


SHEETS = {"md": question_markdown, "tex": question_latex, "html": question_html}


def write_exercise(ex: Exercise, folder, force: bool = False, moodle: bool = True) -> list:
    """Write the exercise's JSON, question sheet and key (Markdown, LaTeX, HTML) and its Moodle quiz in ``folder``
    (created if missing); an existing file is replaced only with ``force``. Returns the paths written."""
    import json
    from pathlib import Path

    from ..atomicfile import write_text_atomic
    from .exercise import exercise_document

    folder = Path(folder)
    files = {"exercise.json": lambda: json.dumps(exercise_document(ex), indent=2, ensure_ascii=False) + "\n"}
    for suffix, sheet in SHEETS.items():
        files[f"questions.{suffix}"] = lambda sheet=sheet: sheet(ex)
        files[f"key.{suffix}"] = lambda sheet=sheet: sheet(ex, key=True)
    if moodle:
        files["moodle.xml"] = lambda: moodle_xml(ex, category=ex.spec.title[:60])
    prepare_folder(folder, list(files), force)
    written = []
    for name, make in files.items():
        write_text_atomic(folder / name, make())
        written.append(folder / name)
    return written


def prepare_folder(folder, names, force: bool) -> None:
    """Create ``folder`` if needed; refuse to replace any of ``names`` in it unless ``force``."""
    from ..errors import ChainruleError

    if folder.exists() and not folder.is_dir():
        raise ChainruleError(f"--out {folder}: expected a folder, found a file")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ChainruleError(f"--out {folder}: cannot create the folder ({exc.strerror or exc})") from None
    existing = [name for name in names if (folder / name).exists()]
    if existing and not force:
        raise ChainruleError(f"--out {folder}: {existing[0]} exists; give --force to replace the exercise's files, "
                             f"or another --out")
