"""Question sheets, answer keys, the answers template and a Moodle quiz for an exercise. Pure: an exercise in, text
out.

The question sheet gives the network as its formulas (from the derivation's own templates, without numbers), the
given numbers, one numbered line per asked quantity with the name to type for it, and how to hand answers in: a
plain text file ``answers.txt`` of ``name = number`` lines, whose template (``answers_template``) is handed out with
the sheet. Nothing a student receives holds an answer. The key is the derivation of the real step, each asked
quantity marked, after a table of the answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..escape import html_text, latex_text, markdown_text
from ..explainer import RENDERERS
from ..explainer.latex import latex_name, symbolic_atom, to_latex
from ..explainer.notation import format_number, unicode_name
from ..explainer.render import describe_network, given_names
from ..explainer.step_names import split_step
from .exercise import Exercise
from .update_rule import rule_lines, update_rows

if TYPE_CHECKING:
    from .roster import Student

ANSWERS = "answers.txt"
ASKING = "Give each answer to {precision}."
# Answers are marked against the unrounded working (chainrule grade feeds in only the numbers written down): a student
# who rounds every intermediate to the asked digits can be a unit or more off in a later step's last digit.
KEEP_DIGITS = "Work with every digit your calculator gives and round only the answers you write down"
WORKING = KEEP_DIGITS + ": numbers rounded along the way can change the last digit of a later answer."
BLANK_NAME, BLANK_ID = "_" * 24, "_" * 14
# Latin-1 letters pdflatex's default (OT1) encoding lacks: written as their usual transliteration, so that a name
# such as Þórdís compiles without the T1 fonts (which pdflatex would build as bitmaps on first use).
_OT1_MISSING = str.maketrans({"Þ": "Th", "þ": "th", "Ð": "D", "ð": "d", "«": "<<", "»": ">>"})
ROOM_FOR_WORKING = r"\par\vspace{2.5cm}"
PHONE_STYLE = """
svg { max-width: 100%; height: auto; }
.who { font-size: 1.05rem; overflow-wrap: anywhere; }
.who .blank { display: inline-block; min-width: 8rem; max-width: 100%; border-bottom: 1px solid #1d2330;
              margin-right: 1rem; }
