"""Feedback for one student, Markdown or HTML: the mark, each quantity with its verdict (and why, where it earned
nothing for a reason other than its value: missing, too few digits), the first slip and what it carried into, and the
lines of the submission that were ignored. Pure: a result in, text out.

Feedback never shows the key unless asked (``answers=True``, for after the deadline): without it a student learns
where the first slip is and the formula to check, not the right numbers.
"""

import unicodedata

from ..escape import html_text, markdown_text
from ..explainer.audit import carried_into, updated_name
from ..explainer.notation import format_number, unicode_name
from ..explainer.render import substituted, symbolic
from .grade import Result

WORDS = {"agrees": "right", "carried": "carried (right working from your earlier wrong number)", "slip": "slip",
         "missing": "missing", "imprecise": "too few digits",
         "degenerate": "carried, but your earlier slip made this step trivial"}


def plain(text: str) -> str:
    """User text (a file's name, a note quoting a line) with every control character shown as its escape: a
    feedback file may be read with ``cat``, and an escape sequence in a file name would act on the terminal."""
    return "".join(ascii(c)[1:-1] if unicodedata.category(c) == "Cc" else c for c in str(text))


def _lines(r: Result, answers: bool = False) -> dict:
    """The feedback's parts as plain text (each renderer escapes them)."""
    notes = [plain(note[:1].upper() + note[1:]) for note in r.notes]
    if r.problem:
        return {"mark": plain(f"Not graded: {r.problem}"), "slip": notes, "rows": []}
    d = r.derivation
    sup = d.spec.superscript
    slip = d.first_slip()
    lines = []
    if slip is not None:
        step = next(s for section in d.sections for s in section.steps if s.name == slip.name.replace("+", "'"))
        name = unicode_name(step.name, sup)
        if answers:
            own = format_number(slip.from_claims)
            lines.append(f"First slip: {name} was written as {slip.claimed_text}; the correct value is "
                         f"{format_number(slip.computed)}" + (f", and from your own numbers it would be {own}."
                                                               if own != format_number(slip.computed) else "."))
            lines.append(f"The working: {name} = {symbolic(step.template, sup)} = "
                         f"{substituted(step.template, d.values)} = {format_number(step.value)}")
        else:
            lines.append(f"First slip: {name} was written as {slip.claimed_text}, which is not what "
                         f"{name} = {symbolic(step.template, sup)} gives from the given numbers and your earlier "
                         "ones: work that step again.")
        carried = carried_into(d.claims, slip)
        if carried:
            marks = {m.name: m for m in r.marks}
            follows = [(unicode_name(c.name, sup), marks.get(updated_name(c.name))) for c in carried]
            trivial = [n for n, m in follows if m is not None and m.verdict == "degenerate" and not m.earned]
            lines.append("It carried into: " + ", ".join(n for n, _ in follows) + " (right working from it" + (
                ", so they keep their marks)." if not trivial and any(
                    m.verdict == "carried" and m.earned for m in r.marks) else ")."))
            if trivial:        # flagged for the teacher: it is right working, and earns nothing
                kept = [n for n, m in follows if m is not None and m.earned]
                lines.append((f"{', '.join(kept)} {'keeps its' if len(kept) == 1 else 'keep their'} marks, but "
                              if kept else "But ") + f"your slip made the step of {', '.join(trivial)} trivial, so "
                             + ("it earns nothing." if len(trivial) == 1 else "they earn nothing."))
        later = [unicode_name(c.name, sup) for c in d.claims if c.verdict == "slip" and c is not slip]
        if later:
            lines.append("Further slips: " + ", ".join(later) + ".")
    rows = []
    for m in r.marks:
        verdict = WORDS[m.verdict] + (f": {m.reason}" if m.reason and m.verdict in ("missing", "imprecise") else "")
        row = (unicode_name(m.name, sup), m.submitted or "—", verdict, f"{m.earned:g} / {m.points:g}")
        rows.append(row + ((format_number(m.correct),) if answers else ()))
    mark = f"Mark: {r.total:g} / {r.possible:g} ({r.slips} slip{'s' if r.slips != 1 else ''})"
    return {"mark": mark, "slip": lines + notes, "rows": rows}


def _who(r: Result) -> str:
    return plain(f"{r.name} ({r.student})" if r.name else r.student)


def feedback_markdown(r: Result, answers: bool = False) -> str:
    parts = _lines(r, answers)
    out = [f"# Feedback: {markdown_text(_who(r))}", "", f"**{markdown_text(parts['mark'])}**", ""]
    out += [f"- {markdown_text(line)}" for line in parts["slip"]]
    if parts["rows"]:
        head = ["quantity", "yours", "verdict", "points"] + (["correct"] if answers else [])
        out += ["", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(cell if k in (1, 3, 4) else markdown_text(cell) for k, cell in enumerate(row))
                + " |" for row in parts["rows"]]          # numbers and points are digits, signs and points only
    return "\n".join(out).rstrip() + "\n"


def feedback_html(r: Result, answers: bool = False) -> str:
    parts = _lines(r, answers)
    who = html_text(_who(r))
    body = [f"<h1>Feedback: {who}</h1>", f"<p><strong>{html_text(parts['mark'])}</strong></p>"]
    if parts["slip"]:
        body.append("<ul>" + "".join(f"<li>{html_text(line)}</li>" for line in parts["slip"]) + "</ul>")
    if parts["rows"]:
        head = ["quantity", "yours", "verdict", "points"] + (["correct"] if answers else [])
        body.append("<div class=\"scroll\"><table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"
                    + "".join("<tr>" + "".join(f"<td>{html_text(c)}</td>" for c in row) + "</tr>"
                              for row in parts["rows"]) + "</table></div>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Feedback: "
            f"{who}</title><style>body{{font-family:system-ui,sans-serif;margin:1rem auto;padding:0 .5rem;"
            "max-width:60rem}} td,th{padding:.15rem .6rem;text-align:left} .scroll{overflow-x:auto}"
            "</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


FEEDBACK = {"markdown": (feedback_markdown, ".md"), "html": (feedback_html, ".html")}
