"""One variant per student: each student's numbers are drawn from a seed derived from the class secret and the
student's id, HMAC-SHA256(secret, id), so that no one without the secret can work out a classmate's numbers (or
their answers) from the id, and the teacher, who keeps the secret in ``teacher/variants.json``, can regenerate the
class byte for byte.

``students/ID/`` holds what each student receives (the question sheets and ``answers.txt``: no answer, no secret);
``teacher/`` holds ``variants.json`` (the secret, the roster and every variant, for grading), each student's key in
``keys/``, ``key.md`` listing every variant's answers, ``moodle.xml`` (one question category per student) and the
roster as read.
"""

import csv
import hashlib
import hmac
import io
import json
import re
import secrets
from dataclasses import replace
from pathlib import Path

from ..errors import ChainruleError
from ..escape import markdown_text, spreadsheet_cell
from ..textfiles import MiB, read_text
from .exercise import Exercise, exercise_document, make_exercise
from .roster import VARIANTS_FORMAT, Student

VERSION = 2
SECRET = re.compile(r"[0-9a-f]{64}")
MAX_VARIANTS_FILE = 512 * MiB


def new_secret() -> str:
    """A class secret: 32 random bytes as hex."""
    return secrets.token_hex(32)


def check_secret(text: str, source: str = "--secret") -> str:
    """A class secret as given (64 hex digits, either case), in lower case."""
    if not isinstance(text, str) or not SECRET.fullmatch(text.strip().lower()):
        raise ChainruleError(f"{source}: expected the class secret, 64 hexadecimal digits (as teacher/variants.json "
                             f"keeps it), found {str(text)[:80]!r}")
    return text.strip().lower()


def kept_secret(folder) -> str | None:
    """The secret of the class already in ``folder`` (its ``teacher/variants.json``), if there is one."""
    path = Path(folder) / "teacher" / "variants.json"
    if path.parent.is_symlink() or not path.is_file():
        return None
    try:
        document = json.loads(read_text(path, "class's variants file", MAX_VARIANTS_FILE))
    except ValueError as exc:
        raise ChainruleError(f"{path}: not valid JSON ({str(exc)[:200]}); give --secret, or another --out") from None
    if not isinstance(document, dict) or document.get("format") != VARIANTS_FORMAT:
        raise ChainruleError(f"{path}: expected a class's variants file (format {VARIANTS_FORMAT}); give --secret, "
                             f"or another --out")
    return check_secret(document.get("secret"), f"{path}: secret")


def variant_seed(secret: str, student_id: str) -> int:
    """The seed of a student's draw: HMAC-SHA256 of the id (UTF-8) under the secret, as a 256-bit integer."""
    digest = hmac.new(bytes.fromhex(secret), student_id.encode("utf-8"), hashlib.sha256).digest()
    return int.from_bytes(digest, "big")


def variants(students: list[Student], secret: str, **options) -> dict[str, Exercise]:
    """Each student's exercise (``options`` as ``make_exercise`` takes them), keyed by id, in roster order."""
    secret = check_secret(secret)
    return {s.id: replace(make_exercise(seed=variant_seed(secret, s.id), **options), seed=None) for s in students}


def variants_document(found: dict[str, Exercise], students: list[Student], secret: str) -> dict:
    """What ``teacher/variants.json`` holds."""
    return {"format": VARIANTS_FORMAT, "version": VERSION, "secret": secret,
            "students": [{"id": s.id, "name": s.name, "email": s.email} for s in students],
            "variants": {student: exercise_document(ex) for student, ex in found.items()}}


def variants_key(found: dict[str, Exercise], students: list[Student]) -> str:
    """Every variant's answers, one table per student."""
    first = next(iter(found.values()))
    out = [f"# Answer key: {markdown_text(first.spec.title)}", "",
           f"{len(found)} variants, one per student, each drawn from the class secret and the student's id; answers "
           f"to {first.precision.describe()}. Each student's worked key is in keys/ID.md.", ""]
    for student in students:
        ex = found[student.id]
        named = f" — {markdown_text(student.name)}" if student.name else ""
        out += [f"## {markdown_text(student.id)}{named}", "", "| quantity | answer |", "|---|---|"]
        out += [f"| `{name}` | {ex.answer_text(name)} |" for name in ex.asked] + [""]
    return "\n".join(out)


def roster_csv(students: list[Student]) -> str:
    """The roster as read: id, name, email (a cell that a spreadsheet would take for a formula is quoted with ')."""
    handle = io.StringIO(newline="")
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(["id", "name", "email"])
    for s in students:
        writer.writerow([spreadsheet_cell(s.id), spreadsheet_cell(s.name), spreadsheet_cell(s.email)])
    return handle.getvalue()

