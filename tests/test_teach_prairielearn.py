"""The PrairieLearn question: its server.py is loaded as PrairieLearn loads it and called with the ``data``
dictionaries PrairieLearn passes (docs/question/server.md in PrairieLearn/PrairieLearn: ``params``,
``correct_answers``, ``variant_seed``, ``options``, ``submitted_answers``, ``raw_submitted_answers``,
``format_errors``, ``partial_scores``, ``score``, ``feedback``), with ``pl-number-input``'s own parse and grade played
in between as the element does them (elements/pl-number-input/pl-number-input.py: a blank becomes its blank value
when ``allow-blank``, a number is read by ``float``, else a format error; a part is right within 0.51 of a unit of its
last significant digit or decimal place). Every part's mark must be the one ``chainrule grade`` gives."""

import ast
import copy
import importlib.util
import json
import math
import re
import uuid
from decimal import Decimal
from html.parser import HTMLParser

import pytest

from chainrule.errors import ChainruleError
from chainrule.explainer.audit import author_pass, places_of
from chainrule.explainer.notation import format_number, unicode_name
from chainrule.teach import Precision, exercise_document, make_exercise
from chainrule.teach import prairielearn as pl
from chainrule.teach.grade import grade, grade_values, load_task

# PrairieLearn's infoQuestion schema (apps/prairielearn/src/schemas/schemas/infoQuestion.json), the properties a
# chainrule question may use; like the schema, no other property is allowed.
INFO_SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["uuid", "type", "title", "topic"],
    "properties": {
        "comment": {"anyOf": [{"type": "string"}, {"type": "array"}, {"type": "object"}]},
        "uuid": {"type": "string",
                 "pattern": "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"},
        "type": {"type": "string", "enum": ["Calculation", "MultipleChoice", "Checkbox", "File", "MultipleTrueFalse",
                                            "v3"]},
        "title": {"type": "string"}, "topic": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "gradingMethod": {"type": "string", "enum": ["Internal", "External", "Manual"]},
        "singleVariant": {"type": "boolean"}, "showCorrectAnswer": {"type": "boolean"},
        "partialCredit": {"type": "boolean"}}}
VOID = {"br", "hr", "img", "input", "meta", "link", "wbr"}
# pl-number-input's attributes (its prepare() refuses any other: pl.check_attribs)
NUMBER_INPUT = {"answers-name", "weight", "correct-answer", "label", "suffix", "display", "comparison", "rtol", "atol",
                "digits", "allow-complex", "show-help-text", "size", "show-correct-answer", "show-placeholder",
                "allow-fractions", "allow-blank", "blank-value", "custom-format", "placeholder", "show-score",
                "accessibility-description"}


@pytest.fixture(scope="module")
def ex():
    return make_exercise(seed=7)


def written(ex, tmp_path) -> dict:
    """The question folder written under ``tmp_path``: {"info.json": text, ..., "server": the loaded module}."""
    out = {}
    for path, text in pl.files(ex).items():
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        out[target.name] = text
        if target.name == "server.py":
            spec = importlib.util.spec_from_file_location(f"pl_server_{uuid.uuid4().hex}", target)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            out["server"] = module
    return out


def fresh(variant_seed) -> dict:
    """The data PrairieLearn passes to generate() (every key of its QuestionData, empty)."""
    return {"params": {}, "correct_answers": {}, "submitted_answers": {}, "raw_submitted_answers": {},
            "format_errors": {}, "partial_scores": {}, "score": 0.0, "feedback": {}, "variant_seed": variant_seed,
            "options": {}, "answers_names": {}, "editable": True, "panel": "question", "extensions": {},
            "num_valid_submissions": 0, "manual_grading": False}


def generated(server, variant_seed) -> dict:
    data = fresh(variant_seed)
    server.generate(data)
    return json.loads(json.dumps(data))       # PrairieLearn keeps data as JSON between calls


class Inputs(HTMLParser):
    """The pl-number-input elements of question.html, their attributes; and whether every tag closes in order."""

    def __init__(self):
        super().__init__()
        self.inputs, self.stack, self.errors = [], [], []

    def handle_starttag(self, tag, attrs):
        if tag == "pl-number-input":
            self.inputs.append(dict(attrs))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def parsed(html: str) -> Inputs:
    parser = Inputs()
    parser.feed(html)
    parser.close()
    return parser


