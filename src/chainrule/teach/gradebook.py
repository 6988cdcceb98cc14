"""The class's marks as files for a spreadsheet and for two learning platforms' grade importers.

``gradebook_csv`` is the teacher's full table: one row per student of the roster (a student without a submission
gets blank marks, never a 0 they did not earn), each graded question's points, the file and what went wrong.
``moodle_grades_csv`` and ``canvas_grades_csv`` carry one grade per student in the shape each platform's importer
reads, and leave out every student without a grade: both importers treat a blank cell as "no grade" and would
overwrite a grade already entered by hand (Moodle's ``gradeimport_csv_load_data::update_grade_item``, Canvas's
``GradebookImporter#no_change_to_value?``). ``left_out`` says who was left out and why.

Every cell that a spreadsheet would read as a formula (one starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return) gets a leading ``'``: student names, ids, file names and the assignment's name are user text.
"""

import csv
import io
import math
import unicodedata
from fractions import Fraction

from ..errors import ChainruleError
from ..escape import spreadsheet_cell
from .roster import Student

MATCHES = {"moodle": ("id", "email"), "canvas": ("sis", "canvas")}
MAX_ASSIGNMENT = 255                     # Moodle's limit on a grade item's name
# Canvas's importer skips a column whose header contains one of these (its NON_ASSIGNMENT_COLUMN_HEADERS) or
# equals one of its student columns (GRADEBOOK_IMPORTER_RESERVED_NAMES): an assignment so named would be ignored.
CANVAS_NOT_ASSIGNMENTS = ("Current Score", "Current Points", "Current Grade", "Final Score", "Final Points",
                          "Final Grade", "Override Score", "Override Grade", "Override Status", "Points Possible")
CANVAS_STUDENT_COLUMNS = ("Student", "LastName", "FirstName", "ID", "SIS User ID", "SIS Login ID", "Section",
                          "Integration ID", "Root Account")




def number_text(value: float) -> str:
    """A non-negative number of points with a decimal point, at most 4 decimals, no trailing zeros (7.5, 8)."""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def percent_text(part: float, whole: float) -> str:
    """``100 * part / whole`` to one decimal, halves rounded up (6.25 -> 6.3, where binary floats give 6.2);
    blank when ``whole`` is 0. The quotient is formed from the numbers as printed, so 0.1 counts as a tenth."""
    if not whole:
        return ""
    tenths = Fraction(repr(float(part))) * 1000 / Fraction(repr(float(whole)))
    whole_tenths = math.floor(tenths + Fraction(1, 2))
    return f"{whole_tenths // 10}.{whole_tenths % 10}"


def graded(result) -> bool:
    """Whether a result carries marks (a submission that could not be read or graded carries its problem)."""
    return not result.problem


def _by_id(results) -> dict:
    by_id = {r.student: r for r in results if r.student}
    assert len(by_id) == sum(bool(r.student) for r in results), "one result per student id"   # grade(): the newest
    return by_id


def class_rows(results, students: list[Student]) -> list[tuple[Student, object, list[str]]]:
    """(student, result or None, notes) in roster order, then graded ids not on the roster (sorted, noted "not
    on the roster"); without a roster, every result sorted by id. Submissions that gave no id (their problem says
    why) come last, one row each, in the order of their files."""
    by_id = _by_id(results)
    unknown = [(Student("", r.name), r, []) for r in sorted((r for r in results if not r.student),
                                                           key=lambda r: r.source)]
    if not students:
        return [(Student(r.student, r.name), r, []) for _, r in sorted(by_id.items())] + unknown
    on_roster = {s.id for s in students}
    rows = [(s, by_id.get(s.id), [] if s.id in by_id else ["no submission"]) for s in students]
    rows += [(Student(r.student, r.name), r, ["not on the roster"])
             for student, r in sorted(by_id.items()) if student not in on_roster]
    return rows + unknown


def question_names(results, points) -> list[str]:
    """The questions in the exercise's order (its points), else in the order the marks first name them."""
    if points:
        return list(points)
    names = {}
    for r in results:
        names.update(dict.fromkeys(m.name for m in r.marks))
    return list(names)


