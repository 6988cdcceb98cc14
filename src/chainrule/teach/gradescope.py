"""A Gradescope autograder for an exercise: chainrule's own marking, error carried forward, run by Gradescope on each
submission of a "Programming Assignment".

Gradescope takes an autograder as a zip with ``setup.sh`` and ``run_autograder`` at its root, and lays it out as its
"Autograder Specifications" say (https://gradescope-autograders.readthedocs.io/en/latest/specs/, kept in
gradescope/autograder_samples, ``docs/specs.md``): the zip is unpacked into ``/autograder/source``; ``setup.sh`` runs
once, as root, when the autograder's image is built (Ubuntu); for each submission the student's files are put in
``/autograder/submission`` and ``run_autograder`` runs with ``/autograder`` as its working directory and must write
``/autograder/results/results.json``. Its fields, as documented: ``score``, ``output`` (with ``output_format``),
``visibility``, ``stdout_visibility`` and ``tests``, each test with ``name``, ``score``, ``max_score``, ``status``
(``passed`` or ``failed``), ``output`` and ``extra_data``. What ``run_autograder`` prints goes to the teacher only
(``stdout_visibility`` hidden).

Here ``setup.sh`` installs chainrule in a virtual environment and ``run_autograder`` runs this module
(``python -m chainrule.teach.gradescope``), which finds the answers file, reads it with
``submission.read_submission`` and marks it with ``grade.grade_submission`` (``grade_values`` with the exercise's
precision and policy): the marks ``chainrule grade`` gives, one Gradescope test per asked quantity. The teacher's
``exercise.json`` (with the key) lies in ``/autograder/source``: students never see the autograder, their answers
are read as data and never run, and no output quotes a right value. For a class (``class_files``) the variants file
travels without its secret, and each submission is marked against the variant its ``id`` line names.
"""

import json
import os
import stat
import sys
from pathlib import Path

from .. import __version__
from ..atomicfile import write_text_atomic
from ..errors import ChainruleError
from ..escape import markdown_text
from ..explainer.audit import carried_into, updated_name
from ..explainer.notation import unicode_name
from ..explainer.render import symbolic
from ..textfiles import MiB, read_text
from .exercise import Exercise, exercise_document
from .feedback import WORDS, feedback_markdown
from .grade import Mark, Result, Task, grade_submission, load_task
from .packages import zip_bytes
from .roster import Student
from .submission import SUBMISSION_SUFFIXES, Submission, quote, read_submission, shown

ZIP = "gradescope/autograder.zip"
VISIBILITIES = ("visible", "after_due_date", "after_published", "hidden")   # the specification's four
ROOT = "/autograder"
VENV = "chainrule-venv"            # under ROOT: where setup.sh installs chainrule and run_autograder finds it
ANSWERS_STEM = "answers"           # the sheet's answers.txt, in any format read_submission reads
MAX_ENTRIES = 1000                 # entries looked at in the submission folder (a repository may be handed in)
MAX_DEPTH = 3                      # folders below /autograder/submission that are looked in
MAX_METADATA = 16 * MiB            # submission_metadata.json holds the previous submission's results


# ---- the autograder zip ----

def files(ex: Exercise, wheel=None, visibility: str = "visible") -> dict[str, bytes]:
    """``{"gradescope/autograder.zip": bytes}``: ``setup.sh``, ``run_autograder`` and the teacher's
    ``exercise.json``. ``wheel``: a chainrule wheel to put beside ``setup.sh`` (installed instead of the registry's
    chainrule); ``visibility``: when students see their results (``visible``, ``after_due_date``,
    ``after_published``)."""
    document = json.dumps(exercise_document(ex), indent=2, ensure_ascii=False) + "\n"
    return {ZIP: autograder_zip({"exercise.json": document}, wheel, visibility)}


def class_files(found: dict[str, Exercise], students: list[Student], wheel=None,
                visibility: str = "visible") -> dict[str, bytes]:
    """One autograder for a class: ``variants.json`` (every student's exercise, without the class secret, which
    grading never needs); each submission is marked against the variant its ``id`` line names (or, without one,
    the variant of the submitter's Gradescope account where its student id or email is a roster id)."""
    from .variants import variants_document

    document = variants_document(found, students, secret="")
    del document["secret"]
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return {ZIP: autograder_zip({"variants.json": text}, wheel, visibility)}


