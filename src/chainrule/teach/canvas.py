"""Canvas quizzes of an exercise: a QTI 1.2 package (``canvas-qti.zip``) that Canvas's "QTI .zip file" course import
turns into a quiz of numerical questions, one per asked quantity, 1 point each. Pure: an exercise in, bytes out.

What Canvas reads was taken from Canvas's own code, not guessed:

- Canvas writes a numerical question as an ``item`` whose ``qtimetadata`` gives ``question_type`` =
  ``numerical_question`` and ``points_possible``, a ``response_str ident="response1"`` with ``render_fib
  fibtype="Decimal"``, and for a range answer one ``respcondition continue="No"`` whose ``conditionvar`` holds
  ``vargte`` and ``varlte`` and whose ``setvar`` sets ``SCORE`` to 100 (instructure/canvas-lms
  ``lib/cc/qti/qti_items.rb``: ``add_question``, ``calculated_response_str``, ``numerical_resprocessing``). This
  module writes that shape and nothing else.
- Classic Quizzes import QTI 1.2 through QTIMigrationTool, which maps the metadata fields ``question_type``,
  ``points_possible`` and ``assessment_question_identifierref`` (instructure/QTIMigrationTool ``lib/imsqtiv1.py``,
  ``MDFieldMap``) and turns the two bounds into an ``and`` of ``customOperator class="vargte"/"varlte"``; Canvas
  reads that back as a ``range_answer`` (``gems/plugins/qti_exporter/lib/qti/numeric_interaction.rb``,
  ``get_canvas_answers``) and marks an answer right when ``start <= answer <= end`` in BigDecimal, both ends
  included (``app/models/quizzes/quiz_question/numerical_question.rb``, ``FlexRange``). The importer finds a
  question's bank entry by its own identifier first, then by ``assessment_question_identifierref``
  (``app/models/importers/quiz_importer.rb``); the reference names the item itself, so nothing dangles.
- New Quizzes read it with instructure/qti: without a ``varequal`` the bounds are a ``withinARange`` answer taken as
  written (``lib/qti/v1/models/numerics/within_range.rb``). A ``varequal`` would make it a margin answer whose value
  passes through Ruby's ``Float#to_s`` (``margin_error.rb``), which writes 0.00001 as ``1.0e-05``; so no
  ``varequal`` is written. New Quizzes also drop, silently, a question whose numbers lack a decimal point or use
  exponent form (longhornadam/QuizForge ``dev/bugs/2025-11-08_decimal_formatting/BUG_REPORT.md``): every number
  here is plain positional decimal with a digit after the point (``plain``).

The range is chainrule's own agreement rule for the quantity judged alone (``agreeing_ranges``): within half a unit
of the key's last digit of the computed value, so the key's answer always lies inside and a tie agrees. Canvas cannot carry an error forward: each question is marked alone,
so a later answer worked correctly from an earlier slip is marked wrong, as ``chainrule grade --no-carried-credit``
marks it, and a student's own rounding carried from step to step is not allowed for as chainrule's audit allows for
it. Canvas also cannot count digits: an answer with too few digits is marked by its value.
"""

from __future__ import annotations

import hashlib
import json
import math
import xml.etree.ElementTree as ET
from decimal import Decimal
from typing import TYPE_CHECKING

from ..escape import html_text
from ..explainer.audit import FLOAT_SLACK
from ..explainer.notation import format_number, unicode_name
from .exercise import Exercise
from .packages import zip_bytes
from .precision import Precision, shortest
from .sheets import WORKING, convention_lines, given_quantities

if TYPE_CHECKING:
    from .roster import Student

PACKAGE = "canvas-qti.zip"
QTI = "http://www.imsglobal.org/xsd/ims_qtiasiv1p2"
MANIFEST = "http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1"
POINTS = Decimal(1)
# The significant digits of a computed value that count: rounding to them moves it by at most 5e-14 of itself, under
# the audit's FLOAT_SLACK (1e-13 of it), so float64's noise goes and the ranges stay inside the audit's.
SETTLED = round(-math.log10(FLOAT_SLACK)) + 1


