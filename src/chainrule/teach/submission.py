"""Reading a student's answers as students write them: ``name = value`` lines (``.txt``, ``.md`` or no suffix),
CSV rows (``.csv``, ``.tsv``), or a flat TOML or JSON table; names as the question sheet prints them (ŷ₁, ∂L/∂w₅,
w₅′, Δw₅, η, their LaTeX or their plain names) and numbers as people type them (``0,43``, ``−1.2×10^-3``, ``+0.5``).

Every readable line is graded. A blank answer or a number that cannot be read is a reason in ``missing`` (for an
asked quantity); an unknown name, a restated given number, a quantity not asked and a second answer to the same
quantity (the first number is kept) are notes for the student. A later step's start written out (``w5@2``, w₅⁽ᵗ⁼²⁾:
the w5′ of step 1 that step 2 starts from) is kept in ``starts``: not marked, it is fed into its step. Only what
stops the whole file is a ``problem``: not a regular file, larger than 1 MiB, not text, JSON or TOML that does not
parse, a table that is not flat, an id that cannot be an id. It is returned, never raised, so one hostile file never
stops the rest of a class.

``submissions_in`` finds the files of folders as learning platforms download them (Moodle's per-student folders,
Canvas's ``lastfirst_12345_67890_answers.txt``, plain per-student folders) with the id each layout suggests.
"""

import csv
import io
import json
import os
import re
import stat
import tomllib
import unicodedata
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from difflib import get_close_matches
from functools import cached_property
from pathlib import Path

from ..errors import ChainruleError
from ..explainer.audit import updated_name
from ..explainer.latex import latex_name
from ..explainer.notation import unicode_name
from ..textfiles import MiB, decode

MAX_SUBMISSION_BYTES = 1 * MiB
MAX_SUBMISSIONS = 10_000
MAX_FOLDER_ENTRIES = 100_000     # entries looked at while listing folders, skipped ones included
MAX_DIGITS = 40                  # digits of one number
MAX_EXPONENT = 300               # |exponent| of a number's leading digit: beyond it a float is 0 or infinite
MAX_NOTES = 50
QUOTED = 60                      # characters of a user's text quoted in a message

# A student id: a letter or digit of any script, then letters, digits, _ . @ - (at most 64 in all), compared in
# Unicode NFC. It extends roster's ASCII pattern to ids such as zoë or 渡辺; it cannot hold a space, a control
# character or a path separator.
STUDENT_ID = re.compile(r"[^\W_][\w.@-]{0,63}")
# An id suggested by a learning platform's folder: Moodle names folders after the student's full name.
FOLDER_ID = re.compile(r"[^\W_][\w.@'’ -]{0,63}")
ID_GRAMMAR = "a letter or digit, then letters, digits, _ . @ -, at most 64 characters"
ID_KEYS = {"id", "studentid", "studentnumber", "username"}
NAME_KEYS = {"name", "studentname", "fullname"}
ID, NAME = "\0id", "\0name"         # what an id line and a name line resolve to (no quantity holds a NUL)
SUBMISSION_SUFFIXES = {"", ".txt", ".text", ".md", ".markdown", ".csv", ".tsv", ".toml", ".json"}


@dataclass
class Names:
    """What the exercise calls things (identical for every variant of a roster); updated parameters as w5'."""
    asked: list[str]                                        # asked for, in the sheet's order
    given: set[str]                                         # printed on the sheet: inputs, targets, weights, eta
    known: set[str]                                         # every quantity a submission may name
    superscript: list[str] = field(default_factory=list)    # the spec's superscript families, for unicode_name
    starts: dict[str, str] = field(default_factory=dict)    # a later step's start (w5@2) -> what it restates (w5')

    @cached_property
    def lookup(self) -> "_Lookup":
        return _Lookup(set(self.known) | set(self.given) | set(self.asked) | set(self.starts), self.superscript)


@dataclass
class Submission:
    path: Path                                              # the file read
    student: str                                            # a valid id, or "" when the file gave none
    values: dict[str, Decimal] = field(default_factory=dict)     # asked name -> the number as written
    written: dict[str, str] = field(default_factory=dict)        # asked name -> its text as typed ("0,43")
    missing: dict[str, str] = field(default_factory=dict)        # asked name -> why no number was read
    notes: list[str] = field(default_factory=list)               # for the student: lines ignored and why
    modified: float = 0.0                                   # the file's mtime
    problem: str = ""                                       # why the whole file could not be read, naming it
    name: str = ""                                          # a ``name`` line, if the student wrote one
    extra: dict[str, Decimal] = field(default_factory=dict)     # known, not asked: not marked, may be audited
    starts: dict[str, Decimal] = field(default_factory=dict)    # a later step's start restated (w5@2): fed, not marked


# ---- text shown back to people ----

