"""The Gradescope autograder: its zip unpacked into a folder laid out as Gradescope lays out /autograder, run_autograder
run as a subprocess on a submission, and results.json checked against Gradescope's documented fields (a JSON schema
written from https://gradescope-autograders.readthedocs.io/en/latest/specs/) and against ``grade_values``' marks for
the same answers, part for part: a scripted student who slips at z1 and carries the slip correctly, a right one, a
blank one, one who writes ŷ₁ and decimal commas, and hostile submissions. The key never reaches the student."""

import io
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest
from conftest import missing

from chainrule import __version__
from chainrule.explainer.audit import author_pass, places_of
from chainrule.explainer.notation import unicode_name
from chainrule.teach import exercise_document, make_exercise
from chainrule.teach.grade import grade_values, load_task
from chainrule.teach.gradescope import ZIP, class_files, files, grade_folder
from chainrule.teach.precision import Precision
from chainrule.teach.roster import Student
from chainrule.teach.sheets import answers_template
from chainrule.teach.variants import variants

EX = make_exercise((2, 2, 2), "sigmoid", "softmax", seed=7)      # 39 asked quantities, 1 point each

# Gradescope's results.json, as its specification documents it: every field optional, the formats and visibilities
# it lists; additionalProperties false, so that a field Gradescope does not document fails the test.
VISIBILITY = {"enum": ["hidden", "after_due_date", "after_published", "visible"]}
FORMAT = {"enum": ["text", "html", "simple_format", "md", "ansi"]}
TEST = {"type": "object", "additionalProperties": False, "properties": {
    "score": {"type": "number"}, "max_score": {"type": "number"}, "status": {"enum": ["passed", "failed"]},
    "name": {"type": "string"}, "name_format": FORMAT, "number": {"type": "string"}, "output": {"type": "string"},
    "output_format": FORMAT, "tags": {"type": "array", "items": {"type": "string"}}, "visibility": VISIBILITY,
    "extra_data": {"type": "object"}}}
RESULTS = {"type": "object", "additionalProperties": False, "properties": {
    "score": {"type": "number"}, "execution_time": {"type": "number"}, "output": {"type": "string"},
    "output_format": FORMAT, "test_output_format": FORMAT, "test_name_format": FORMAT, "visibility": VISIBILITY,
    "stdout_visibility": VISIBILITY, "extra_data": {"type": "object"}, "tests": {"type": "array", "items": TEST},
    "leaderboard": {"type": "array"}},
    "anyOf": [{"required": ["score"]}, {"properties": {"tests": {"items": {"required": ["score"]}}}}]}
# what this autograder always gives: a score, the feedback, one test per asked quantity with its verdict
OURS = {"required": ["score", "output", "tests", "visibility", "stdout_visibility"], "properties": {
    "tests": {"items": {"required": ["name", "score", "max_score", "status", "output"]}}}}


def unpack(data: bytes, folder):
    """Unpack as Gradescope does, with the modes the zip gives (zipfile.extractall drops them)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            target = folder / info.filename
            target.write_bytes(archive.read(info))
            target.chmod((info.external_attr >> 16) & 0o777)


@pytest.fixture(scope="module")
def shim(tmp_path_factory):
    """A folder whose ``python`` and ``python3`` run this virtual environment's Python: put first on PATH."""
    folder = tmp_path_factory.mktemp("bin")
    for name in ("python", "python3"):
        (folder / name).write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
        (folder / name).chmod(0o755)
    return folder


def autograder(tmp_path, data: bytes):
    """A folder laid out as Gradescope's /autograder, the zip unpacked in its source/."""
    root = tmp_path / "autograder"
    for part in ("source", "submission", "results"):
        (root / part).mkdir(parents=True)
    unpack(data, root / "source")
    return root