def gradebook_csv(results, points: dict[str, float] | None, students: list[Student]) -> str:
    """The teacher's table, one row per student (see ``class_rows``).

    Columns: id, name, total, possible, percent (one decimal), slips, carried, missing, one column per question
    (the points earned; blank when not graded), file, problem. A student without a submission, or whose
    submission could not be graded, has blank marks, total and percent, and the reason in ``problem``."""
    questions = question_names(results, points)
    exercise_possible = sum(points.values()) if points else None
    handle = io.StringIO(newline="")
    writer = csv.writer(handle)
    writer.writerow(["id", "name", "total", "possible", "percent", "slips", "carried", "missing"]
                    + [spreadsheet_cell(q) for q in questions] + ["file", "problem"])
    for student, r, notes in class_rows(results, students):
        name = student.name or (r.name if r is not None else "")
        if r is not None and graded(r):
            earned = {m.name: m.earned for m in r.marks}
            verdicts = [m.verdict for m in r.marks]
            marks = [number_text(r.total), number_text(r.possible), percent_text(r.total, r.possible),
                     str(verdicts.count("slip")), str(verdicts.count("carried")), str(verdicts.count("missing"))]
            marks += [number_text(earned[q]) if q in earned else "" for q in questions]
        else:
            possible = number_text(exercise_possible) if exercise_possible is not None else ""
            marks = ["", possible, "", "", "", ""] + [""] * len(questions)
        problem = notes + ([r.problem] if r.problem else []) + r.flags if r is not None else notes
        writer.writerow([spreadsheet_cell(student.id), spreadsheet_cell(name)] + marks
                        + [spreadsheet_cell(r.source if r is not None else ""), spreadsheet_cell("; ".join(problem))])
    return handle.getvalue()


def _check_assignment(assignment: str) -> str:
    text = assignment.strip() if isinstance(assignment, str) else ""
    if not text or len(text) > MAX_ASSIGNMENT or any(unicodedata.category(c) == "Cc" for c in text):   # C0, C1
        raise ChainruleError(f"assignment: expected the grade column's name, one line of 1 to {MAX_ASSIGNMENT} "
                             f"characters, found {assignment!r}")
    return text


def _check_match(platform: str, match: str) -> None:
    if match not in MATCHES[platform]:
        raise ChainruleError(f"match: expected one of {', '.join(MATCHES[platform])} for {platform.capitalize()}, "
                             f"found {match!r}")


def lms_rows(results, students: list[Student], key) -> tuple[list[tuple[str, Student, object]], list[str]]:
    """(key, student, result) for each student an import file carries, and "id: why" for each one left out.

    ``key(student)`` is what the platform matches on (an id number, an email); a student is carried when graded,
    on the roster (when there is one) and with a key. Leaving out a graded id that is not on the roster keeps a
    mistyped id out of the file: Moodle abandons the whole import at a user it cannot find."""
    carried, out, seen = [], [], {}
    for student, r, notes in class_rows(results, students):
        if r is None or notes:
            out.append(f"{student.id}: {notes[0]}")
        elif not graded(r):
            out.append(f"{student.id or r.source}: not graded ({r.problem})")
        elif not key(student):
            out.append(f"{student.id}: no email address in the roster")
        elif key(student) in seen:
            raise ChainruleError(f"roster: students {seen[key(student)]} and {student.id}: expected each to have "
                                 f"their own {key(student)!r}, found it twice")
        else:
            seen[key(student)] = student.id
            carried.append((key(student), student, r))
    return carried, out


def _moodle_key(students, match):
    _check_match("moodle", match)
    if match == "email" and not students:
        raise ChainruleError("match email: expected a roster giving each student's email address, found no roster")
    return (lambda s: s.email) if match == "email" else (lambda s: s.id)


