"""The Canvas export (teach/canvas.py): a QTI 1.2 zip checked field by field against what Canvas's importers read,
every number in a form New Quizzes keeps, each question's range against chainrule's own grader, hostile titles,
byte-for-byte reproducibility, one quiz per student of a class, and the scripted students of issue 19.

Where each checked field comes from (read in Canvas's code, not guessed):
- instructure/canvas-lms lib/cc/qti/qti_items.rb (Canvas's own export): item metadata question_type and
  points_possible; response_str ident="response1" rcardinality="Single" with render_fib fibtype="Decimal"
  (calculated_response_str); a range answer as respcondition continue="No" > conditionvar > vargte + varlte, setvar
  action="Set" varname="SCORE" 100 (numerical_resprocessing); decvar SCORE 0..100.
- instructure/QTIMigrationTool lib/imsqtiv1.py (Classic Quizzes' QTI 1.2 reader): MDFieldMap maps the fieldlabels
  question_type, points_possible and assessment_question_identifierref; identifiers lose ':' and '.'.
- canvas-lms gems/plugins/qti_exporter/lib/qti/numeric_interaction.rb: vargte/varlte under an 'and' become a
  range_answer; app/models/quizzes/quiz_question/numerical_question.rb: FlexRange#cover?, both ends included;
  app/models/importers/quiz_importer.rb: a question's bank entry is found by its own migration id, then by
  assessment_question_identifierref.
- instructure/qti lib/qti/v1/models/numerics/within_range.rb (New Quizzes): vargte + varlte and no varequal make a
  withinARange answer, bounds taken as written; margin_error.rb would pass a varequal through Float#to_s.
- longhornadam/QuizForge dev/bugs/2025-11-08_decimal_formatting/BUG_REPORT.md: New Quizzes silently drop a numerical
  question whose numbers are written 4 or 1.5E+6.
"""

import html
import io
import re
import zipfile
from decimal import Decimal
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings, strategies as st

from chainrule.escape import html_text
from chainrule.explainer.audit import FLOAT_SLACK, author_pass, places_of, within
from chainrule.explainer.notation import format_number, unicode_name
from chainrule.teach import Precision, Student, make_exercise
from chainrule.teach.canvas import PACKAGE, agreeing_ranges, class_files, files, plain
from chainrule.teach.grade import grade_values
from chainrule.teach.sheets import given_quantities
from chainrule.teach.variants import variants

NS = {"q": "http://www.imsglobal.org/xsd/ims_qtiasiv1p2", "m": "http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1"}
NUMBER = re.compile(r"-?\d+\.\d+")              # what New Quizzes keeps: a point, digits both sides, no exponent
TITLE = "Week 3: «backprop» & <b>loss</b> ]]> Þórdís 渡辺"
SHAPES = {
    "softmax full step": lambda: make_exercise((2, 2, 2), "sigmoid", "softmax", seed=7, title=TITLE),
    "batch of 2": lambda: make_exercise((2, 2, 1), "sigmoid", "sigmoid", seed=5, batch=2, title=TITLE),
    "3 decimal places": lambda: make_exercise((2, 2, 2), seed=7, precision=Precision("decimals", 3), title=TITLE),
    # dL/da2 = 1.0 at one decimal place: a key whose value is a whole number
    "whole-number key": lambda: make_exercise((2, 2, 2), "sigmoid", "softmax", seed=3,
                                              precision=Precision("decimals", 1), title=TITLE),
    # dL/dw1 = 0.00002837 (2.837e-05): a key that float formatting writes in exponent form
    "tiny key": lambda: make_exercise((1, 1, 1, 1, 1, 1), "sigmoid", "sigmoid", seed=0, ask=["gradients"],
                                      title=TITLE),
    # z2 = 0.95 (0.9500000000000001 in float64) at one decimal place: 1.0 and 0.9 both half a unit away
    "a tie": lambda: make_exercise((2, 2, 2), "sigmoid", "softmax", seed=7, precision=Precision("decimals", 1),
                                   title=TITLE),
}
CACHE = {}


def _exercise(shape):
    if shape not in CACHE:
        CACHE[shape] = SHAPES[shape]()
    return CACHE[shape]


def _entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        return {info.filename: archive.read(info) for info in archive.infolist()}