def autograder_zip(task_files: dict[str, str], wheel=None, visibility: str = "visible") -> bytes:
    """The zip Gradescope takes: its scripts at the root (executable), the task files beside them; fixed times and
    modes, so the same exercise gives the same bytes."""
    if visibility not in VISIBILITIES[:3]:
        raise ChainruleError(f"visibility: expected one of {', '.join(VISIBILITIES[:3])}, found "
                             f"{str(visibility)[:40]!r}")
    entries = {"setup.sh": (setup_script().encode(), 0o755), "run_autograder": (run_script(visibility).encode(), 0o755)}
    entries |= {name: (text.encode("utf-8"), 0o644) for name, text in task_files.items()}
    if wheel is not None:
        wheel = Path(wheel)
        if not (wheel.name.startswith("chainrule-") and wheel.suffix == ".whl" and wheel.is_file()):
            raise ChainruleError(f"{shown(wheel)}: expected a chainrule wheel (chainrule-VERSION-...-.whl), found "
                                 f"{'no such file' if not wheel.exists() else 'another file'}")
        entries[wheel.name] = (wheel.read_bytes(), 0o644)
    return zip_bytes({name: (data, stat.S_IFREG | mode) for name, (data, mode) in entries.items()})


def setup_script() -> str:
    """``setup.sh``: chainrule in its own virtual environment, from a wheel in the zip or from the registry."""
    return f"""#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder (on Ubuntu): it installs chainrule, whose
# grader marks each submission (see run_autograder). Autograder format:
# https://gradescope-autograders.readthedocs.io/en/latest/specs/
#
# Where chainrule comes from, the first that applies:
#   1. wheels put in the zip beside this file (chainrule-*.whl, and any others it needs, such as numpy's), for an
#      autograder that reaches no registry or a chainrule the registry does not have:
#        zip -j autograder.zip chainrule-{__version__}-py3-none-any.whl
#   2. CHAINRULE_REQUIREMENT below: chainrule {__version__}, the version that wrote this autograder, from the
#      Python Package Index (pip install chainrule=={__version__}). If the index has no chainrule {__version__},
#      the build stops here with pip's message: put a wheel in the zip (1), or write a requirement pip can
#      install (a Git URL, a wheel's URL) on the line below.
set -euo pipefail
CHAINRULE_REQUIREMENT="${{CHAINRULE_REQUIREMENT:-chainrule=={__version__}}}"
VENV="${{CHAINRULE_VENV:-{ROOT}/{VENV}}}"
HERE="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)"

# chainrule needs Python 3.11 or newer; Ubuntu 22.04's python3 is 3.10, so python3.11 comes from Ubuntu's packages
new_enough() {{ command -v "$1" >/dev/null && "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; }}
PYTHON=""
for candidate in python3 python3.13 python3.12 python3.11; do
    if new_enough "$candidate"; then PYTHON="$candidate"; break; fi
done
if [ -z "$PYTHON" ]; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y python3.11 python3.11-venv
    PYTHON=python3.11
fi
if ! "$PYTHON" -m venv "$VENV"; then            # Ubuntu keeps venv (ensurepip) in a package of its own
    VENV_PACKAGE="$("$PYTHON" -c 'import sys; print("python%d.%d-venv" % sys.version_info[:2])')"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y "$VENV_PACKAGE"
    "$PYTHON" -m venv --clear "$VENV"
fi
shopt -s nullglob
WHEELS=("$HERE"/*.whl)
CHAINRULE_WHEELS=("$HERE"/chainrule-*.whl)
if [ ${{#CHAINRULE_WHEELS[@]}} -gt 0 ]; then
    "$VENV/bin/python" -m pip install "${{WHEELS[@]}}"
else
    "$VENV/bin/python" -m pip install "$CHAINRULE_REQUIREMENT"
fi
# stop the build now, not at the first submission, if chainrule's grader cannot be imported
"$VENV/bin/python" -c 'import chainrule.teach.gradescope'
"""