def mustache(template: str, data: dict) -> str:
    """The Mustache that question.html is rendered with, as far as a chainrule question uses it: comments, list
    sections of strings, {{.}} and {{dotted.names}} (HTML-escaped)."""
    def lookup(name, scope):
        value = scope if name == "." else data
        for part in ([] if name == "." else name.split(".")):
            value = value[part]
        return value

    template = re.sub(r"\{\{!.*?\}\}", "", template, flags=re.S)
    template = re.sub(r"\{\{#([\w.]+)\}\}(.*?)\{\{/\1\}\}", lambda m: "".join(
        re.sub(r"\{\{\.\}\}", lambda _: escape(item), m[2]) for item in lookup(m[1], None)), template, flags=re.S)
    return re.sub(r"\{\{([\w.]+)\}\}", lambda m: escape(str(lookup(m[1], None))), template)


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def element_parse(data: dict, element: dict) -> None:
    """pl-number-input's parse: a blank is the blank value (0) when allow-blank, else float() or a format error."""
    name = element["answers-name"]
    a_sub = data["submitted_answers"].get(name)
    if element.get("allow-blank") == "true" and a_sub is not None and a_sub.strip() == "":
        a_sub = "0"
    try:
        data["submitted_answers"][name] = float(a_sub.replace("\u2212", "-"))
    except (AttributeError, ValueError):
        data["format_errors"][name] = "Invalid format."
        data["submitted_answers"][name] = None


def element_grade(data: dict, element: dict) -> None:
    """pl-number-input's grade: right within 0.51 of a unit of the last digit asked (is_correct_scalar_sf/_dd)."""
    name, digits = element["answers-name"], int(element["digits"])
    data["partial_scores"][name] = {"score": 0.0, "weight": 1}
    if name not in data["submitted_answers"]:
        return
    a_sub, a_tru = data["submitted_answers"][name], data["correct_answers"][name]
    if element["comparison"] == "sigfig":
        n = digits - 1 if a_tru == 0 else -math.floor(math.log10(abs(a_tru))) + digits - 1
    else:
        n = digits
    data["partial_scores"][name]["score"] = float(a_tru - 0.51 * 10 ** -n < a_sub < a_tru + 0.51 * 10 ** -n)


def submit(question: dict, variant: dict, typed: dict[str, str], stop_before_grade: bool = False) -> dict:
    """One submission as PrairieLearn handles it: the elements parse, server.parse, and (without format errors) the
    elements grade, the score is their weighted mean, and server.grade."""
    data = copy.deepcopy(variant)
    data["raw_submitted_answers"] = dict(typed)
    data["submitted_answers"] = dict(typed)
    data["panel"] = "submission"
    elements = parsed(question["question.html"]).inputs
    for element in elements:
        element_parse(data, element)
    question["server"].parse(data)
    if data["format_errors"]:
        return data
    for element in elements:
        element_grade(data, element)
    data["score"] = sum(p["score"] for p in data["partial_scores"].values()) / len(data["partial_scores"])
    if not stop_before_grade:
        question["server"].grade(data)
    return json.loads(json.dumps(data))


def the_variant(question: dict, variant_seed):
    server = question["server"]
    return pl.variant(server.QUESTION, variant_seed)


def keyed(question: dict, answers: dict[str, str]) -> dict[str, str]:
    """chainrule name -> text as typed, to answers-name -> text."""
    return {key: answers[name] for key, name in question["server"].QUESTION["answers"].items()}


def right_answers(ex_v, precision=None) -> dict[str, str]:
    return {name: (precision or ex_v.precision).text(ex_v.derivation.values[name]) for name in ex_v.asked}


def slipping(ex_v) -> dict[str, str]:
    """The scripted student: z1 (of the first example) wrong, every later asked quantity worked correctly from it."""
    spec, first = ex_v.spec, ex_v.asked[0]
    wrong = float(ex_v.precision.rounded(ex_v.derivation.values[first] + 0.25))
    values = author_pass(spec, spec.learning_rate, {first: wrong}, places_of(spec))
    return {name: ex_v.precision.text(wrong if name == first else values[name]) for name in ex_v.asked}