def _quizzes(data: bytes) -> tuple[ET.Element, list[ET.Element]]:
    """The manifest and each resource's assessment file, in the manifest's order."""
    entries = _entries(data)
    manifest = ET.fromstring(entries["imsmanifest.xml"])
    hrefs = [f.get("href") for f in manifest.iterfind("m:resources/m:resource/m:file", NS)]
    return manifest, [ET.fromstring(entries[href]) for href in hrefs]


def _ranges(item: ET.Element) -> list[tuple[Decimal, Decimal]]:
    return [(Decimal(c.findtext("q:conditionvar/q:vargte", namespaces=NS)),
             Decimal(c.findtext("q:conditionvar/q:varlte", namespaces=NS)))
            for c in item.iterfind("q:resprocessing/q:respcondition", NS)]


def _canvas_marks(items: list[ET.Element], answers: dict[str, Decimal], asked: list[str]) -> list[float]:
    """What Canvas gives each question: 1 point when the answer lies in one of its ranges (FlexRange#cover?)."""
    return [1.0 if name in answers and any(low <= answers[name] <= high for low, high in _ranges(item)) else 0.0
            for name, item in zip(asked, items, strict=True)]


def _agrees_alone(ex, name, written: Decimal) -> bool:
    """chainrule's verdict on ``written`` given as the only answer: nothing upstream to carry from."""
    mark = grade_values(ex.spec, None, "s", {name: written}, "test", precision=ex.precision).marks[0]
    return mark.verdict == "agrees"


@pytest.mark.parametrize("shape", SHAPES)
def test_every_field_canvas_reads(shape):
    ex = _exercise(shape)
    entries = _entries(files(ex)[PACKAGE])
    manifest, (root,) = _quizzes(files(ex)[PACKAGE])
    # one imsqti_xmlv1p2 resource naming the assessment file, which is in the zip (text2qti's layout: ID/ID.xml)
    (resource,) = manifest.iterfind("m:resources/m:resource", NS)
    assert resource.get("type") == "imsqti_xmlv1p2"
    assert sorted(entries) == sorted(["imsmanifest.xml", resource.find("m:file", NS).get("href")])
    assert root.tag == f"{{{NS['q']}}}questestinterop"
    (quiz,) = root.iterfind("q:assessment", NS)
    assert quiz.get("title") == ex.spec.title and quiz.get("ident") == resource.get("identifier")
    items = quiz.findall("q:section/q:item", NS)
    assert len(items) == len(ex.asked)
    idents = [item.get("ident") for item in items]
    assert len(set(idents)) == len(idents) and all(re.fullmatch(r"[A-Za-z0-9_]+", i) for i in idents)
    for item in items:
        meta = {f.findtext("q:fieldlabel", namespaces=NS): f.findtext("q:fieldentry", namespaces=NS)
                for f in item.iterfind("q:itemmetadata/q:qtimetadata/q:qtimetadatafield", NS)}
        assert meta["question_type"] == "numerical_question"
        assert NUMBER.fullmatch(meta["points_possible"]) and Decimal(meta["points_possible"]) == 1
        assert meta["assessment_question_identifierref"] == item.get("ident")      # quiz_importer.rb: aq lookup
        text = item.find("q:presentation/q:material/q:mattext", NS)
        assert text.get("texttype") == "text/html" and text.text.startswith("<div>")
        response = item.find("q:presentation/q:response_str", NS)
        assert response.get("ident") == "response1" and response.get("rcardinality") == "Single"
        assert response.find("q:render_fib", NS).get("fibtype") == "Decimal"
        assert response.find("q:render_fib/q:response_label", NS) is not None
        decvar = item.find("q:resprocessing/q:outcomes/q:decvar", NS)
        assert (decvar.get("varname"), decvar.get("minvalue"), decvar.get("maxvalue")) == ("SCORE", "0", "100")
        conditions = item.findall("q:resprocessing/q:respcondition", NS)
        assert conditions
        for condition in conditions:
            assert condition.get("continue") == "No"
            tests = list(condition.find("q:conditionvar", NS))
            assert [t.tag.split("}")[1] for t in tests] == ["vargte", "varlte"]
            assert all(t.get("respident") == "response1" for t in tests)
            setvar = condition.find("q:setvar", NS)
            assert (setvar.get("action"), setvar.get("varname"), setvar.text) == ("Set", "SCORE", "100")
    assert b"varequal" not in entries[resource.find("m:file", NS).get("href")]