def shown(text) -> str:
    """A file name or user text as it may be printed: control characters (and undecodable bytes) escaped."""
    text = str(text)
    return text if text.isprintable() else repr(text)[1:-1]


def quote(text: str) -> str:
    """A user's text quoted in a message: at most ``QUOTED`` characters, control characters escaped."""
    text = str(text)
    return repr(text[:QUOTED]) + ("..." if len(text) > QUOTED else "")


# ---- names: fold every way of writing a name to one key ----

_PRIMES = str.maketrans({c: "'" for c in "′’‘`´ʹʼ+"})
_LATEX_WORDS = [(re.compile(p), r) for p, r in [
    (r"\\(?:left|right)\s*[.|]|\\[,;!]|\\(?:textstyle|displaystyle|mathrm|mathit|operatorname|text)\b", ""),
    (r"\\hat\s*\{?\s*([A-Za-z])\s*\}?", r"\1hat"), (r"\\partial\b", "∂"), (r"\\Delta\b", "Δ"),
    (r"\\eta\b", "η"), (r"\\sum\b", "Σ")]]
_SYMBOLS = str.maketrans({"∂": "d", "Δ": "Delta", "∆": "Delta", "η": "eta", "\u0302": "hat",   # U+0302: a hat
                          "∕": "/", "⁄": "/", **{c: None for c in "_^{}$\\"}})
_BRACKETED_INDEX = re.compile(r"\((\d+)\)")
# A quantity of a later step, as the sheet prints it (w₅′⁽ᵗ⁼²⁾, {w_5'}^{(t=2)}), types it (w5'@2) or a person
# writes it (w5' (step 2), w5' [step 2], w5', step 2): after folding, each ends in one of these.
_STEP_SUFFIX = re.compile(r"(?:@|\(t=|\(step|\[step|,step|step|t=)0*(\d{1,4})[)\]]?$", re.I)


def fold(text: str) -> str:
    """One key for every way of writing a name: ∂L/∂w₅, dL / dw5, \\frac{\\partial L}{\\partial w_{5}} -> dL/dw5;
    ŷ₁, y_hat1 -> yhat1; w₅′, w5+, w5` -> w5'; z⁽¹⁾, z^(1) -> z1; Δw₅ -> Deltaw5; η -> eta; m̂_w₅, m_hat_w5,
    \\hat{m}_{w_5} -> mhatw5; w₅′⁽ᵗ⁼²⁾, w5' (step 2) -> w5'@2, and a step 1 written so -> w5'."""
    if "\\" in text:
        text = _unfrac(text)
        for pattern, replacement in _LATEX_WORDS:
            text = pattern.sub(replacement, text)
    text = unicodedata.normalize("NFKD", text.translate(_PRIMES)).translate(_PRIMES).translate(_SYMBOLS)
    text = "".join(text.split())
    step = _STEP_SUFFIX.search(text)
    if step and step.start():
        text = text[:step.start()] + ("" if int(step[1]) == 1 else f"@{int(step[1])}")
    return _BRACKETED_INDEX.sub(r"\1", text)


def _unfrac(text: str) -> str:
    r"""``\frac{A}{B}`` -> ``A/B`` (braces matched by counting, so that A may hold w_{5} or \hat{y})."""
    for _ in range(8):
        start = text.find("\\frac")
        if start < 0:
            break
        groups, at = [], start + len("\\frac")
        for _ in range(2):
            while at < len(text) and text[at].isspace():
                at += 1
            if at >= len(text) or text[at] != "{":
                return text
            depth, begin = 0, at
            for at in range(at, len(text)):
                depth += {"{": 1, "}": -1}.get(text[at], 0)
                if depth == 0:
                    break
            else:
                return text
            groups.append(text[begin + 1:at])
            at += 1
        text = text[:start] + groups[0] + "/" + groups[1] + text[at:]
    return text


