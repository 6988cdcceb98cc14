"""An exercise, or a class's variants, written to its folder: the students' sheets, the teacher's keys and every
export the teacher asked for (``exports``), all rendered before any is put in place (``folder.write_folder``)."""

import json
from pathlib import Path

from .exercise import Exercise, exercise_document
from .exports import class_export_files, export_files
from .folder import write_folder
from .roster import Student
from .sheets import key_files, student_files
from .variants import roster_csv, variants_document, variants_key


def write_exercise(ex: Exercise, folder, force: bool = False, exports=(), options: dict | None = None) -> list:
    """Write one exercise in ``folder``: ``student/`` (the question sheets and ``answers.txt``, to hand out) and
    ``teacher/`` (``exercise.json``, the keys and ``moodle.xml``). Every file is rendered and written before any is
    put in place; existing folders are replaced only with ``force``. Returns the paths written."""
    files = {f"student/{name}": make for name, make in student_files(ex).items()}
    files["teacher/exercise.json"] = lambda: json.dumps(exercise_document(ex), indent=2, ensure_ascii=False) + "\n"
    files |= {f"teacher/{name}": make for name, make in key_files(ex).items()}
    files |= {f"teacher/{name}": data for name, data in export_files(ex, exports, options).items()}
    return write_folder(folder, files, force)


def write_variants(found: dict[str, Exercise], students: list[Student], folder, secret: str,
                   force: bool = False, exports=(), options: dict | None = None) -> list[Path]:
    """Write the class in ``folder``: ``students/ID/`` and ``teacher/`` (see the module's docstring). Every file is
    written before any is put in place; existing folders are replaced only with ``force``."""
    files = {}
    for student in students:
        ex = found[student.id]
        files |= {f"students/{student.id}/{name}": make for name, make in student_files(ex, student).items()}
    document = variants_document(found, students, secret)
    files["teacher/variants.json"] = lambda: json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    for student in students:
        files |= {f"teacher/{name}": make for name, make in
                  key_files(found[student.id], student, stem=f"keys/{student.id}").items()}
    files["teacher/key.md"] = lambda: variants_key(found, students)
    files |= {f"teacher/{name}": data for name, data in class_export_files(found, students, exports, options).items()}
    files["teacher/roster.csv"] = lambda: roster_csv(students)
    return write_folder(folder, files, force)
