"""chainrule grade: planted worked solutions get the marks worked out by hand (error carried forward), every
submission format is read, broken submissions are reported without stopping the batch, the gradebook and feedback."""

import csv
import io
import json
import math
import subprocess
import sys

import pytest

from chainrule.cli import main
from chainrule.teach import exercise_document, make_exercise
from chainrule.teach.feedback import feedback_html, feedback_markdown
from chainrule.teach.grade import grade, gradebook_csv, load_task

# seed 7: x = (-0.1, -0.9), y = class 0, W1 = [[0.9, -0.9], [-0.8, -0.6]], b1 = (0.1, 0.4),
# W2 = [[0.3, -0.7], [0.1, -0.4]], b2 = (-0.5, 0.3), eta = 0.5; 39 questions, 1 point each.
EX = make_exercise((2, 2, 2), "sigmoid", "softmax", seed=7)


@pytest.fixture
def task(tmp_path):
    path = tmp_path / "exercise.json"
    path.write_text(json.dumps(exercise_document(EX)))
    return path


def answers(**changes):
    values = {name: EX.answer_text(name) for name in EX.asked}
    values.update({k.replace("__", "/").replace("_p", "'"): v for k, v in changes.items()})
    return values


def write_text(path, values):
    path.write_text("\n".join(f"{name} = {value}" for name, value in values.items()) + "\n")
    return path


def graded(task, tmp_path, files, **kwargs):
    results = grade(load_task(task), [tmp_path / "subs"], **kwargs)
    return {r.student: r for r in results}


def sigmoid(z):
    return 1 / (1 + math.exp(-z))


