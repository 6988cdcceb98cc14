"""Moodle XML for an exercise, written as Moodle's own importer reads it: numerical questions (one per asked
quantity) and a Cloze question holding every part, for one exercise or for each student of a class. Pure: exercises
in, text out.

Each rule below was read in Moodle's code (question/format/xml/format.php, question/format.php,
question/type/numerical/question.php and questiontype.php, question/type/multianswer/questiontype.php):

- ``fraction`` is a percentage, 0 to 100: the importer divides it by 100 (``import_answer``) and refuses a grade that
  is not one of Moodle's (``importprocess``). Every answer here is worth 100.
- A numerical answer matches a response within ``tolerance`` of it either way, an absolute ("nominal") interval
  widened by 1e-14 of its size (``qtype_numerical_answer::get_tolerance_interval``), so a response exactly at the
  edge matches: a tie goes to the student, as in chainrule. Moodle takes the first answer that matches.
- chainrule accepts an answer within half a unit of the key's last digit of the exact value, widened by the
  rounding that the student's own earlier (right, rounded) answers carry forward (``explain.audit``). One Moodle
  answer cannot say that, so each question has the answers of the two ways of working a right answer comes from:
  the exact value ± half a unit (working with full precision), and the value worked on from the key's own rounded
  answers ± half a unit (``carried_rounding``); a two-class softmax output also accepts 1 − the other output, as
  ``chainrule grade`` does. The first answer is the key as the sheet gives it, with tolerance 0 (inside the
  others): Moodle shows it as the right answer. Half a unit around the key alone would refuse answers that
  chainrule accepts: of a student who rounds each answer to 4 figures and works on from it, about one answer in four
  differs from the key in its last digit.
- Units: none. Moodle writes ``unitgradingtype`` 0 (no penalty), ``unitpenalty`` 0.1000000, ``showunits`` 3 (no
  unit shown or read) and ``unitsleft`` 0 for such a question, and no ``units`` element (``writequestion``).
- Text: as Moodle's ``xml_escape`` writes it, in a CDATA section whenever it holds a character XML would escape,
  a ``]]>`` in it split across two sections.
- Categories: a path ``$course$/A/B``; a ``/`` inside a name is written ``//`` and a name starting or ending with
  one is padded with a space (``assemble_category_path``; the importer's ``split_category_path`` undoes both and
  trims). Names are cut at a word boundary with an ellipsis, a ``<`` written ``‹`` (PARAM_TEXT, which cleans every
  name, would strip from it to the next ``>``), and a name ``top`` (which ``create_category_path`` would silently
  drop) written ``top (id)``.
- Cloze (``{1:NUMERICAL:=answer:tolerance~=...}``): only numbers stand inside a subquestion; in the text around
  them ``{`` and ``}`` are written as HTML character references, so no user text can open a subquestion
  (``ANSWER_REGEX``) or a ``{#n}`` placeholder, and the formulas' braces still reach MathJax as braces.

Moodle's own questions mark each part alone: a later part worked correctly from an earlier slip is wrong in Moodle.
The Numbas export keeps error carried forward.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING

from ..escape import html_text
from ..explainer.audit import author_pass, places_of, updated_name
from ..explainer.latex import latex_name, symbolic_atom, to_latex
from ..explainer.notation import format_number, unicode_name
from ..explainer.step_names import at_step
from .exercise import Exercise
from .sheets import WORKING, convention_lines, definition_rows, given_quantities, update_formulas

if TYPE_CHECKING:
    from .roster import Student

CATEGORY_LIMIT = 100          # characters of a category name: Moodle allows 255, a quiz's category menu fewer
NAME_LIMIT = 255              # Moodle's question name (clean_question_name)
PENALTY = "0.3333333"         # Moodle's default penalty for each wrong try
# Moodle's unit fields for a question without units, as its own export writes them.
NO_UNITS = (("unitgradingtype", "0"), ("unitpenalty", "0.1000000"), ("showunits", "3"), ("unitsleft", "0"))
# Characters XML 1.0 cannot hold (a title may hold U+FFFE; control characters are refused where it is read).
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_NEEDS_CDATA = set("&<>\"'")                   # what PHP's htmlspecialchars changes (xml_escape's test)
_PARAM_TEXT = str.maketrans({"<": "‹"})     # PARAM_TEXT strips from a "<"; a lone ">" stays


def files(ex: Exercise) -> dict[str, str]:
    """``moodle.xml`` (a numerical question per asked quantity) and ``moodle-cloze.xml`` (one Cloze question with
    every part, the exercise's formulas included), each in a category named after the exercise."""
    answers, category = accepted_answers(ex), _category([ex.spec.title])
    return {"moodle.xml": _quiz([category] + _numerical(ex, answers)),
            "moodle-cloze.xml": _quiz([category, _cloze(ex, ex.spec.title, answers)])}


def class_files(found: dict[str, Exercise], students: list[Student]) -> dict[str, str]:
    """A class's Moodle files: ``moodle.xml`` with one category per student (``<exercise>/<id>``) holding the
    student's numerical questions, and ``moodle-cloze.xml``, one category holding a Cloze question per student, named
    by id: add a student's to their quiz, or add "a random question" from the category to a quiz and each attempt
    draws one whole variant (a random draw per part would mix variants)."""
    answers = {s.id: accepted_answers(found[s.id]) for s in students}
    return {"moodle.xml": _class_quiz(found, students, answers),
            "moodle-cloze.xml": _class_cloze(found, students, answers)}


def moodle_xml(ex: Exercise, category: str | None = None) -> str:
    """A quiz of numerical questions, one per asked quantity, in the category ``category`` (default: named after the
    exercise)."""
    return _quiz([_category([category or ex.spec.title])] + _numerical(ex, accepted_answers(ex)))


def cloze_xml(ex: Exercise, category: str | None = None) -> str:
    """One Cloze question holding every asked quantity (a numerical blank each, one mark each)."""
    return _quiz([_category([category or ex.spec.title]), _cloze(ex, ex.spec.title, accepted_answers(ex))])


def class_quiz(found: dict[str, Exercise], students: list[Student]) -> str:
    """Every student's numerical questions, each student's in their own category under the exercise's."""
    return _class_quiz(found, students, {s.id: accepted_answers(found[s.id]) for s in students})


def _class_quiz(found: dict[str, Exercise], students: list[Student], answers: dict[str, dict]) -> str:
    title = next(iter(found.values())).spec.title
    parts = []
    for student in students:
        parts += [_category([title, student.id])] + _numerical(found[student.id], answers[student.id])
    return _quiz(parts)


def _class_cloze(found: dict[str, Exercise], students: list[Student], answers: dict[str, dict]) -> str:
    """A Cloze question per student (named ``id: exercise``), all in one category: a set to draw from at random."""
    title = next(iter(found.values())).spec.title
    suffix = " (Cloze, one per student)"
    info = ("One Cloze question per student, named by id. Add a student's own to their quiz, or add a random "
            "question from this category: each attempt then gets one whole variant.")
    parts = [_category([_cut(title, CATEGORY_LIMIT - len(suffix)) + suffix], info)]
    return _quiz(parts + [_cloze(found[s.id], f"{s.id}: {found[s.id].spec.title}", answers[s.id]) for s in students])


# -- what Moodle accepts -------------------------------------------------------------------------------------------

def accepted_answers(ex: Exercise) -> dict[str, list[tuple[Decimal, Decimal]]]:
    """For each asked quantity, the Moodle answers (value, tolerance), in order: the key exactly (shown as the right
    answer), the exact value ± half a unit of the key's last digit, the value worked on from rounded earlier
    answers ± half a unit, and for a two-class softmax output 1 − the other output ± half a unit of each (see the
    module's docstring)."""
    values, precision = ex.derivation.values, ex.precision
    chained = carried_rounding(ex)
    answers = {}
    for name in ex.asked:
        half = precision.unit(values[name]) / 2
        answers[name] = [(precision.rounded(values[name]), Decimal(0)), (_exact(values[name]), half),
                         (_exact(chained[name]), half)]
    for name, other in _complements(ex):
        half = precision.unit(values[name]) / 2
        for written in (precision.rounded(values[other]), precision.rounded(chained[other])):
            answers[name].append((1 - written, (half + _unit(written) / 2).normalize()))
    return {name: _distinct(found) for name, found in answers.items()}


def _distinct(answers: list[tuple[Decimal, Decimal]]) -> list[tuple[Decimal, Decimal]]:
    """The answers without one whose interval lies inside an earlier one's (the key's, first, is always kept)."""
    kept = answers[:1]
    for centre, tolerance in answers[1:]:
        if not any(abs(centre - c) + tolerance <= t for c, t in kept[1:]):
            kept.append((centre, tolerance))
    return kept


def carried_rounding(ex: Exercise) -> dict[str, float]:
    """Each asked quantity as a student works it who carries their own rounded answers forward: the engine's pass
    fed every asked quantity as the key rounds it (``explain.audit.author_pass``, as the audit feeds a student's
    numbers), fed again with what that gives, rounded, until it settles (each round settles one more step). The
    first round is fed the key as rounded (what a round fed nothing gives), so that the pass covers every step the
    exercise asks of."""
    spec, places = ex.spec, places_of(ex.spec)
    printed = {updated_name(n): float(ex.precision.rounded(ex.derivation.values[n])) for n in ex.asked}
    for _ in range(len(ex.asked) + 1):
        worked = author_pass(spec, spec.learning_rate, printed, places)
        rounded = {updated_name(n): float(ex.precision.rounded(worked[updated_name(n)])) for n in ex.asked}
        if rounded == printed:
            return {name: worked[updated_name(name)] for name in ex.asked}
        printed = rounded
    raise AssertionError("the rounded pass did not settle")       # each round settles at least one more step


def _complements(ex: Exercise) -> list[tuple[str, str]]:
    """(output, other output) of a two-class softmax, both asked: ``chainrule grade`` accepts ŷ₂ = 1 − ŷ₁."""
    last = ex.spec.layers[-1]
    if last.activation != "softmax" or len(last.activation_names) != 2:
        return []
    suffixes = [f"[{n}]" for n in range(1, ex.spec.batch_size + 1)] or [""]
    pairs = []
    for sfx, step in ((sfx, step) for step in range(1, ex.steps + 1) for sfx in suffixes):
        first, second = (at_step(name + sfx, step) for name in last.activation_names)
        if first in ex.asked and second in ex.asked:
            pairs += [(first, second), (second, first)]
    return pairs


def _exact(value: float) -> Decimal:
    """A computed value to 15 significant digits: float64's own noise (0.17000000000000007) dropped, the change
    far inside Moodle's 1e-14 allowance and chainrule's ``FLOAT_SLACK``."""
    return Decimal(format(float(value), ".15g"))


def _unit(written: Decimal) -> Decimal:
    return Decimal(1).scaleb(written.as_tuple().exponent)


def _number(value: Decimal) -> str:
    """A number as Moodle reads it: plain decimal digits, never an exponent."""
    return format(value, "f") if value != 0 else "0"


# -- question text -------------------------------------------------------------------------------------------------

def _clean(text: str) -> str:
    """User text with any character XML cannot hold replaced."""
    return _NOT_XML.sub("\ufffd", text)


def _setting(ex: Exercise, formulas: bool) -> str:
    """The exercise as HTML: title, conventions, the network's formulas (LaTeX for Moodle's MathJax filter, from the
    derivation's own templates) and the given numbers. The numerical questions, one per quantity, leave the formulas
    to the question sheet: repeated in each of a large exercise's thousands of questions they would triple the
    file."""
    sup, values = ex.spec.superscript, ex.derivation.values
    network = "".join(f"<p>\\({html_text(latex_name(n, sup) + ' = ' + to_latex(t, symbolic_atom(sup)))}\\)</p>"
                      for n, t in definition_rows(ex) + update_formulas(ex))
    given = ", ".join(f"{unicode_name(n, sup)} = {format_number(values[n])}" for n in given_quantities(ex))
    return (f"<p><b>{html_text(_clean(ex.spec.title))}</b></p>"
            "<ul>" + "".join(f"<li>{html_text(line)}</li>" for line in convention_lines(ex)) + "</ul>"
            + (f"<p>The network:</p>{network}" if formulas else "<p>The network's formulas are on the question "
               "sheet.</p>") + f"<p>Given: {html_text(given)}</p>")


def _numerical(ex: Exercise, answers: dict) -> list[str]:
    """A numerical question per asked quantity, its answers ``answers[name]`` (``accepted_answers``)."""
    sup = ex.spec.superscript
    setting, width = _setting(ex, formulas=False), max(2, len(str(len(ex.asked))))
    out = []
    for number, name in enumerate(ex.asked, 1):
        text = (setting + f"<p>Compute <b>{html_text(unicode_name(name, sup))}</b> to "
                f"{ex.precision.describe()} (a decimal point or a decimal comma). {html_text(WORKING)}</p>")
        lines = ['  <question type="numerical">',
                 f"    <name><text>{_xml(_name(f'{number:0{width}d} {name}'))}</text></name>",
                 f'    <questiontext format="html"><text>{_xml(text)}</text></questiontext>',
                 '    <generalfeedback format="html"><text></text></generalfeedback>',
                 "    <defaultgrade>1</defaultgrade>", f"    <penalty>{PENALTY}</penalty>", "    <hidden>0</hidden>"]
        for value, tolerance in answers[name]:
            lines += ['    <answer fraction="100" format="moodle_auto_format">',
                      f"      <text>{_number(value)}</text>",
                      '      <feedback format="html"><text></text></feedback>',
                      f"      <tolerance>{_number(tolerance)}</tolerance>", "    </answer>"]
        lines += [f"    <{tag}>{value}</{tag}>" for tag, value in NO_UNITS] + ["  </question>"]
        out.append("\n".join(lines))
    return out


def _cloze(ex: Exercise, name: str, answers: dict) -> str:
    """One Cloze question: the setting, then each asked quantity with its blank ``{1:NUMERICAL:=...}``."""
    sup = ex.spec.superscript
    blanks = []
    for asked in ex.asked:
        alternatives = "~".join(f"={_number(v)}:{_number(t)}" for v, t in answers[asked])
        blanks.append(f"<li>{html_text(unicode_name(asked, sup))} = {{1:NUMERICAL:{alternatives}}}</li>")
    around = (_setting(ex, formulas=True) + f"<p>Give each answer to {ex.precision.describe()} (a decimal point or "
              f"a decimal comma). {html_text(WORKING)}</p>")
    text = around.replace("{", "&#123;").replace("}", "&#125;") + "<ol>" + "".join(blanks) + "</ol>"
    lines = ['  <question type="cloze">', f"    <name><text>{_xml(_name(name))}</text></name>",
             f'    <questiontext format="html"><text>{_xml(text)}</text></questiontext>',
             '    <generalfeedback format="html"><text></text></generalfeedback>',
             f"    <penalty>{PENALTY}</penalty>", "    <hidden>0</hidden>", "  </question>"]
    return "\n".join(lines)


# -- categories, names and the file -------------------------------------------------------------------------------

def _category(names: list[str], info: str = "") -> str:
    """The category question that puts the questions after it in ``$course$/name/...`` (with ``info``, its
    description, as plain text)."""
    path = _xml(category_path(names))
    return "\n".join(['  <question type="category">', f"    <category><text>{path}</text></category>",
                      f'    <info format="html"><text>{_xml(html_text(info))}</text></info>', "  </question>"])


def category_path(names: list[str]) -> str:
    """``$course$/name/...``: each name cut (``CATEGORY_LIMIT``), kept whole through Moodle's PARAM_TEXT cleaning,
    and escaped as Moodle's ``assemble_category_path`` escapes it."""
    escaped = []
    for name in names:
        name = _cut(_clean(name).translate(_PARAM_TEXT), CATEGORY_LIMIT)
        name = f"{name} (id)" if name == "top" else name
        name = name.replace("/", "//")
        escaped.append((" " if name.startswith("/") else "") + name + (" " if name.endswith("/") else ""))
    return "/".join(["$course$"] + escaped)


def _cut(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters, its runs of white space as one space; a longer one cut at the last
    word boundary that fits (mid-word only for a single word longer than that), with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    head = text[:limit - 1]
    space = head.rfind(" ")
    if text[limit - 1] != " " and space > 0:
        head = head[:space]
    return head.rstrip(" ,;:-–—/") + "…"


def _name(text: str) -> str:
    """A question name: kept whole through PARAM_TEXT, at most Moodle's 255 characters."""
    return _cut(_clean(text).translate(_PARAM_TEXT), NAME_LIMIT)


def _xml(text: str) -> str:
    """Moodle's ``xml_escape``: text holding a character XML would escape goes in a CDATA section, any ``]]>`` in
    it split across two sections."""
    if _NEEDS_CDATA.isdisjoint(text):
        return text
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _quiz(questions: list[str]) -> str:
    """The file, as Moodle's export frames it (the XML declaration on the first line)."""
    return '<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n' + "\n".join(questions) + "\n</quiz>\n"


__all__ = ["accepted_answers", "carried_rounding", "category_path", "class_files", "class_quiz", "cloze_xml", "files",
           "moodle_xml"]
