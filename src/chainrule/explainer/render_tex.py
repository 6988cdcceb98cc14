"""Markdown and LaTeX renderers: the derivation with typeset equations (no arithmetic here)."""

from ..escape import latex_text, markdown_text
from .derivation import Derivation
from .latex import latex_name, numeric_atom, symbolic_atom, to_latex
from .matrix import is_wide, matrix_lines
from .notation import format_number
from .render import audit_summary, describe_network, given_names, notes, printings, shown

VERDICT_WORDS = {"agrees": "agrees", "slip": "SLIP", "carried": "carried from an earlier slip"}


def equation_rows(d: Derivation, step) -> list[tuple[str, str]]:
    """(left side, right side) rows of one step: the formula, the numbers put in, the result."""
    sup = d.spec.superscript
    formula = to_latex(step.template, symbolic_atom(sup))
    numbers = to_latex(step.template, numeric_atom(d.values))
    result = format_number(step.value)
    rows = [(latex_name(step.name, sup), formula)]
    if numbers != formula:
        rows.append(("", numbers))
    if numbers != result:
        rows.append(("", result))
    return rows


def claim_words(check, source: str) -> str:
    words = f"{source}: {check.claimed_text}, {VERDICT_WORDS[check.verdict]}"
    if check.verdict == "slip":
        words += f" (from its own inputs: {shown(check.from_claims, check)})"
    return words


def render_markdown(d: Derivation) -> str:
    spec, sup = d.spec, d.spec.superscript
    checks = printings(d)
    mark = {"agrees": "✅", "slip": "❌", "carried": "⚠️"}
    out = [f"# {markdown_text(spec.title or 'chainrule explain')}", "",
           f"**Network:** {describe_network(d)}", ""]
    if spec.citation:
        out[2:2] = [f"**Source:** {markdown_text(spec.citation)}", ""]
    if lines := notes(d):
        out += ["**Notes**", ""] + [f"- {markdown_text(line)}" for line in lines] + [""]
    if d.claims:
        out += ["## Audit", ""] + [f"- {line}" for line in audit_summary(d, name=lambda n: f"${latex_name(n, sup)}$")]
        out += [""]
    if len(d.losses) > 2:
        out += [f"## Loss over {len(d.losses) - 1} steps", "", f"| step | ${latex_name(spec.loss_name)}$ |", "|---|---|"]
        out += [f"| {k} | {format_number(loss)} |" for k, loss in enumerate(d.losses[:-1], 1)]
        out += [f"| after {len(d.losses) - 1} | {format_number(d.losses[-1])} |", ""]
    given = given_names(d)
    if len(given) > 60:
        out += ["## Given", "", f"{len(given)} numbers (inputs, targets, weights, biases): see `--format json`."]
    else:
        out += ["## Given", "", "| quantity | value |", "|---|---|"]
        out += [f"| ${latex_name(n, sup)}$ | {format_number(d.values[n])} |" for n in given]
    for number, section in enumerate(d.sections, start=1):
        out += ["", f"## {number}. {section.title}", ""]
        if is_wide(d, section):
            out += ["```text"] + matrix_lines(d, section) + ["```"]
            continue
        for step in section.steps:
            rows = equation_rows(d, step)
            body = " \\\\\n".join(f"{left} &= {right}" for left, right in rows)
            out += ["$$", "\\begin{aligned}", body, "\\end{aligned}", "$$"]
            for check in checks.get(step.name, ()):
                out += ["", f"{mark[check.verdict]} {claim_words(check, spec.claims_source)}"]
            out += [""]
    return "\n".join(out).rstrip() + "\n"


def tex_text(text: str) -> str:
    """Plain text made safe for pdflatex (see ``chainrule.escape.latex_text``)."""
    return latex_text(text)


def render_latex(d: Derivation) -> str:
    """A complete LaTeX document (article class, amsmath only): one align* environment per section."""
    spec, sup = d.spec, d.spec.superscript
    checks = printings(d)
    out = [r"\documentclass[10pt]{article}", r"\usepackage[utf8]{inputenc}", r"\usepackage{amsmath}",
           r"\allowdisplaybreaks", r"\setlength{\textwidth}{16cm}", r"\setlength{\oddsidemargin}{0cm}",
           r"\title{" + tex_text(spec.title or "chainrule explain") + "}", r"\date{}", r"\begin{document}",
           r"\maketitle", r"\noindent\textbf{Network:} " + tex_text(describe_network(d)) + r"\par"]
    if spec.citation:
        out.insert(-1, r"\noindent\textbf{Source:} " + tex_text(spec.citation) + r"\par")
    if lines := notes(d):
        out += [r"\paragraph{Notes}", r"\begin{itemize}"] + [r"\item " + tex_text(line) for line in lines]
        out += [r"\end{itemize}"]
    if d.claims:
        math_name = lambda n: f"${latex_name(n, sup)}$"   # noqa: E731
        out += [r"\section*{Audit}", r"\begin{itemize}"]
        out += [r"\item " + _mixed(line) for line in audit_summary(d, name=math_name)] + [r"\end{itemize}"]
    if len(d.losses) > 2:
        out += [r"\section*{Loss over " + str(len(d.losses) - 1) + " steps}", r"\begin{tabular}{rl}",
                r"step & $" + latex_name(spec.loss_name) + r"$ \\ \hline"]
        out += [f"{k} & {format_number(loss)} \\\\" for k, loss in enumerate(d.losses[:-1], 1)]
        out += [f"after {len(d.losses) - 1} & {format_number(d.losses[-1])} \\\\", r"\end{tabular}"]
    given = [f"{latex_name(n, sup)} = {format_number(d.values[n])}" for n in given_names(d)]
    if len(given) > 60:
        out += [r"\section*{Given}", f"{len(given)} numbers (inputs, targets, weights, biases).", ""]
    else:
        out += [r"\section*{Given}", r"\begin{align*}"]
        out += [" ,\\quad ".join(given[i:i + 4]) + r" \\" for i in range(0, len(given), 4)] + [r"\end{align*}"]
    for number, section in enumerate(d.sections, start=1):
        out += [r"\section*{" + f"{number}. " + tex_text(section.title) + "}"]
        if is_wide(d, section):
            out += [r"{\small\noindent " + r"\\".join(r"\texttt{" + tex_text(line) + "}"
                                                      for line in matrix_lines(d, section)) + r"\par}"]
            continue
        out += [r"\begin{align*}"]
        rows = []
        for step in section.steps:
            step_rows = equation_rows(d, step)
            for k, (left, right) in enumerate(step_rows):
                row = f"{left} &= {right}"
                if k == len(step_rows) - 1 and step.name in checks:
                    words = "; ".join(claim_words(check, spec.claims_source) for check in checks[step.name])
                    row += r" && \text{" + tex_text(words) + "}"
                rows.append(row)
        out += [" \\\\\n".join(rows), r"\end{align*}"]
    out += [r"\end{document}"]
    return "\n".join(out) + "\n"


def _mixed(line: str) -> str:
    """Escape the text of a line while keeping its $...$ mathematics as it is."""
    parts = line.split("$")
    if len(parts) % 2 == 0:        # unbalanced: treat all as text
        return tex_text(line)
    return "".join(f"${part}$" if k % 2 else tex_text(part) for k, part in enumerate(parts))


__all__ = ["render_latex", "render_markdown"]