@pytest.mark.parametrize("shape", SHAPES)
def test_numbers_keep_a_point_and_no_exponent(shape):
    ex = _exercise(shape)
    _, (root,) = _quizzes(files(ex)[PACKAGE])
    bounds = [node.text for tag in ("vargte", "varlte") for node in root.iter(f"{{{NS['q']}}}{tag}")]
    assert len(bounds) >= 2 * len(ex.asked)
    assert [b for b in bounds if not NUMBER.fullmatch(b)] == []


def test_the_whole_and_the_tiny_keys_are_written_plainly():
    whole, tiny = _exercise("whole-number key"), _exercise("tiny key")
    assert whole.answer_text("dL/da2") == "1.0" and tiny.answer_text("dL/dw1") == "0.00002837"
    assert "e" in repr(tiny.derivation.values["dL/dw1"])        # float writes it 2.837...e-05
    for ex, name in ((whole, "dL/da2"), (tiny, "dL/dw1")):
        _, (root,) = _quizzes(files(ex)[PACKAGE])
        item = root.findall("q:assessment/q:section/q:item", NS)[ex.asked.index(name)]
        texts = [node.text for node in item.iter() if node.tag.endswith(("vargte", "varlte"))]
        assert all(NUMBER.fullmatch(t) for t in texts), texts
    assert plain(Decimal("1.2E+3")) == "1200.0" and plain(Decimal("4")) == "4.0"
    assert plain(Decimal("-1.2345E-5")) == "-0.000012345" and plain(Decimal("0E-8")) == "0.0"
    assert [(plain(a), plain(b)) for a, b in agreeing_ranges(Precision("significant", 2), 1234.5)] == \
        [("1184.5", "1284.5")]


@pytest.mark.parametrize("shape", SHAPES)
def test_each_range_holds_the_key_and_not_one_unit_off(shape):
    """The key's answer lies in its question's range; the numbers one unit of its last digit away do not, unless
    chainrule's grader takes them too (a value exactly half way, a tie the student wins)."""
    ex = _exercise(shape)
    _, (root,) = _quizzes(files(ex)[PACKAGE])
    items = root.findall("q:assessment/q:section/q:item", NS)
    for name, item in zip(ex.asked, items, strict=True):
        key, unit = Decimal(ex.answer_text(name)), ex.precision.unit(ex.derivation.values[name])
        inside = lambda x: any(low <= x <= high for low, high in _ranges(item))     # noqa: E731
        assert inside(key), name
        for off in (key - unit, key + unit):
            assert inside(off) == _agrees_alone(ex, name, off), (name, off)


@pytest.mark.parametrize("shape", ["softmax full step", "3 decimal places", "whole-number key", "tiny key", "a tie"])
def test_ranges_are_chainrules_verdict_on_each_answer_alone(shape):
    """At each bound, just inside and just outside, and at the key: Canvas's range and ``chainrule grade`` agree."""
    ex = _exercise(shape)
    _, (root,) = _quizzes(files(ex)[PACKAGE])
    items = root.findall("q:assessment/q:section/q:item", NS)
    for name, item in zip(ex.asked, items, strict=True):
        unit = ex.precision.unit(ex.derivation.values[name])
        for low, high in _ranges(item):
            for x in (low, high, low - unit / 1000, high + unit / 1000, low + unit / 1000, high - unit / 1000):
                assert any(a <= x <= b for a, b in _ranges(item)) == _agrees_alone(ex, name, x), (name, x)


def test_a_tie_agrees_both_ways():
    """An answer exactly half a unit from the value is a tie the student wins (precision.py), float64's noise in
    the value aside: chainrule takes 0.9 and 1.0 for z2 = 0.95, and so does the range."""
    ex = _exercise("a tie")
    assert repr(ex.derivation.values["z2"]) == "0.9500000000000001" and ex.answer_text("z2") == "1.0"
    _, (root,) = _quizzes(files(ex)[PACKAGE])
    item = root.findall("q:assessment/q:section/q:item", NS)[ex.asked.index("z2")]
    assert _ranges(item) == [(Decimal("0.9"), Decimal("1.0"))]
    assert _agrees_alone(ex, "z2", Decimal("0.9")) and _agrees_alone(ex, "z2", Decimal("1.0"))


def _agrees_by_value(precision: Precision, value: float, x: Decimal) -> bool:
    """grade_values's rule for an answer with nothing upstream: within half the larger of the key's unit and the
    answer's own, in audit.within's exact decimals."""
    unit = max(precision.unit(value), precision.unit(float(x)))
    return within(x, value, 0.5 * float(unit))


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=1e-6, max_value=5e3), st.booleans(), st.sampled_from(
    [Precision("significant", d) for d in range(2, 9)] + [Precision("decimals", d) for d in range(1, 9)]),
    st.integers(-60, 60))
