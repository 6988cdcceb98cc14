"""What the class got right and wrong, per question: for the teacher deciding what to go over again.

``summary_rows`` counts each question's verdicts over the graded submissions; ``summary_csv`` is that table for a
spreadsheet; ``summary_html`` is one self-contained page (inline styles and SVG, nothing fetched, every name
escaped, narrow enough for a phone) with the table, the most-missed steps, how often a slip carried into later
numbers, and a histogram of the percent marks drawn by matplotlib (the ``plot`` extra).

A slip *carried into later numbers* when a later number was right working from it. With the grading's recorded
audit (``Result.derivation``) each carried number names the numbers it was worked from, so every slip is credited
exactly; without it, a slip counts as carried when any later mark, in the exercise's order, was carried.
"""

import csv
import io
from dataclasses import dataclass
from fractions import Fraction

from ..escape import html_text
from ..explainer.audit import carried_into, updated_name
from ..extras import require
from .gradebook import graded, number_text, percent_text, question_names, spreadsheet_cell

VERDICTS = ("agrees", "carried", "slip", "imprecise", "missing", "degenerate")
LABELS = {"agrees": "right", "carried": "carried", "slip": "slip", "imprecise": "imprecise", "missing": "missing",
          "degenerate": "degenerate"}
MOST_MISSED = 5
BINS = 10


@dataclass
class QuestionSummary:
    """One question over the graded submissions."""
    name: str
    points: float | None
    graded: int                  # graded submissions (the denominator of every share)
    counts: dict[str, int]       # verdict -> submissions given it
    slips_carried: int           # of this question's slips, those that carried into later numbers

    def percent(self, verdict: str) -> str:
        return percent_text(self.counts[verdict], self.graded)

    @property
    def done_right(self) -> int:
        """Right, or right working from the student's own earlier number."""
        return self.counts["agrees"] + self.counts["carried"]


def carried_slips(result) -> set[str]:
    """The names of the result's slips that carried into later numbers (see the module's docstring)."""
    marks = result.marks
    slipped = {m.name for m in marks if m.verdict == "slip"}           # marked a slip (not imprecise, missing)
    claims = result.derivation.claims if result.derivation is not None else None
    if claims:
        return slipped & {updated_name(c.name) for c in claims if c.verdict == "slip" and carried_into(claims, c)}
    return {m.name for i, m in enumerate(marks)
            if m.name in slipped and any(later.verdict == "carried" for later in marks[i + 1:])}


def summary_rows(results, points: dict[str, float] | None) -> list[QuestionSummary]:
    """Per question (in the exercise's order): how many graded submissions got each verdict."""
    marked = [r for r in results if graded(r)]
    rows = {q: QuestionSummary(q, (points or {}).get(q), len(marked), dict.fromkeys(VERDICTS, 0), 0)
            for q in question_names(results, points)}
    for r in marked:
        for m in r.marks:
            assert m.verdict in VERDICTS, f"a verdict the summary knows, found {m.verdict!r}"
            if m.name in rows:
                rows[m.name].counts[m.verdict] += 1
        for name in carried_slips(r):
            if name in rows:
                rows[name].slips_carried += 1
    return list(rows.values())


def most_missed(rows: list[QuestionSummary], n: int = MOST_MISSED) -> list[QuestionSummary]:
    """The ``n`` questions with the lowest share done right (right or carried: a carried number is right working
    from the student's own earlier slip, not a miss), more slips first among equals; fully right ones left out."""
    missed = [row for row in rows if row.graded and row.done_right < row.graded]
    return sorted(missed, key=lambda row: (Fraction(row.done_right, row.graded), -row.counts["slip"]))[:n]


def histogram(results) -> list[int]:
    """Graded submissions per tenth of the percent mark: [0, 10), [10, 20), ... [90, 100] (100 in the top bin)."""
    counts = [0] * BINS
    for r in results:
        if graded(r) and r.possible:
            tenth = int(Fraction(repr(float(r.total))) * BINS / Fraction(repr(float(r.possible))))
            counts[min(max(tenth, 0), BINS - 1)] += 1
    return counts


def summary_csv(results, points: dict[str, float] | None) -> str:
    """question, points, graded, then a count and a percent of the graded submissions per verdict (right, carried,
    slip, imprecise, missing, degenerate), and how many of the question's slips carried into later numbers."""
    handle = io.StringIO(newline="")
    writer = csv.writer(handle)
    writer.writerow(["question", "points", "graded"] + [f"{LABELS[v]}{suffix}" for v in VERDICTS
                                                        for suffix in ("", " %")] + ["slips carried on"])
    for row in summary_rows(results, points):
        writer.writerow([spreadsheet_cell(row.name), number_text(row.points) if row.points is not None else "",
                         row.graded] + [cell for v in VERDICTS for cell in (row.counts[v], row.percent(v))]
                        + [row.slips_carried])
    return handle.getvalue()


def histogram_svg(counts: list[int]) -> str:
    """The histogram as an inline ``<svg>``, byte-for-byte the same for the same counts: matplotlib's SVG ids
    come from ``svg.hashsalt``, and its date and creator (matplotlib's version) are left out. The figure is made
    without pyplot (as in ``chainrule.plots``), so no backend is chosen and no figure is left open."""
    matplotlib = require("matplotlib", "plot", "The class summary's histogram of marks")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    with matplotlib.rc_context({"svg.hashsalt": "chainrule-class-summary", "svg.fonttype": "none"}):
        figure = Figure(figsize=(6, 3))
        ax = figure.subplots()
        ax.bar([10 * i + 5 for i in range(BINS)], counts, width=9, color="#3f6fb5")
        ax.set_xlim(0, 100)
        ax.set_xticks(range(0, 101, 10))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("percent mark")
        ax.set_ylabel("submissions")
        ax.spines[["top", "right"]].set_visible(False)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]                                    # the XML prolog and doctype: not in HTML
    return svg.replace("<svg ", '<svg role="img" aria-label="histogram of percent marks" ', 1)