class _Lookup:
    """Folded name -> canonical name, built from the names themselves and their printed forms (plain, Unicode,
    LaTeX), never from a hand list. A folded key two names share is answered only when the text is one of them
    exactly; case is ignored only where that leaves one name."""

    def __init__(self, names: set[str], superscript):
        self.exact: dict[str, set[str]] = {}
        self.loose: dict[str, set[str]] = {}
        for name in names:
            canonical = updated_name(name)
            for form in {name, canonical, unicode_name(canonical, superscript), unicode_name(canonical),
                         latex_name(canonical, superscript)}:
                key = fold(form)
                self.exact.setdefault(key, set()).add(canonical)
                self.loose.setdefault(key.casefold(), set()).add(canonical)
        self.canonical = sorted({updated_name(n) for n in names})
        self.cache: dict[str, tuple[str | None, str]] = {}

    def resolve(self, text: str) -> tuple[str | None, str]:
        """(canonical name, "") or (None, a hint such as ``; did you mean "z1"?``); the canonical name of an id
        line is ``ID`` and of a name line ``NAME``."""
        if text in self.cache:
            return self.cache[text]
        found = self._resolve(text.strip()) if len(text) <= 200 else (None, "")
        if len(self.cache) < 10_000:
            self.cache[text] = found
        return found

    def _resolve(self, text: str) -> tuple[str | None, str]:
        key = fold(text)
        if key.casefold() in ID_KEYS:
            return ID, ""
        if key.casefold() in NAME_KEYS:
            return NAME, ""
        for table, probe in ((self.exact, key), (self.loose, key.casefold())):
            names = table.get(probe, ())
            if len(names) == 1:
                return next(iter(names)), ""
            if text in names:
                return text, ""
            if names:
                return None, f"; it could be {' or '.join(sorted(names))}: write it as the sheet does"
        close = get_close_matches(text, self.canonical, n=1, cutoff=0.5)
        return None, f'; did you mean "{close[0]}"?' if close else ""


# ---- numbers ----

_BLANK = re.compile(r"[\s?_.…\-–—]*")
_SUPERSCRIPTS = re.compile(r"[⁺⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+")
_FROM_SUPERSCRIPT = str.maketrans("⁺⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "+-0123456789")
_MINUSES = str.maketrans({c: "-" for c in "−–‒﹣－"})
_TIMES_TEN = re.compile(r"[x×*·⋅]10(?:\^|\*\*)\(?([+-]?\d+)\)?")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE]([+-]?\d+))?")


class _Raw(str):
    """A JSON or TOML number's own text, kept unconverted: 1e999999999 is never turned into a float or an int."""


def read_number(text: str) -> tuple[Decimal | None, str]:
    """(the number exactly as written, "") or (None, "blank") or (None, why it is not a number).

    Accepts a decimal comma (``0,43``), a leading + or Unicode minus, ``e-3``, ``×10^-3`` and ``×10⁻³``; at most
    ``MAX_DIGITS`` digits and a leading digit within 10^±``MAX_EXPONENT``. NaN and infinities are not numbers."""
    text = text.strip().strip("*`$").strip()
    if _BLANK.fullmatch(text):
        return None, "blank"
    if len(text) > 100:
        return None, f"{quote(text)} is not a number"
    plain = _SUPERSCRIPTS.sub(lambda m: "^" + m.group().translate(_FROM_SUPERSCRIPT), text)
    plain = unicodedata.normalize("NFKC", plain).translate(_MINUSES)
    if re.search(r"\d\s+\d", plain):
        return None, f"{quote(text)} is not a number (a space between digits)"
    plain = _TIMES_TEN.sub(r"e\1", "".join(plain.split()))
    match = _NUMBER.fullmatch(plain)
    if not match:
        return None, f"{quote(text)} is not a number"
    mantissa = match.group().split("e")[0].split("E")[0].replace(",", ".")
    if sum(c.isdigit() for c in mantissa) > MAX_DIGITS:
        return None, f"{quote(text)} has more than {MAX_DIGITS} digits"
    exponent = match.group(1) or "0"
    if len(exponent.lstrip("+-").lstrip("0")) > 4:
        return None, f"{quote(text)} is out of range (beyond 10^±{MAX_EXPONENT})"
    value = Decimal(mantissa) if exponent == "0" else Decimal(f"{mantissa}e{int(exponent)}")
    if value and not -MAX_EXPONENT <= value.adjusted() <= MAX_EXPONENT:
        return None, f"{quote(text)} is out of range (beyond 10^±{MAX_EXPONENT})"
    return value, ""


def _number_of(value) -> tuple[Decimal | None, str, str]:
    """A table's or a line's value -> (number, its text as typed, why not a number)."""
    if value is None:
        return None, "", "blank"
    if isinstance(value, bool):
        return None, "", f"{'true' if value else 'false'} is not a number"
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        return None, "", f"{type(value).__name__} is not a number"
    number, why = read_number(value)
    return number, value.strip().strip("*`$").strip(), why


# ---- readers: each yields (where, name as written, value) ----

class _Notes(list):
    """Notes on single lines, at most ``MAX_NOTES`` - 3 (room for a count of the rest and two summaries): a hostile
    file of a million bad lines costs no more than a short one."""
    more = 0

    def add(self, text: str) -> None:
        if len(self) < MAX_NOTES - 3:
            self.append(text)
        else:
            self.more += 1

    def closed(self, summaries: list[str]) -> list[str]:
        return list(self) + ([f"... and {self.more} more lines ignored"] if self.more else []) + summaries


class _Refused(Exception):
    """The whole file cannot be read; the message follows the file's name."""


_LIST_MARK = re.compile(r"\s*(?:[-*+•]|\d{1,3}[.)])\s+")
_TABLE_RULE = re.compile(r"[\s|:\-]*")