def files(ex: Exercise) -> dict[str, bytes]:
    """``{"canvas-qti.zip": bytes}``: one quiz, titled as the exercise, for the teacher's ``teacher/`` folder."""
    return {PACKAGE: package([(ex, None)])}


def class_files(found: dict[str, Exercise], students: list[Student]) -> dict[str, bytes]:
    """``{"canvas-qti.zip": bytes}``: one quiz per student, in the roster's order, each titled with the student's
    name and id and asking about that student's numbers. One import makes them all; each is then assigned to its
    student (Canvas's "Assign to"). A question bank cannot be given to one student (a quiz draws from a bank at
    random), so banks could not hand each student their own variant."""
    return {PACKAGE: package([(found[student.id], student) for student in students])}


def package(quizzes: list[tuple[Exercise, Student | None]]) -> bytes:
    """A QTI 1.2 zip: ``imsmanifest.xml`` and one assessment file per quiz, entries sorted, fixed timestamps."""
    entries, idents = {}, []
    for ex, student in quizzes:
        ident = _ident(ex, student)
        idents.append(ident)
        entries[f"{ident}/{ident}.xml"] = _xml(assessment(ex, ident, student))
    assert len(set(idents)) == len(idents), "two quizzes of one package share an identifier"
    entries["imsmanifest.xml"] = _xml(manifest(idents))
    return zip_bytes({path: (data, 0o644) for path, data in entries.items()})


def plain(number: Decimal) -> str:
    """``number`` in plain positional decimal with at least one digit after the point (``4.0``, ``-0.000012345``,
    ``1200.0``): never ``4``, ``1.2E+3`` or ``1.2345e-05``."""
    if number == 0:
        return "0.0"
    text = format(number, "f")
    return text if "." in text else text + ".0"


def agreeing_ranges(precision: Precision, value: float) -> list[tuple[Decimal, Decimal]]:
    """The numbers ``chainrule grade`` counts as agreeing with ``value`` when judged alone, as closed ranges of exact
    decimals: within half a unit of the key's last digit of the value (a tie agrees). The unit is the larger of the
    key's and the answer's own (``grade_values``), so near a power of ten a number that rounds into the decade above
    is judged to its own, coarser unit: a second range, or a wider one where the two meet.

    The value is its shortest decimal to ``SETTLED`` significant digits: float64's noise (0.24999999999999997 for a
    sum that is 0.25) is what the audit's ``FLOAT_SLACK`` forgives, and this forgives it the same way with bounds a
    teacher can read. The ranges lie inside the audit's and differ from them only for answers of 14 or more digits, or
    within that slack (1e-13 of the value) of the edge of the rounding."""
    s = shortest(value)
    s = s.quantize(Decimal(1).scaleb(s.adjusted() - SETTLED + 1))
    m, unit = abs(s), precision.unit(value)
    ranges = [(m - unit / 2, m + unit / 2)]
    if precision.kind == "significant":
        edge = Decimal(1).scaleb(precision.rounded(value).adjusted() + 1) - unit / 2   # rounds to the next decade
        if edge <= m + 5 * unit:
            low, high = max(m - 5 * unit, edge), m + 5 * unit
            ranges = [(ranges[0][0], high)] if low <= ranges[0][1] else ranges + [(low, high)]
    return [(low.normalize(), high.normalize()) if s > 0 else (-high.normalize(), -low.normalize())
            for low, high in ranges]


def assessment(ex: Exercise, ident: str, student: Student | None = None) -> ET.Element:
    """The ``questestinterop`` of one quiz: an ``assessment`` with one numerical ``item`` per asked quantity."""
    title = ex.spec.title + ("" if student is None else f" — {_who(student)}")
    root = ET.Element("questestinterop", xmlns=QTI)
    quiz = ET.SubElement(root, "assessment", ident=ident, title=title)
    section = ET.SubElement(quiz, "section", ident="root_section")
    setting = _setting(ex, student)
    for number, name in enumerate(ex.asked, 1):
        section.append(item(ex, name, f"{ident}_{number:04d}", number, setting))
    return root


