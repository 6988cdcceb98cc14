"""Moodle XML (teach.moodle) read back as Moodle's importer reads it, without PHP: the paths, element lists and
rules below are Moodle's own, ported from its code (question/format/xml/format.php: ``import_headers``,
``import_answer``, ``import_numerical``, ``import_multianswer``, ``import_category``, ``trans_format``;
question/format.php: ``split_category_path``, ``create_category_path``, ``clean_question_name``;
question/type/numerical/question.php: ``get_tolerance_interval``, ``within_tolerance``, ``get_matching_answer``;
question/type/numerical/questiontype.php: ``apply_units``; question/type/multianswer/questiontype.php: the Cloze
regexes, ``qtype_multianswer_extract_question`` and ``_validate_question``). Every exercise shape is checked: what
Moodle's numerical answers accept against what ``chainrule grade`` gives the same answers."""

import re
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest

from chainrule.explainer.audit import author_pass, places_of
from chainrule.teach import Precision, Student, make_exercise, write_exercise, write_variants
from chainrule.teach import moodle
from chainrule.teach.grade import grade_values
from chainrule.teach.moodle import (CATEGORY_LIMIT, accepted_answers, carried_rounding, category_path, class_files,
                                    files)
from chainrule.teach.variants import variants

SHAPES = {
    "2-2-2 softmax": dict(shape=(2, 2, 2), hidden="sigmoid", output="softmax", seed=3),
    "batch of 2": dict(shape=(2, 2, 2), hidden="sigmoid", output="softmax", seed=4, batch=2),
    "sequential update": dict(shape=(2, 2, 1), hidden="sigmoid", output="sigmoid", seed=5,
                              update_order="sequential"),
    "3-layer relu": dict(shape=(2, 3, 3, 2), hidden="relu", output="softmax", seed=6),
    "decimal places": dict(shape=(2, 2, 2), seed=8, precision=Precision("decimals", 3)),
}
EXERCISES = {label: make_exercise(**options) for label, options in SHAPES.items()}
HOSTILE = 'Week 3/4 ]]> & <b>x</b> {1:NUMERICAL:=5} {#1} }#~/"\\ //lead trail/'
SECRET = "5" * 64

# -- Moodle's importer, ported ---------------------------------------------------------------------------------------

FORMATS = {"moodle_auto_format", "html", "plain_text", "wiki_like", "markdown"}      # trans_format
# What each import_* function reads (anything else in a question is ignored, so its presence is a mistake here).
READS = {"category": {"category", "info", "idnumber"},
         "numerical": {"name", "questiontext", "generalfeedback", "defaultgrade", "penalty", "hidden", "idnumber",
                       "answer", "units", "unitgradingtype", "unitpenalty", "showunits", "unitsleft", "instructions",
                       "hint", "tags", "coursetags"},
         "cloze": {"name", "questiontext", "generalfeedback", "penalty", "hidden", "idnumber", "hint", "tags",
                   "coursetags"}}
ANSWER_READS = {"text", "feedback", "tolerance", "fraction"}


def strip_tags(text: str) -> str:
    """PHP's strip_tags as PARAM_TEXT applies it: from a '<' not followed by white space to the next '>'."""
    return re.sub(r"<(?!\s)[^>]*(?:>|$)", "", text)


def clean_question_name(name: str) -> str:
    name = strip_tags(name).strip()
    assert len(name) <= 255, "clean_question_name would shorten it"
    return name


def split_category_path(path: str) -> list[str]:
    return [strip_tags(raw.replace("//", "/").strip()) for raw in re.split(r"(?<!/)/(?!/)", path)]


def created_categories(path: str) -> list[str]:
    """The categories create_category_path makes (below the context's top category): the context prefix dropped,
    'top' put first, and any other name 'top' skipped."""
    names = split_category_path(path)
    assert re.fullmatch(r"\$([a-z]+)\$", names[0])
    names = names[1:]
    if names and (names[0] != "top" or len(names) < 3):
        names = ["top"] + names
    return [name for name in names[1:] if name != "top"]