def _lines(text: str, prose: bool):
    """``name = value`` or ``name: value`` lines; # starts a comment; a Markdown list mark, table row or emphasis is
    read through. With working shown (``z1 = 0.3·0.4 + 0.1 = 0.22``) the number after the last ``=`` counts."""
    entries, notes = [], _Notes()
    for number, line in enumerate(re.split(r"\r\n|\r|\n", text), 1):
        line = line.split("#", 1)[0].strip()
        if not line or (line.startswith("|") and _TABLE_RULE.fullmatch(line)):
            continue
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            name, value = cells[0], "|".join(cells[1:])
        else:
            mark = _LIST_MARK.match(line)            # only where the line starts: w7+ = ... keeps its +
            line = line[mark.end():] if mark else line
            at = _separator(line)
            if at < 0:
                name, _, value = line.rpartition(" ")        # "z1 0.43": the last word a number
                if not name.strip() or read_number(value)[0] is None:
                    if not prose:
                        notes.add(f"line {number}: expected name = value, found {quote(line)}; ignored")
                    continue
            else:
                name, value = line[:at], line[at + 1:]
                value = value.rsplit("=", 1)[-1] if "=" in value else value.lstrip(":=≈")
        entries.append((f"line {number}", _unquoted(name), _unquoted(value)))
    return entries, notes


def _separator(line: str) -> int:
    """Where a line's name ends: its first ``=``, ``:`` or ``≈`` outside brackets (``w5'(t=2) = 0.4`` is named
    ``w5'(t=2)``), else the first anywhere (a bracket left open), else -1."""
    depth = 0
    for at, ch in enumerate(line):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(0, depth - 1)
        elif ch in "=:≈" and depth == 0:
            return at
    return min((i for i in (line.find("="), line.find(":"), line.find("≈")) if i >= 0), default=-1)


def _unquoted(text: str) -> str:
    text = text.strip()
    if not text or text[0] not in "\"'`*$":
        return text
    for mark in ('"', "'", "`", "**", "*", "$"):
        if len(text) >= 2 * len(mark) and text.startswith(mark) and text.endswith(mark):
            text = text[len(mark):-len(mark)].strip()
    return text


def _csv_rows(text: str, tab: bool):
    """``name,value`` rows (``;`` or TAB between cells where the file uses them; a header row is skipped). With a
    comma between cells, ``z1,0,43`` is z1 = 0,43."""
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")][:50]
    delimiter = "\t" if tab else max(",;\t", key=lambda d: sum(d in line for line in lines))
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    entries, first = [], True
    try:
        for row in reader:
            cells = [c.strip() for c in row]
            while cells and not cells[-1]:
                cells.pop()
            if not cells or cells[0].startswith("#"):
                continue
            if first and len(cells) == 2 and cells[0].lower() in ("name", "quantity") \
                    and cells[1].lower() in ("value", "answer", "number"):
                first = False
                continue
            first = False
            entries.append((f"line {reader.line_num}", _unquoted(cells[0]), ",".join(cells[1:])))
    except csv.Error as exc:
        raise _Refused(f"line {reader.line_num}: not readable as CSV ({exc})") from None
    return entries, _Notes()