def expected(ex_v, answers: dict[str, str]):
    """What chainrule's grader gives the same answers (blank ones missing)."""
    values = {n: Decimal(t.replace(",", ".")) for n, t in answers.items() if t.strip()}
    return grade_values(ex_v.spec, {n: 1.0 for n in ex_v.asked}, "s", values, "test", precision=ex_v.precision,
                        policy=ex_v.policy, missing={n: "no answer given" for n in ex_v.asked if n not in values})


def assert_same_marks(question, data, result):
    keys = {name: key for key, name in question["server"].QUESTION["answers"].items()}
    assert {keys[m.name]: m.earned / m.points for m in result.marks} == \
        {k: v["score"] for k, v in data["partial_scores"].items()}
    assert data["score"] == pytest.approx(result.total / result.possible)


# ---- the files ----

def test_files_are_one_question_folder_and_deterministic(ex):
    files = pl.files(ex)
    folder = f"prairielearn/{pl.question_id(ex)}"
    assert set(files) == {f"{folder}/info.json", f"{folder}/question.html", f"{folder}/server.py"}
    assert re.fullmatch(r"[a-z0-9-]+", pl.question_id(ex))
    assert files == pl.files(make_exercise(seed=7))
    other = make_exercise(seed=8)
    assert pl.question_uuid(other) != pl.question_uuid(ex) and pl.question_id(other) != pl.question_id(ex)


def test_info_json_has_prairielearns_fields(ex):
    import jsonschema          # the test extra: make test installs it; missing, this fails loudly
    info = json.loads(pl.info_json(ex))
    jsonschema.validate(info, INFO_SCHEMA)
    assert info["type"] == "v3" and info["title"] == ex.spec.title and info["topic"] and info["tags"]
    assert uuid.UUID(info["uuid"]).version == 5 and info["uuid"] == pl.question_uuid(ex)
    assert info["showCorrectAnswer"] is False            # the answer panel would show the key


def test_question_html_has_one_input_per_asked_quantity(ex, tmp_path):
    question = written(ex, tmp_path)
    html = question["question.html"]
    found = parsed(html)
    assert not found.errors and not found.stack
    names = question["server"].QUESTION["answers"]
    assert [e["answers-name"] for e in found.inputs] == list(names)
    assert list(names.values()) == ex.asked and len(set(names)) == len(ex.asked)
    for element, name in zip(found.inputs, ex.asked, strict=True):
        assert re.fullmatch(r"[A-Za-z0-9_]+", element["answers-name"])
        assert element["label"] == unicode_name(name, ex.spec.superscript) + " ="
        assert (element["comparison"], element["digits"]) == ("sigfig", "4")
        assert element["show-correct-answer"] == "false" and element["allow-fractions"] == "false"
        assert set(element) <= NUMBER_INPUT
    assert {(e["comparison"], e["digits"]) for e in parsed(pl.question_html(
        make_exercise(seed=3, precision=Precision("decimals", 3)))).inputs} == {("decdig", "3")}


def test_question_html_renders_the_variants_numbers_and_never_the_key(ex, tmp_path):
    question = written(ex, tmp_path)
    html = question["question.html"]
    tags = set(re.findall(r"\{\{([^!][^}]*)\}\}", html))
    given = set(question["server"].QUESTION["given"])
    assert tags == {f"params.{k}" for k in given} | {"#params.chainrule.conventions", ".",
                                                     "/params.chainrule.conventions", "feedback.chainrule"}
    data = generated(question["server"], 4242)
    ex_v = the_variant(question, 4242)
    data["feedback"]["chainrule"] = ""
    shown = mustache(html, data)
    assert "{{" not in shown and not parsed(shown).errors
    for key, name in question["server"].QUESTION["given"].items():
        assert f"{unicode_name(name, ex.spec.superscript)} = {format_number(ex_v.derivation.values[name])}<" in shown
    assert f"η = {format_number(ex_v.spec.learning_rate)}" in shown     # the variant's own learning rate
    for name in ex_v.asked:
        assert f"= {ex_v.answer_text(name)}" not in shown


