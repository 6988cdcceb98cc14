"""Grading worked solutions with error carried forward: each submitted number is a claim, and the audit's verdict
decides its mark. *agrees* and *carried* (right working from the student's own earlier wrong number) earn the
quantity's points, a *slip* earns none; ``carried_credit=False`` marks carried numbers wrong. The tolerance is the
audit's: from the student's own printed digits.

A submission is TOML, JSON, CSV (``name,value`` rows) or plain text lines (``z1 = 0.43``), with an optional ``id``;
one that cannot be read, names a quantity that does not exist, repeats a name or holds a non-number is marked with
the reason and never stops the rest of the batch.
"""

import csv
import io
import json
import re
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from ..errors import ChainruleError
from ..explain import derive, load_spec, parse_spec
from ..explain.audit import updated_name
from ..explain.derivation import Derivation, optional_names
from ..explain.spec import CLAIM_NAME, MAX_SPEC_BYTES, Claim, DuplicateKey, Spec, _unique_keys
from ..schema import MapOf, Number, nearest, validate
from ..textfiles import MiB, read_text
from .exercise import FORMAT
from .roster import STUDENT_ID, VARIANTS_FORMAT

SUBMISSION = MapOf(CLAIM_NAME, Number(), min_items=0, max_items=4096, what="a table of quantity name = number")
RUBRIC = MapOf(CLAIM_NAME, Number(low=0, high=1000, expected="points from 0 to 1000"),
               what="a table of quantity name = points")
MAX_SUBMISSION_BYTES = 1 * MiB
MAX_SUBMISSIONS = 10_000


@dataclass
class Mark:
    name: str                 # the quantity (updated values as w5')
    points: float             # what it is worth
    earned: float
    verdict: str              # agrees, carried, slip or missing
    submitted: str = ""       # as the student wrote it
    correct: float = 0.0


@dataclass
class Result:
    student: str
    source: str
    marks: list[Mark] = field(default_factory=list)
    problem: str = ""         # why the submission could not be graded
    derivation: Derivation | None = None

    @property
    def total(self) -> float:
        return sum(m.earned for m in self.marks)

    @property
    def possible(self) -> float:
        return sum(m.points for m in self.marks)

    @property
    def slips(self) -> int:
        return sum(m.verdict == "slip" for m in self.marks)


@dataclass
class Task:
    """What is graded against: the spec (one per student for per-student variants) and the points."""
    specs: dict[str, Spec]            # student id -> spec; "" for everyone
    points: dict[str, float] | None   # quantity -> points; None: each submitted quantity 1 point
    source: str

    def spec_for(self, student: str) -> Spec:
        if "" in self.specs:
            return self.specs[""]
        if student not in self.specs:
            raise ChainruleError(f"no variant for student id {student!r} in {self.source} (expected one of "
                                 f"{', '.join(sorted(self.specs)[:5])}, ...){nearest(student, self.specs)}")
        return self.specs[student]


def load_task(path, rubric=None) -> Task:
    """An exercise's JSON (its questions give the points), a roster's variants.json, or any spec file."""
    path = Path(path)
    asked = None
    if path.suffix.lower() == ".json":
        text = read_text(path, "exercise", MAX_SPEC_BYTES)
        try:
            document = json.loads(text, parse_float=Decimal, parse_int=Decimal, object_pairs_hook=_unique_keys)
        except DuplicateKey as exc:
            raise ChainruleError(f"{path}: {exc.args[0]}: expected each key once in a table, found it twice") \
                from None
        except ValueError as exc:
            raise ChainruleError(f"{path}: not valid JSON ({exc})") from None
        kind = document.get("format") if isinstance(document, dict) else None
        if kind == FORMAT:
            specs, asked = {"": _exercise_spec(document, str(path))}, _questions(document, str(path))
        elif kind == VARIANTS_FORMAT:
            variants = document.get("variants")
            if not isinstance(variants, dict) or not variants:
                raise ChainruleError(f"{path}: variants: expected a table of student id = exercise")
            specs = {str(s): _exercise_spec(v, f"{path}: variants.{s}") for s, v in variants.items()}
            asked = _questions(next(iter(variants.values())), str(path))
        else:
            specs = {"": parse_spec(document, str(path))}
    else:
        specs = {"": load_spec(path)}
    points = {name: 1.0 for name in asked} if asked else None
    if points is None and "" in specs and specs[""].claims:       # a spec's own claims name what is asked
        points = {updated_name(c.name): 1.0 for c in specs[""].claims}
    if rubric is not None:
        points = read_rubric(rubric, next(iter(specs.values())))
    return Task(specs, points, str(path))


