"""Exercises of momentum and Adam over two steps in each place a class works: Moodle's numerical and Cloze questions,
Canvas's quiz, Gradescope's autograder and PrairieLearn's question take them, each holding the key (and Moodle the
values a student gets from rounded answers) as worked out here in plain Python (tests/test_teach_optimizers.py's
``worked``), and the last two marking a slip at step 1 carried into step 2 as that file's rules say; Numbas's exam,
whose marking is wired from one step's formulas, refuses them with a message naming the option."""

import importlib.util
import io
import uuid
import xml.etree.ElementTree as ET
import zipfile
from decimal import Decimal

import pytest

from chainrule.errors import ChainruleError
from chainrule.teach import Student, make_exercise, write_exercise
from chainrule.teach import canvas, gradescope, moodle, numbas, prairielearn
from chainrule.teach.variants import variants
from test_teach_gradescope import autograder, run, shim  # noqa: F401  the autograder, run as there
from test_teach_optimizers import ADAM, MOMENTUM, expected_marks, given_numbers, significant, student, worked

ASKED = ["w5'", "yhat1@2", "yhat2@2", "L@2", "dL/dw5@2", "v_w5@2", "w5'@2"]
NS = {"q": "http://www.imsglobal.org/xsd/ims_qtiasiv1p2", "m": "http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1"}


@pytest.fixture(scope="module")
def momentum():
    return make_exercise(seed=7, optimizer=MOMENTUM, ask=ASKED)


def slipping(ex) -> dict[str, str]:
    """A student whose w5′ is wrong and who works every later number of step 2 rightly from it."""
    g = given_numbers(ex.document)
    right = worked(g, ex.document["optimizer"], 2)
    return student(g, ex.document["optimizer"], 2, ex.asked, {"w5'": significant(right["w5'"] + 0.3)})


def test_moodle_accepts_the_key_and_what_rounded_answers_give_at_step_2(momentum):
    """Each question's answers: the key, the exact value ± half a unit, the value worked on from rounded answers
    (the fixed point of feeding the key's rounded answers into both steps, computed here) and, for ŷ₂ of step 2,
    1 − ŷ₁ of step 2."""
    ex, g = momentum, given_numbers(momentum.document)
    rule = ex.document["optimizer"]
    right = worked(g, rule, 2)
    rounded = {name: significant(right[name]) for name in ex.asked}
    for _ in range(len(ex.asked)):
        own = worked(g, rule, 2, {n: float(t) for n, t in rounded.items()})
        rounded = {name: significant(own[name]) for name in ex.asked}
    answers = moodle.accepted_answers(ex)
    for name in ex.asked:
        key, exact = answers[name][:2]
        assert key == (Decimal(significant(right[name])), 0)
        assert float(exact[0]) == pytest.approx(right[name], rel=1e-14)
        assert any(float(c) == pytest.approx(own[name], rel=1e-12, abs=1e-15) for c, _ in answers[name][1:])
    one_minus = Decimal(1) - Decimal(significant(right["yhat1@2"]))
    assert any(centre == one_minus for centre, _ in answers["yhat2@2"])
    quiz = ET.fromstring(moodle.files(ex)["moodle.xml"])
    names = [q.findtext("name/text") for q in quiz.findall("question") if q.get("type") == "numerical"]
    assert names == [f"{k:02d} {name}" for k, name in enumerate(ex.asked, 1)]
    cloze = ET.fromstring(moodle.files(ex)["moodle-cloze.xml"]).findall("question")[1].findtext("questiontext/text")
    assert "w₅′⁽ᵗ⁼²⁾ = {1:NUMERICAL:=" in cloze and "\\mu" in cloze


def test_canvas_ranges_hold_the_key_of_every_later_quantity(momentum):
    ex = momentum
    right = worked(given_numbers(ex.document), ex.document["optimizer"], 2)
    with zipfile.ZipFile(io.BytesIO(canvas.files(ex)[canvas.PACKAGE])) as archive:
        quiz = next(ET.fromstring(archive.read(n)) for n in archive.namelist() if n != "imsmanifest.xml")
    items = quiz.findall("q:assessment/q:section/q:item", NS)
    assert [item.get("title") for item in items] == ["1. w₅′", "2. ŷ₁⁽ᵗ⁼²⁾", "3. ŷ₂⁽ᵗ⁼²⁾", "4. L⁽ᵗ⁼²⁾",
                                                      "5. ∂L/∂w₅⁽ᵗ⁼²⁾", "6. v_w₅⁽ᵗ⁼²⁾", "7. w₅′⁽ᵗ⁼²⁾"]
    for name, item in zip(ex.asked, items, strict=True):
        low = Decimal(item.findtext("q:resprocessing/q:respcondition/q:conditionvar/q:vargte", namespaces=NS))
        high = Decimal(item.findtext("q:resprocessing/q:respcondition/q:conditionvar/q:varlte", namespaces=NS))
        assert low <= Decimal(significant(right[name])) <= high and high - low <= Decimal("0.0001"), name


