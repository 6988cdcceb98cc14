"""The README's "For teachers" section runs as written: one assignment from class list to grades (its commands, the
submissions its printf lines write and the output it shows), the folders it describes (what students receive, what
the teacher keeps), and the options it names."""

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
SECTION = README[README.index("## For teachers"):README.index("## Check the gradients")]

STUDENT = ["answers.txt", "questions.html", "questions.md", "questions.tex"]
TEACHER = ["exercise.json", "key.html", "key.md", "key.tex", "moodle-cloze.xml", "moodle.xml"]


def files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def commands() -> list[str]:
    """Every shell line of the section, in order: the walkthrough's ```sh block, then the indented ones."""
    walkthrough = re.search(r"```sh\n(.*?)```", SECTION, re.S)[1].splitlines()
    indented = [line.strip() for block in re.findall(r"\n\n((?:    \S.*\n)+)", SECTION) for line in block.splitlines()]
    return walkthrough + indented


def test_the_walkthrough_runs_as_written_and_prints_what_it_shows(tmp_path):
    """The section's shell lines, as written, in one empty folder (tests/test_readme_outputs.py runs them again
    among all the README's commands, in order)."""
    lines = commands()
    blocks = re.findall(r"```text\n(.*?)```", SECTION, re.S)
    alice, bob, shown_grade, shown_feedback = blocks
    bin_dir, work = tmp_path / "bin", tmp_path / "work"
    bin_dir.mkdir()
    work.mkdir()
    (bin_dir / "chainrule").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m chainrule "$@"\n')
    (bin_dir / "chainrule").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    outputs = []
    for command in lines:
        run = subprocess.run(["bash", "-c", command], cwd=work, env=env, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, (command, run.stderr)
        outputs.append(run.stdout)
    grading = next(k for k, line in enumerate(lines) if line.startswith("chainrule grade "))
    subs = work / "submissions"
    assert (subs / "Alice Smith_101_assignsubmission_file_" / "answers.txt").read_text() == alice
    assert (subs / "Bob Jones_102_assignsubmission_file_" / "answers.txt").read_text() == bob
    assert outputs[grading].strip() == shown_grade.strip()
    feedback = (work / "feedback" / "alice.md").read_text()
    for line in shown_feedback.strip().splitlines():
        assert line in feedback
    assert "missing: left blank" in feedback and "give 4 significant figures" in (work / "feedback" / "bob.md").read_text()
    assert "-1.030" not in feedback                        # the key is not shown without --feedback-answers
    book = {row["id"]: row for row in csv.DictReader((work / "gradebook.csv").open())}
    assert (book["alice"]["total"], book["bob"]["total"], book["carol"]["total"]) == ("7", "8", "")
    assert book["carol"]["name"] == "Carol Diaz" and book["alice"]["percent"] == "77.8"
    moodle = list(csv.reader((work / "moodle-grades.csv").open()))
    assert moodle == [["ID number", "Backpropagation exercise"], ["alice", "7"], ["bob", "8"]]
    assert (work / "summary.csv").exists() and "<svg" in (work / "summary.html").read_text()
    # the folders as the section names them: the class's, then a single exercise's
    students = [s["id"] for s in json.loads((work / "class" / "teacher" / "variants.json").read_text())["students"]]
    assert students == ["alice", "bob", "carol"]
    assert files(work / "class" / "students") == [f"{s}/{n}" for s in students for n in STUDENT]
    assert files(work / "class" / "teacher") == sorted(
        [f"keys/{s}.{x}" for s in students for x in ("html", "md", "tex")]
        + ["key.md", "moodle-cloze.xml", "moodle.xml", "roster.csv", "variants.json"])
    for name in STUDENT + TEACHER + ["class/students/ID/", "class/teacher/", "keys/ID.md", "roster.csv",
                                     "ex/student/", "ex/teacher/"]:
        assert f"`{name}`" in SECTION, name
    assert "**Name:** Alice Smith **ID:** alice" in (work / "class" / "students" / "alice" / "questions.md").read_text()
    assert files(work / "ex") == [f"student/{n}" for n in STUDENT] + [f"teacher/{n}" for n in TEACHER]
    # the LMS section's command: every package it names is in teacher/, and nothing of them reached student/
    lms = files(work / "lms" / "teacher")
    for name in ("numbas/exercise.exam", "canvas-qti.zip", "gradescope/autograder.zip", "moodle-cloze.xml"):
        assert name in lms and f"`teacher/{name}`" in SECTION, name
    assert any(n.startswith("prairielearn/") and n.endswith("/server.py") for n in lms)
    assert files(work / "lms" / "student") == STUDENT
    handed_out = " ".join((work / "class" / "students" / "alice" / n).read_text() for n in STUDENT)
    key = json.loads((work / "class" / "teacher" / "variants.json").read_text())
    assert key["secret"] not in handed_out and "-1.030" not in handed_out      # neither the secret nor an answer


def test_the_options_the_section_names_are_the_commands():
    def help_text(command):
        return subprocess.run([sys.executable, "-m", "chainrule", command, "--help"], capture_output=True,
                              text=True).stdout
    both = help_text("exercise") + help_text("grade")
    for flag in set(re.findall(r"`(--[a-z-]+)", SECTION)):
        assert flag in both, flag


def test_the_python_api_named_in_the_readme():
    import chainrule as cr

    exercise = cr.teach.make_exercise((2, 2, 2), "sigmoid", "softmax", seed=7)
    assert len(exercise.asked) == 39 and "cr.teach.make_exercise((2, 2, 2)" in SECTION
    assert exercise.precision == cr.teach.Precision("significant", 4) and "cr.teach.write_exercise(" in SECTION