def test_server_py_says_how_to_install_chainrule(ex, tmp_path):
    text = written(ex, tmp_path)["server.py"]
    assert "serverFilesCourse" in text and "pip3 install --no-deps --target" in text
    assert "from chainrule.teach import prairielearn" in text


def test_hostile_title_stays_text(tmp_path):
    title = '{{params.x1}} </p><script>alert(1)</script> {{#a}} """ \\'
    question = written(make_exercise(seed=7, title=title), tmp_path)
    html = question["question.html"]
    assert "<script>" not in html and "{{params.x1}} " not in html and "{{#a}}" not in html
    assert not parsed(html).errors
    assert question["server"].QUESTION["options"]["title"] == title
    assert json.loads(question["info.json"])["title"].startswith(title)
    tree = ast.parse(question["server.py"])
    assert [node.targets[0].id for node in tree.body if isinstance(node, ast.Assign)] == ["QUESTION"]


# ---- generate ----

def test_generate_draws_the_variant_from_variant_seed(ex, tmp_path):
    question = written(ex, tmp_path)
    server = question["server"]
    data = generated(server, 12345)
    ex_v = the_variant(question, 12345)
    assert ex_v.options == ex.options and ex_v.precision == ex.precision and ex_v.asked == ex.asked
    assert data["params"]["chainrule"]["spec"] == json.loads(json.dumps(ex_v.document))
    for key, name in server.QUESTION["given"].items():
        assert data["params"][key] == format_number(ex_v.derivation.values[name])
    for key, name in server.QUESTION["answers"].items():
        assert data["correct_answers"][key] == float(ex_v.answer_text(name))
    assert generated(server, 12345) == data
    assert generated(server, "12345")["params"] == data["params"]       # PrairieLearn types it as a string
    draws = {json.dumps(generated(server, seed)["params"], sort_keys=True) for seed in range(1, 6)}
    assert len(draws) > 1


def test_generate_refuses_a_chainrule_that_asks_for_other_quantities(ex, tmp_path):
    server = written(ex, tmp_path)["server"]
    question = copy.deepcopy(server.QUESTION)
    question["answers"].popitem()
    with pytest.raises(ChainruleError, match="write the question again"):
        pl.generate(fresh(1), question)


# ---- grade ----

def test_right_student_gets_every_mark(ex, tmp_path):
    question = written(ex, tmp_path)
    ex_v = the_variant(question, 99)
    answers = right_answers(ex_v)
    data = submit(question, generated(question["server"], 99), keyed(question, answers))
    assert data["score"] == 1.0
    assert all(p["score"] == 1.0 and p["feedback"] == "Right." for p in data["partial_scores"].values())
    assert_same_marks(question, data, expected(ex_v, answers))


def test_early_slip_is_carried_forward_as_chainrule_grade_marks_it(ex, tmp_path):
    question = written(ex, tmp_path)
    variant = generated(question["server"], 99)
    ex_v = the_variant(question, 99)
    answers = slipping(ex_v)
    before = submit(question, variant, keyed(question, answers), stop_before_grade=True)
    data = submit(question, variant, keyed(question, answers))
    result = expected(ex_v, answers)
    assert_same_marks(question, data, result)
    verdicts = {m.name: m.verdict for m in result.marks}
    assert verdicts["z1"] == "slip" and list(verdicts.values()).count("carried") > 20
    assert data["score"] == pytest.approx((len(ex.asked) - 1) / len(ex.asked))
    # PrairieLearn's own comparison with the key gave the carried parts nothing; chainrule's marks replace it
    carried = [key for key, name in question["server"].QUESTION["answers"].items() if verdicts[name] == "carried"]
    assert all(before["partial_scores"][k]["score"] == 0.0 for k in carried)
    assert all(data["partial_scores"][k]["score"] == 1.0 for k in carried)
    assert data["partial_scores"]["z1"]["feedback"].startswith("Slip: work z₁ = w₁·x₁ + w₂·x₂ + b₁ again")
    assert data["partial_scores"]["a1"]["feedback"].startswith("Carried")
    assert data["feedback"]["chainrule"].startswith(f"Mark: {len(ex.asked) - 1} / {len(ex.asked)} (1 slip). "
                                                    "First slip: z₁. It carried into: a₁")
    shown = " ".join([data["feedback"]["chainrule"]] + [p["feedback"] for p in data["partial_scores"].values()])
    assert ex_v.answer_text("z1") not in shown             # feedback never quotes the key