def item(ex: Exercise, name: str, ident: str, number: int, setting: str) -> ET.Element:
    """One numerical question, as Canvas exports one with a range answer (``qti_items.rb``)."""
    shown = unicode_name(name, ex.spec.superscript)
    node = ET.Element("item", ident=ident, title=f"{number}. {shown}")
    meta = ET.SubElement(ET.SubElement(node, "itemmetadata"), "qtimetadata")
    for label, entry in (("question_type", "numerical_question"), ("points_possible", plain(POINTS)),
                         ("assessment_question_identifierref", ident)):
        field = ET.SubElement(meta, "qtimetadatafield")
        ET.SubElement(field, "fieldlabel").text = label
        ET.SubElement(field, "fieldentry").text = entry
    presentation = ET.SubElement(node, "presentation")
    ET.SubElement(ET.SubElement(presentation, "material"), "mattext", texttype="text/html").text = (
        f"<div>{setting}<p>Question {number} of {len(ex.asked)}: compute <b>{html_text(shown)}</b>. Give it to "
        f"{html_text(ex.precision.describe())}, as a decimal number such as {ex.precision.text(0.123456)} (the "
        f"form, not an answer).</p></div>")
    response = ET.SubElement(presentation, "response_str", ident="response1", rcardinality="Single")
    ET.SubElement(ET.SubElement(response, "render_fib", fibtype="Decimal"), "response_label", ident="answer1")
    processing = ET.SubElement(node, "resprocessing")
    ET.SubElement(ET.SubElement(processing, "outcomes"), "decvar", maxvalue="100", minvalue="0", varname="SCORE",
                  vartype="Decimal")
    for low, high in agreeing_ranges(ex.precision, ex.derivation.values[name]):
        condition = ET.SubElement(processing, "respcondition", {"continue": "No"})
        test = ET.SubElement(condition, "conditionvar")
        ET.SubElement(test, "vargte", respident="response1").text = plain(low)
        ET.SubElement(test, "varlte", respident="response1").text = plain(high)
        ET.SubElement(condition, "setvar", action="Set", varname="SCORE").text = "100"
    return node


def manifest(idents: list[str]) -> ET.Element:
    """``imsmanifest.xml``: one ``imsqti_xmlv1p2`` resource per quiz."""
    root = ET.Element("manifest", identifier=f"{idents[0]}_manifest", xmlns=MANIFEST)
    metadata = ET.SubElement(root, "metadata")
    ET.SubElement(metadata, "schema").text = "IMS Content"
    ET.SubElement(metadata, "schemaversion").text = "1.1.3"
    ET.SubElement(root, "organizations")
    resources = ET.SubElement(root, "resources")
    for ident in idents:
        resource = ET.SubElement(resources, "resource", identifier=ident, type="imsqti_xmlv1p2")
        ET.SubElement(resource, "file", href=f"{ident}/{ident}.xml")
    return root


def _setting(ex: Exercise, student: Student | None) -> str:
    """What every question of the quiz shows first (HTML): the exercise, the network and the given numbers, as the
    question sheet gives them."""
    sup = ex.spec.superscript
    given = ", ".join(f"{unicode_name(n, sup)} = {format_number(ex.derivation.values[n])}" for n in given_quantities(ex))
    who = "" if student is None else f"<p>{html_text(_who(student))}</p>"
    return (f"<p><b>{html_text(ex.spec.title)}</b></p>{who}<p>{html_text(' '.join(convention_lines(ex)))}</p>"
            f"<p>Given: {html_text(given)}</p><p>{html_text(WORKING)}</p>")


def _who(student: Student) -> str:
    return f"{student.name} ({student.id})" if student.name else student.id


def _ident(ex: Exercise, student: Student | None) -> str:
    """A stable identifier of the quiz, from the exercise and the student: the same export, the same identifiers
    (Canvas keeps them as migration ids). Letters, digits and ``_`` only, as QTIMigrationTool keeps them."""
    document = {"spec": ex.document, "asked": ex.asked, "precision": ex.precision.to_document(),
                "student": None if student is None else student.id}
    digest = hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()
    return f"chainrule_{digest[:20]}"


def _xml(root: ET.Element) -> bytes:
    ET.indent(root)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8", xml_declaration=False) \
        + b"\n"

