"""Class lists as learning-management systems export them: a CSV (comma, semicolon or tab) with a header that
Moodle, Canvas or a spreadsheet wrote, or a bare column of ids.

The id column is found from the header: Moodle's "ID number", Canvas's "SIS User ID", a generic "Student ID" or
"id", then a login or an email address; the name from "Name", "Full name" or "Student" (Canvas's "Last, First"), or
Moodle's "First name" and "Surname". ``--id-column`` and ``--name-column`` pick others (by header or number). Ids
become folder names and are matched against submissions, so they are checked here: letters and digits of any
script (``zoë``, ``渡辺``), ``_ . @ -``, at most 64 characters; every error names the row and column.
"""

import csv
import io
import os
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..errors import ChainruleError
from ..schema import nearest
from ..textfiles import MiB, read_text

VARIANTS_FORMAT = "chainrule-exercise-variants"
MAX_STUDENTS = 5000
MAX_ROSTER = 4 * MiB
MAX_FIELD = 128 * 1024        # csv's own field limit (characters), named in the error
MAX_ID, MAX_NAME, MAX_EMAIL = 64, 200, 254
ID_PUNCTUATION = "_.@-"
SNIFFED = 64 * 1024
# Headers by what they hold, compared without case, spaces or punctuation ("ID number" is "idnumber"). Id columns
# in order of preference: an institution's id (Moodle's ID number, Canvas's SIS User ID), a student id, a login,
# an email address. "student" is Canvas's name column, and an id column only where nothing else is.
ID_HEADERS = ("idnumber", "sisuserid", "studentid", "studentnumber", "id", "sisloginid", "username", "login",
              "emailaddress", "email")
NAME_HEADERS = ("name", "fullname", "studentname", "student")
FIRST_HEADERS, LAST_HEADERS = ("firstname", "givenname"), ("surname", "lastname", "familyname")
EMAIL_HEADERS = ("emailaddress", "email")
KNOWN = set(ID_HEADERS + NAME_HEADERS + FIRST_HEADERS + LAST_HEADERS)
NOT_STUDENTS = ("pointspossible",)           # Canvas gradebook exports: the row of each assignment's points


@dataclass(frozen=True)
class Student:
    """One row of a roster: the id submissions and grades are matched by, and what an LMS knows of the student."""
    id: str
    name: str = ""
    email: str = ""


def read_roster(path, id_column: str | None = None, name_column: str | None = None) -> list[Student]:
    """The students of a class list, in the file's order. ``id_column`` and ``name_column`` name a column by its
    header or its number (1 is the first); by default they are recognised from the header, and a file without one is
    a column of ids."""
    path = Path(path)
    rows = _rows(path, _text(path))
    header = rows[0][1] if rows and _is_header(rows[0][1], id_column, name_column) else None
    body = rows[1:] if header is not None else rows
    columns = _Columns(path, header, [row for _, row in body], id_column, name_column)
    students, seen = [], {}
    for number, row in body:
        if _key(row[0]) in NOT_STUDENTS:
            continue
        student = columns.student(row, number)
        if student is None:                       # no id and no name: a row that holds no student
            continue
        folded = student.id.casefold()
        if folded in seen:
            first, kept = seen[folded]
            case = "" if kept == student.id else (f" (as {kept!r}: ids differing only in case would share a folder "
                                                  f"on macOS and Windows)")
            raise ChainruleError(f"{path}: row {number}: expected each student id once, found {student.id!r} again, "
                                 f"first on row {first}{case}")
        seen[folded] = (number, student.id)
        students.append(student)
        if len(students) > MAX_STUDENTS:
            raise ChainruleError(f"{path}: expected at most {MAX_STUDENTS} students, found more")
    if not students:
        raise ChainruleError(f"{path}: expected a column of student ids, found none")
    return students


def _text(path: Path) -> str:
    """The file's text; anything but a regular file (a named pipe, a device) is refused before it is opened, so
    that reading never blocks."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise ChainruleError(f"{path}: cannot read the roster ({exc.strerror or exc})") from None
    if not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "a named pipe" if stat.S_ISFIFO(mode) else "a device or socket"
        raise ChainruleError(f"{path}: expected a roster file (CSV), found {kind}")
    return read_text(path, "roster", MAX_ROSTER)


def _rows(path: Path, text: str) -> list[tuple[int, list[str]]]:
    """(row number, cells) of every non-blank row; the row number is the record's, as a spreadsheet shows it."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    rows = []
    try:
        for number, row in enumerate(reader, 1):
            if any(cell.strip() for cell in row):
                rows.append((number, row))
    except csv.Error as exc:
        detail = (f"expected cells of at most {MAX_FIELD // 1024} KiB, found a longer one"
                  if "field limit" in str(exc) else f"cannot read it as CSV ({exc})")
        raise ChainruleError(f"{path}: row {len(rows) + 1} (line {reader.line_num}): {detail}") from None
    return rows