def test_ranges_match_the_grader_near_powers_of_ten(size, negative, precision, step):
    """Values of every size, near a power of ten too (0.09996 to four figures: 0.1000 is judged to its own unit
    and agrees), against grade_values's rule on a grid of answers around the value."""
    value = -size if negative else size
    ranges = agreeing_ranges(precision, value)
    assert all(NUMBER.fullmatch(plain(b)) for r in ranges for b in r)
    unit = precision.unit(value)
    x = precision.rounded(value) + unit * Decimal(step) / 10
    # Where the grader's verdict turns on float64's slack alone (the answer within FLOAT_SLACK of the value's size of
    # the edge of its rounding), the ranges, exact decimals a teacher can read, may fall either side.
    edge = abs(abs(x - Decimal(repr(value))) - unit / 2)
    if any(edge <= 2 * Decimal(repr(FLOAT_SLACK)) * abs(Decimal(repr(value))) for unit in (unit, precision.unit(x))):
        return
    assert any(low <= x <= high for low, high in ranges) == _agrees_by_value(precision, value, x)


@pytest.mark.parametrize("value", [0.09996, -0.09996, 0.99996, 9.9996e-5, 99.996, 0.099996])
def test_an_answer_rounding_into_the_next_decade(value):
    precision = Precision("significant", 4)
    ranges = agreeing_ranges(precision, value)
    unit = precision.unit(value)
    for k in range(-80, 81):
        x = precision.rounded(value) + unit * Decimal(k) / 10
        assert any(low <= x <= high for low, high in ranges) == _agrees_by_value(precision, value, x), x


def test_hostile_titles_are_escaped_for_xml_and_html():
    ex = _exercise("softmax full step")
    data = files(ex)[PACKAGE]
    raw = b"".join(_entries(data).values())
    assert TITLE.encode() not in raw and b"<b>loss</b>" not in raw     # never raw markup in the XML
    _, (root,) = _quizzes(data)
    quiz = root.find("q:assessment", NS)
    assert quiz.get("title") == ex.spec.title                          # XML escaping round-trips (&, <, ]]>, Unicode)
    for text in root.iter(f"{{{NS['q']}}}mattext"):
        assert html_text(ex.spec.title) in text.text                   # escaped once more for HTML ...
        assert "<b>loss</b>" not in text.text                          # ... so the title shows as written
        assert html.unescape(re.sub(r"<[^>]+>", " ", text.text)).count(ex.spec.title) == 1


@pytest.mark.parametrize("shape", SHAPES)
def test_question_text_gives_the_numbers_and_never_an_answer(shape):
    ex = _exercise(shape)
    _, (root,) = _quizzes(files(ex)[PACKAGE])
    sup = ex.spec.superscript
    given = ", ".join(f"{unicode_name(n, sup)} = {format_number(ex.derivation.values[n])}" for n in given_quantities(ex))
    items = root.findall("q:assessment/q:section/q:item", NS)
    setting = None
    for number, (name, item) in enumerate(zip(ex.asked, items, strict=True), 1):
        text = item.findtext("q:presentation/q:material/q:mattext", namespaces=NS)
        head, question = text.rsplit("<p>Question ", 1)
        setting = setting or head
        assert head == setting and f"<p>Given: {html_text(given)}</p>" in head
        assert question == (f"{number} of {len(ex.asked)}: compute <b>{html_text(unicode_name(name, sup))}</b>. "
                            f"Give it to {ex.precision.describe()}, as a decimal number such as "
                            f"{ex.precision.text(0.123456)} (the form, not an answer).</p></div>")
        assert item.get("title") == f"{number}. {unicode_name(name, sup)}"


def test_the_same_exercise_gives_the_same_bytes():
    ex = _exercise("batch of 2")
    first = files(ex)[PACKAGE]
    again = files(SHAPES["batch of 2"]())[PACKAGE]
    assert first == again
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {(i.date_time, i.create_system, i.external_attr, i.compress_type) for i in infos} == \
        {((1980, 1, 1, 0, 0, 0), 3, 0o644 << 16, zipfile.ZIP_DEFLATED)}
    assert files(make_exercise((2, 2, 1), "sigmoid", "sigmoid", seed=6, batch=2, title=TITLE))[PACKAGE] != first