def _exercise_spec(document, source: str) -> Spec:
    if not isinstance(document, dict) or "spec" not in document:
        raise ChainruleError(f"{source}: spec: expected the exercise's spec, found nothing")
    spec = parse_spec(document["spec"], f"{source}: spec")
    spec.claims = []
    return spec


def _questions(document, source: str) -> list[str]:
    questions = document.get("questions") if isinstance(document, dict) else None
    if not isinstance(questions, list) or not all(isinstance(q, dict) and isinstance(q.get("name"), str)
                                                   for q in questions):
        raise ChainruleError(f"{source}: questions: expected a list of {{name = ...}} tables")
    return [updated_name(q["name"]) for q in questions]


def read_rubric(path, spec: Spec) -> dict[str, float]:
    """Points per quantity, TOML or JSON: ``"dL/dw5" = 2``."""
    raw = _parse_table(Path(path), "rubric")
    validate(RUBRIC, raw, str(path))
    known = set(derive(spec).order)
    points = {}
    for name, value in raw.items():
        if updated_name(name) not in known:
            raise ChainruleError(f"{path}: {name}: expected the name of a quantity of the exercise's network, found "
                                 f"none called {name!r}{nearest(updated_name(name), known)}")
        points[updated_name(name)] = float(value)
    return points


def _parse_table(path: Path, what: str):
    text = read_text(path, what, MAX_SUBMISSION_BYTES)
    try:
        if path.suffix.lower() == ".toml":
            return tomllib.loads(text, parse_float=Decimal)
        return json.loads(text, parse_float=Decimal, parse_int=Decimal)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise ChainruleError(f"{path}: not valid {'TOML' if path.suffix.lower() == '.toml' else 'JSON'} ({exc})") \
            from None


def read_submission(path) -> tuple[str, dict[str, Decimal]]:
    """(student id, {quantity: number as written}); the id is the ``id`` field or the file's name."""
    path = Path(path)
    suffix = path.suffix.lower()
    text = read_text(path, "submission", MAX_SUBMISSION_BYTES)
    if suffix == ".toml":
        try:
            raw = tomllib.loads(text, parse_float=Decimal)
        except tomllib.TOMLDecodeError as exc:
            raise ChainruleError(f"{path}: not valid TOML ({exc}); a name such as dL/dw5 needs quotes: "
                                 f'"dL/dw5" = 0.1') from None
    elif suffix == ".json":
        try:
            raw = json.loads(text, parse_float=Decimal, parse_int=Decimal, object_pairs_hook=_no_repeats(path))
        except ChainruleError:
            raise
        except ValueError as exc:
            raise ChainruleError(f"{path}: not valid JSON ({exc})") from None
    else:
        raw = _pairs(path, text, suffix == ".csv")
    if not isinstance(raw, dict):
        raise ChainruleError(f"{path}: expected a table of quantity name = number, found {type(raw).__name__}")
    student = raw.pop("id", path.stem)
    if isinstance(student, Decimal) and student == student.to_integral_value():
        student = str(int(student))
    if not isinstance(student, str) or not STUDENT_ID.fullmatch(student):
        raise ChainruleError(f"{path}: id: expected a student id (letters, digits, _ . @ -), found {student!r}")
    validate(SUBMISSION, raw, str(path))
    values, seen = {}, {}
    for name, value in raw.items():
        key = updated_name(name)
        if key in seen:
            raise ChainruleError(f"{path}: {name}: expected each quantity once, found it again (as {seen[key]})")
        seen[key] = name
        values[name] = value if isinstance(value, Decimal) else Decimal(value)
    return student, values


def _no_repeats(path):
    def hook(pairs):
        table = {}
        for key, value in pairs:
            if key in table:
                raise ChainruleError(f"{path}: {key}: expected each quantity once, found it twice")
            table[key] = value
        return table
    return hook


_LINE = re.compile(r"\s*([^=:,\s]+)\s*[=:,]\s*(\S+)\s*")


def _pairs(path, text: str, is_csv: bool) -> dict:
    """``name = value`` lines (or ``name: value``) or CSV ``name,value`` rows; # starts a comment."""
    rows = list(csv.reader(io.StringIO(text))) if is_csv else \
        [[line.split("#", 1)[0]] for line in text.splitlines()]
    table = {}
    for number, row in enumerate(rows, 1):
        if is_csv:
            cells = [c.strip() for c in row]
            if not any(cells) or cells[0].startswith("#"):
                continue
            if number == 1 and cells[0].lower() in ("name", "quantity") and len(cells) >= 2:
                continue
            if len(cells) != 2:
                raise ChainruleError(f"{path}: row {number}: expected name,value, found {len(cells)} cells")
            name, value = cells
        else:
            line = row[0].strip()
            if not line:
                continue
            match = _LINE.fullmatch(line)
            if not match:
                raise ChainruleError(f"{path}: line {number}: expected name = value (such as z1 = 0.43), found "
                                     f"{line[:60]!r}")
            name, value = match.groups()
        name = name.strip('"')
        if name in table:
            raise ChainruleError(f"{path}: {'row' if is_csv else 'line'} {number}: expected each quantity once, "
                                 f"found {name} again")
        table[name] = value if name == "id" else _number(value)
    return table


