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
    # rounding only: fewer digits (yhat1 0.2928 -> 0.293, L 1.228 -> 1.23) is not a slip
    write_text(subs / "rounding.txt", answers(yhat1="0.293", L="1.23"))
    write_text(subs / "early.txt", answers(z1="0.8300"))                      # slip at the start: 38
    write_text(subs / "late.txt", answers(w8_p="-0.6499"))                   # slip at the end (-0.6599): 38
    write_text(subs / "two.txt", answers(z1="0.8300", dL__dw3="-0.004000"))  # two slips: 37
    # a carried chain: z1 = 0.83 (a slip), then a1, z3, z4 computed correctly from it (a2 is right)
    a1 = round(sigmoid(0.83), 4)                                              # 0.6964
    z3 = round(0.3 * a1 - 0.7 * 0.7350 - 0.5, 4)                              # -0.8056
    z4 = round(0.1 * a1 - 0.4 * 0.7350 + 0.3, 4)
    write_text(subs / "chain.txt", {"z1": "0.8300", "a1": f"{a1:.4f}", "a2": "0.7350", "z3": f"{z3:.4f}",
                                    "z4": f"{z4:.4f}"})
    results = graded(task, tmp_path, None)
    marks = {s: (r.total, r.possible, r.slips) for s, r in results.items()}
    assert marks == {"right": (39, 39, 0), "rounding": (39, 39, 0), "early": (38, 39, 1), "late": (38, 39, 1),
                     "two": (37, 39, 2), "chain": (4, 39, 1)}
    chain = {m.name: m.verdict for m in results["chain"].marks if m.verdict != "missing"}
    assert chain == {"z1": "slip", "a1": "carried", "a2": "agrees", "z3": "carried", "z4": "carried"}
    strict = graded(task, tmp_path, None, carried_credit=False)
    assert strict["chain"].total == 1 and strict["right"].total == 39