def test_a_class_gets_one_quiz_each_in_one_package():
    students = [Student("s1", "Ada & <Bob>"), Student("zoë.k@uni", ""), Student("渡辺", "渡辺 ]]> 太郎")]
    found = variants(students, "ab" * 32, shape=(2, 2, 2), title=TITLE)
    out = class_files(found, students)
    assert list(out) == [PACKAGE]
    assert out == class_files(found, students)
    manifest, quizzes = _quizzes(out[PACKAGE])
    assert len(quizzes) == len(students) == len(manifest.findall("m:resources/m:resource", NS))
    idents = [item.get("ident") for root in quizzes for item in root.iter(f"{{{NS['q']}}}item")]
    assert len(idents) == len(set(idents)) == 3 * len(found["s1"].asked)     # unique across the package
    for student, root in zip(students, quizzes, strict=True):
        ex, quiz = found[student.id], root.find("q:assessment", NS)
        who = f"{student.name} ({student.id})" if student.name else student.id
        assert quiz.get("title") == f"{ex.spec.title} — {who}"
        items = quiz.findall("q:section/q:item", NS)
        assert _canvas_marks(items, {n: Decimal(ex.answer_text(n)) for n in ex.asked}, ex.asked) == \
            [1.0] * len(ex.asked)
    # each quiz asks about its own student's numbers: another student's key is not taken
    first, second = found["s1"], found["zoë.k@uni"]
    items = quizzes[1].findall("q:assessment/q:section/q:item", NS)
    assert sum(_canvas_marks(items, {n: Decimal(first.answer_text(n)) for n in first.asked}, second.asked)) < \
        len(second.asked) / 2


def _scripted(ex, wrong: float) -> dict[str, Decimal]:
    """Issue 19's scripted student: z1 wrong, every later quantity worked correctly from it, rounded as asked."""
    worked = author_pass(ex.spec, ex.spec.learning_rate, {"z1": wrong}, places_of(ex.spec))
    return {name: Decimal(ex.precision.text(wrong if name == "z1" else worked[name])) for name in ex.asked}


def test_scripted_students_as_chainrule_grade_marks_them():
    """Right: full marks from both. Blank: none from both. One early slip carried: Canvas marks each question alone,
    as ``chainrule grade --no-carried-credit`` does, part for part; chainrule's error carried forward gives all but
    the slip (the evidence that this route cannot carry an error forward)."""
    ex = _exercise("softmax full step")
    _, (root,) = _quizzes(files(ex)[PACKAGE])
    items = root.findall("q:assessment/q:section/q:item", NS)
    points = {name: 1.0 for name in ex.asked}

    def chainrule(answers, carried=True):
        marks = grade_values(ex.spec, points, "s", answers, "test", carried_credit=carried,
                             precision=ex.precision).marks
        return [m.earned for m in sorted(marks, key=lambda m: ex.asked.index(m.name))]

    right = {name: Decimal(ex.answer_text(name)) for name in ex.asked}
    assert _canvas_marks(items, right, ex.asked) == chainrule(right) == [1.0] * len(ex.asked)
    assert _canvas_marks(items, {}, ex.asked) == chainrule({}) == [0.0] * len(ex.asked)
    slipped = _scripted(ex, ex.derivation.values["z1"] + 0.5)
    assert sum(chainrule(slipped)) == len(ex.asked) - 1
    canvas = _canvas_marks(items, slipped, ex.asked)
    assert canvas == chainrule(slipped, carried=False)
    assert canvas[0] == 0.0 and sum(canvas) < len(ex.asked) - 1


def test_rounding_carried_from_step_to_step_is_not_allowed_for():
    """A student who rounds each answer as asked and works on from the rounded numbers: chainrule's audit allows
    for that rounding (every answer agrees); a range per question cannot, and marks some of them wrong."""
    ex = _exercise("softmax full step")
    _, (root,) = _quizzes(files(ex)[PACKAGE])
    items = root.findall("q:assessment/q:section/q:item", NS)
    rounded = {}
    for name in ex.asked:
        worked = author_pass(ex.spec, ex.spec.learning_rate, {n: float(v) for n, v in rounded.items()},
                             places_of(ex.spec))
        rounded[name] = ex.precision.rounded(worked[name])
    marks = grade_values(ex.spec, None, "s", rounded, "test", precision=ex.precision).marks
    assert {m.verdict for m in marks} == {"agrees"}
    assert 0 < sum(_canvas_marks(items, rounded, ex.asked)) < len(ex.asked)
