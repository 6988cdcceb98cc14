"""One variant per student: a roster of ids, each id's own seed (from the exercise's seed and the id), one question
sheet per student and a key listing every variant."""

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import ChainruleError
from ..atomicfile import write_text_atomic
from ..textfiles import MiB, read_text
from .exercise import Exercise, exercise_document, make_exercise, student_seed
from .sheets import SHEETS, prepare_folder

VARIANTS_FORMAT = "chainrule-exercise-variants"
STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
HEADERS = ("id", "student", "student_id", "studentid", "username", "idnumber")
MAX_STUDENTS = 5000


@dataclass(frozen=True)
class Student:
    """One row of a roster: the id submissions and grades are matched by, and what an LMS knows of the student."""
    id: str
    name: str = ""
    email: str = ""


def read_roster(path) -> list[str]:
    """Student ids from the first column of a CSV (a header such as ``id`` or ``student`` is skipped)."""
    text = read_text(path, "roster", 4 * MiB)
    rows = [row for row in csv.reader(io.StringIO(text)) if row and any(cell.strip() for cell in row)]
    if rows and rows[0][0].strip().lower() in HEADERS:
        rows = rows[1:]
    ids, seen = [], {}
    for number, row in enumerate(rows, 1):
        student = row[0].strip()
        if not STUDENT_ID.fullmatch(student):
            raise ChainruleError(f"{path}: row {number}: expected a student id (letters, digits, _ . @ -, at most 64 "
                                 f"characters, starting with a letter or digit), found {student!r}")
        if student in seen:
            raise ChainruleError(f"{path}: row {number}: expected each student id once, found {student!r} again "
                                 f"(row {seen[student]})")
        seen[student] = number
        ids.append(student)
    if not ids:
        raise ChainruleError(f"{path}: expected a column of student ids, found none")
    if len(ids) > MAX_STUDENTS:
        raise ChainruleError(f"{path}: expected at most {MAX_STUDENTS} students, found {len(ids)}")
    return ids


def variants(students: list[str], seed: int, **options) -> dict[str, Exercise]:
    return {student: make_exercise(seed=student_seed(seed, student), **options) for student in students}


def write_variants(found: dict[str, Exercise], folder, seed: int, force: bool = False) -> list:
    """``students/ID/questions.{md,tex,html}`` and ``exercise.json`` per student, ``variants.json`` (every
    variant, for grading) and ``key.md`` listing every variant's answers."""
    folder = Path(folder)
    prepare_folder(folder, ["variants.json", "key.md", "students"], force)
    written = []
    for student, ex in found.items():
        own = folder / "students" / student
        own.mkdir(parents=True, exist_ok=True)
        for suffix, sheet in SHEETS.items():
            write_text_atomic(own / f"questions.{suffix}", sheet(ex))
            written.append(own / f"questions.{suffix}")
        write_text_atomic(own / "exercise.json", json.dumps(exercise_document(ex), indent=2, ensure_ascii=False) + "\n")
    document = {"format": VARIANTS_FORMAT, "version": 1, "seed": seed,
                "variants": {student: exercise_document(ex) for student, ex in found.items()}}
    write_text_atomic(folder / "variants.json", json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    write_text_atomic(folder / "key.md", variants_key(found, seed))
    return written + [folder / "variants.json", folder / "key.md"]


def variants_key(found: dict[str, Exercise], seed: int) -> str:
    from ..escape import markdown_text

    first = next(iter(found.values()))
    out = [f"# Answer key: {len(found)} variants of exercise seed {seed}", "",
           f"Each student's seed is derived from {seed} and the student's id; answers to {first.digits} significant "
           "figures.", ""]
    for student, ex in found.items():
        out += [f"## {markdown_text(student)} (seed {ex.seed})", "", "| quantity | answer |", "|---|---|"]
        out += [f"| `{name}` | {ex.answer_text(name)} |" for name in ex.asked] + [""]
    return "\n".join(out)
