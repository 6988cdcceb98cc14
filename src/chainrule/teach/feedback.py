"""Feedback for one student, Markdown or HTML: the mark, each quantity with its verdict, the first slip with its
correct value and the working that gives it, and what the slip carried into. Pure: a result in, text out."""

from ..escape import html_text, markdown_text
from ..explain.audit import carried_into
from ..explain.notation import format_number, unicode_name
from ..explain.render import substituted, symbolic
from .grade import Result

WORDS = {"agrees": "right", "carried": "carried (right working from your earlier wrong number)", "slip": "slip",
         "missing": "missing"}


def _lines(r: Result) -> dict:
    """The feedback's parts as plain text (each renderer escapes them)."""
    if r.problem:
        return {"mark": f"Not graded: {r.problem}", "slip": [], "rows": []}
    d = r.derivation
    sup = d.spec.superscript
    slip = d.first_slip()
    lines = []
    if slip is not None:
        step = next(s for section in d.sections for s in section.steps if s.name == slip.name.replace("+", "'"))
        name = unicode_name(step.name, sup)
        own = format_number(slip.from_claims)
        lines.append(f"First slip: {name} was written as {slip.claimed_text}; the correct value is "
                     f"{format_number(slip.computed)}" + (f", and from your own numbers it would be {own}."
                                                           if own != format_number(slip.computed) else "."))
        lines.append(f"The working: {name} = {symbolic(step.template, sup)} = {substituted(step.template, d.values)}"
                     f" = {format_number(step.value)}")
        carried = carried_into(d.claims, slip)
        if carried:
            lines.append("It carried into: " + ", ".join(unicode_name(c.name, sup) for c in carried)
                         + " (right working from it" + (", so they keep their marks)." if any(
                             m.verdict == "carried" and m.earned for m in r.marks) else ")."))
        later = [unicode_name(c.name, sup) for c in d.claims if c.verdict == "slip" and c is not slip]
        if later:
            lines.append("Further slips: " + ", ".join(later) + ".")
    rows = [(unicode_name(m.name, sup), m.submitted or "—", WORDS[m.verdict], f"{m.earned:g} / {m.points:g}",
             format_number(m.correct)) for m in r.marks]
    mark = f"Mark: {r.total:g} / {r.possible:g} ({r.slips} slip{'s' if r.slips != 1 else ''})"
    return {"mark": mark, "slip": lines, "rows": rows}


def feedback_markdown(r: Result) -> str:
    parts = _lines(r)
    out = [f"# Feedback: {markdown_text(r.student)}", "", f"**{markdown_text(parts['mark'])}**", ""]
    out += [f"- {markdown_text(line)}" for line in parts["slip"]]
    if parts["rows"]:
        out += ["", "| quantity | yours | verdict | points | correct |", "|---|---|---|---|---|"]
        out += [f"| {markdown_text(name)} | {yours} | {markdown_text(verdict)} | {points} | {correct} |"
                for name, yours, verdict, points, correct in parts["rows"]]     # numbers are digits only
    return "\n".join(out).rstrip() + "\n"


def feedback_html(r: Result) -> str:
    parts = _lines(r)
    body = [f"<h1>Feedback: {html_text(r.student)}</h1>", f"<p><strong>{html_text(parts['mark'])}</strong></p>"]
    if parts["slip"]:
        body.append("<ul>" + "".join(f"<li>{html_text(line)}</li>" for line in parts["slip"]) + "</ul>")
    if parts["rows"]:
        body.append("<table><tr><th>quantity</th><th>yours</th><th>verdict</th><th>points</th><th>correct</th></tr>"
                    + "".join("<tr>" + "".join(f"<td>{html_text(c)}</td>" for c in row) + "</tr>"
                              for row in parts["rows"]) + "</table>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Feedback: "
            f"{html_text(r.student)}</title><style>body{{font-family:system-ui,sans-serif;margin:2rem auto;"
            "max-width:60rem}} td,th{padding:.15rem .6rem;text-align:left}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


FEEDBACK = {"markdown": (feedback_markdown, ".md"), "html": (feedback_html, ".html")}