_JSON_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
_TOML_TOKENS = re.compile(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"[^"\\\n]*(?:\\.[^"\\\n]*)*"|\'[^\'\n]*\'|#[^\n]*'
                          r'|[\[\]{}]')


def _flat(text: str, kind: str) -> None:
    """Refuse nesting before the parser sees it: a flat table has no bracket inside its own braces (JSON) or none at
    all (TOML), and a deeply nested document could exhaust the parser's recursion."""
    allowed = 1 if kind == "JSON" else 0
    if text.count("[") + text.count("{") <= allowed:
        return
    depth = 0
    for token in (_JSON_TOKENS if kind == "JSON" else _TOML_TOKENS).finditer(text):
        mark = token.group()
        if mark in "[{":
            depth += 1
            if depth > allowed:
                line = text.count("\n", 0, token.start()) + 1
                found = {("JSON", "["): "a list inside it", ("JSON", "{"): "a table inside it",
                         ("TOML", "["): "a list or a [section]", ("TOML", "{"): "an inline table"}[kind, mark]
                raise _Refused(f"line {line}: expected a flat table of name = value, found {found} "
                               f"({_line_of(text, line)})")
        elif mark in "]}":
            depth -= 1


def _line_of(text: str, number: int) -> str:
    """Line ``number`` (counted by newlines, as the JSON and TOML parsers count), quoted; no more of the file."""
    if number < 1:
        return "end of file"
    start = 0
    for _ in range(number - 1):
        start = text.find("\n", start) + 1
        if start == 0:
            return "end of file"
    end = text.find("\n", start)
    return quote(text[start:end if end >= 0 else len(text)].strip())


class _Pairs(list):
    """A JSON object as its (key, value) pairs in order, so that a key given twice is seen twice."""


def _table(text: str, kind: str):
    _flat(text, kind)
    try:
        if kind == "JSON":
            document = json.loads(text, object_pairs_hook=_Pairs, parse_float=_Raw, parse_int=_Raw,
                                  parse_constant=_Raw)
        else:
            document = tomllib.loads(text, parse_float=_Raw)
    except json.JSONDecodeError as exc:
        raise _Refused(f"line {exc.lineno}: not valid JSON ({exc.msg}): {_line_of(text, exc.lineno)}") from None
    except ValueError as exc:
        if not isinstance(exc, tomllib.TOMLDecodeError):    # an integer of thousands of digits: Python's limit
            long = re.search(r"\d{1000}", text)
            line = text.count("\n", 0, long.start()) + 1 if long else 0
            raise _Refused(f"line {line}: expected a number of at most {MAX_DIGITS} digits, found one of "
                           f"thousands") from None
        message = str(exc)
        found = re.search(r"at line (\d+)", message)
        line = int(found.group(1)) if found else 0
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", message)
        failed = _line_of(text, line)[1:].split("=")[0]
        hint = '; a name such as dL/dw5 needs quotes: "dL/dw5" = 0.1' if re.search(r"[^\w\s\"'=.-]", failed) else ""
        where = f"line {line}: " if line else ""
        raise _Refused(f"{where}not valid TOML ({reason}){': ' + _line_of(text, line) if line else ''}{hint}") \
            from None
    except RecursionError:
        raise _Refused("expected a flat table of name = value, found deeper nesting") from None
    if kind == "JSON" and not isinstance(document, _Pairs):
        found = "a list" if isinstance(document, list) else "text" if type(document) is str else \
            "null" if document is None else "a boolean" if isinstance(document, bool) else "a number"
        raise _Refused(f"expected a table of name = value, found {found}")
    entries, lines = [], _key_lines(text, kind)
    for key, value in document if kind == "JSON" else document.items():
        if isinstance(value, (list, dict)):
            raise _Refused(f"expected a flat table of name = value, found a "
                           f"{'list' if isinstance(value, list) else 'table'} under {quote(key)}")
        written = lines.get(key)
        entries.append((f"line {written.popleft()}" if written else f"the entry {quote(key)}", key, value))
    return entries, _Notes()


_JSON_KEY = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"(\s*:)?')
_TOML_KEY = re.compile(r'(?m)^[ \t]*("[^"\\\n]*(?:\\.[^"\\\n]*)*"|\'[^\'\n]*\'|[A-Za-z0-9_-]+)[ \t]*=')


def _key_lines(text: str, kind: str) -> dict[str, deque]:
    """Each key -> the lines it is written on, in order: only to tell the student where (one pass, so that a
    megabyte of keys costs no more than reading it)."""
    found: dict[str, deque] = {}
    line, at = 1, 0
    for match in (_JSON_KEY if kind == "JSON" else _TOML_KEY).finditer(text):
        if kind == "JSON" and not match.group(1):
            continue                                        # a string value, not a key
        token = match.group(0 if kind == "JSON" else 1).rstrip(": \t\r\n")
        line, at = line + text.count("\n", at, match.start(1 if kind == "TOML" else 0)), match.start()
        try:
            key = json.loads(token) if token[0] == '"' else token.strip("'")
        except ValueError:
            key = token
        found.setdefault(key, deque()).append(line)
    return found


# ---- one file ----

def read_submission(path, names: Names, student_hint: str | None = None) -> Submission:
    """One student's answers. Never raises for what the file holds: a file that cannot be read at all comes back
    with ``problem`` set (naming the file) and no values.

    The id is the file's ``id`` line or field, else ``student_hint`` (from the platform's folder), else the file's
    stem. ``names`` says which names are asked, given and known."""
    path = Path(path)
    label = shown(path)
    fallback = student_hint if student_hint is not None else path.stem
    data, modified, problem = _read_bytes(path, label)
    if problem:
        return _refused(path, fallback, student_hint, modified, problem)
    try:
        text = _text(data, label)
        suffix = path.suffix.lower()
        if suffix in (".toml", ".json"):
            entries, notes = _table(text, suffix[1:].upper())
        elif suffix in (".csv", ".tsv"):
            entries, notes = _csv_rows(text, suffix == ".tsv")
        else:
            entries, notes = _lines(text, prose=suffix in (".md", ".markdown"))
    except ChainruleError as exc:
        return _refused(path, fallback, student_hint, modified, str(exc))
    except _Refused as exc:
        return _refused(path, fallback, student_hint, modified, f"{label}: {exc}")
    found = _gather(entries, names, notes, prose=path.suffix.lower() in (".md", ".markdown"))
    student, problem = _student(found.pop("id"), student_hint, path, label)
    if problem:
        return _refused(path, fallback, student_hint, modified, problem)
    return Submission(path, student, modified=modified, **found)


def _refused(path: Path, fallback: str, hint, modified: float, problem: str) -> Submission:
    """A submission that could not be read: its student is the folder's or file's id when that is a valid one."""
    pattern = FOLDER_ID if hint is not None else STUDENT_ID
    student = unicodedata.normalize("NFC", fallback.strip())
    return Submission(path, student if pattern.fullmatch(student) else "", modified=modified, problem=problem)


def _read_bytes(path: Path, label: str) -> tuple[bytes, float, str]:
    """The file's bytes, its mtime and "" - or a problem. A link is not followed and anything but a regular file is
    never opened (a FIFO would block the whole batch); the size is checked before reading."""
    try:
        info = os.lstat(path)
    except OSError as exc:
        return b"", 0.0, f"{label}: cannot read the submission ({exc.strerror or exc})"
    if stat.S_ISLNK(info.st_mode):
        return b"", info.st_mtime, f"{label}: a symbolic link, not followed; submit the file itself"
    if not stat.S_ISREG(info.st_mode):
        return b"", info.st_mtime, f"{label}: expected a regular file, found {_kind(info.st_mode)}"
    if info.st_size > MAX_SUBMISSION_BYTES:
        return b"", info.st_mtime, (f"{label}: expected a submission of at most {MAX_SUBMISSION_BYTES // MiB} MiB, "
                                    f"found {info.st_size / MiB:.1f} MiB")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        handle = os.open(path, flags)
    except OSError as exc:
        return b"", info.st_mtime, f"{label}: cannot read the submission ({exc.strerror or exc})"
    try:
        if not stat.S_ISREG(os.fstat(handle).st_mode):          # replaced between the two looks
            return b"", info.st_mtime, f"{label}: expected a regular file, found {_kind(os.fstat(handle).st_mode)}"
        with os.fdopen(handle, "rb", closefd=False) as stream:
            data = stream.read(MAX_SUBMISSION_BYTES + 1)
    except OSError as exc:
        return b"", info.st_mtime, f"{label}: cannot read the submission ({exc.strerror or exc})"
    finally:
        os.close(handle)
    if len(data) > MAX_SUBMISSION_BYTES:
        return b"", info.st_mtime, (f"{label}: expected a submission of at most {MAX_SUBMISSION_BYTES // MiB} MiB, "
                                    f"found a larger one")
    return data, info.st_mtime, ""


def _kind(mode: int) -> str:
    for test, word in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a symbolic link")):
        if test(mode):
            return word
    return "something that is not a file"


def _text(data: bytes, label: str) -> str:
    """UTF-8 (with or without a byte-order mark) or UTF-16 with its byte-order mark (as Windows' Notepad saves).
    Names and numbers are ASCII, so UTF-16 that is mostly not is binary that happens to start with FF FE."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            text = data.decode("utf-16")
        except UnicodeError:
            text = ""
        letters = "".join(text.split())
        if sum(c < "\x80" for c in letters) * 2 < len(letters) or not letters:
            raise ChainruleError(f"{label}: expected a submission as UTF-8 or UTF-16 text, found bytes that are "
                                 f"neither (starting {data[:8].hex(' ')})")
        data = text.encode("utf-8", "surrogatepass")
    return decode(data, label, "submission")


def _gather(entries, names: Names, notes: _Notes, prose: bool) -> dict:
    """Sort each (where, name, value) into answers, reasons and notes; see the module's docstring for the rules."""
    lookup, asked = names.lookup, {updated_name(n) for n in names.asked}
    given = {updated_name(n) for n in names.given}
    values, written, missing, first, extra, starts = {}, {}, {}, {}, {}, {}
    restated, unasked, student, person = [], [], None, ""
    for where, key, value in entries:
        canonical, hint = lookup.resolve(key)
        if canonical in (ID, NAME):
            if value is None or (isinstance(value, str) and not value.strip()):
                notes.add(f"{where}: {quote(key.strip())} is blank; ignored")
            elif canonical == NAME:
                person = person or shown(str(value).strip())[:200]
            elif student is None:
                student = (where, value)
            else:
                notes.add(f"{where}: a second id ({quote(str(value))}); the first, on {student[0]}, is kept")
            continue
        if canonical is None:
            if not prose or _number_of(value)[2] in ("", "blank"):     # in Markdown, prose lines are not answers
                notes.add(f"{where}: {quote(key.strip())} is not a quantity of this exercise; ignored{hint}")
            continue
        if canonical in names.starts:        # w5@2: the w5' step 2 started from, fed into step 2 (not marked)
            number, text, why = _number_of(value)
            if canonical in starts:
                notes.add(f"{where}: {canonical} again ({quote(text) if number is not None else why}); the first, "
                          f"{starts[canonical]}, is kept")
            elif number is not None:
                starts[canonical] = number
            elif why != "blank":
                notes.add(f"{where}: {canonical}: {why}; ignored")
            continue
        if canonical in given:
            restated.append(f"{canonical} ({where})")
            continue
        if asked and canonical not in asked:
            unasked.append(f"{canonical} ({where})")
            number = _number_of(value)[0]
            if number is not None:
                extra.setdefault(canonical, number)
            continue
        number, text, why = _number_of(value)
        if canonical in values:
            notes.add(f"{where}: {canonical} again ({quote(text) if number is not None else why}); the first "
                         f"answer, {written[canonical]} on {first[canonical]}, is kept")
        elif number is None:
            missing.setdefault(canonical, f"left blank on {where}" if why == "blank" else f"{where}: {why}")
        else:
            values[canonical], written[canonical], first[canonical] = number, text, where
            missing.pop(canonical, None)
    for name in names.asked:
        if updated_name(name) not in values:
            missing.setdefault(updated_name(name), "not in the file")
    summaries = (["given on the sheet, so ignored: " + _listed(restated)] if restated else []) + \
        (["not asked for, so not marked: " + _listed(unasked)] if unasked else [])
    return {"values": values, "written": written, "missing": missing, "notes": notes.closed(summaries),
            "name": person, "extra": extra, "starts": starts, "id": student}


def _listed(items: list[str], limit: int = 20) -> str:
    return ", ".join(items[:limit]) + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _student(found, hint, path: Path, label: str) -> tuple[str, str]:
    """(the id, "") or ("", the problem): the file's id, else the platform folder's, else the file's stem."""
    if found is not None:
        where, value = found
        text = _id_text(value)
        if text is not None and STUDENT_ID.fullmatch(text):
            return text, ""
        return "", f"{label}: id ({where}): expected a student id ({ID_GRAMMAR}), found {_described(value)}"
    if hint is not None:
        text = unicodedata.normalize("NFC", hint.strip())
        if FOLDER_ID.fullmatch(text):
            return text, ""
        return "", (f"{label}: no id line, and its folder suggests {quote(hint)}, which is not a student id "
                    f"({ID_GRAMMAR}); add a line such as id = alice")
    text = unicodedata.normalize("NFC", path.stem)
    if STUDENT_ID.fullmatch(text):
        return text, ""
    return "", (f"{label}: no id line, and the file's name {quote(path.stem)} is not a student id ({ID_GRAMMAR}); "
                f"add a line such as id = alice")


def _id_text(value) -> str | None:
    """An id as text: a string, or a whole number of at most 64 digits (a JSON or TOML number's own text, never
    converted, so 1e999999999 costs nothing)."""
    if isinstance(value, _Raw):
        return str(value) if re.fullmatch(r"\d{1,64}", value) else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value) if 0 <= value < 10 ** 64 else None
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value.strip())
    return None


