"""The routes into an LMS, from the command line: `chainrule exercise` writes every package asked for into teacher/
(never student/), and the same scripted student (one early slip, every later number worked rightly from it) gets the
same marks, part for part, from `chainrule grade`, the Gradescope autograder it wrote and the PrairieLearn question it
wrote. (The compiled Numbas exam is held to the same marks in a browser by tests/test_teach_numbas.py.)"""

import csv
import json
import subprocess
import sys
from pathlib import Path

from chainrule.cli import main
from test_teach_gradescope import autograder, run, shim  # noqa: F401  (shim is a fixture)
from test_teach_prairielearn import assert_same_marks, expected, keyed, slipping, submit, the_variant

PACKAGES = ["canvas-qti.zip", "gradescope/autograder.zip", "moodle-cloze.xml", "moodle.xml", "numbas/exercise.exam"]


def files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def exercise(tmp_path, *extra) -> Path:
    out = tmp_path / "lms"
    assert main(["exercise", "--seed", "7", "--numbas", "--canvas", "--gradescope", "--prairielearn", *extra,
                 "--out", str(out)]) == 0
    return out


def test_every_package_lands_in_teacher_and_none_in_student(tmp_path):
    out = exercise(tmp_path)
    teacher = files(out / "teacher")
    assert all(name in teacher for name in PACKAGES)
    assert sum(n.startswith("prairielearn/") for n in teacher) == 3
    assert files(out / "student") == ["answers.txt", "questions.html", "questions.md", "questions.tex"]


def test_a_class_gets_each_students_variant_in_each_package(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("ID number,Full name\nann,Ann Lee\nbo,Bo Park\n")
    out = tmp_path / "class"
    assert main(["exercise", "--roster", str(roster), "--ask", "forward", "--numbas", "--canvas", "--gradescope",
                 "--out", str(out)]) == 0
    teacher = files(out / "teacher")
    assert {"numbas/ann.exam", "numbas/bo.exam", "canvas-qti.zip", "gradescope/autograder.zip"} <= set(teacher)


def test_numbas_source_without_numbas_is_refused(tmp_path):
    run_ = subprocess.run([sys.executable, "-m", "chainrule", "exercise", "--numbas-source", str(tmp_path), "--out",
                           str(tmp_path / "x")], capture_output=True, text=True)
    assert run_.returncode == 2 and "--numbas-source" in run_.stderr and "Traceback" not in run_.stderr


def test_the_scripted_student_gets_the_same_marks_on_every_route(tmp_path, shim):  # noqa: F811
    from chainrule.teach import make_exercise

    out = exercise(tmp_path)
    ex = make_exercise(seed=7)
    answers = slipping(ex)
    text = "id = alice\n" + "".join(f"{name} = {value}\n" for name, value in answers.items())
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "alice.txt").write_text(text)
    # chainrule grade, from the folder it wrote
    assert main(["grade", str(out), str(subs), "--out", str(tmp_path / "book.csv")]) == 0
    row = next(csv.DictReader((tmp_path / "book.csv").open()))
    by_grade = {name: float(row[name]) for name in ex.asked}
    assert by_grade["z1"] == 0 and sum(by_grade.values()) == len(ex.asked) - 1
    # the Gradescope autograder it wrote
    root = autograder(tmp_path, (out / "teacher" / "gradescope" / "autograder.zip").read_bytes())
    document, _ = run(root, shim, {"answers.txt": text})
    assert {t["extra_data"]["quantity"]: t["score"] for t in document["tests"]} == by_grade
    # the PrairieLearn question it wrote: its own variant, the same behaviour, marked as chainrule grade marks it
    import importlib.util

    server_path = next((out / "teacher" / "prairielearn").rglob("server.py"))
    spec = importlib.util.spec_from_file_location("routes_pl_server", server_path)
    server = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(server)
    question = {name: (server_path.parent / name).read_text() for name in ("info.json", "question.html")}
    question["server"] = server
    from test_teach_prairielearn import generated

    variant = generated(server, 12345)
    ex_v = the_variant(question, 12345)
    typed = slipping(ex_v)
    data = submit(question, variant, keyed(question, typed))
    result = expected(ex_v, typed)
    assert_same_marks(question, data, result)
    assert result.total == result.possible - 1 and json.loads(question["info.json"])["type"] == "v3"