def moodle_grades_csv(results, students: list[Student], assignment: str, match: str = "id") -> str:
    """Moodle's CSV grade import (Grades > Import > CSV file): a column ``ID number`` (``match="id"``, each
    student's id being their Moodle ID number) or ``Email address`` (``match="email"``, from the roster), and
    one column named ``assignment`` holding the points earned.

    In the import's mapping step choose "Map from" the first column and "Map to" useridnumber (or useremail),
    and map the grade column to a grade item (or a new one, which takes the column's name)."""
    header = "Email address" if match == "email" else "ID number"
    rows, _ = lms_rows(results, students, _moodle_key(students, match))
    handle = io.StringIO(newline="")
    writer = csv.writer(handle)
    writer.writerow([header, spreadsheet_cell(_check_assignment(assignment))])
    writer.writerows([spreadsheet_cell(key), number_text(r.total)] for key, _, r in rows)
    return handle.getvalue()


def canvas_grades_csv(results, students: list[Student], assignment: str, points_possible: float,
                      match: str = "sis") -> str:
    """Canvas's gradebook import (Grades > Import): the header ``Student,ID,SIS User ID,SIS Login ID,Section,
    <assignment>``, a ``Points Possible`` row, then one row per graded student with the points earned.

    Canvas finds a row's student by the ``ID`` column (its own numeric user id), else ``SIS User ID``, else
    ``SIS Login ID``, else the name. ``match="sis"`` writes each id as the SIS User ID (and the roster's email as
    the SIS Login ID); ``match="canvas"`` writes it as Canvas's ID, for a roster taken from a Canvas export.
    An existing assignment is matched by its title, or by ``Title (1234)`` with its Canvas id; another name
    makes a new assignment worth ``points_possible``."""
    _check_match("canvas", match)
    title = _check_assignment(assignment)
    if title in CANVAS_STUDENT_COLUMNS or any(word in title for word in CANVAS_NOT_ASSIGNMENTS):
        raise ChainruleError(f"assignment: expected a name Canvas reads as an assignment, found {title!r}: Canvas "
                             f"skips a column named {', '.join(CANVAS_STUDENT_COLUMNS)} or containing "
                             f"{', '.join(CANVAS_NOT_ASSIGNMENTS)}")
    if isinstance(points_possible, bool) or not isinstance(points_possible, (int, float)) \
            or not math.isfinite(points_possible) or points_possible <= 0:
        raise ChainruleError(f"points possible: expected a positive number, found {points_possible!r}")
    rows, _ = lms_rows(results, students, lambda s: s.id)
    if match == "canvas":
        for key, _, _ in rows:
            if not key.isdigit():       # Canvas reads the ID with to_i: "12ab" would be user 12
                raise ChainruleError(f"student id {key!r}: expected Canvas's numeric user id (match canvas), "
                                     f"found other characters; use match sis for SIS user ids")
    handle = io.StringIO(newline="")
    writer = csv.writer(handle)
    writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", spreadsheet_cell(title)])
    writer.writerow(["Points Possible", "", "", "", "", number_text(points_possible)])
    for key, student, r in rows:
        name = spreadsheet_cell(student.name or r.name)
        canvas_id, sis_id = (key, "") if match == "canvas" else ("", spreadsheet_cell(key))
        writer.writerow([name, canvas_id, sis_id, spreadsheet_cell(student.email), "", number_text(r.total)])
    return handle.getvalue()


def left_out(results, students: list[Student], platform: str = "moodle", match: str = "id") -> list[str]:
    """Who an import file for ``platform`` (moodle or canvas) leaves out, as "id: why" lines to show the
    teacher: no submission, not graded, not on the roster, no email address."""
    if platform not in MATCHES:
        raise ChainruleError(f"platform: expected moodle or canvas, found {platform!r}")
    _check_match(platform, match)
    key = _moodle_key(students, match) if platform == "moodle" else (lambda s: s.id)
    return lms_rows(results, students, key)[1]


__all__ = ["canvas_grades_csv", "class_rows", "gradebook_csv", "left_out", "moodle_grades_csv", "number_text",
           "percent_text", "spreadsheet_cell"]