def _described(value) -> str:
    if isinstance(value, _Raw):
        return f"the number {quote(str(value))}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"an integer of {len(str(abs(value)))} digits" if abs(value) >= 10 ** 64 else str(value)
    if isinstance(value, str):
        return quote(value.strip()) if value.strip() else "nothing"
    return type(value).__name__


# ---- folders ----

_MOODLE = re.compile(r"(?P<who>.+?)_\d+_assignsubmission_[a-z]+_(?P<rest>.*)", re.S)
_CANVAS = re.compile(r"(?P<who>[^\W_][^_]*?)_(?:late_)?\d{3,}_\d{3,}_(?P<rest>.+)", re.S | re.I)
_SKIPPED_FOLDERS = {"__MACOSX"}


def submissions_in(paths) -> tuple[list[tuple[Path, str | None]], list[str]]:
    """Every file named and the files of every folder named, with the id its platform's layout suggests (None where
    it suggests none), and a note for each path skipped and why.

    A folder's own files are all returned (sorted; hidden files and editor backups skipped), each with the id a
    Canvas (``lastfirst_12345_67890_answers.txt``) or flat Moodle name gives. A subfolder is one student's: Moodle's
    ``Full Name_123456_assignsubmission_file_`` suggests ``Full Name``, any other its own name; its newest file with a
    submission's suffix is returned. Links inside folders are not followed, FIFOs and devices never opened, and a
    path named that does not exist is an error."""
    paths = [Path(paths)] if isinstance(paths, (str, os.PathLike)) else [Path(p) for p in paths]
    found, notes, seen, looked = [], [], set(), [0]
    for path in paths:
        try:
            info = os.lstat(path)
        except OSError:
            raise ChainruleError(f"expected a submission file or folder, found nothing at {shown(path)}") from None
        if stat.S_ISLNK(info.st_mode):          # a shell's * names what students put in the folder: links too
            notes.append(f"{shown(path)}: skipped: a symbolic link (not followed)")
        elif stat.S_ISDIR(info.st_mode):
            _folder(path, found, notes, seen, looked)
        elif stat.S_ISREG(info.st_mode):
            _add(path, _platform_id(path.name), found, seen)
        else:
            notes.append(f"{shown(path)}: skipped: {_kind(info.st_mode)}, not a submission file")
        if len(found) > MAX_SUBMISSIONS:
            raise _too_many(path)
    if not found:
        raise ChainruleError(f"{', '.join(shown(p) for p in paths)}: expected submission files, found none"
                             + (f" ({len(notes)} skipped: {'; '.join(notes[:3])})" if notes else ""))
    return found, notes


