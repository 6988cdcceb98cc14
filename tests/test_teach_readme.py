"""The README's "For teachers" section runs as written: its commands, its submission and the output it shows, and
the folders it describes (what students receive, what the teacher keeps)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
SECTION = README[README.index("## For teachers"):README.index("## Check the gradients")]

STUDENT = ["answers.txt", "questions.html", "questions.md", "questions.tex"]
TEACHER = ["exercise.json", "key.html", "key.md", "key.tex", "moodle.xml"]


def files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_the_teachers_commands_run_as_written_and_print_what_it_shows(tmp_path):
    """The section's shell block, every line as written (its printf lines write the roster and Alice's submission),
    in one empty folder; tests/test_readme_outputs.py runs it again among all the README's commands, in order."""
    block = re.search(r"\n\n((?:    \S.*\n)+)", SECTION)[1]
    commands = [line.strip() for line in block.splitlines()]
    blocks = re.findall(r"```text\n(.*?)```", SECTION, re.S)
    submission, shown_grade, shown_feedback = blocks
    bin_dir, work = tmp_path / "bin", tmp_path / "work"
    bin_dir.mkdir()
    work.mkdir()
    (bin_dir / "chainrule").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m chainrule "$@"\n')
    (bin_dir / "chainrule").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    outputs = []
    for command in commands:
        run = subprocess.run(["bash", "-c", command], cwd=work, env=env, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, (command, run.stderr)
        outputs.append(run.stdout)
    assert len(commands) == 5 and commands[-1].startswith("chainrule grade "), commands
    written = (work / "submissions" / "alice.txt").read_text().splitlines()
    assert written == [line for line in submission.splitlines() if not line.startswith("#")]
    assert shown_grade.strip() in outputs[-1]
    feedback = (work / "feedback" / "alice.md").read_text()
    for line in shown_feedback.strip().splitlines():
        assert line in feedback
    assert (work / "gradebook.csv").read_text().startswith("id,")
    # the folders as the section names them: a single exercise's, then a class's
    assert files(work / "ex") == [f"student/{n}" for n in STUDENT] + [f"teacher/{n}" for n in TEACHER]
    for name in STUDENT + TEACHER + ["ex/student/", "ex/teacher/"]:
        assert f"`{name}`" in SECTION, name
    students = [s["id"] for s in json.loads((work / "class" / "teacher" / "variants.json").read_text())["students"]]
    assert students == ["alice", "bob"]
    assert files(work / "class" / "students") == [f"{s}/{n}" for s in students for n in STUDENT]
    assert files(work / "class" / "teacher") == sorted(
        [f"keys/{s}.{x}" for s in students for x in ("html", "md", "tex")]
        + ["key.md", "moodle.xml", "roster.csv", "variants.json"])
    for name in ("class/students/ID/", "class/teacher/", "variants.json", "keys/ID.md", "roster.csv"):
        assert f"`{name}`" in SECTION, name
    assert "**Name:** Alice Smith **ID:** alice" in (work / "class" / "students" / "alice" / "questions.md").read_text()


def test_the_options_the_section_names_are_the_commands():
    help_text = subprocess.run([sys.executable, "-m", "chainrule", "exercise", "--help"], capture_output=True,
                               text=True).stdout
    for flag in re.findall(r"`(--[a-z-]+)", SECTION):
        if flag not in ("--out", "--feedback", "--feedback-format", "--rubric", "--no-carried-credit"):
            assert flag in help_text, flag


def test_the_python_api_named_in_the_readme():
    import chainrule as cr

    exercise = cr.teach.make_exercise((2, 2, 2), "sigmoid", "softmax", seed=7)
    assert len(exercise.asked) == 39 and "cr.teach.make_exercise((2, 2, 2)" in SECTION
    assert exercise.precision == cr.teach.Precision("significant", 4) and "cr.teach.write_exercise(" in SECTION
