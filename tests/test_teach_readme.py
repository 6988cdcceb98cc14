"""The README's "For teachers" section runs as written: its commands, its submission and the output it shows."""

import os
import re
import subprocess
import sys
from pathlib import Path

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
SECTION = README[README.index("## For teachers"):README.index("## Check the gradients")]


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
    assert (work / "gradebook.csv").read_text().startswith("id,total,possible,slips,z1,")
    for name in ("questions.md", "questions.tex", "questions.html", "key.md", "key.tex", "key.html",
                 "exercise.json", "moodle.xml"):
        assert (work / "ex" / name).exists(), name
    assert (work / "class" / "students" / "bob" / "questions.md").exists()
    assert (work / "class" / "variants.json").exists() and (work / "class" / "key.md").exists()


def test_the_python_api_named_in_the_readme():
    import chainrule as cr

    exercise = cr.teach.make_exercise((2, 2, 2), "sigmoid", "softmax", seed=7)
    assert len(exercise.asked) == 39 and "cr.teach.make_exercise((2, 2, 2)" in SECTION