STYLE = ("body{font-family:system-ui,sans-serif;line-height:1.4;margin:0 auto;max-width:50rem;padding:0 .6rem}"
         "h1{font-size:1.5rem}"
         "table{border-collapse:collapse;width:100%;font-size:.8rem}"
         "th,td{border-bottom:1px solid #d5d9e0;padding:.25rem .15rem;text-align:right;vertical-align:top}"
         "th{font-size:.7rem}th:first-child,td:first-child{text-align:left;overflow-wrap:anywhere;min-width:4.5rem}"
         "td small{display:block;color:#5a6270}figure{margin:0}svg{max-width:100%;height:auto}"
         ".wide{overflow-x:auto}.bins span{white-space:nowrap;margin-right:.6rem}")


def _count_cell(row: QuestionSummary, verdict: str) -> str:
    share = row.percent(verdict)
    return (f'<td data-verdict="{verdict}" data-count="{row.counts[verdict]}" data-percent="{share}">'
            f"{row.counts[verdict]}<small>{share + '%' if share else '—'}</small></td>")


def _table(rows: list[QuestionSummary]) -> str:
    head = "<tr><th>question</th>" + "".join(f"<th>{LABELS[v]}</th>" for v in VERDICTS) + "</tr>"
    body = "".join(
        f'<tr data-question="{html_text(row.name)}"><td>{html_text(row.name)}'
        + (f"<small>{number_text(row.points)} pt</small>" if row.points is not None else "") + "</td>"
        + "".join(_count_cell(row, v) for v in VERDICTS) + "</tr>" for row in rows)
    return f'<div class="wide"><table class="questions"><thead>{head}</thead><tbody>{body}</tbody></table></div>'


def _missed(rows: list[QuestionSummary]) -> str:
    if not rows:
        return "<p>No step was missed.</p>"
    items = []
    for row in rows:
        wrong = ", ".join(f"{row.counts[v]} {LABELS[v]}{'s' if v == 'slip' and row.counts[v] > 1 else ''}"
                          for v in ("slip", "imprecise", "missing", "degenerate") if row.counts[v])
        share = percent_text(row.done_right, row.graded)
        items.append(f'<li data-question="{html_text(row.name)}" data-right="{share}">{html_text(row.name)}: '
                     f"{share}% right or carried ({wrong})</li>")
    return '<ol class="missed">' + "".join(items) + "</ol>"


def _carried(rows: list[QuestionSummary]) -> str:
    slips = sum(row.counts["slip"] for row in rows)
    carried = sum(row.slips_carried for row in rows)
    if not slips:
        return '<p class="carried" data-slips="0" data-carried="0">No slips.</p>'
    lines = [f'<p class="carried" data-slips="{slips}" data-carried="{carried}">Of {slips} slips, {carried} '
             f"({percent_text(carried, slips)}%) carried into later numbers: a later number was right working from "
             "the student's own wrong one.</p>",
             '<table class="slips"><thead><tr><th>question</th><th>slips</th><th>carried on</th><th>share</th>'
             "</tr></thead><tbody>"]
    lines += [f'<tr data-question="{html_text(row.name)}"><td>{html_text(row.name)}</td><td>{row.counts["slip"]}'
              f"</td><td>{row.slips_carried}</td><td>{percent_text(row.slips_carried, row.counts['slip'])}%</td></tr>"
              for row in rows if row.counts["slip"]]
    return "".join(lines) + "</tbody></table>"


def _bins(counts: list[int]) -> str:
    spans = [f'<span data-bin="{i}">{10 * i}–{10 * i + 10}: {count}</span>' for i, count in enumerate(counts)]
    return '<p class="bins">' + " ".join(spans) + "</p>"                 # a space: room to wrap


def summary_html(results, points: dict[str, float] | None, title: str) -> str:
    """The class summary as one HTML page (needs matplotlib, the ``plot`` extra, for its histogram)."""
    counts = histogram(results)
    svg = histogram_svg(counts)                 # first: without matplotlib, nothing else is worked out
    rows = summary_rows(results, points)
    marked = sum(graded(r) for r in results)
    title = html_text(title)
    body = [f"<h1>{title}</h1>",
            f'<p class="counts" data-graded="{marked}" data-ungraded="{len(results) - marked}">Graded submissions: '
            f"{marked}; not graded: {len(results) - marked} (the gradebook says why).</p>",
            "<h2>Per question</h2>",
            _table(rows) if rows else "<p>No questions were graded.</p>",
            "<p>Shares are of the graded submissions. Carried: right working from the student's own earlier wrong "
            "number. Degenerate: a carried number the slip made trivial, not credited.</p>",
            "<h2>Most-missed steps</h2>", _missed(most_missed(rows)),
            "<h2>Slips carried forward</h2>", _carried(rows),
            "<h2>Marks</h2>",
            f"<figure>{svg}<figcaption>Percent marks of the {marked} graded submissions, in tenths (100 counted in "
            "the top one).</figcaption></figure>", _bins(counts)]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title>"
            f"<style>{STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


__all__ = ["QuestionSummary", "carried_slips", "histogram", "most_missed", "summary_csv", "summary_html",
           "summary_rows"]