def text_of(element, path: str) -> str:
    found = element.find(path)
    return (found.text or "").strip() if found is not None else ""


def read_quiz(xml: str) -> list[dict]:
    """The questions as import_questions makes them, failing where Moodle's importer would."""
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n')
    root = ET.fromstring(xml.encode("utf-8"))
    assert root.tag == "quiz"
    questions = []
    for q in root:
        kind = q.get("type")
        assert q.tag == "question" and kind in READS, kind
        assert {child.tag for child in q} <= READS[kind], {child.tag for child in q} - READS[kind]
        for child in q:
            if child.find("text") is not None and child.tag not in ("name", "category"):
                assert child.get("format") in FORMATS, (child.tag, child.get("format"))
        if kind == "category":
            questions.append({"type": kind, "path": text_of(q, "category/text"), "info": text_of(q, "info/text")})
            continue
        question = {"type": kind, "name": clean_question_name(text_of(q, "name/text")),
                    "text": text_of(q, "questiontext/text"), "penalty": float(text_of(q, "penalty"))}
        assert question["name"], "xmlimportnoname"
        if kind == "numerical":
            question["defaultgrade"] = float(text_of(q, "defaultgrade"))
            question["answers"] = []
            for answer in q.findall("answer"):
                assert {child.tag for child in answer} <= ANSWER_READS
                fraction = float(answer.get("fraction")) / 100
                assert fraction in (0.0, 1.0), "a grade Moodle's importprocess accepts"
                question["answers"].append((text_of(answer, "text"), text_of(answer, "tolerance") or "0", fraction))
            question["units"] = {tag: text_of(q, tag) for tag in ("unitgradingtype", "unitpenalty", "showunits",
                                                                  "unitsleft")}
            assert q.find("units") is None
        else:
            question["subquestions"], question["rest"] = extract_cloze(question["text"])
        questions.append(question)
    return questions