def test_same_marks_as_chainrule_grade_on_an_answers_file(ex, tmp_path):
    """The whole ``chainrule grade`` route (exercise.json, answers.txt) on the variant gives PrairieLearn's marks."""
    question = written(ex, tmp_path)
    ex_v = the_variant(question, 7)
    answers = slipping(ex_v)
    (tmp_path / "exercise.json").write_text(json.dumps(exercise_document(ex_v)), encoding="utf-8")
    (tmp_path / "answers.txt").write_text("id = s1\nname = \n" + "".join(f"{n} = {t}\n" for n, t in answers.items()),
                                          encoding="utf-8")
    [result] = grade(load_task(tmp_path / "exercise.json"), [tmp_path / "answers.txt"])
    assert not result.problem
    assert_same_marks(question, submit(question, generated(question["server"], 7), keyed(question, answers)), result)


def test_blank_student_gets_nothing_and_no_format_error(ex, tmp_path):
    question = written(ex, tmp_path)
    ex_v = the_variant(question, 5)
    answers = {name: "" for name in ex_v.asked}
    data = submit(question, generated(question["server"], 5), keyed(question, answers))
    assert not data["format_errors"] and data["score"] == 0.0
    assert not data["submitted_answers"]                     # unanswered, not the element's blank value 0
    assert {p["feedback"] for p in data["partial_scores"].values()} == {"Missing: no answer given."}
    assert_same_marks(question, data, expected(ex_v, answers))


def test_decimal_commas_and_more_digits_are_right(ex, tmp_path):
    question = written(ex, tmp_path)
    variant, ex_v = generated(question["server"], 31), the_variant(question, 31)
    commas = {n: t.replace(".", ",") for n, t in right_answers(ex_v).items()}
    data = submit(question, variant, keyed(question, commas))
    assert not data["format_errors"] and data["score"] == 1.0
    longer = right_answers(ex_v, Precision("significant", 7))
    assert submit(question, variant, keyed(question, longer))["score"] == 1.0
    slip_commas = {n: t.replace(".", ",") for n, t in slipping(ex_v).items()}
    assert_same_marks(question, submit(question, variant, keyed(question, slip_commas)), expected(ex_v, slip_commas))


def test_too_few_digits_and_not_a_number(ex, tmp_path):
    question = written(ex, tmp_path)
    variant, ex_v = generated(question["server"], 31), the_variant(question, 31)
    answers = right_answers(ex_v)
    answers["z2"] = Precision("significant", 2).text(ex_v.derivation.values["z2"])
    data = submit(question, variant, keyed(question, answers))
    assert data["partial_scores"]["z2"] == {"score": 0.0, "weight": 1,
                                            "feedback": "Too few digits: give 4 significant figures."}
    assert_same_marks(question, data, expected(ex_v, answers))
    answers["z2"] = "about 0.3"
    data = submit(question, variant, keyed(question, answers))
    assert "z2" in data["format_errors"] and "not a number" in data["format_errors"]["z2"]
    assert not data["partial_scores"]                        # an invalid submission is not graded


def test_decimals_and_a_batch(tmp_path):
    for ex in (make_exercise(seed=3, precision=Precision("decimals", 3)),
               make_exercise((2, 2, 1), "tanh", "sigmoid", seed=4, batch=2)):
        question = written(ex, tmp_path / pl.question_id(ex))
        for seed in (1, 2):
            ex_v = the_variant(question, seed)
            assert ex_v.asked == ex.asked
            variant = generated(question["server"], seed)
            assert submit(question, variant, keyed(question, right_answers(ex_v)))["score"] == 1.0
            answers = slipping(ex_v)
            assert_same_marks(question, submit(question, variant, keyed(question, answers)), expected(ex_v, answers))