def test_planted_solutions_get_the_marks_worked_out_by_hand(task, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    assert EX.document["layers"][0]["weights"] == [[0.9, -0.9], [-0.8, -0.6]]
    write_text(subs / "right.txt", answers())
    # more digits than asked are fine; fewer (yhat1 0.2928 -> 0.293, L 1.228 -> 1.23) earn nothing: 4 were asked
    write_text(subs / "more.txt", answers(yhat1="0.292845", L="1.22813"))
    write_text(subs / "fewer.txt", answers(yhat1="0.293", L="1.23"))
    write_text(subs / "early.txt", answers(z1="0.8300"))                      # slip at the start: 38
    write_text(subs / "late.txt", answers(w8_p="-0.6499"))                   # slip at the end (-0.6599): 38
    write_text(subs / "two.txt", answers(z1="0.8300", dL__dw3="-0.004000"))  # two slips: 37
    # a carried chain: z1 = 0.83 (a slip), then a1, z3, z4 computed correctly from it (a2 is right)
    a1 = round(sigmoid(0.83), 4)                                              # 0.6964
    z3 = round(0.3 * a1 - 0.7 * 0.7350 - 0.5, 4)                              # -0.8056
    z4 = round(0.1 * a1 - 0.4 * 0.7350 + 0.3, 5)                              # 0.07564: 4 significant figures
    write_text(subs / "chain.txt", {"z1": "0.8300", "a1": f"{a1:.4f}", "a2": "0.7350", "z3": f"{z3:.4f}",
                                    "z4": f"{z4:.5f}"})
    results = graded(task, tmp_path, None)
    marks = {s: (r.total, r.possible, r.slips) for s, r in results.items()}
    assert marks == {"right": (39, 39, 0), "more": (39, 39, 0), "fewer": (37, 39, 0), "early": (38, 39, 1),
                     "late": (38, 39, 1), "two": (37, 39, 2), "chain": (4, 39, 1)}
    fewer = {m.name: (m.verdict, m.reason) for m in results["fewer"].marks if m.verdict != "agrees"}
    assert fewer == {"yhat1": ("imprecise", "give 4 significant figures"),
                     "L": ("imprecise", "give 4 significant figures")}
    chain = {m.name: m.verdict for m in results["chain"].marks if m.verdict != "missing"}
    assert chain == {"z1": "slip", "a1": "carried", "a2": "agrees", "z3": "carried", "z4": "carried"}
    strict = graded(task, tmp_path, None, carried_credit=False)
    assert strict["chain"].total == 1 and strict["right"].total == 39


@pytest.mark.parametrize("answer, total", [("1", 0), ("0", 0), ("0e9", 0), ("0.0", 0), ("1e9", 0)])
def test_answers_without_the_digits_asked_earn_nothing(task, tmp_path, answer, total):
    subs = tmp_path / "subs"
    subs.mkdir()
    write_text(subs / "lazy.txt", {name: answer for name in EX.asked})
    result = graded(task, tmp_path, None)["lazy"]
    assert result.total == total and not result.problem


def test_the_partial_policy_gives_half_for_a_right_value_with_too_few_digits(tmp_path):
    document = exercise_document(EX) | {"precision_policy": "partial"}
    path = tmp_path / "exercise.json"
    path.write_text(json.dumps(document))
    subs = tmp_path / "subs"
    subs.mkdir()
    write_text(subs / "s.txt", answers(yhat1="0.293", L="1.3"))       # 0.293 agrees at its digits, 1.3 does not
    result = grade(load_task(path), [subs])[0]
    assert result.total == 37.5
    assert {m.name: m.earned for m in result.marks if m.verdict == "imprecise"} == {"yhat1": 0.5, "L": 0.0}


def test_decimal_places_are_asked_and_judged(tmp_path):
    from chainrule.teach.precision import Precision

    document = exercise_document(EX) | {"precision": Precision("decimals", 2).to_document()}
    path = tmp_path / "exercise.json"
    path.write_text(json.dumps(document))
    subs = tmp_path / "subs"
    subs.mkdir()
    write_text(subs / "s.txt", {"z1": "0.82", "z2": "0.8", "a1": "0.69"})   # z2 is 0.98: one place is too few
    verdicts = {m.name: m.verdict for m in grade(load_task(path), [subs])[0].marks if m.verdict != "missing"}
    assert verdicts == {"z1": "agrees", "z2": "imprecise", "a1": "agrees"}


def tie_spec():
    """z1 = 0.17 · 0.35 = 0.0595 exactly: to 2 significant figures, 0.060 and 0.059 are both half a unit away."""
    from decimal import Decimal as D

    from chainrule.explainer import parse_spec

    return parse_spec({"inputs": [D("0.35")], "targets": [D("0.5")], "loss": "half_squared_error",
                       "layers": [{"weights": [[D("0.17")]], "bias": [D("0")], "activation": "sigmoid"}],
                       "learning_rate": D("0.1")}, "tie")


@pytest.mark.parametrize("written, verdict", [("0.060", "agrees"), ("0.059", "agrees"), ("0.0595", "agrees"),
                                              ("0.061", "slip"), ("0.058", "slip"), ("0.06", "imprecise")])
def test_a_tie_goes_to_the_student(written, verdict):
    from decimal import Decimal

    from chainrule.teach.grade import grade_values
    from chainrule.teach.precision import Precision

    precision = Precision("significant", 2)
    assert precision.text(0.0595) == "0.060"            # half away from zero, from the shortest decimal
    result = grade_values(tie_spec(), {"z1": 1.0}, "s", {"z1": Decimal(written)}, "s.txt", precision=precision)
    assert result.marks[0].verdict == verdict


def test_a_carried_value_a_slip_made_trivial_is_flagged_and_not_credited(task, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    # dL/dz3 and dL/dz4 written as 0: every output gradient and update carried from them is trivial
    write_text(subs / "zeros.txt", answers(dL__dz3="0.0000", dL__dz4="0.0000", dL__dw5="0.0000", w5_p="0.3000",
                                           dL__db3="0.0000"))
    result = graded(task, tmp_path, None)["zeros"]
    verdicts = {m.name: m.verdict for m in result.marks}
    assert verdicts["dL/dz3"] == verdicts["dL/dz4"] == "slip"
    assert verdicts["dL/dw5"] == verdicts["w5'"] == verdicts["dL/db3"] == "degenerate"
    assert all(m.earned == 0 for m in result.marks if m.verdict == "degenerate")
    assert any("dL/dw5" in flag and "not credited" in flag for flag in result.flags)
    credited = {r.student: r for r in grade(load_task(task), [subs], degenerate_credit=True)}["zeros"]
    assert credited.total == result.total + sum(m.points for m in result.marks if m.verdict == "degenerate")


def test_a_two_class_softmax_output_from_the_other_is_right_working(task, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    write_text(subs / "one.txt", {"yhat1": "0.3928", "yhat2": "0.6072"})        # yhat1 is 0.2928: yhat2 = 1 - it
    write_text(subs / "both.txt", {"yhat1": "0.3928", "yhat2": "0.5072"})       # no relation: two slips
    results = graded(task, tmp_path, None)
    one = {m.name: m.verdict for m in results["one"].marks if m.verdict != "missing"}
    both = {m.name: m.verdict for m in results["both"].marks if m.verdict != "missing"}
    assert one == {"yhat1": "slip", "yhat2": "carried"} and both == {"yhat1": "slip", "yhat2": "slip"}


def test_a_rubric_overrides_the_points_it_names_and_keeps_the_rest(task, tmp_path):
    rubric = tmp_path / "rubric.toml"
    rubric.write_text('z1 = 2\n"w8+" = 0\n')
    points = load_task(task, rubric).points
    assert len(points) == 39 and points["z1"] == 2 and points["w8'"] == 0 and points["a1"] == 1


def test_the_newest_of_two_files_with_one_id_is_graded_with_a_note(task, tmp_path):
    import os

    subs = tmp_path / "subs"
    subs.mkdir()
    old, new = write_text(subs / "ann_first.txt", answers(z1="0.8300")), write_text(subs / "ann_second.txt", answers())
    for path in (old, new):
        path.write_text("id = ann\n" + path.read_text())
    os.utime(old, (1_000_000, 1_000_000))
    os.utime(new, (2_000_000, 2_000_000))
    results = grade(load_task(task), [subs])
    assert [r.student for r in results] == ["ann"] and results[0].total == 39
    assert any("ann_first.txt" in note for note in results[0].notes)


def test_feedback_names_the_first_slip_and_never_the_key_unless_asked(task, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    write_text(subs / "chain.txt", {"z1": "0.8300", "a1": "0.6964", "z3": "-0.8056", "dL/dw5": "", "x1": "-0.1"})
    result = graded(task, tmp_path, None)["chain"]
    text = feedback_markdown(result)
    assert "**Mark: 2 / 39 (1 slip)**" in text
    assert "First slip: z₁ was written as 0.8300, which is not what z₁ = w₁·x₁ + w₂·x₂ + b₁ gives" in text
    assert "It carried into: a₁, z₃ (right working from it, so they keep their marks)." in text
    assert "| a₁ | 0.6964 | carried (right working from your earlier wrong number) | 1 / 1 |" in text
    assert "0.694236" not in text and "0.82" not in text                  # no right value: the key stays hidden
    assert "missing: " in text and "x1" in text                           # the blank line, the restated given
    assert "<td>carried (right working from your earlier wrong number)</td>" in feedback_html(result)
    after = feedback_markdown(result, answers=True)
    assert "the correct value is 0.82" in after and "0.694236" in after
    assert "The working: z₁ = w₁·x₁ + w₂·x₂ + b₁ = 0.9·(-0.1) + (-0.9)·(-0.9) + 0.1 = 0.82" in after


def test_every_submission_format_is_read(task, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    values = answers(z1="0.8300")
    (subs / "a.toml").write_text("id = \"ann\"\n" + "\n".join(f'"{k}" = {v}' for k, v in values.items()))
    (subs / "b.json").write_text("{" + ", ".join([f'"id": "ben"'] + [f'"{k}": {v}' for k, v in values.items()])
                                 + "}")
    (subs / "c.csv").write_text("name,value\n" + "\n".join(f"{k},{v}" for k, v in values.items()))
    (subs / "d.txt").write_text("# my working\n" + "\n".join(f"{k}: {v}  # done" for k, v in values.items()))
    results = graded(task, tmp_path, None)
    assert {s: r.total for s, r in results.items()} == {"ann": 38, "ben": 38, "c": 38, "d": 38}


@pytest.mark.parametrize("name, content, reason", [
    ("unreadable.toml", "z1 = = 3", "not valid TOML"),
    ("list.json", "[1, 2]", "expected a table"),
    ("badid.json", '{"id": "a b", "z1": 0.82}', "id"),
    ("binary.txt", b"\xff\xfe\x00z", "UTF"),
])
def test_a_broken_submission_is_reported_and_the_rest_graded(task, tmp_path, name, content, reason):
    subs = tmp_path / "subs"
    subs.mkdir()
    write_text(subs / "good.txt", answers())
    path = subs / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    results = grade(load_task(task), [subs])
    good = next(r for r in results if r.student == "good")
    broken = next(r for r in results if r.source == str(path))
    assert good.total == 39 and not good.problem
    assert reason in broken.problem and str(path) in broken.problem and broken.total == 0
    book = list(csv.reader(io.StringIO(gradebook_csv(results, load_task(task)))))
    row = next(r for r in book if str(path) in r)
    assert reason in row[-1]
    assert "Not graded" in feedback_markdown(broken)


@pytest.mark.parametrize("content, missing, note", [
    ("z1 = 0.8200\ndL/dw9 = 0.1", None, "dL/dw9"),
    ("z1 = 0.8200\nz2 = about one", "z2", None),
    ("z1,nan", "z1", None),
    ("z1 = 0.8200\nz2 =", "z2", None),
])
def test_an_unreadable_line_costs_only_its_own_mark(task, tmp_path, content, missing, note):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / ("s.csv" if "," in content else "s.txt")).write_text(content)
    result = grade(load_task(task), [subs])[0]
    assert not result.problem
    verdicts = {m.name: (m.verdict, m.reason) for m in result.marks}
    if missing:
        assert verdicts[missing][0] == "missing" and verdicts[missing][1] not in ("", "no answer given")
    if note:
        assert any(note in n for n in result.notes) and verdicts["z1"][0] == "agrees"


def test_a_folder_of_300_submissions_grades_completely(task, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    for k in range(300):
        values = answers(z1="0.8300") if k % 2 else answers()
        if k % 37 == 5:
            values["z9"] = "0.1"                      # no such quantity: ignored with a note
        write_text(subs / f"s{k:03d}.txt", values)
    results = grade(load_task(task), [subs])
    assert len(results) == 300 and [r.student for r in results] == sorted(r.student for r in results)
    assert not any(r.problem for r in results)
    assert all(r.total == (38 if int(r.student[1:]) % 2 else 39) for r in results)
    assert all(any("z9" in n for n in r.notes) == (int(r.student[1:]) % 37 == 5) for r in results)


def test_the_cli_writes_every_output_and_replaces_none_without_force(task, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    write_text(subs / "zoe.txt", answers())
    write_text(subs / "adam.txt", answers(z1="0.8300"))
    (subs / "broken.json").write_text("{")
    rubric = tmp_path / "rubric.toml"
    rubric.write_text('z1 = 2\n"dL/dw1" = 3\n')
    book, feedback = tmp_path / "book.csv", tmp_path / "fb"
    argv = ["grade", str(task), str(subs), "--rubric", str(rubric), "--out", str(book), "--feedback",
            str(feedback), "--feedback-format", "html", "--moodle-grades", str(tmp_path / "moodle.csv"),
            "--canvas-grades", str(tmp_path / "canvas.csv"), "--summary", str(tmp_path / "summary.html")]
    assert main(argv) == 0
    rows = {r["id"]: r for r in csv.DictReader(book.open())}
    assert (rows["adam"]["total"], rows["adam"]["possible"], rows["adam"]["z1"]) == ("40", "42", "0")
    assert rows["zoe"]["total"] == "42" and rows["broken"]["total"] == "" and "JSON" in rows["broken"]["problem"]
    assert sorted(p.name for p in feedback.iterdir()) == ["adam.html", "broken.html", "zoe.html"]
    assert (tmp_path / "summary.csv").exists() and "<svg" in (tmp_path / "summary.html").read_text()
    before = book.read_text()
    run = subprocess.run([sys.executable, "-m", "chainrule", *argv], capture_output=True, text=True)
    assert run.returncode == 2 and "--force" in run.stderr and "Traceback" not in run.stderr
    assert book.read_text() == before
    assert main(argv + ["--force"]) == 0


def test_a_named_submission_that_does_not_exist_exits_2(task, tmp_path):
    run = subprocess.run([sys.executable, "-m", "chainrule", "grade", str(task), str(tmp_path / "nobody.txt")],
                         capture_output=True, text=True)
    assert run.returncode == 2 and "nobody.txt" in run.stderr and "Traceback" not in run.stderr


@pytest.mark.parametrize("files, message", [
    ({"exercise.json": "{not json"}, "exercise.json: not valid JSON"),
    ({"exercise.json": '{"format": "chainrule-exercise", "questions": []}'}, "spec: expected the exercise's spec"),
    ({"rubric.toml": 'dL/dw9 = 1'}, "rubric.toml: not valid TOML"),
    ({"rubric.toml": '"dL/dw9" = 1'}, "rubric.toml: dL/dw9: expected the name of a quantity asked"),
    ({"rubric.toml": 'z1 = "two"'}, 'rubric.toml: z1: expected points from 0 to 1000, found the string "two"'),
    ({"rubric.toml": 'z1 = -1'}, "rubric.toml: z1: expected points from 0 to 1000, found -1"),
    ({"subs/s.txt": None}, "expected submission files, found none"),
])
def test_a_bad_exercise_or_rubric_exits_2_naming_file_and_field(task, tmp_path, files, message):
    subs = tmp_path / "subs"
    subs.mkdir()
    write_text(subs / "s.txt", answers())
    for name, text in files.items():
        if text is None:
            (tmp_path / name).unlink()
        else:
            (tmp_path / name).write_text(text)
    exercise = tmp_path / "exercise.json"
    argv = ["grade", str(exercise), str(subs)]
    if "rubric.toml" in files:
        argv += ["--rubric", str(tmp_path / "rubric.toml")]
    run = subprocess.run([sys.executable, "-m", "chainrule", *argv], capture_output=True, text=True)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert message in run.stderr


def test_a_plain_spec_grades_on_its_own_claims(tmp_path):
    from chainrule.explainer import example_path

    subs = tmp_path / "subs"
    subs.mkdir()
    write_text(subs / "s.txt", {"z1": "1.1", "z2": "-1.5", "a2": "0", "dL/dz2": "0.1350", "dL/dw3": "0.1350"})
    results = grade(load_task(example_path("relu_student")), [subs])
    verdicts = {m.name: m.verdict for m in results[0].marks}
    assert verdicts["dL/dz2"] == "slip" and verdicts["dL/dw3"] == "carried" and verdicts["z1"] == "agrees"
    assert verdicts["L"] == "missing" and results[0].possible == 18


def test_a_submission_may_name_intermediates_and_batch_exercises_grade(tmp_path):
    ex = make_exercise((2, 2, 1), "relu", "sigmoid", seed=4, batch=2)
    path = tmp_path / "exercise.json"
    path.write_text(json.dumps(exercise_document(ex)))
    subs = tmp_path / "subs"
    subs.mkdir()
    values = {name: ex.answer_text(name) for name in ex.asked}
    write_text(subs / "full.txt", values)
    z1 = ex.derivation.values["z1[1]"]
    write_text(subs / "extra.txt", {"z1[1]": ex.answer_text("z1[1]"), "da1/dz1[1]": "1" if z1 > 0 else "0",
                                    "Delta_w1": "0.5", "L_yhat1[2]": "0.1"})
    results = {r.student: r for r in grade(load_task(path), [subs])}
    assert results["full"].total == results["full"].possible == len(ex.asked) and not results["full"].problem
    extra = results["extra"]
    assert not extra.problem and extra.total == 1        # only z1[1] is asked; the rest are ignored with a note
    assert all(name in " ".join(extra.notes) for name in ("da1/dz1[1]", "Delta_w1", "L_yhat1[2]"))