def test_gradescopes_autograder_carries_a_slip_at_step_1_into_step_2(tmp_path, momentum, shim):
    ex = momentum
    root = autograder(tmp_path, gradescope.files(ex)["gradescope/autograder.zip"])
    texts = slipping(ex)
    document, _ = run(root, shim, {"answers.txt": "id = erin\n" + "".join(f"{n} = {t}\n" for n, t in texts.items())})
    marks = expected_marks(given_numbers(ex.document), ex.document["optimizer"], 2, ex.asked, texts)
    assert marks["w5'"] == "slip" and {marks[n] for n in ex.asked[1:]} == {"carried"}
    words = {"agrees": "right", "carried": "carried", "slip": "slip"}
    assert {t["extra_data"]["quantity"]: words[t["extra_data"]["verdict"]] for t in document["tests"]} == marks
    assert document["score"] == len(ex.asked) - 1


def _server(ex, tmp_path):
    files = prairielearn.files(ex)
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, encoding="utf-8")
    path = next(tmp_path / p for p in files if p.endswith("server.py"))
    spec = importlib.util.spec_from_file_location(f"pl_server_{uuid.uuid4().hex}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, next(text for p, text in files.items() if p.endswith("question.html"))


@pytest.mark.parametrize("rule, asked", [(MOMENTUM, ASKED),
                                         (ADAM, ["m_w5", "mhat_w5", "vhat_w5", "w5'", "m_w5@2", "w5'@2"])],
                         ids=["momentum", "adam"])
def test_prairielearns_variants_are_drawn_with_the_rule_and_marked_across_steps(tmp_path, rule, asked):
    """Each variant is drawn with the teacher's optimizer and steps; its key is the hand computation on the
    variant's own numbers, and a slip at step 1 carried into step 2 keeps the later parts' marks."""
    ex = make_exercise(seed=7, optimizer=rule, ask=asked)
    server, html = _server(ex, tmp_path)
    table = ex.options["optimizer"]                        # the rule with every setting written out
    assert table == {**({"velocity": "gradients"} if rule is MOMENTUM else {}), **rule}
    assert server.QUESTION["options"]["optimizer"] == table and server.QUESTION["options"]["steps"] == 2
    assert "w5_new_step2" in server.QUESTION["answers"] and 'answers-name="w5_new_step2"' in html
    data = {"params": {}, "correct_answers": {}, "submitted_answers": {}, "raw_submitted_answers": {},
            "format_errors": {}, "partial_scores": {}, "score": 0.0, "feedback": {}, "variant_seed": 12345}
    server.generate(data)
    document = data["params"]["chainrule"]["spec"]
    assert document["optimizer"] == table
    g = given_numbers(document)
    right = worked(g, table, 2)
    keys = server.QUESTION["answers"]
    assert {name: data["correct_answers"][key] for key, name in keys.items()} == \
        {name: float(significant(right[name])) for name in asked}
    slip = "m_w5" if rule is ADAM else "w5'"
    texts = student(g, table, 2, asked, {slip: significant(-right[slip] if rule is ADAM else right[slip] + 0.3)})
    marks = expected_marks(g, table, 2, asked, texts)
    assert marks[slip] == "slip" and marks[asked[-1]] == "carried"
    data["raw_submitted_answers"] = {key: texts[name] for key, name in keys.items()}
    data["submitted_answers"] = dict(data["raw_submitted_answers"])
    server.parse(data)
    server.grade(data)
    assert {keys[k]: v["score"] for k, v in data["partial_scores"].items()} == \
        {name: 0.0 if verdict == "slip" else 1.0 for name, verdict in marks.items()}


def test_numbas_refuses_an_optimizer_or_a_later_step_naming_the_option(momentum):
    with pytest.raises(ChainruleError, match=r"--numbas: expected an exercise of one step of gradient descent, "
                                             r"found 2 steps of momentum \(--optimizer\)"):
        numbas.files(momentum)
    with pytest.raises(ChainruleError, match=r"found 2 steps \(--steps\)"):
        numbas.files(make_exercise(seed=7, steps=2, ask=["loss"]))
    students = [Student("ann", "Ann", ""), Student("ben", "Ben", "")]
    found = variants(students, "ab" * 32, optimizer=ADAM, ask=["mhat_w5"])
    with pytest.raises(ChainruleError, match=r"found one step of adam \(--optimizer\)"):
        numbas.class_files(found, students)
    assert "numbas/exercise.exam" in numbas.files(make_exercise(seed=7, ask=["loss"]))


def test_a_class_of_adam_variants_is_written_with_every_supported_export(tmp_path):
    from chainrule.teach.publish import write_variants

    students = [Student("ann", "Ann", ""), Student("ben", "Ben", "")]
    found = variants(students, "cd" * 32, optimizer=ADAM, ask=["mhat_w5@2", "w5+@2"])
    written = write_variants(found, students, tmp_path / "class", "cd" * 32,
                             exports=["canvas", "gradescope", "prairielearn"])
    names = {str(p.relative_to(tmp_path / "class")) for p in written}
    assert {"teacher/canvas-qti.zip", "teacher/gradescope/autograder.zip", "teacher/moodle.xml"} <= names
    for student_id, ex in found.items():
        right = worked(given_numbers(ex.document), ADAM, 2)
        assert [ex.answer_text(n) for n in ex.asked] == [significant(right[n]) for n in ("mhat_w5@2", "w5'@2")]
        sheet = (tmp_path / "class" / "students" / student_id / "answers.txt").read_text(encoding="utf-8")
        assert "mhat_w5@2 = \nw5'@2 = \n" in sheet
    write_exercise(found["ann"], tmp_path / "one", exports=["canvas"])