def _delimiter(text: str) -> str:
    """Comma, semicolon or tab: csv.Sniffer's guess when the first line holds it, else the one the first line holds
    most of (a comma where it holds none: one column)."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    try:
        sniffed = csv.Sniffer().sniff(text[:SNIFFED], delimiters=",;\t").delimiter
        if sniffed in first:
            return sniffed
    except csv.Error:
        pass
    counts = {d: first.count(d) for d in ",;\t"}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def _key(cell: str) -> str:
    """A header as compared: lower case, letters and digits only ("SIS User ID" -> "sisuserid")."""
    return "".join(ch for ch in cell.casefold() if ch.isalnum())


def _is_header(row: list[str], *chosen) -> bool:
    keys = {_key(cell) for cell in row}
    return bool(keys & KNOWN) or any(c is not None and not c.isdigit() and _key(c) in keys for c in chosen)


class _Columns:
    """Which column holds what, from the header (or the options), and each row's student from them."""

    def __init__(self, path: Path, header: list[str] | None, body: list[list[str]], id_column, name_column):
        self.path, self.header = path, header
        keys = [_key(cell) for cell in header] if header is not None else []
        # an id column left empty on every row (Canvas's SIS User ID where no student system feeds it) is passed over
        filled = [k if any(i < len(row) and row[i].strip() for row in body) else "" for i, k in enumerate(keys)]
        if id_column is not None:
            self.id = self._chosen(id_column, "--id-column")
        elif header is None:
            self.id = 0
        else:
            self.id = next((found for found in (self._found(filled, ID_HEADERS), self._found(keys, ID_HEADERS),
                                                self._found(keys, ("student",))) if found is not None), None)
        if self.id is None:
            raise ChainruleError(f"{path}: row 1: expected a column of student ids (headed ID number, SIS User ID, "
                                 f"Student ID, id, username or email), found {', '.join(map(repr, header))}; give "
                                 f"--id-column")
        self.name = self._chosen(name_column, "--name-column") if name_column is not None else \
            self._found(keys, NAME_HEADERS, skip=self.id)
        self.first_last = None
        if self.name is None and name_column is None:
            first, last = self._found(keys, FIRST_HEADERS), self._found(keys, LAST_HEADERS)
            self.first_last = (first, last) if first is not None and last is not None else None
        self.email = self._found(keys, EMAIL_HEADERS)

    def _found(self, keys: list[str], wanted, skip=None) -> int | None:
        for key in wanted:
            if key in keys and keys.index(key) != skip:
                return keys.index(key)
        return None

    def _chosen(self, given: str, flag: str) -> int:
        if self.header is not None:
            keys = [_key(cell) for cell in self.header]
            if _key(given) in keys:
                return keys.index(_key(given))
        if given.isascii() and given.isdigit() and int(given) >= 1:
            return int(given) - 1
        shown = ", ".join(repr(c) for c in self.header) if self.header is not None else "no header row"
        raise ChainruleError(f"{flag}: expected a column of {self.path} by its header or its number (1 is the first), "
                             f"found {given!r} (the roster has {shown})"
                             + (nearest(given, self.header) if self.header is not None else ""))

    def label(self, index: int) -> str:
        if self.header is not None and index < len(self.header) and self.header[index].strip():
            return repr(self.header[index].strip())
        return str(index + 1)

    def cell(self, row: list[str], index: int | None) -> str:
        return unicodedata.normalize("NFC", row[index].strip()) if index is not None and index < len(row) else ""

    def student(self, row: list[str], number: int) -> Student | None:
        student_id = self.cell(row, self.id)
        if self.first_last is not None:
            name = " ".join(filter(None, (self.cell(row, i) for i in self.first_last)))
        else:
            name = self.cell(row, self.name) if self.name != self.id else ""
        if not student_id and not name:
            return None
        where = f"{self.path}: row {number}, column {self.label(self.id)}"
        if not is_student_id(student_id):
            raise ChainruleError(f"{where}: expected a student id (letters, digits, _ . @ -, at most {MAX_ID} "
                                 f"characters, starting with a letter or digit), found "
                                 f"{student_id[:80]!r}" + ("" if student_id else " (an empty cell)"))
        return Student(student_id, self._text(name, number, self.name, MAX_NAME, "name"),
                       self._text(self.cell(row, self.email), number, self.email, MAX_EMAIL, "email address"))

    def _text(self, text: str, number: int, index, limit: int, what: str) -> str:
        """A name or an email address: runs of white space (tabs, line breaks) as one space; other control
        characters refused, so that none reaches a terminal or a sheet."""
        text = " ".join(text.split())
        if len(text) > limit or any(unicodedata.category(ch) == "Cc" for ch in text):
            column = self.label(index) if index is not None else "of the first and last names"
            raise ChainruleError(f"{self.path}: row {number}, column {column}: expected a {what} of at most {limit} "
                                 f"characters without control characters, found {text[:80]!r}")
        return text


def is_student_id(text: str) -> bool:
    """Letters and digits of any script and ``_ . @ -``, starting with a letter or digit, at most 64 characters:
    safe as a folder name and in every output format."""
    return (0 < len(text) <= MAX_ID and unicodedata.category(text[0])[0] in "LN"
            and all(unicodedata.category(ch)[0] in "LN" or ch in ID_PUNCTUATION for ch in text))