def run_script(visibility: str = "visible") -> str:
    """``run_autograder``: this module, run by the Python of setup.sh's virtual environment."""
    return f"""#!/usr/bin/env bash
# Gradescope runs this for each submission, with the student's files in {ROOT}/submission: chainrule's grader
# marks the answers file against exercise.json (or variants.json) here in {ROOT}/source and writes
# {ROOT}/results/results.json, one test per asked quantity (format:
# https://gradescope-autograders.readthedocs.io/en/latest/specs/).
#
# VISIBILITY: when students see their results: visible, after_due_date or after_published.
# To try it on your own machine, point it at a folder laid out as Gradescope lays out {ROOT}:
#   AUTOGRADER_ROOT=/tmp/try bash run_autograder      (or AUTOGRADER_SOURCE, AUTOGRADER_SUBMISSION,
#   AUTOGRADER_RESULTS and AUTOGRADER_METADATA one by one; CHAINRULE_PYTHON: the Python with chainrule)
set -euo pipefail
export CHAINRULE_VISIBILITY="${{CHAINRULE_VISIBILITY:-{visibility}}}"
ROOT="${{AUTOGRADER_ROOT:-{ROOT}}}"
export AUTOGRADER_SOURCE="${{AUTOGRADER_SOURCE:-$ROOT/source}}"
export AUTOGRADER_SUBMISSION="${{AUTOGRADER_SUBMISSION:-$ROOT/submission}}"
export AUTOGRADER_RESULTS="${{AUTOGRADER_RESULTS:-$ROOT/results}}"
export AUTOGRADER_METADATA="${{AUTOGRADER_METADATA:-$ROOT/submission_metadata.json}}"
PYTHON="${{CHAINRULE_PYTHON:-}}"
if [ -z "$PYTHON" ]; then
    if [ -x "$ROOT/{VENV}/bin/python" ]; then PYTHON="$ROOT/{VENV}/bin/python"
    elif command -v python3 >/dev/null; then PYTHON=python3
    else PYTHON=python; fi
fi
exec "$PYTHON" -m chainrule.teach.gradescope
"""


# ---- grading one submission (run by run_autograder) ----