def run(root, shim, submission: dict | None = None, metadata=None):
    """Put ``submission`` (name -> text or bytes) in submission/, run run_autograder; (results.json, stdout)."""
    for name, content in (submission or {}).items():
        path = root / "submission" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    if metadata is not None:
        (root / "submission_metadata.json").write_text(json.dumps(metadata))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTOGRADER_", "CHAINRULE_"))}
    env |= {"AUTOGRADER_ROOT": str(root), "PATH": f"{shim}{os.pathsep}{env.get('PATH', '')}"}
    done = subprocess.run([str(root / "source" / "run_autograder")], cwd=root, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    document = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    jsonschema.validate(document, RESULTS)
    jsonschema.validate(document, OURS)
    return document, done.stdout


@pytest.fixture
def single(tmp_path):
    return autograder(tmp_path, files(EX)[ZIP])


def text_of(values: dict[str, str], head=("id = alice",)) -> str:
    return "\n".join([*head, *(f"{name} = {value}" for name, value in values.items())]) + "\n"


def early_slip(ex=EX, slip=0.25) -> dict[str, str]:
    """The scripted student: z1 wrong, every later asked quantity worked correctly from it, rounded as asked."""
    spec = ex.spec
    wrong = float(ex.answer_text("z1")) + slip
    worked = author_pass(spec, spec.learning_rate, {"z1": wrong}, places_of(spec))
    return {name: ex.precision.text(wrong if name == "z1" else worked[name]) for name in ex.asked}


def right(ex=EX) -> dict[str, str]:
    return {name: ex.answer_text(name) for name in ex.asked}


def expected(values: dict[str, str], ex=EX, missing=None):
    """grade_values' marks for the same answers, with the exercise's precision and policy."""
    numbers = {name: Decimal(text.replace(",", ".")) for name, text in values.items()}
    return grade_values(ex.spec, {name: 1.0 for name in ex.asked}, "alice", numbers, "answers.txt",
                        precision=ex.precision, policy=ex.policy, missing=missing).marks


def same_marks(document, marks):
    """Part for part: each test is its quantity's mark (name, points earned and possible, verdict)."""
    assert [t["extra_data"]["quantity"] for t in document["tests"]] == [m.name for m in marks]
    for test, mark in zip(document["tests"], marks, strict=True):
        assert (test["score"], test["max_score"], test["extra_data"]["verdict"]) == \
            (mark.earned, mark.points, mark.verdict), test["name"]
        assert test["name"] == unicode_name(mark.name, EX.spec.superscript)
        assert test["status"] == ("passed" if mark.earned == mark.points else "failed")
    assert document["score"] == sum(m.earned for m in marks)


def students_text(document) -> str:
    """Everything a student may see: the top-level output and every test's name and output."""
    return "\n".join([document["output"]] + [t["name"] + "\n" + t["output"] for t in document["tests"]])


# ---- the zip ----

def test_the_zip_holds_the_scripts_at_its_root_executable_and_the_teachers_exercise():
    data = files(EX)[ZIP]
    assert data == files(EX)[ZIP]                                  # the same exercise gives the same bytes
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = {i.filename: i for i in archive.infolist()}
        assert sorted(infos) == ["exercise.json", "run_autograder", "setup.sh"]       # at the root, no folder
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in infos.values())
        modes = {name: (i.external_attr >> 16) for name, i in infos.items()}
        assert modes["run_autograder"] & 0o111 and modes["setup.sh"] & 0o111
        assert stat.S_ISREG(modes["exercise.json"]) and not modes["exercise.json"] & 0o111
        assert json.loads(archive.read("exercise.json")) == json.loads(json.dumps(exercise_document(EX)))
        setup, runner = archive.read("setup.sh").decode(), archive.read("run_autograder").decode()
    assert setup.startswith("#!/usr/bin/env bash") and runner.startswith("#!/usr/bin/env bash")
    # the install line says what it installs and how to change it: the registry's chainrule of this version,
    # unless a wheel lies beside it
    assert f'CHAINRULE_REQUIREMENT="${{CHAINRULE_REQUIREMENT:-chainrule=={__version__}}}"' in setup
    assert "chainrule-*.whl" in setup and "python3.11" in setup
    for script in (setup, runner):
        assert subprocess.run(["bash", "-n"], input=script, text=True).returncode == 0
    assert "exec \"$PYTHON\" -m chainrule.teach.gradescope" in runner


def test_a_wheel_given_travels_in_the_zip_and_a_visibility_is_the_scripts(tmp_path):
    wheel = tmp_path / f"chainrule-{__version__}-py3-none-any.whl"
    wheel.write_bytes(b"PK fake wheel")
    data = files(EX, wheel=wheel, visibility="after_due_date")[ZIP]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.read(wheel.name) == b"PK fake wheel"
        runner = archive.read("run_autograder").decode()
    assert 'CHAINRULE_VISIBILITY="${CHAINRULE_VISIBILITY:-after_due_date}"' in runner
    with pytest.raises(Exception, match="visibility: expected one of visible"):
        files(EX, visibility="sometimes")
    with pytest.raises(Exception, match="expected a chainrule wheel"):
        files(EX, wheel=tmp_path / "numpy.whl")