def test_feedback_names_the_first_slip_its_working_and_what_it_carried_into(task, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    write_text(subs / "chain.txt", {"z1": "0.8300", "a1": "0.6964", "z3": "-0.8056"})
    result = graded(task, tmp_path, None)["chain"]
    text = feedback_markdown(result)
    assert "**Mark: 2 / 39 (1 slip)**" in text
    assert "First slip: z₁ was written as 0.8300; the correct value is 0.82." in text
    assert "The working: z₁ = w₁·x₁ + w₂·x₂ + b₁ = 0.9·(-0.1) + (-0.9)·(-0.9) + 0.1 = 0.82" in text
    assert "It carried into: a₁, z₃ (right working from it, so they keep their marks)." in text
    assert "| a₁ | 0.6964 | carried (right working from your earlier wrong number) | 1 / 1 | 0.694236 |" in text
    assert "<td>carried (right working from your earlier wrong number)</td>" in feedback_html(result)


def test_every_submission_format_is_read(task, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    values = answers(z1="0.8300")
    (subs / "a.toml").write_text("id = \"ann\"\n" + "\n".join(f'"{k}" = {v}' for k, v in values.items()))
    (subs / "b.json").write_text(json.dumps({"id": "ben", **{k: float(v) for k, v in values.items()}}))
    (subs / "c.csv").write_text("name,value\n" + "\n".join(f"{k},{v}" for k, v in values.items()))
    (subs / "d.txt").write_text("# my working\n" + "\n".join(f"{k}: {v}  # done" for k, v in values.items()))
    results = graded(task, tmp_path, None)
    assert {s: r.total for s, r in results.items()} == {"ann": 38, "ben": 38, "c": 38, "d": 38}


@pytest.mark.parametrize("name, content, reason", [
    ("unreadable.toml", "z1 = = 3", "not valid TOML"),
    ("unknown.txt", "z1 = 0.82\ndL/dw9 = 0.1", 'dL/dw9: expected the name of a quantity of the exercise'),
    ("repeated.txt", "z1 = 0.82\nz1 = 0.83", "line 2: expected each quantity once, found z1 again"),
    ("updated_twice.txt", "w1' = 0.8985\nw1+ = 0.8985", "w1+: expected each quantity once, found it again"),
    ("word.txt", "z1 = 0.82\nz2 = about one", "line 2: expected name = value"),
    ("nan.csv", "z1,nan", 'z1: expected a number, found the string "nan"'),
    ("list.json", "[1, 2]", "expected a table of quantity name = number, found list"),
    ("nested.json", '{"z1": {"value": 1}}', "z1: expected a number, found a table"),
    ("badid.json", '{"id": "a b", "z1": 0.82}', "id: expected a student id"),
    ("binary.txt", b"\xff\xfe\x00z", "UTF-8"),
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
    row = next(r for r in book if r[-2] == str(path))
    assert reason in row[-1]
    assert "Not graded" in feedback_markdown(broken)


def test_a_folder_of_300_submissions_grades_completely(task, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    for k in range(300):
        values = answers(z1="0.8300") if k % 2 else answers()
        if k % 37 == 5:
            values["z9"] = "0.1"                      # no such quantity
        write_text(subs / f"s{k:03d}.txt", values)
    results = grade(load_task(task), [subs])
    assert len(results) == 300 and [r.student for r in results] == sorted(r.student for r in results)
    broken = [r for r in results if r.problem]
    assert len(broken) == len([k for k in range(300) if k % 37 == 5]) and all("z9" in r.problem for r in broken)
    assert all(r.total == (38 if int(r.student[1:]) % 2 else 39) for r in results if not r.problem)


def test_the_cli_writes_a_sorted_gradebook_and_feedback(task, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    write_text(subs / "zoe.txt", answers())
    write_text(subs / "adam.txt", answers(z1="0.8300"))
    (subs / "broken.txt").write_text("z1 = x")
    rubric = tmp_path / "rubric.toml"
    rubric.write_text('z1 = 2\n"dL/dw1" = 3\n"w8+" = 1\n')
    book, feedback = tmp_path / "book.csv", tmp_path / "fb"
    assert main(["grade", str(task), str(subs), "--rubric", str(rubric), "--out", str(book),
                 "--feedback", str(feedback), "--feedback-format", "html"]) == 0
    rows = list(csv.reader(book.open()))
    assert rows[0] == ["id", "total", "possible", "slips", "z1", "dL/dw1", "w8'", "file", "problem"]
    assert [r[:7] for r in rows[1:]] == [["adam", "4", "6", "1", "0", "3", "1"], ["broken", "0", "6", "0", "", "", ""],
                                         ["zoe", "6", "6", "0", "2", "3", "1"]]
    assert sorted(p.name for p in feedback.iterdir()) == ["adam.html", "broken.html", "zoe.html"]


def test_per_student_variants_are_matched_by_id(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("id\nalice\nbob\n")
    assert main(["exercise", "--seed", "3", "--roster", str(roster), "--ask", "forward", "--out",
                 str(tmp_path / "out")]) == 0
    variants = json.loads((tmp_path / "out" / "variants.json").read_text())["variants"]
    subs = tmp_path / "subs"
    subs.mkdir()
    for student in ("alice", "bob"):
        write_text(subs / f"{student}.txt", {k: v["rounded"] for k, v in variants[student]["answers"].items()})
    write_text(subs / "mallory.txt", {"z1": "0.1"})
    (subs / "swapped.json").write_text(json.dumps({"id": "bob", **{k: float(v["rounded"]) for k, v in
                                                                    variants["alice"]["answers"].items()}}))
    feedback = tmp_path / "fb"
    assert main(["grade", str(tmp_path / "out" / "variants.json"), str(subs), "--feedback", str(feedback)]) == 0
    assert sorted(p.name for p in feedback.iterdir()) == ["alice.md", "bob-swapped.md", "bob.md", "mallory.md"]
    assert "Not graded" not in (feedback / "bob.md").read_text()
    results = grade(load_task(tmp_path / "out" / "variants.json"), [subs])
    by_source = {r.source.rsplit("/", 1)[1]: r for r in results}
    assert by_source["alice.txt"].total == by_source["alice.txt"].possible == len(variants["alice"]["answers"])
    assert by_source["bob.txt"].total == by_source["bob.txt"].possible
    assert "no variant for student id 'mallory'" in by_source["mallory.txt"].problem
    assert "the same student id 'bob'" in by_source["swapped.json"].problem


@pytest.mark.parametrize("files, message", [
    ({"exercise.json": "{not json"}, "exercise.json: not valid JSON"),
    ({"exercise.json": '{"format": "chainrule-exercise", "questions": []}'}, "spec: expected the exercise's spec"),
    ({"rubric.toml": 'dL/dw9 = 1'}, "rubric.toml: not valid TOML"),
    ({"rubric.toml": '"dL/dw9" = 1'}, "rubric.toml: dL/dw9: expected the name of a quantity"),
    ({"rubric.toml": 'z1 = "two"'}, 'rubric.toml: z1: expected points from 0 to 1000, found the string "two"'),
    ({"rubric.toml": 'z1 = -1'}, "rubric.toml: z1: expected points from 0 to 1000, found -1"),
    ({"subs/s.txt": None}, "subs: expected submission files, found none"),
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
    from chainrule.explain import example_path

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
    assert not extra.problem and extra.total == 1        # only z1[1] is asked; the rest are audited for feedback
    assert {c.name: c.verdict for c in extra.derivation.claims}["da1/dz1[1]"] == "agrees"