ul.given { display: flex; flex-wrap: wrap; gap: .2rem 1.2rem; list-style: none; padding: 0; }
ol.questions li { margin: .3rem 0; } code { overflow-wrap: anywhere; }
"""


def tex(text: str) -> str:
    """User text (a title, a student's name) for pdflatex."""
    return latex_text(text.translate(_OT1_MISSING))


def definition_rows(ex: Exercise) -> list[tuple[str, str]]:
    """(name, template) of the formulas that define the network and loss: example 1's forward pass and loss, of
    step 1 (a later step's are the same, from the parameters the step before left)."""
    rows = []
    for section in ex.derivation.sections:
        if split_step(section.steps[0].name)[1] != 1:
            continue
        title = section.title.removeprefix("Step 1: ")
        if section.kind in ("forward", "loss") and (not ex.spec.batch_size or title.startswith("Example 1:")):
            rows += [(step.name, step.template) for step in section.steps]
        if section.kind == "batch":
            rows.append((section.steps[0].name, section.steps[0].template))
    return rows


def update_formulas(ex: Exercise) -> list[tuple[str, str]]:
    """(name, template) of the update of one parameter w by the exercise's optimizer (none for plain gradient
    descent, which the conventions state)."""
    return update_rows(ex.spec, ex.steps)


def given_quantities(ex: Exercise) -> list[str]:
    """The numbers the sheet gives: inputs, targets, weights and biases, the learning rate and the optimizer's
    settings (μ, β₁, ...)."""
    return given_names(ex.derivation) + ["eta"] + list(ex.spec.optimizer.settings)


def convention_lines(ex: Exercise) -> list[str]:
    spec, lines = ex.spec, []
    lines.append(f"Network: {describe_network(ex.derivation)}.")
    lines += rule_lines(spec, ex.steps)
    if spec.update_order == "sequential":
        lines.append("Sequential update: the output layer is updated first and its new weights carry the error "
                     "back to the layer below.")
    if spec.batch_size:
        lines.append(f"The step is over a batch of {spec.batch_size} examples; a quantity of example n is "
                     f"written with [n] (z1[2]: z1 of example 2).")
    if any(layer.activation == "relu" for layer in spec.layers):
        lines.append("ReLU's derivative is 1 where z > 0 and 0 otherwise.")
    return lines


def asking_text(ex: Exercise) -> str:
    return ASKING.format(precision=ex.precision.describe()) + " " + WORKING


def handing_in(ex: Exercise, student: Student | None = None) -> list[str]:
    """How to hand answers in, as plain sentences (each format escapes them)."""
    example = _example(ex)
    keep = "keep its id line as it is" if student is not None else "write your student id after id ="
    return [f"Hand in a plain text file named {ANSWERS}: one line per answer, the name shown beside the question, "
            f"=, and your number, such as {example} (that is the form, not an answer; a decimal point or a decimal "
            "comma).",
            f"The template {ANSWERS} handed out with this sheet has every line ready: write each number after its "
            f"=, your name after name =, and {keep}. Lines starting with # are comments."]


def _example(ex: Exercise) -> str:
    """A line of the form an answer takes, its number at the precision asked."""
    return f"{ex.asked[0]} = {ex.precision.text(0.123456)}"


def answers_template(ex: Exercise, student: Student | None = None) -> str:
    """The student's ``answers.txt`` to fill in: an ``id`` line (the roster's id, else blank), a ``name`` line, and
    one ``name = `` line per asked quantity, in the order they are asked; comment lines say how."""
    lines = [f"# {ANSWERS}: your answers to \"{ex.spec.title}\"",
             f"# Write each answer after its =, to {ex.precision.describe()}, such as {_example(ex)} (that is the",
             "# form, not an answer; a decimal point or a decimal comma).",
             f"# {KEEP_DIGITS}.",
             "# One name = number a line; keep the names as they are. Lines starting with # are comments.",
             f"# Hand in this file, named {ANSWERS}."] + _name_notes(ex)
    lines += [f"id = {student.id}" if student is not None else "id = ", "name = "]
    return "\n".join(lines + [f"{name} = " for name in ex.asked]) + "\n"


STATE_NOTES = {"momentum": "v_{p} is {p}'s velocity", "nesterov": "v_{p} is {p}'s velocity",
               "rmsprop": "s_{p} is {p}'s mean square",
               "adam": "m_{p} and v_{p} are {p}'s moments, mhat_{p} and vhat_{p} (m̂, v̂ on the sheet) the same with "
                       "bias correction"}


def _name_notes(ex: Exercise) -> list[str]:
    """Comment lines saying what the optimizer's and a later step's names stand for (none for one step of plain
    gradient descent)."""
    weight = ex.spec.layers[-1].weight_names[0][0]
    notes = []
    if ex.spec.optimizer.name in STATE_NOTES:
        notes.append("# " + STATE_NOTES[ex.spec.optimizer.name].format(p=weight) + ".")
    if ex.steps > 1:
        notes.append(f"# name@2 is the quantity of step 2 (⁽ᵗ⁼²⁾ on the sheet): {weight}'@2 is {weight} as step 2 "
                     f"left it.")
    return notes


def _who(student: Student | None) -> tuple[str, str]:
    """(name, id) for the sheet's Name/ID line: the roster's, or blanks to fill in."""
    if student is None:
        return BLANK_NAME, BLANK_ID
    return student.name or BLANK_NAME, student.id


def question_markdown(ex: Exercise, key: bool = False, student: Student | None = None) -> str:
    sup = ex.spec.superscript
    name, number = _who(student)
    out = [f"# {markdown_text(ex.spec.title)}" + (" — answer key" if key else ""), ""]
    if not key or student is not None:
        out += [f"**Name:** {markdown_text(name)} **ID:** {markdown_text(number)}", ""]
    out += [f"- {markdown_text(line)}" for line in convention_lines(ex)] + [""]
    out += ["## The network", "", "$$", "\\begin{aligned}"]
    out += [" \\\\\n".join(f"{latex_name(n, sup)} &= {to_latex(t, symbolic_atom(sup))}" for n, t in definition_rows(ex))]
    out += ["\\end{aligned}", "$$", ""]
    if update_formulas(ex):
        out += ["## The update", "", "$$", "\\begin{aligned}"]
        out += [" \\\\\n".join(f"{latex_name(n, sup)} &= {to_latex(t, symbolic_atom(sup))}" for n, t in update_formulas(ex))]
        out += ["\\end{aligned}", "$$", ""]
    out += ["## Given", "", "| quantity | value |", "|---|---|"]
    out += [f"| ${latex_name(n, sup)}$ | {format_number(ex.derivation.values[n])} |" for n in given_quantities(ex)]
    out += ["", "## Questions", "", markdown_text(asking_text(ex)), ""]
    for k, asked in enumerate(ex.asked, 1):
        out.append(f"{k}. ${latex_name(asked, sup)}$ = " + (f"**{ex.answer_text(asked)}**" if key
                                                             else f"? — type `{asked}`"))
    if key:
        out += ["", "## Worked solution", ""]
        body = _without_audit(RENDERERS["markdown"](ex.key_derivation()), "## Audit\n", "\n## ")
        out += [body.split("\n", 1)[1].lstrip()]          # without its own title
    else:
        out += ["", "## Handing in", ""] + [markdown_text(line) + "\n" for line in handing_in(ex, student)]
    return "\n".join(out).rstrip() + "\n"


def _without_audit(document: str, start: str, end: str, keep_end: bool = True) -> str:
    """The worked derivation without its audit summary: in a key every answer agrees, and each is marked at its
    step already."""
    if start not in document:
        return document
    head, rest = document.split(start, 1)
    tail = rest.split(end, 1)[1] if end in rest else ""
    return head + (end.lstrip("\n") if keep_end else "") + tail


def question_latex(ex: Exercise, key: bool = False, student: Student | None = None) -> str:
    sup = ex.spec.superscript
    name, number = _who(student)
    filled = (r"\textbf{" + tex(name) + "}" if student is not None and student.name else r"\rule{7cm}{0.4pt}",
              r"\texttt{" + tex(number) + "}" if student is not None else r"\rule{4cm}{0.4pt}")
    who = [r"\noindent Name: " + filled[0] + r"\hfill ID: " + filled[1] + r"\par\medskip"] \
        if not key or student is not None else []
    head = [r"\section*{" + ("Answers" if key else "Questions") + "}", tex(asking_text(ex)), r"\begin{enumerate}"]
    for asked in ex.asked:
        head.append(r"\item $" + latex_name(asked, sup) + " = " + (ex.answer_text(asked) if key else r"\;?") + "$"
                    + ("" if key else r"\hfill type \texttt{" + tex(asked) + "}" + ROOM_FOR_WORKING))
    head.append(r"\end{enumerate}")
    if not key:
        head += [r"\section*{Handing in}"] + [tex(line) + r"\par" for line in handing_in(ex, student)]
    intro = [r"\begin{itemize}"] + [r"\item " + tex(line) for line in convention_lines(ex)] + [r"\end{itemize}"]
    intro += [r"\section*{The network}", r"\begin{align*}"]
    intro += [" \\\\\n".join(f"{latex_name(n, sup)} &= {to_latex(t, symbolic_atom(sup))}" for n, t in definition_rows(ex))]
    intro += [r"\end{align*}"]
    if update_formulas(ex):
        intro += [r"\section*{The update}", r"\begin{align*}"]
        intro += [" \\\\\n".join(f"{latex_name(n, sup)} &= {to_latex(t, symbolic_atom(sup))}" for n, t in update_formulas(ex))]
        intro += [r"\end{align*}"]
    intro += [r"\section*{Given}", r"\begin{align*}"]
    given = [f"{latex_name(n, sup)} = {format_number(ex.derivation.values[n])}" for n in given_quantities(ex)]
    intro += [" ,\\quad ".join(given[i:i + 4]) + r" \\" for i in range(0, len(given), 4)] + [r"\end{align*}"]
    title = tex(ex.spec.title + (" (answer key)" if key else ""))
    if not key:
        return "\n".join([r"\documentclass[11pt]{article}", r"\usepackage[utf8]{inputenc}", r"\usepackage{amsmath}",
                          r"\allowdisplaybreaks", r"\setlength{\textwidth}{16cm}", r"\setlength{\oddsidemargin}{0cm}",
                          r"\title{" + title + "}", r"\date{}", r"\begin{document}", r"\maketitle", *who, *intro,
                          *head, r"\end{document}"]) + "\n"
    document = _without_audit(RENDERERS["latex"](ex.key_derivation()), "\\section*{Audit}", "\\end{itemize}\n",
                              keep_end=False)
    document = document.replace(r"\title{" + latex_text(ex.spec.title) + "}", r"\title{" + title + "}", 1)
    return document.replace("\\maketitle\n", "\\maketitle\n" + "\n".join(who + intro + head) + "\n"
                            + r"\section*{Worked solution}" + "\n", 1)


def question_html(ex: Exercise, key: bool = False, student: Student | None = None) -> str:
    """The sheet as one HTML page that fits a phone's width: the diagram scales down, formulas scroll inside
    themselves, and the given numbers wrap."""
    from ..explainer.render_html import STYLE, inline_mathml

    sup = ex.spec.superscript
    title = html_text(ex.spec.title + (" — answer key" if key else ""))
    name, number = _who(student)
    body = [f"<h1>{title}</h1>"]
    if not key or student is not None:
        body.append(f'<p class="who">Name: <span class="blank">{html_text(name if name != BLANK_NAME else "")}'
                    f'</span> ID: <span class="blank">{html_text(number if number != BLANK_ID else "")}</span></p>')
    body += ["<ul>" + "".join(f"<li>{html_text(line)}</li>" for line in convention_lines(ex)) + "</ul>",
            f"<figure>{network_diagram(ex)}<figcaption>The network with its given weights.</figcaption></figure>",
            "<h2>The network</h2>"]
    body += [f'<div class="scroll">{inline_mathml(latex_name(n, sup) + " = " + to_latex(t, symbolic_atom(sup)))}'
             "</div>" for n, t in definition_rows(ex)]
    if update_formulas(ex):
        body += ["<h2>The update</h2>"] + [
            f'<div class="scroll">{inline_mathml(latex_name(n, sup) + " = " + to_latex(t, symbolic_atom(sup)))}</div>'
            for n, t in update_formulas(ex)]
    # the given numbers and the questions as plain text (w₅ = 0.3, ∂L/∂w₅): a large exercise has thousands, and
    # MathML for each would take most of the sheet's time
    cells = [f"<li>{html_text(unicode_name(n, sup))} = {format_number(ex.derivation.values[n])}</li>"
             for n in given_quantities(ex)]
    body.append('<h2>Given</h2><ul class="given">' + "".join(cells) + "</ul>")
    body.append(f'<h2>Questions</h2><p>{html_text(asking_text(ex))}</p><ol class="questions">')
    for asked in ex.asked:
        answer = (f" <b>{html_text(ex.answer_text(asked))}</b>" if key
                  else f" ? — type <code>{html_text(asked)}</code>")
        body.append(f'<li data-name="{html_text(asked)}">{html_text(unicode_name(asked, sup))} ={answer}</li>')
    body.append("</ol>")
    if key:
        worked = _without_audit(RENDERERS["html"](ex.key_derivation()), '<section class="audit', "</section>",
                                keep_end=False)
        inner = worked[worked.index("<body>") + len("<body>"):worked.index("</body>")]
        body.append("<h2>Worked solution</h2>" + inner.split("</h1>", 1)[1])
    else:
        body.append("<h2>Handing in</h2>" + "".join(f"<p>{html_text(line)}</p>" for line in handing_in(ex, student)))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title>"
            f"<style>{STYLE}{PHONE_STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def network_diagram(ex: Exercise) -> str:
    """An SVG of the network showing names and the given weights only (no computed value: it is a question). Its
    viewBox lets it scale down to a narrow screen."""
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


SHEETS = {"md": question_markdown, "tex": question_latex, "html": question_html}


def student_files(ex: Exercise, student: Student | None = None) -> dict:
    """What a student receives, by file name: the question sheets and the answers template (no answer in any)."""
    files = {f"questions.{suffix}": (lambda sheet=sheet: sheet(ex, student=student))
             for suffix, sheet in SHEETS.items()}
    return files | {ANSWERS: lambda: answers_template(ex, student)}


def key_files(ex: Exercise, student: Student | None = None, stem: str = "key") -> dict:
    """The keys, by file name: ``{stem}.md``, ``.tex`` and ``.html``."""
    return {f"{stem}.{suffix}": (lambda sheet=sheet: sheet(ex, key=True, student=student))
            for suffix, sheet in SHEETS.items()}
