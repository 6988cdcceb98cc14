"""The README's "For teachers" section runs as written: its commands, its submission and the output it shows."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
SECTION = README[README.index("## For teachers"):README.index("## Check the gradients")]


def test_the_teachers_commands_run_as_written_and_print_what_it_shows(tmp_path):
    commands = [line.strip() for line in SECTION.splitlines() if line.startswith("    chainrule ")]
    blocks = re.findall(r"```text\n(.*?)```", SECTION, re.S)
    submission, shown_grade, shown_feedback = blocks
    (tmp_path / "roster.csv").write_text("id\nalice\nbob\n")
    (tmp_path / "submissions").mkdir()
    (tmp_path / "submissions" / "alice.txt").write_text(submission)
    outputs = []
    for command in commands:
        run = subprocess.run([sys.executable, "-m", "chainrule", *shlex.split(command)[1:]], cwd=tmp_path,
                             capture_output=True, text=True)
        assert run.returncode == 0, (command, run.stderr)
        outputs.append(run.stdout)
    assert len(commands) == 3
    assert shown_grade.strip() in outputs[-1]
    feedback = (tmp_path / "feedback" / "alice.md").read_text()
    for line in shown_feedback.strip().splitlines():
        assert line in feedback
    assert (tmp_path / "gradebook.csv").read_text().startswith("id,total,possible,slips,z1,")
    for name in ("questions.md", "questions.tex", "questions.html", "key.md", "key.tex", "key.html",
                 "exercise.json", "moodle.xml"):
        assert (tmp_path / "ex" / name).exists(), name
    assert (tmp_path / "class" / "students" / "bob" / "questions.md").exists()
    assert (tmp_path / "class" / "variants.json").exists() and (tmp_path / "class" / "key.md").exists()


def test_the_python_api_named_in_the_readme():
    import chainrule as cr

    exercise = cr.teach.make_exercise((2, 2, 2), "sigmoid", "softmax", seed=7)
    assert len(exercise.asked) == 39 and "cr.teach.make_exercise((2, 2, 2)" in SECTION