def _too_many(path: Path) -> ChainruleError:
    return ChainruleError(f"{shown(path)}: expected at most {MAX_SUBMISSIONS} submission files, found more; grade "
                          f"the class in parts")


def _add(path: Path, hint, found: list, seen: set) -> None:
    if path not in seen:
        seen.add(path)
        found.append((path, hint))


def _platform_id(name: str) -> str | None:
    """The student a platform's file name gives: Canvas's ``lastfirst_12345_67890_x.txt``, Moodle's flat
    ``Full Name_123456_assignsubmission_file_x.txt``."""
    match = _MOODLE.fullmatch(name) or _CANVAS.fullmatch(name)
    return match.group("who") if match else None


def _entries(folder: Path, notes: list, looked: list) -> list[os.DirEntry]:
    """The folder's entries, sorted by name, with hidden ones and editor backups noted and dropped."""
    try:
        with os.scandir(folder) as listing:
            entries = []
            for entry in listing:
                looked[0] += 1
                if looked[0] > MAX_FOLDER_ENTRIES:
                    raise ChainruleError(f"{shown(folder)}: expected at most {MAX_FOLDER_ENTRIES} entries in the "
                                         f"submission folders, found more")
                entries.append(entry)
    except OSError as exc:
        raise ChainruleError(f"{shown(folder)}: cannot list the folder ({exc.strerror or exc})") from None
    kept = []
    for entry in sorted(entries, key=lambda e: e.name):
        why = ("hidden" if entry.name.startswith(".") else
               "an editor's backup" if entry.name.endswith(("~", ".swp", ".swo")) or entry.name.startswith("#") else
               "an archive's resource folder" if entry.name in _SKIPPED_FOLDERS else
               "a symbolic link (not followed)" if entry.is_symlink() else "")
        if why:
            notes.append(f"{shown(entry.path)}: skipped: {why}")
        else:
            kept.append(entry)
    return kept