def test_setup_installs_chainrule_from_a_wheel_beside_it_and_run_autograder_uses_it(tmp_path, shim):
    """setup.sh as Gradescope runs it (but for apt, whose branch a Python 3.11 on PATH skips): chainrule from a wheel
    built from this checkout, in its own virtual environment, which run_autograder then finds by itself."""
    tree, checkout = tmp_path / "tree", Path(__file__).resolve().parent.parent
    tree.mkdir()
    for name in ("pyproject.toml", "README.md"):                 # a copy: building writes build/ and egg-info
        shutil.copy(checkout / name, tree / name)
    shutil.copytree(checkout / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "wheels"),
                            str(tree)], capture_output=True, text=True, timeout=300)
    if built.returncode != 0:
        missing(f"cannot build chainrule's wheel here (pip wheel: {built.stderr.strip()[-300:]})")
    wheel = next((tmp_path / "wheels").glob("chainrule-*.whl"))
    root = autograder(tmp_path, files(EX, wheel=wheel)[ZIP])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTOGRADER_", "CHAINRULE_", "VIRTUAL_ENV"))}
    env |= {"PATH": f"{shim}{os.pathsep}{env.get('PATH', '')}", "CHAINRULE_VENV": str(root / "chainrule-venv")}
    setup = subprocess.run(["bash", "./setup.sh"], cwd=root / "source", env=env, capture_output=True, text=True,
                           timeout=400)
    if setup.returncode != 0 and "No matching distribution" in setup.stdout + setup.stderr:
        missing("setup.sh could not reach a package index for chainrule's dependencies")
    assert setup.returncode == 0, (setup.stdout + setup.stderr)[-3000:]
    (root / "submission" / "answers.txt").write_text(text_of(early_slip()))
    env = {k: v for k, v in env.items() if k != "CHAINRULE_VENV"} | {"AUTOGRADER_ROOT": str(root),
                                                                     "PATH": "/usr/bin:/bin"}   # no Python of ours
    done = subprocess.run([str(root / "source" / "run_autograder")], cwd=root, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    document = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    jsonschema.validate(document, RESULTS)
    same_marks(document, expected(early_slip()))


# ---- one exercise: the students ----

def test_the_early_slip_carried_gets_grade_values_marks_and_names_the_slip(single, shim):
    values = early_slip()
    document, stdout = run(single, shim, {"answers.txt": text_of(values)})
    marks = expected(values)
    same_marks(document, marks)
    verdicts = {m.name: m.verdict for m in marks}
    assert verdicts["z1"] == "slip" and set(verdicts.values()) == {"slip", "carried", "agrees"}
    assert document["score"] == len(EX.asked) - 1                  # full marks less one
    tests = {t["extra_data"]["quantity"]: t for t in document["tests"]}
    assert "A slip: " in tests["z1"]["output"] and "z₁ = w₁·x₁ + w₂·x₂ + b₁" in tests["z1"]["output"]
    for name, verdict in verdicts.items():
        if verdict == "carried":
            assert "right working from your earlier z₁" in tests[name]["output"]
            assert tests[name]["status"] == "passed"
    assert "First slip: z₁" in document["output"] and "| quantity |" not in document["output"]
    assert document["visibility"] == "visible" and document["stdout_visibility"] == "hidden"
    assert document["output_format"] == "md"
    assert EX.answer_text("z1") not in json.dumps(document, ensure_ascii=False)     # the key's z1 is never shown
    assert "38 / 39 (1 slip, 35 carried)" in stdout                # for the teacher


def test_a_right_student_passes_every_test(single, shim):
    document, _ = run(single, shim, {"answers.txt": text_of(right())})
    same_marks(document, expected(right()))
    assert document["score"] == len(EX.asked) and {t["status"] for t in document["tests"]} == {"passed"}
    assert {t["output"].splitlines()[1] for t in document["tests"]} == {"Right."}


def test_a_blank_answers_file_earns_nothing_and_shows_no_key(single, shim):
    document, _ = run(single, shim, {"answers.txt": answers_template(EX)})
    assert document["score"] == 0
    assert {t["extra_data"]["verdict"] for t in document["tests"]} == {"missing"}
    assert all(t["status"] == "failed" and "Missing: left blank on line" in t["output"] for t in document["tests"])
    same_marks(document, expected({}, missing={n: "blank" for n in EX.asked}))
    shown = students_text(document)
    assert not [EX.answer_text(n) for n in EX.asked if EX.answer_text(n) in shown]


def test_notation_as_the_sheet_prints_it_and_decimal_commas_are_read(single, shim):
    values = early_slip()
    sup = EX.spec.superscript
    lines = [f"{unicode_name(name, sup)} = {value.replace('.', ',')}" for name, value in values.items()]
    assert lines[6].startswith("ŷ₁ = ") and any(line.startswith("∂L/∂w₅ = ") for line in lines)
    document, _ = run(single, shim, {"answers.md": "# my answers\n\n" + "\n".join(f"- {x}" for x in lines) + "\n"})
    same_marks(document, expected(values))
    assert document["score"] == len(EX.asked) - 1


def test_too_few_digits_under_the_partial_policy_earn_what_grade_values_gives(tmp_path, shim):
    ex = make_exercise((2, 2, 2), "sigmoid", "softmax", seed=7, precision=Precision("significant", 4),
                       policy="partial")
    root = autograder(tmp_path, files(ex)[ZIP])
    values = right(ex) | {"yhat1": "0.293", "L": "1.23", "z2": "2.500"}    # two imprecise but right, a slip
    document, _ = run(root, shim, {"answers.txt": text_of(values)})
    marks = expected(values, ex)
    same_marks(document, marks)
    verdicts = {m.name: (m.verdict, m.earned) for m in marks}
    assert verdicts["yhat1"] == ("imprecise", 0.5) and verdicts["z2"][0] == "slip"
    tests = {t["extra_data"]["quantity"]: t for t in document["tests"]}
    assert "Too few digits: give 4 significant figures. Half the points" in tests["yhat1"]["output"]


def test_a_step_a_slip_made_trivial_and_a_complement_name_their_slips(tmp_path):
    """In process (grade_folder, what run_autograder runs): dL/dz3 and dL/dz4 written as 0 make the updates from
    them trivial (degenerate, no marks); ŷ₂ = 1 − ŷ₁ from a wrong ŷ₁ is right working from it."""
    (tmp_path / "exercise.json").write_text(json.dumps(exercise_document(EX)))
    task = load_task(tmp_path / "exercise.json")
    folder = tmp_path / "submission"
    folder.mkdir()
    values = right() | {"dL/dz3": "0.0000", "dL/dz4": "0.0000", "dL/dw5": "0.0000", "w5'": "0.3000",
                        "dL/db3": "0.0000"}
    (folder / "answers.txt").write_text(text_of(values))
    document, log = grade_folder(task, folder)
    jsonschema.validate(document, RESULTS)
    same_marks(document, expected(values))
    tests = {t["extra_data"]["quantity"]: t for t in document["tests"]}
    assert tests["w5'"]["extra_data"]["verdict"] == "degenerate" and tests["w5'"]["score"] == 0
    assert "Carried from your earlier ∂L/∂z₃" in tests["w5'"]["output"] and "no marks" in tests["w5'"]["output"]
    assert any("not credited" in line for line in log)            # the teacher's flag, on standard output only
    (folder / "answers.txt").write_text(text_of(right() | {"yhat1": "0.3928", "yhat2": "0.6072"}))
    document, _ = grade_folder(task, folder)
    tests = {t["extra_data"]["quantity"]: t for t in document["tests"]}
    assert "right working from your earlier ŷ₁" in tests["yhat2"]["output"]


# ---- which file is graded ----

def test_the_answers_file_is_chosen_over_other_files_and_several_candidates_are_refused(tmp_path, shim):
    root = autograder(tmp_path, files(EX)[ZIP])
    document, _ = run(root, shim, {"work/answers.txt": text_of(right()), "notes.txt": "z1 = 5\n",
                                   "working.pdf": b"%PDF-1.4"})
    assert document["score"] == len(EX.asked)
    assert "Graded work/answers.txt; not read: notes.txt, working.pdf" in document["output"]
    (root / "submission" / "work" / "answers.txt").unlink()
    (root / "submission" / "other.csv").write_text("z1,1\n")
    document, _ = run(root, shim)
    assert document["score"] == 0 and "2 files could be your answers" in document["output"]
    assert {t["status"] for t in document["tests"]} == {"failed"} and len(document["tests"]) == len(EX.asked)
    for name in ("notes.txt", "other.csv", "working.pdf"):
        (root / "submission" / name).unlink()
    document, _ = run(root, shim)
    assert document["score"] == 0 and "no answers file was handed in" in document["output"]


# ---- hostile submissions ----

def test_hostile_text_is_escaped_and_marks_still_follow_grade_values(single, shim):
    values = early_slip()
    head = ["id = alice", "name = <script>alert(1)</script> **x** [link](http://evil.example) \x1b[31m",
            "<img src=x onerror=alert(1)> = 3", "`rm -rf /` = 1", "z1 = 0.5 | <b>", "\x07\x08 = 2"]
    document, stdout = run(single, shim, {"answers.txt": text_of(values, head)})
    same_marks(document, expected(values))
    shown = students_text(document)
    for raw in ("<script>", "<img", "[link](", "\x1b", "\x07", "<b>"):
        assert raw not in shown and raw not in stdout
    assert "Line 3: '&lt;img src' is not a quantity of this exercise" in document["output"]   # escaped for Markdown


def test_a_link_to_the_key_a_binary_a_huge_file_and_a_pipe_are_refused_unopened(tmp_path, shim):
    root = autograder(tmp_path, files(EX)[ZIP])
    answers = root / "submission" / "answers.txt"
    answers.symlink_to(root / "source" / "exercise.json")           # a link to the key: never followed
    document, _ = run(root, shim)
    assert document["score"] == 0 and "symbolic link" in document["output"]
    assert not [EX.answer_text(n) for n in EX.asked if EX.answer_text(n) in students_text(document)]
    answers.unlink()
    for content, why in ((bytes(range(256)) * 64, "text"), (b"z1 = 1\n" * 200_000, "at most 1 MiB")):
        answers.write_bytes(content)
        document, _ = run(root, shim)
        assert document["score"] == 0 and why in document["output"], document["output"]
        answers.unlink()
    os.mkfifo(answers)                                              # opening it would hang the grader
    document, _ = run(root, shim)
    assert document["score"] == 0 and "FIFO" in document["output"]


def test_a_deep_or_crowded_submission_is_bounded(tmp_path, shim):
    root = autograder(tmp_path, files(EX)[ZIP])
    deep = root / "submission" / "a" / "b" / "c" / "d" / "e"
    deep.mkdir(parents=True)
    (deep / "answers.txt").write_text(text_of(right()))             # below the folders looked in
    document, _ = run(root, shim)
    assert document["score"] == 0 and "no answers file" in document["output"]
    crowd = root / "submission" / "crowd"
    crowd.mkdir()
    for k in range(1100):
        (crowd / f"{k}.log").touch()
    document, _ = run(root, shim)
    assert document["score"] == 0 and "more than 1000 files" in document["output"]


# ---- a class: one autograder, the variant by the id line ----

@pytest.fixture(scope="module")
def klass():
    students = [Student("alice", "Alice A"), Student("bob", "Bob B"), Student("s123", "Sam C")]
    return variants(students, "ab" * 32, shape=(2, 2, 2), hidden="sigmoid", output="softmax"), students


def test_a_class_autograder_marks_each_submission_against_its_own_variant(tmp_path, shim, klass):
    found, students = klass
    data = class_files(found, students)[ZIP]
    assert data == class_files(found, students)[ZIP]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        document = json.loads(archive.read("variants.json"))
    assert "secret" not in document and set(document["variants"]) == {"alice", "bob", "s123"}
    root = autograder(tmp_path, data)
    bob = early_slip(found["bob"])
    result, _ = run(root, shim, {"answers.txt": text_of(bob, ["id = bob"])})
    marks = expected(bob, found["bob"])
    same_marks(result, marks)
    assert result["score"] == len(found["bob"].asked) - 1
    # alice's right answers under bob's id are bob's slips
    result, stdout = run(root, shim, {"answers.txt": text_of(right(found["alice"]), ["id = bob"])},
                         metadata={"users": [{"name": "Alice A", "email": "alice@uni.example", "id": 1}]})
    assert result["score"] < len(found["bob"].asked) / 2
    assert "check: the answers name 'bob' in their id line, but were handed in by 'alice'" in stdout


def test_without_an_id_line_the_gradescope_account_picks_the_variant_and_no_roster_id_is_shown(tmp_path, shim,
                                                                                             klass):
    found, students = klass
    root = autograder(tmp_path, class_files(found, students)[ZIP])
    sam = right(found["s123"])
    result, _ = run(root, shim, {"answers.txt": text_of(sam, [])},
                    metadata={"users": [{"name": "Sam C", "email": "sam@uni.example", "sid": "s123", "id": 9}]})
    same_marks(result, expected(sam, found["s123"]))
    assert "marked as s123, the id of your Gradescope account" in result["output"]
    (root / "submission_metadata.json").unlink()
    result, _ = run(root, shim)
    assert result["score"] == 0 and "names no student of this class in its id line" in result["output"]
    assert not {"alice", "bob", "s123"} & set(students_text(result).replace("\\", "").split())