def _number(text: str):
    try:
        value = Decimal(text)
    except InvalidOperation:
        return text                      # the schema names it: expected a number, found the string "..."
    return value if value.is_finite() else text


def submissions_in(paths) -> list[Path]:
    """Every file named, and every file of a folder named (sorted; hidden files skipped)."""
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        else:
            found.append(path)
    if not found:
        raise ChainruleError(f"{', '.join(map(str, paths))}: expected submission files, found none")
    if len(found) > MAX_SUBMISSIONS:
        raise ChainruleError(f"expected at most {MAX_SUBMISSIONS} submissions, found {len(found)}")
    return found


def grade_submission(task: Task, path, carried_credit: bool = True, taken=None) -> Result:
    """One student's result; a problem with the submission is reported in it, never raised."""
    try:
        student, values = read_submission(path)
    except (ChainruleError, OSError) as exc:
        return Result(Path(path).stem, str(path), problem=str(exc))
    if taken is not None:
        if student in taken:
            return Result(student, str(path), problem=f"{path}: the same student id {student!r} as {taken[student]}")
        taken[student] = str(path)
    try:
        spec = task.spec_for(student)
        return grade_values(spec, task.points, student, values, str(path), carried_credit)
    except ChainruleError as exc:
        return Result(student, str(path), problem=str(exc) if str(path) in str(exc) else f"{path}: {exc}")


def grade_values(spec: Spec, points, student: str, values: dict[str, Decimal], source: str,
                 carried_credit: bool = True) -> Result:
    known = _known_names(spec)
    for name in values:
        if updated_name(name) not in known:
            raise ChainruleError(f"{source}: {name}: expected the name of a quantity of the exercise (such as "
                                 f"{', '.join(sorted(known)[:6])}, ...), found none called {name!r}"
                                 f"{nearest(updated_name(name), known)}")
    graded = Spec(**{**spec.__dict__})
    graded.claims = [Claim(name, float(value), value) for name, value in values.items()]
    graded.claims_source, graded.source = "student", source
    d = derive(graded)
    checks = {updated_name(c.name): c for c in d.claims}
    worth = points if points is not None else {updated_name(n): 1.0 for n in values}
    marks = []
    for name, value in worth.items():
        check = checks.get(name)
        if check is None:
            marks.append(Mark(name, value, 0.0, "missing", "", d.values[name]))
            continue
        earns = check.verdict == "agrees" or (check.verdict == "carried" and carried_credit)
        marks.append(Mark(name, value, value if earns else 0.0, check.verdict, check.claimed_text, check.computed))
    return Result(student, source, marks, derivation=d)


_KNOWN: dict[int, tuple[Spec, set]] = {}      # the spec is kept with its names so that its id is not reused


def _known_names(spec: Spec) -> set[str]:
    """The quantities a submission may name: every one the step computes (updated parameters as w5'), and those
    shown only when claimed (da1/dz1, Delta_w5, L_yhat1)."""
    if id(spec) not in _KNOWN:
        _KNOWN[id(spec)] = (spec, set(derive(spec).order) | optional_names(spec))
    return _KNOWN[id(spec)][1]


def grade(task: Task, paths, carried_credit: bool = True) -> list[Result]:
    """Every submission, sorted by student id; broken ones carry their reason."""
    taken: dict[str, str] = {}
    results = [grade_submission(task, path, carried_credit, taken) for path in submissions_in(paths)]
    return sorted(results, key=lambda r: (r.student, r.source))


def gradebook_csv(results: list[Result], task: Task) -> str:
    """One row per student: id, total, possible, slips, points per quantity, file, problem."""
    names = list(task.points) if task.points is not None else sorted({m.name for r in results for m in r.marks})
    handle = io.StringIO(newline="")
    writer = csv.writer(handle)
    writer.writerow(["id", "total", "possible", "slips"] + names + ["file", "problem"])
    for r in results:
        earned = {m.name: m.earned for m in r.marks}
        possible = r.possible if r.marks else sum(task.points.values()) if task.points else ""
        writer.writerow([_cell(r.student), _g(r.total), _g(possible) if possible != "" else "", r.slips]
                        + [_g(earned[n]) if n in earned else "" for n in names] + [_cell(r.source), _cell(r.problem)])
    return handle.getvalue()


def _g(value) -> str:
    return format(float(value), "g")


def _cell(text: str) -> str:
    """A spreadsheet cell that cannot be read as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