def _folder(folder: Path, found: list, notes: list, seen: set, looked: list) -> None:
    for entry in _entries(folder, notes, looked):
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            moodle = _MOODLE.fullmatch(entry.name)
            _student_folder(path, moodle.group("who") if moodle else entry.name, found, notes, seen, looked)
        elif entry.is_file(follow_symlinks=False):
            _add(path, _platform_id(entry.name), found, seen)
        else:
            notes.append(f"{shown(path)}: skipped: {_entry_kind(entry)}, not read")
        if len(found) > MAX_SUBMISSIONS:
            raise _too_many(folder)


def _entry_kind(entry: os.DirEntry) -> str:
    try:
        return _kind(entry.stat(follow_symlinks=False).st_mode)
    except OSError:
        return "gone while the folder was read"


def _student_folder(folder: Path, hint: str, found: list, notes: list, seen: set, looked: list) -> None:
    """One student's folder: its newest file with a submission's suffix; the others are noted."""
    files = []
    for entry in _entries(folder, notes, looked):
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            notes.append(f"{shown(path)}: skipped: a folder two levels down (one level of subfolders is read)")
        elif not entry.is_file(follow_symlinks=False):
            notes.append(f"{shown(path)}: skipped: {_entry_kind(entry)}, not read")
        elif path.suffix.lower() not in SUBMISSION_SUFFIXES:
            notes.append(f"{shown(path)}: skipped: not a submission's format (.txt, .md, .csv, .toml or .json)")
        else:
            try:
                files.append((entry.stat(follow_symlinks=False).st_mtime, entry.name, path))
            except OSError:
                notes.append(f"{shown(path)}: skipped: gone while the folder was read")
    if not files:
        notes.append(f"{shown(folder)}: skipped: holds no submission file")
        return
    files.sort(key=lambda f: (-f[0], f[1]))
    _add(files[0][2], hint, found, seen)
    for _, _, path in files[1:]:
        notes.append(f"{shown(path)}: skipped: {shown(folder.name)} holds several submission files; read the "
                     f"newest, {shown(files[0][1])}")