def apply_units(response: str) -> float | None:
    """qtype_numerical_answer_processor::apply_units without units: the number a response is read as."""
    response = response.replace(" ", "")
    response = re.sub(r"(?:e|E|(?:x|\*|×)10(?:\^|\*\*))([+-]?\d+)", r"e\1", response)
    if "." in response or response.count(",") > 1:
        response = response.replace(",", "")
    else:
        response = response.replace(",", ".")
    match = re.match(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?", response)
    if match is None or match.end() != len(response):       # a unit left over: invalid where showunits is 3
        return None
    return float(match.group(0))


def moodle_fraction(answers, response: str) -> float:
    """get_matching_answer: the first answer whose nominal interval (tolerance plus 10^-14 of its size, PHP's
    precision 14) holds the response; no response or no match scores 0."""
    value = apply_units(response) if response.strip() else None
    if value is None:
        return 0.0
    for centre, tolerance, fraction in answers:
        a = float(centre)
        t = float(tolerance) + 10 ** -14 * max(1, abs(a))
        if a - t <= value <= a + t:
            return fraction
    return 0.0


# The Cloze syntax (question/type/multianswer/questiontype.php); PCRE's (?<!\\|&|&amp;) as three look-behinds.
FRACTION = r"=|%(-?[0-9]+(?:[.,][0-9]*)?)%"
ALTERNATIVE = (f"({FRACTION})?" + r"(.+?(?<!\\)(?<!&)(?<!&amp;)(?=[~#}]|$))" + r"(#(.*?(?<!\\)(?=[~}]|$)))?")
TYPES = ("(NUMERICAL|NM)|(MULTICHOICE|MC)|(MULTICHOICE_V|MCV)|(MULTICHOICE_H|MCH)|(SHORTANSWER|SA|MW)|"
         "(SHORTANSWER_C|SAC|MWC)|(MULTICHOICE_S|MCS)|(MULTICHOICE_VS|MCVS)|(MULTICHOICE_HS|MCHS)|(MULTIRESPONSE|MR)|"
         "(MULTIRESPONSE_H|MRH)|(MULTIRESPONSE_S|MRS)|(MULTIRESPONSE_HS|MRHS)")
ANSWER = re.compile(r"\{([0-9]*):(" + TYPES + "):(" + ALTERNATIVE + "(~" + ALTERNATIVE + r")*)\}", re.S)
NUMBER = r"-?(([0-9]+[.,]?[0-9]*|[.,][0-9]+)([eE][-+]?[0-9]+)?)"
NUMERICAL = re.compile(f"^({NUMBER})(:{NUMBER})?$", re.S)


def extract_cloze(text: str):
    """qtype_multianswer_extract_question and _validate_question for numerical blanks: [(weight, [(answer,
    tolerance, fraction)])] and the text left with {#n} in place of each blank."""
    subquestions = []
    while (found := ANSWER.search(text)) is not None:
        assert found.group(3), "only NUMERICAL blanks are written"
        weight, alternatives, answers = found.group(1) or "1", found.group(16), []
        while alternatives and (alt := re.compile("~?" + ALTERNATIVE, re.S).search(alternatives)) is not None:
            fraction = 1.0 if alt.group(1) == "=" else float(alt.group(2)) / 100 if alt.group(2) else 0.0
            number = NUMERICAL.search(alt.group(3))
            assert number is not None and alt.group(5) is None, alt.group(0)        # a number, no feedback
            answers.append((number.group(1), number.group(6) or "0", fraction))
            alternatives = alternatives.split(alt.group(0), 1)[1]
        assert any(f == 1.0 for _, _, f in answers) and all(apply_units(a) is not None for a, _, _ in answers)
        subquestions.append((weight, answers))
        text = text.replace(found.group(0), f"{{#{len(subquestions)}}}", 1)
    return subquestions, text


# -- students ----------------------------------------------------------------------------------------------------

def chainrule_marks(ex, answers: dict[str, str]) -> dict[str, float]:
    values = {n: Decimal(t.replace(",", ".")) for n, t in answers.items() if t.strip()}
    result = grade_values(ex.spec, {n: 1.0 for n in ex.asked}, "s", values, "test", precision=ex.precision,
                          policy=ex.policy)
    return {m.name: m.earned for m in result.marks}


def moodle_marks(ex, answers: dict[str, str]) -> dict[str, float]:
    """What the numerical questions of moodle.xml give the same answers."""
    questions = [q for q in read_quiz(files(ex)["moodle.xml"]) if q["type"] == "numerical"]
    return {name: moodle_fraction(q["answers"], answers.get(name, "")) for name, q in zip(ex.asked, questions)}


def keyed(ex) -> dict[str, str]:
    return {name: ex.answer_text(name) for name in ex.asked}


def more_digits(ex) -> dict[str, str]:
    """Worked with full precision and written with three digits more than asked."""
    finer = Precision(ex.precision.kind, ex.precision.digits + 3)
    return {name: finer.text(ex.derivation.values[name]) for name in ex.asked}


def rounding_as_they_go(ex) -> dict[str, str]:
    """Each answer worked from the student's own rounded answers before it."""
    return {name: ex.precision.text(value) for name, value in carried_rounding(ex).items()}


def early_slip(ex) -> dict[str, str]:
    """The scripted student: the first asked quantity wrong, every later one worked correctly from it."""
    spec, first = ex.spec, ex.asked[0]
    wrong = float(ex.precision.rounded(ex.derivation.values[first] + 0.25))
    worked = author_pass(spec, spec.learning_rate, {first: wrong}, places_of(spec))
    return {name: ex.precision.text(wrong if name == first else worked[name]) for name in ex.asked}


# -- every shape ---------------------------------------------------------------------------------------------------

@pytest.fixture(params=list(SHAPES))
def ex(request):
    return EXERCISES[request.param]


def test_numerical_questions_follow_moodles_rules(ex):
    xml = files(ex)["moodle.xml"]
    questions = read_quiz(xml)
    assert questions[0] == {"type": "category", "path": f"$course$/{ex.spec.title}", "info": ""}
    numerical = questions[1:]
    assert [q["type"] for q in numerical] == ["numerical"] * len(ex.asked)
    assert xml.count("<question ") == len(ex.asked) + 1
    answers = accepted_answers(ex)
    for question, name in zip(numerical, ex.asked, strict=True):
        assert question["name"].endswith(f" {name}") and question["defaultgrade"] == 1
        assert question["units"] == {"unitgradingtype": "0", "unitpenalty": "0.1000000", "showunits": "3",
                                     "unitsleft": "0"}
        assert f"to {ex.precision.describe()}" in question["text"]
        # the key first, exactly (Moodle shows it as the right answer), then the exact value within half a unit
        key, exact = question["answers"][:2]
        assert key == (ex.answer_text(name), "0", 1.0)
        value, unit = ex.derivation.values[name], ex.precision.unit(ex.derivation.values[name])
        assert Decimal(exact[1]) == unit / 2 and abs(float(exact[0]) - value) <= 1e-14 * max(1, abs(value))
        assert [(Decimal(a), Decimal(t)) for a, t, _ in question["answers"]] == answers[name]
        assert all(f == 1.0 for _, _, f in question["answers"])
    assert xml.count("<![CDATA[") >= len(ex.asked)          # every question text is HTML in a CDATA section


def test_the_tolerance_is_chainrules_half_unit_ties_to_the_student(ex):
    """The first asked quantity depends on given numbers only: chainrule accepts it within exactly half a unit of
    the key's last digit of the value, a tie included; Moodle's nominal tolerance says the same."""
    first = ex.asked[0]
    value, unit = Decimal(repr(ex.derivation.values[first])), ex.precision.unit(ex.derivation.values[first])
    for offset in (Decimal("-0.6"), Decimal("-0.5"), Decimal("0.5"), Decimal("0.6")):
        answers = keyed(ex) | {first: str(value + offset * unit)}
        assert moodle_marks(ex, answers)[first] == chainrule_marks(ex, answers)[first] == (abs(offset) <= 0.5)


@pytest.mark.parametrize("student", [keyed, more_digits, rounding_as_they_go])
def test_right_work_gets_full_marks_in_moodle_as_in_chainrule(ex, student):
    answers = student(ex)
    assert set(chainrule_marks(ex, answers).values()) == {1.0}
    assert set(moodle_marks(ex, answers).values()) == {1.0}


def test_half_a_unit_around_the_key_alone_would_refuse_answers_chainrule_accepts():
    """Why each question also holds the value worked from rounded answers: some parts of a student who rounds as
    they go lie outside the key ± half a unit (an L worked from a rounded ŷ), and chainrule accepts them."""
    outside = 0
    for ex in EXERCISES.values():
        for name, text in rounding_as_they_go(ex).items():
            half = ex.precision.unit(ex.derivation.values[name]) / 2
            outside += abs(Decimal(text) - Decimal(ex.answer_text(name))) > half
    assert outside > 0


def test_an_early_slip_costs_every_later_part_in_moodle_not_in_chainrule(ex):
    answers = early_slip(ex)
    ours, theirs = chainrule_marks(ex, answers), moodle_marks(ex, answers)
    assert sum(ours.values()) == len(ex.asked) - 1 and ours[ex.asked[0]] == theirs[ex.asked[0]] == 0
    assert all(ours[name] == 1 for name, mark in theirs.items() if mark)      # Moodle never credits more
    assert sum(theirs.values()) < sum(ours.values()) - 1                     # and loses the carried parts
    assert chainrule_marks(ex, {}) == moodle_marks(ex, {}) == {name: 0.0 for name in ex.asked}


def test_a_tie_at_the_edge_of_the_rounding_carried_forward_goes_to_the_student():
    """dL/dw1 = 0.0030022 is given as 0.003 (right); worked on from it, w1' = 0.9 - 0.5 × 0.003 = 0.8985 exactly,
    which rounds to 0.899. w1' is 0.89849889, so 0.899 is off by exactly half a unit plus 0.5 × (0.0030022 - 0.003):
    the edge of what chainrule accepts, a tie that goes to the student. Moodle's answers accept it."""
    ex = make_exercise((2, 2, 2), seed=7, precision=Precision("decimals", 3))
    answers = keyed(ex) | {"w1'": "0.899"}
    assert (ex.answer_text("dL/dw1"), ex.answer_text("w1'")) == ("0.003", "0.898")
    assert moodle_marks(ex, answers)["w1'"] == 1.0
    assert chainrule_marks(ex, answers)["w1'"] == 1.0


def test_a_two_class_softmax_output_as_one_minus_the_other():
    """ŷ₂ written as 1 − ŷ₁ from the key's ŷ₁, to the figures asked: chainrule accepts it (``_accept_complements``),
    and so does Moodle. With seed 337, ŷ₁ = 0.9013 and 1 − 0.9013 = 0.09870 lies outside ŷ₂ = 0.09867 ± half a
    unit: only the complement's answer takes it."""
    cases = [(EXERCISES[label], None) for label in ("2-2-2 softmax", "batch of 2", "3-layer relu")]
    cases.append((make_exercise((2, 2, 2), seed=337, ask=["forward"]), "yhat2"))
    for ex, needed in cases:
        pairs = moodle._complements(ex)
        assert pairs
        for name, other in pairs:
            unit = ex.precision.unit(ex.derivation.values[name])
            written = (1 - Decimal(ex.answer_text(other))).quantize(unit)
            outside = abs(written - Decimal(repr(ex.derivation.values[name]))) > unit / 2
            assert outside == (name == needed)
            if outside:
                others = [(str(c), str(t), 1.0) for c, t in accepted_answers(ex)[name] if t <= unit / 2]
                assert moodle_fraction(others, str(written)) == 0
            answers = keyed(ex) | {name: str(written)}
            assert chainrule_marks(ex, answers)[name] == moodle_marks(ex, answers)[name] == 1.0


def test_the_cloze_question_holds_every_part_with_the_keys_answers(ex):
    questions = read_quiz(files(ex)["moodle-cloze.xml"])
    assert [q["type"] for q in questions] == ["category", "cloze"]
    assert questions[0]["path"] == f"$course$/{ex.spec.title}"
    cloze, answers = questions[1], accepted_answers(ex)
    assert len(cloze["subquestions"]) == len(ex.asked)
    for (weight, alternatives), name in zip(cloze["subquestions"], ex.asked, strict=True):
        assert weight == "1"
        assert alternatives[0] == (ex.answer_text(name), "0", 1.0)
        assert [(Decimal(a), Decimal(t)) for a, t, _ in alternatives] == answers[name]
    assert all(f"{{#{k}}}" in cloze["rest"] for k in range(1, len(ex.asked) + 1))
    for student in (keyed, rounding_as_they_go):
        typed = student(ex)
        assert all(moodle_fraction(alternatives, typed[name]) == 1.0
                   for (_, alternatives), name in zip(cloze["subquestions"], ex.asked))


def test_the_same_bytes_every_time(ex):
    assert files(ex) == files(ex)


# -- user text -----------------------------------------------------------------------------------------------------

def test_category_names_never_nest_by_accident_nor_end_mid_word():
    cases = {"A/B": ["A/B"], "/lead": ["/lead"], "trail/": ["trail/"], "a//b": ["a//b"], "$course$": ["$course$"],
             "x<y> ]]> & z": ["x‹y> ]]> & z"], "a < b": ["a ‹ b"], "top": ["top (id)"],
             "  spaced   out  ": ["spaced out"]}
    for given, names in cases.items():
        path = category_path([given, "s1"])
        assert split_category_path(path) == ["$course$", *names, "s1"], given
        assert created_categories(path) == [*names, "s1"], given
    long = "Backpropagation " * 20
    name = split_category_path(category_path([long]))[1]
    assert len(name) <= CATEGORY_LIMIT and name.endswith("…") and long.startswith(name[:-1] + " ")
    word = "x" * 150
    assert split_category_path(category_path([word]))[1] == "x" * (CATEGORY_LIMIT - 1) + "…"
    assert created_categories(category_path(["Title", "top"])) == ["Title", "top (id)"]


def test_a_hostile_title_stays_text_everywhere():
    ex = make_exercise(seed=3, ask=["forward", "loss"], title=HOSTILE + "word " * 20)
    assert len(ex.spec.title) > CATEGORY_LIMIT
    written = files(ex)
    assert "]]]]><![CDATA[>" in written["moodle.xml"]        # the ]]> of the category path, split as Moodle does
    for xml in written.values():
        questions = read_quiz(xml)
        path = split_category_path(questions[0]["path"])
        assert len(path) == 2
        assert path[1].startswith("Week 3/4 ]]> & ‹b>x‹/b> {1:NUMERICAL:=5} {#1} }#~/\"\\ //lead")
        assert path[1].endswith("…") and len(path[1]) <= CATEGORY_LIMIT
        for question in questions[1:]:
            assert "&lt;b&gt;x&lt;/b&gt;" in question["text"] and "<b>x</b>" not in question["text"]
            assert "‹b>x‹/b>" in question["name"] or question["type"] == "numerical"
    cloze = read_quiz(written["moodle-cloze.xml"])[1]
    assert len(cloze["subquestions"]) == len(ex.asked)           # the title's {1:NUMERICAL:=5} opened none
    assert "&#123;1:NUMERICAL:=5&#125; &#123;#1&#125;" in cloze["rest"]


def test_xml_text_in_cdata_sections_as_moodle_writes_it():
    for text in ("plain", "a]]>b", "]]>]]>", "<p>x & y</p>", "it's \"quoted\""):
        written = moodle._xml(text)
        assert ET.fromstring(f"<text>{written}</text>").text == text
        assert written.startswith("<![CDATA[") == (text != "plain")


# -- a class -------------------------------------------------------------------------------------------------------

def test_a_class_one_category_per_student_and_a_cloze_set(tmp_path):
    students = [Student("zoë"), Student("top"), Student("a.b@uni.example")]
    found = variants(students, SECRET, ask=["forward", "loss"], title="Week 3/4")
    written = class_files(found, students)
    assert class_files(found, students) == written
    questions = read_quiz(written["moodle.xml"])
    categories = [q["path"] for q in questions if q["type"] == "category"]
    title = found["zoë"].spec.title
    assert [created_categories(path) for path in categories] == [[title, "zoë"], [title, "top (id)"],
                                                                 [title, "a.b@uni.example"]]
    assert len(questions) == 3 + sum(len(ex.asked) for ex in found.values())
    cloze = read_quiz(written["moodle-cloze.xml"])
    assert created_categories(cloze[0]["path"]) == [f"{title} (Cloze, one per student)"]
    assert "random question" in cloze[0]["info"]
    assert [q["name"] for q in cloze[1:]] == [f"{s.id}: {title}" for s in students]
    for question, student in zip(cloze[1:], students):
        ex = found[student.id]
        assert [alternatives[0][0] for _, alternatives in question["subquestions"]] == \
            [ex.answer_text(name) for name in ex.asked]
    write_variants(found, students, tmp_path / "class", SECRET)
    assert (tmp_path / "class" / "teacher" / "moodle.xml").read_text(encoding="utf-8") == written["moodle.xml"]


def test_the_exercise_folder_writes_the_same_moodle_xml(tmp_path):
    ex = EXERCISES["2-2-2 softmax"]
    write_exercise(ex, tmp_path / "ex")
    assert (tmp_path / "ex" / "teacher" / "moodle.xml").read_text(encoding="utf-8") == files(ex)["moodle.xml"]