def main(environ=None) -> int:
    """Grade the submission folder and write results.json; what it prints is for the teacher (Gradescope shows
    standard output to instructors only). A task file that cannot be read stops it with no results.json, which
    Gradescope reports as the autograder's failure, not the student's."""
    env = os.environ if environ is None else environ
    source = Path(env.get("AUTOGRADER_SOURCE", f"{ROOT}/source"))
    folder = Path(env.get("AUTOGRADER_SUBMISSION", f"{ROOT}/submission"))
    results = Path(env.get("AUTOGRADER_RESULTS", f"{ROOT}/results"))
    visibility = env.get("CHAINRULE_VISIBILITY", "visible")
    if visibility not in VISIBILITIES[:3]:
        raise ChainruleError(f"CHAINRULE_VISIBILITY: expected one of {', '.join(VISIBILITIES[:3])}, found "
                             f"{visibility[:40]!r}")
    task = load_task(source)
    users = submitters(Path(env.get("AUTOGRADER_METADATA", f"{ROOT}/submission_metadata.json")))
    document, log = grade_folder(task, folder, users, visibility)
    results.mkdir(parents=True, exist_ok=True)
    write_text_atomic(results / "results.json", json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    print("\n".join(shown(line) for line in log))
    return 0


def grade_folder(task: Task, folder, users: list[dict] | None = None,
                 visibility: str = "visible") -> tuple[dict, list[str]]:
    """(results.json's document, lines for the teacher) for the submission in ``folder``."""
    users = users or []
    found, notes = answers_file(Path(folder))
    if found is None:
        return problem_document(task, notes[0], visibility), [f"not graded: {notes[0]}"]
    submission = read_submission(found, task.names())
    submission.notes[:0] = notes
    log = []
    if "" not in task.specs:
        submission, why = _variant(task, submission, users, log)
        if why:
            return problem_document(task, why, visibility), log + [f"not graded: {why}"]
    result = grade_submission(task, submission)
    result.name = result.name or ", ".join(str(u.get("name", "")) for u in users if u.get("name"))
    log.insert(0, f"{shown(found)} graded as {result.student!r}: " + (
        f"not graded: {result.problem}" if result.problem else
        f"{result.total:g} / {result.possible:g} ({result.slips} slip{'s' if result.slips != 1 else ''}, "
        f"{result.carried_from_slip} carried)"))
    return results_document(task, result, visibility), log + result.flags


def answers_file(folder: Path) -> tuple[Path | None, list[str]]:
    """(the answers file, notes for the student) or (None, [why none is graded]). The file is the one named
    answers (any suffix a submission may have), else the only file with such a suffix; several candidates are
    refused rather than guessed between. Links and special files are returned as found, never followed or opened:
    ``read_submission`` refuses them with its reason."""
    def relative(path: Path) -> str:
        return shown(path.relative_to(folder))

    candidates, others, looked = [], [], 0
    pending = [(folder, 0)]
    while pending:
        where, depth = pending.pop()
        entries = []
        try:
            with os.scandir(where) as listing:
                for entry in listing:                     # counted as read: a folder of millions costs no more
                    looked += 1
                    if looked > MAX_ENTRIES:
                        return None, [f"the submission holds more than {MAX_ENTRIES} files and folders; hand in "
                                      f"only your answers file, {ANSWERS_STEM}.txt"]
                    entries.append(entry)
        except OSError as exc:
            return None, [f"the submission folder cannot be read ({exc.strerror or exc})"]
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.name.startswith(".") or entry.name == "__MACOSX":
                continue
            if entry.is_dir(follow_symlinks=False):
                if depth < MAX_DEPTH:
                    pending.append((Path(entry.path), depth + 1))
            elif Path(entry.name).suffix.lower() in SUBMISSION_SUFFIXES:
                candidates.append(Path(entry.path))
            else:
                others.append(Path(entry.path))
    named = [p for p in candidates if p.stem.casefold() == ANSWERS_STEM]
    chosen = named or candidates
    if not chosen:
        found = f" (found {', '.join(quote(relative(p)) for p in others[:5])})" if others else ""
        return None, [f"no answers file was handed in{found}: hand in {ANSWERS_STEM}.txt, the file that came with "
                      f"your sheet, with your answers written in"]
    if len(chosen) > 1:
        listed = ", ".join(quote(relative(p)) for p in sorted(chosen)[:5]) + (" ..." if len(chosen) > 5 else "")
        return None, [f"{len(chosen)} files could be your answers ({listed}): hand in one, named "
                      f"{ANSWERS_STEM}.txt"]
    ignored = sorted(set(candidates + others) - set(chosen))
    notes = [f"graded {relative(chosen[0])}; not read: " + ", ".join(relative(p) for p in ignored[:10])
             + (f" and {len(ignored) - 10} more" if len(ignored) > 10 else "")] if ignored else []
    return chosen[0], notes


def submitters(path: Path) -> list[dict]:
    """The submission's users from Gradescope's submission_metadata.json (name, email, sid where given); none
    where the file is missing or unreadable (grading never depends on it)."""
    try:
        document = json.loads(read_text(path, "submission metadata", MAX_METADATA))
    except (ChainruleError, ValueError, RecursionError):
        return []
    users = document.get("users") if isinstance(document, dict) else None
    return [u for u in users if isinstance(u, dict)] if isinstance(users, list) else []


def _variant(task: Task, submission: Submission, users: list[dict], log: list[str]) -> tuple[Submission, str]:
    """The submission with the student whose variant marks it, or a reason it cannot be marked. The id line
    decides; without an id of the class, the submitter's Gradescope account (student id, email, or its part before
    the @) where exactly one of those is a roster id. No roster id is ever shown to the student."""
    if submission.problem:
        return submission, ""
    accounts = {str(v).strip() for u in users for v in (u.get("sid"), u.get("email"),
                                                         str(u.get("email") or "").partition("@")[0]) if v}
    own = sorted(accounts & set(task.specs))
    if submission.student in task.specs:
        if own and submission.student not in own:
            log.append(f"check: the answers name {submission.student!r} in their id line, but were handed in by "
                       f"{', '.join(map(repr, own))}")
        return submission, ""
    if len(own) == 1:
        submission.notes.append(f"the id in your answers file ({quote(submission.student)}) is not one of this "
                                f"class; marked as {own[0]}, the id of your Gradescope account")
        submission.student = own[0]
        return submission, ""
    return submission, (f"your answers file names no student of this class in its id line (read as "
                        f"{quote(submission.student)}): write the id printed on your sheet, as id = ...")


def results_document(task: Task, result: Result, visibility: str = "visible") -> dict:
    """results.json for a graded result: the feedback as the top-level output, one test per asked quantity."""
    if result.problem:
        return problem_document(task, result.problem, visibility, notes=result.notes)
    d = result.derivation
    sup = d.spec.superscript
    sources: dict[str, list[str]] = {}
    for slip in (c for c in d.claims if c.verdict == "slip"):
        for carried in carried_into(d.claims, slip):
            sources.setdefault(updated_name(carried.name), []).append(unicode_name(updated_name(slip.name), sup))
    steps = {s.name: s for section in d.sections for s in section.steps}
    tests = [_test(m, sup, sources.get(m.name, []), steps.get(m.name), task) for m in result.marks]
    # the feedback's mark, first slip and notes; not its heading (Gradescope shows whose submission it is) nor its
    # table of quantities (each is a test below)
    feedback = feedback_markdown(result).split("\n| quantity |", 1)[0].rstrip() + "\n"
    if feedback.startswith("# Feedback:"):
        feedback = feedback.partition("\n")[2].lstrip("\n")
    return _document(result.total, feedback, tests, visibility)


def _test(m: Mark, sup, carried_from: list[str], step, task: Task) -> dict:
    """One asked quantity as a Gradescope test: its points, passed where it earned them all, and its verdict in
    words (the formula to check for a slip, the earlier slip a carried number comes from; never the key)."""
    name = unicode_name(m.name, sup)
    earlier = ", ".join(dict.fromkeys(carried_from)) or "wrong numbers"
    if m.verdict == "agrees":
        verdict = "Right."
    elif m.verdict == "carried":
        verdict = f"Carried: right working from your earlier {earlier}" + (
            ", so it keeps its marks." if m.earned else ".")
    elif m.verdict == "slip":
        formula = f"{name} = {symbolic(step.template, sup)}" if step is not None else name
        verdict = (f"A slip: {m.submitted} is not what {formula} gives from the given numbers and your earlier "
                   f"answers. Work this step again.")
    elif m.verdict == "imprecise":
        verdict = f"Too few digits: {m.reason}." + (" Half the points: it is right to the digits given."
                                                   if m.earned else "")
    elif m.verdict == "degenerate":
        verdict = f"Carried from your earlier {earlier}, but {m.reason or WORDS['degenerate']}: no marks."
    else:
        verdict = f"Missing: {shown(m.reason)}."
    lines = [f"Yours: {m.submitted}" if m.submitted else "Yours: (none)", verdict]
    return {"name": name, "score": m.earned, "max_score": m.points,
            "status": "passed" if m.verdict in ("agrees", "carried") and m.earned >= m.points else "failed",
            "output": "\n".join(lines), "extra_data": {"quantity": m.name, "verdict": m.verdict}}


def problem_document(task: Task, why: str, visibility: str = "visible", notes=()) -> dict:
    """results.json for a submission that could not be marked: every asked quantity 0 of its points, and why."""
    names = task.names()
    points = task.points if task.points is not None else {updated_name(n): 1.0 for n in names.asked}
    tests = [{"name": unicode_name(name, names.superscript), "score": 0.0, "max_score": value, "status": "failed",
              "output": "Not marked: see the message above.", "extra_data": {"quantity": name, "verdict": "missing"}}
             for name, value in points.items()]
    text = f"**Not marked: {markdown_text(shown(why))}**\n"
    if notes:
        text += "\n" + "".join(f"- {markdown_text(shown(note))}\n" for note in notes)
    return _document(0.0, text, tests, visibility)


def _document(score: float, output: str, tests: list[dict], visibility: str) -> dict:
    return {"score": float(score), "output": output, "output_format": "md", "visibility": visibility,
            "stdout_visibility": "hidden", "tests": tests}


if __name__ == "__main__":
    sys.exit(main())
