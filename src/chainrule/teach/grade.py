"""Grading worked solutions with error carried forward: each submitted number is a claim, and the audit's verdict
decides its mark. *agrees* and *carried* (right working from the student's own earlier wrong number) earn the
quantity's points, a *slip* earns none; ``carried_credit=False`` marks carried numbers wrong.

An exercise asks for a precision (``precision.Precision``). An answer with fewer digits than asked is *imprecise*:
no credit (or half, under the ``partial`` policy, when its value is right at its own digits). A precise answer
agrees within half a unit of the asked digit plus the rounding the student's own earlier answers carry forward,
compared in exact decimal arithmetic (a tie goes to the student). Where a slip makes a later step trivial (a carried
value that rounds to 0, an update that leaves its weight as the student's own step started it) the carried value is
*degenerate*: flagged for the teacher and not credited unless ``degenerate_credit``. For a two-class softmax,
ŷ₂ = 1 − ŷ₁ (either way round) from the student's own ŷ is right working.

A student may write where a later step starts, as the sheet names it (``w5@2``, w₅⁽ᵗ⁼²⁾: the w5′ of step 1): it is not
marked, and their numbers of that step on are marked as worked from it, their w5′ on its own; one that is not their
own w5′ is noted (copied wrongly). Written in place of w5′, it is their w5′.

Submissions are read by ``submission.read_submission`` (every readable line graded; a blank or unreadable asked line
is *missing* with its reason). One submission per student id: of several, the newest file wins, with a note.
"""

import json
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from ..errors import ChainruleError
from ..explainer import derive, load_spec, parse_spec
from ..explainer.audit import updated_name, within
from ..explainer.derivation import Derivation, optional_names
from ..explainer.render import given_names
from ..explainer.spec import CLAIM_NAME, MAX_SPEC_BYTES, Claim, DuplicateKey, Spec, claim_key, parameter_names
from ..explainer.spec import unique_keys
from ..explainer.step_names import at_step, canonical, last_step, split_step
from ..schema import MapOf, Number, nearest, validate
from ..textfiles import MiB, read_text
from .exercise import FORMAT
from .precision import POLICIES, Precision, unit_of
from .roster import VARIANTS_FORMAT, Student
from .steps import derive_through, own_start, starts_of
from .submission import Names, Submission, read_submission, submissions_in

RUBRIC = MapOf(CLAIM_NAME, Number(low=0, high=1000, expected="points from 0 to 1000"), max_items=4096,
               what="a table of quantity name = points")
MAX_RUBRIC_BYTES = 1 * MiB
VERDICTS = ("agrees", "carried", "slip", "imprecise", "degenerate", "missing")


@dataclass
class Mark:
    name: str                 # the quantity (updated values as w5')
    points: float             # what it is worth
    earned: float
    verdict: str              # one of VERDICTS
    submitted: str = ""       # as the student wrote it
    correct: float = 0.0
    reason: str = ""          # missing: why; imprecise: the precision asked; degenerate: why (for the teacher)


@dataclass
class Result:
    student: str
    source: str
    marks: list[Mark] = field(default_factory=list)
    problem: str = ""         # why the submission could not be graded
    derivation: Derivation | None = None
    name: str = ""            # the student's name, from the roster or the submission
    notes: list[str] = field(default_factory=list)    # for the student: lines ignored and why
    flags: list[str] = field(default_factory=list)    # for the teacher only

    @property
    def total(self) -> float:
        return sum(m.earned for m in self.marks)

    @property
    def possible(self) -> float:
        return sum(m.points for m in self.marks)

    @property
    def percent(self) -> float | None:
        return 100 * self.total / self.possible if self.marks and self.possible else None

    @property
    def slips(self) -> int:
        return sum(m.verdict == "slip" for m in self.marks)

    @property
    def carried_from_slip(self) -> int:
        return sum(m.verdict == "carried" for m in self.marks)


@dataclass
class Task:
    """What is graded against: the spec (one per student for per-student variants), the points, the precision."""
    specs: dict[str, Spec]            # student id -> spec; "" for everyone
    points: dict[str, float] | None   # quantity -> points; None: each submitted quantity 1 point
    source: str
    precision: Precision | None = None    # None (a plain spec): each number judged at its own printed digits
    policy: str = "strict"
    students: list[Student] = field(default_factory=list)

    def spec_for(self, student: str) -> Spec:
        if "" in self.specs:
            return self.specs[""]
        if student not in self.specs:
            raise ChainruleError(f"no variant for student id {student!r} in {self.source} (expected one of "
                                 f"{', '.join(sorted(self.specs)[:5])}, ...){nearest(student, self.specs)}")
        return self.specs[student]

    @property
    def steps(self) -> int:
        """The steps the asked quantities cover (``w5'@2`` is of step 2)."""
        return last_step(self.points or ())

    def names(self) -> Names:
        """What a submission may call things (the same for every variant: they share the network's shape)."""
        spec = next(iter(self.specs.values()))
        truth = _truth(spec, self.steps)
        given = set(given_names(truth)) | {"eta"} | set(spec.optimizer.settings)
        known = _known_names(spec, self.steps)
        asked = list(self.points) if self.points is not None else [n for n in truth.order if n not in given]
        return Names(asked, given, known, list(spec.superscript), starts_of(spec, self.steps, known))


def load_task(path, rubric=None, roster=None, id_column=None, name_column=None) -> Task:
    """An exercise's JSON (its questions give the points and precision), a roster's variants.json, any spec file,
    or the folder ``chainrule exercise`` wrote (its teacher's file is found in it)."""
    path = _teacher_file(Path(path))
    asked, precision, policy, students = None, None, "strict", []
    if path.suffix.lower() == ".json":
        text = read_text(path, "exercise", MAX_SPEC_BYTES)
        try:
            document = json.loads(text, parse_float=Decimal, parse_int=Decimal, object_pairs_hook=unique_keys)
        except DuplicateKey as exc:
            raise ChainruleError(f"{path}: {exc.args[0]}: expected each key once in a table, found it twice") \
                from None
        except (ValueError, RecursionError) as exc:
            raise ChainruleError(f"{path}: not valid JSON ({str(exc)[:200]})") from None
        kind = document.get("format") if isinstance(document, dict) else None
        if kind == FORMAT:
            specs, asked = {"": _exercise_spec(document, str(path))}, _questions(document, str(path))
            precision, policy = _precision(document, str(path))
        elif kind == VARIANTS_FORMAT:
            variants = document.get("variants")
            if not isinstance(variants, dict) or not variants:
                raise ChainruleError(f"{path}: variants: expected a table of student id = exercise")
            specs = {str(s): _exercise_spec(v, f"{path}: variants.{s}") for s, v in variants.items()}
            first = next(iter(variants.values()))
            asked = _questions(first, f"{path}: variants.{next(iter(variants))}")
            precision, policy = _precision(first, f"{path}: variants.{next(iter(variants))}")
            students = _students(document.get("students", []), str(path))
        else:
            specs = {"": parse_spec(document, str(path))}
    else:
        specs = {"": load_spec(path)}
    if asked is None and "" in specs and specs[""].claims:       # a spec's own claims name what is asked
        asked = {updated_name(c.name): 1.0 for c in specs[""].claims}
    known = _known_names(next(iter(specs.values())), last_step(asked or ()))
    for name in asked or {}:
        if name not in known:
            raise ChainruleError(f"{path}: questions: expected quantities of the exercise's network, found "
                                 f"{name[:40]!r}{nearest(name, known)}")
    points = dict(asked) if asked else None
    if rubric is not None:
        points = read_rubric(rubric, next(iter(specs.values())), points)
    if roster is not None:
        from .roster import read_roster
        students = read_roster(roster, id_column=id_column, name_column=name_column)
    return Task(specs, points, str(path), precision, policy, students)


def _teacher_file(path: Path) -> Path:
    """The exercise file itself, or the one inside a folder ``chainrule exercise`` wrote."""
    if not path.is_dir():
        return path
    for name in ("teacher/exercise.json", "teacher/variants.json", "exercise.json", "variants.json"):
        if (path / name).is_file():
            return path / name
    raise ChainruleError(f"{path}: expected an exercise file or the folder chainrule exercise wrote (with "
                         f"teacher/exercise.json or teacher/variants.json), found neither")


def _exercise_spec(document, source: str) -> Spec:
    if not isinstance(document, dict) or "spec" not in document:
        raise ChainruleError(f"{source}: spec: expected the exercise's spec, found nothing")
    spec = parse_spec(document["spec"], f"{source}: spec")
    spec.claims = []
    return spec


def _questions(document, source: str) -> dict[str, float]:
    """Asked name -> points (1 where the exercise gives none)."""
    questions = document.get("questions") if isinstance(document, dict) else None
    if not isinstance(questions, list) or not all(isinstance(q, dict) and isinstance(q.get("name"), str)
                                                   for q in questions):
        raise ChainruleError(f"{source}: questions: expected a list of {{name = ..., points = ...}} tables")
    points = {}
    for number, q in enumerate(questions, 1):
        validate(CLAIM_NAME, q["name"], f"{source}: questions[{number}].name")    # a step in the digits 0-9
        if updated_name(q["name"]) in points:
            raise ChainruleError(f"{source}: questions[{number}].name: expected each quantity asked once, found "
                                 f"{q['name'][:40]!r} again")
        value = q.get("points", 1)
        if not isinstance(value, (int, Decimal)) or isinstance(value, bool) or not 0 <= value <= 1000:
            raise ChainruleError(f"{source}: questions[{number}].points: expected points from 0 to 1000, found "
                                 f"{str(value)[:40]!r}")
        points[updated_name(q["name"])] = float(value)
    return points


def _precision(document, source: str) -> tuple[Precision, str]:
    """The precision an exercise asks for and its policy; an exercise file of version 1 asked for its
    ``options.digits`` significant figures."""
    if "precision" in document:
        precision = Precision.from_document(document["precision"], source)
    else:
        digits = (document.get("options") or {}).get("digits", 4)
        precision = Precision("significant", int(digits) if isinstance(digits, (int, Decimal)) else digits)
    policy = document.get("precision_policy", "strict")
    if policy not in POLICIES:
        raise ChainruleError(f"{source}: precision_policy: expected one of {', '.join(POLICIES)}, found "
                             f"{str(policy)[:40]!r}")
    return precision, policy


def _students(rows, source: str) -> list[Student]:
    if not isinstance(rows, list) or not all(isinstance(r, dict) and isinstance(r.get("id"), str) for r in rows):
        raise ChainruleError(f"{source}: students: expected a list of {{id = ..., name = ...}} tables")
    return [Student(r["id"], str(r.get("name", "")), str(r.get("email", ""))) for r in rows]


def read_rubric(path, spec: Spec, asked: dict[str, float] | None = None) -> dict[str, float]:
    """Points per quantity, TOML or JSON (``"dL/dw5" = 2``): the points it names replace the exercise's, and every
    other asked quantity keeps its own. With no exercise questions (a plain spec), the rubric says what is asked."""
    raw = _parse_table(Path(path), "rubric")
    validate(RUBRIC, raw, str(path))
    known = set(asked) if asked else set(derive(spec).order)
    points = dict(asked or {})
    for name, value in raw.items():
        if updated_name(name) not in known:
            what = "asked by the exercise" if asked else "of the exercise's network"
            raise ChainruleError(f"{path}: {name}: expected the name of a quantity {what}, found none called "
                                 f"{name!r}{nearest(updated_name(name), known)}")
        points[updated_name(name)] = float(value)
    return points


def _parse_table(path: Path, what: str):
    text = read_text(path, what, MAX_RUBRIC_BYTES)
    kind = "TOML" if path.suffix.lower() == ".toml" else "JSON"
    try:
        if kind == "TOML":
            return tomllib.loads(text, parse_float=Decimal)
        return json.loads(text, parse_float=Decimal, parse_int=Decimal, object_pairs_hook=unique_keys)
    except DuplicateKey as exc:
        raise ChainruleError(f"{path}: {exc.args[0]}: expected each key once in a table, found it twice") from None
    except RecursionError:
        raise ChainruleError(f"{path}: expected a flat table of quantity name = points, found tables nested too "
                             f"deeply to read") from None
    except ValueError as exc:
        if kind == "TOML" and not isinstance(exc, tomllib.TOMLDecodeError):    # Python's limit on int digits
            raise ChainruleError(f"{path}: expected points as numbers of a few digits, found a whole number too "
                                 f"long to read") from None
        raise ChainruleError(f"{path}: not valid {kind} ({str(exc)[:200]})") from None


def grade_submission(task: Task, submission: Submission, carried_credit: bool = True,
                     degenerate_credit: bool = False) -> Result:
    """One student's result; a problem with the submission is reported in it, never raised."""
    source = str(submission.path)
    if submission.problem:
        return Result(submission.student, source, problem=submission.problem, name=submission.name,
                      notes=list(submission.notes))
    try:
        spec = task.spec_for(submission.student)
        result = grade_values(spec, task.points, submission.student, submission.values, source, carried_credit,
                              task.precision, task.policy, degenerate_credit, submission.missing, submission.starts)
    except ChainruleError as exc:
        return Result(submission.student, source, problem=str(exc) if source in str(exc) else f"{source}: {exc}",
                      name=submission.name)
    result.name, result.notes = submission.name, list(submission.notes) + result.notes
    return result


def grade_values(spec: Spec, points, student: str, values: dict[str, Decimal], source: str,
                 carried_credit: bool = True, precision: Precision | None = None, policy: str = "strict",
                 degenerate_credit: bool = False, missing: dict[str, str] | None = None,
                 starts: dict[str, Decimal] | None = None) -> Result:
    """Mark one student's numbers (name -> number as written) against ``spec``; the steps covered are those the
    asked quantities (else the numbers given) name, so a quantity of step 2 is marked by the audit's pass over both
    steps: a slip at step 1 is carried into step 2's numbers.

    ``starts``: where the student wrote a later step's start (``w5@2``: the w5' of step 1 that step 2 starts from),
    that number, not marked. Step 2 is worked from it: their numbers of step 2 on are marked by an audit fed it in
    place of their w5' (their w5' is marked on its own, from step 1's numbers), so a start copied wrongly carries
    into step 2 like any earlier number, and is noted. With no w5' of its own it is their w5'."""
    parameters = parameter_names(spec)
    starts = {updated_name(n): v for n, v in (starts or {}).items()}
    steps = last_step(points if points is not None else [*values, *(canonical(n, parameters) for n in starts)])
    known, truth = _known_names(spec, steps), _truth(spec, steps).values
    restates = starts_of(spec, steps, known)
    for name in [*values, *starts]:
        if updated_name(name) not in known and updated_name(name) not in restates:
            raise ChainruleError(f"{source}: {name}: expected the name of a quantity of the exercise (such as "
                                 f"{', '.join(sorted(known)[:6])}, ...), found none called {name!r}"
                                 f"{nearest(updated_name(name), known)}")
    values, notes, flags = _restated(student, dict(values), starts, restates)
    imprecise, units = set(), {}
    for name, value in [*values.items(), *starts.items()]:
        key = restates.get(updated_name(name), updated_name(name))
        if precision is not None:
            if precision.enough(value, truth[key]):
                units[name] = max(precision.unit(truth[key]), precision.unit(float(value)))
            elif name not in starts:
                imprecise.add(key)

    def audited(fed: frozenset) -> tuple[Spec, Derivation]:
        """The audit of the student's numbers with the starts ``fed`` in place of the numbers they restate."""
        replaced = {restates[name] for name in fed}
        graded = Spec(**{**spec.__dict__})
        graded.claims = [Claim(name, float(value), value, units.get(name)) for name, value in values.items()
                         if updated_name(name) not in replaced]
        graded.claims += [Claim(name, float(starts[name]), starts[name], units.get(name)) for name in sorted(fed)]
        graded.claims_source, graded.source = "student", source
        d = derive(graded)
        _accept_complements(d, spec, steps)
        return graded, d
    # each step's numbers are marked by the audit fed the starts the student wrote of that step and those before
    fed_by_step = {k: frozenset(n for n in starts if split_step(n)[1] <= k) for k in range(1, steps + 1)}
    audits = {fed: audited(fed) for fed in dict.fromkeys(fed_by_step.values())}
    checks = {}
    for k, fed in fed_by_step.items():
        checks |= {updated_name(c.name): (c, *audits[fed]) for c in audits[fed][1].claims
                   if updated_name(c.name) not in starts and split_step(claim_key(spec, c.name))[1] == k}
    d = audits[fed_by_step[1]][1]
    d.claims = [checks[updated_name(c.name)][0] for c in d.claims]     # in the pass's order; starts left out
    worth = points if points is not None else {updated_name(n): 1.0 for n in values}
    result = Result(student, source, derivation=d, notes=notes, flags=flags)
    for name, value in worth.items():
        check, graded, audit_d = checks.get(name, (None, None, None))
        if check is None:
            reason = (missing or {}).get(name, "no answer given")
            result.marks.append(Mark(name, value, 0.0, "missing", "", truth[name], reason))
            continue
        verdict, reason = check.verdict, ""
        earns = verdict == "agrees" or (verdict == "carried" and carried_credit)
        if verdict == "carried" and (why := _degenerate(spec, check, precision, steps, graded, audit_d)):
            verdict, reason, earns = "degenerate", why, degenerate_credit
            result.flags.append(f"{student}: {name} = {check.claimed_text} is right working from an earlier slip, "
                                f"but {why}; " + ("credited (--credit-degenerate)" if degenerate_credit
                                                  else "not credited"))
        share = 1.0
        if name in imprecise:
            verdict, reason = "imprecise", f"give {precision.describe()}"
            share = 0.5 if policy == "partial" else 0.0
        result.marks.append(Mark(name, value, value * share if earns else 0.0, verdict, check.claimed_text,
                                 check.computed, reason))
    return result


def _restated(student: str, values: dict[str, Decimal], starts: dict[str, Decimal],
              restates: dict[str, str]) -> tuple[dict[str, Decimal], list[str], list[str]]:
    """The student's numbers with each start written in place of the number it restates (``w5@2`` for ``w5'``)
    moved to that number (and out of ``starts``), with notes for the student and flags for the teacher where a start
    is not the number it restates (beyond the rounding of either)."""
    notes, flags = [], []
    own = {updated_name(n): n for n in values}
    for name in sorted(starts):
        same, k = restates[name], split_step(name)[1]
        if same not in own:          # the answer written under the sheet's other name for it
            values[same], own[same] = starts.pop(name), same
            notes.append(f"your {name} is read as your {same}: step {k} starts from {same}")
        elif abs(starts[name] - values[own[same]]) > (unit_of(starts[name]) + unit_of(values[own[same]])) / 2:
            mine = values[own[same]]
            notes.append(f"your {name} = {starts[name]} is not your {same} = {mine}, though step {k} starts from "
                         f"{same}: copied wrongly? Your numbers of step {k} on are marked as worked from "
                         f"{starts[name]}.")
            flags.append(f"{student}: {name} = {starts[name]} restates {same} = {mine} wrongly; step {k} on is "
                         f"marked as worked from {starts[name]}")
    return values, notes, flags


def _accept_complements(d: Derivation, spec: Spec, steps: int = 1) -> None:
    """A two-class softmax's outputs sum to 1: ŷ₂ written as 1 − ŷ₁ from the student's own ŷ₁ (either way round,
    of the same example and step) is right working, not a slip."""
    last = spec.layers[-1]
    if last.activation != "softmax" or len(last.activation_names) != 2:
        return
    checks = {updated_name(c.name): c for c in d.claims}
    suffixes = [f"[{n}]" for n in range(1, spec.batch_size + 1)] or [""]
    for sfx, step in ((sfx, step) for step in range(1, steps + 1) for sfx in suffixes):
        first, second = (checks.get(at_step(name + sfx, step)) for name in last.activation_names)
        if first is None or second is None:
            continue
        was_slip = {id(first): first.verdict == "slip", id(second): second.verdict == "slip"}
        # the later output from the earlier (the earlier may be a slip: the later is right working from it), and
        # the earlier from the later only where the later was not itself a slip: one slip excuses nothing
        for one, other in ((second, first), (first, second)):
            if one.verdict != "slip" or (one is first and was_slip[id(second)]):
                continue
            if within(Decimal(one.claimed_text), 1 - float(other.claimed), _half(one) + _half(other)):
                one.verdict = "agrees" if other.verdict == "agrees" else "carried"
                one.from_claims, one.carried_from = 1 - float(other.claimed), [other.name]


def _half(check) -> float:
    """Half a unit of the last digit of a checked number as written."""
    return 0.5 * float(unit_of(Decimal(check.claimed_text)))


def _degenerate(spec: Spec, check, precision: Precision | None, steps: int = 1, graded: Spec | None = None,
                d: Derivation | None = None) -> str:
    """Why a carried value makes its step trivial ("" when it does not): it rounds to 0 where the right value does
    not, or it is an updated parameter that the student's update left as their step started it where the right
    update moves it (w5'@2 against the w5 their own step 2 started from: their w5' of step 1, or what their numbers
    give; ``graded``, ``d``: the spec with their numbers and its audit, which that start is read from)."""
    unit = float(precision.unit(check.computed)) if precision is not None else _half(check) * 2
    name = updated_name(check.name)
    if abs(check.from_claims) < unit / 2 <= abs(check.computed):
        return f"your earlier numbers make {name} 0, which needs no working"
    base, step = split_step(name)
    if base.endswith("'"):
        right = _truth(spec, steps).values.get(at_step(base[:-1], step))     # the parameter before the step
        mine = own_start(graded, d.learning_rate, name) if graded is not None and step > 1 else None
        mine = right if mine is None else mine
        if right is not None and abs(check.from_claims - mine) < unit / 2 <= abs(check.computed - right):
            return f"your earlier numbers leave {at_step(base[:-1], step)} unchanged by the update"
    return ""


_TRUTH: dict[tuple[int, int], tuple[Spec, Derivation, set]] = {}   # the spec is kept so that its id is not reused


def _truth(spec: Spec, steps: int = 1) -> Derivation:
    """The spec's derivation of steps 1 to ``steps`` without claims: the right value of every quantity."""
    if (id(spec), steps) not in _TRUTH:
        d = derive_through(spec, steps)
        optional = optional_names(spec)
        _TRUTH[id(spec), steps] = (spec, d, set(d.order) | {at_step(name, step) for name in optional
                                                           for step in range(1, steps + 1)})
    return _TRUTH[id(spec), steps][1]


def _known_names(spec: Spec, steps: int = 1) -> set[str]:
    """The quantities a submission may name: every one the steps compute (updated parameters as w5', a later
    step's as z1@2), and those shown only when claimed (da1/dz1, Delta_w5, L_yhat1)."""
    _truth(spec, steps)
    return _TRUTH[id(spec), steps][2]


def grade(task: Task, paths, carried_credit: bool = True, degenerate_credit: bool = False,
          skipped: list[str] | None = None) -> list[Result]:
    """Every submission, one result per student id, sorted by id; broken ones carry their reason. Where several
    files give one id, the newest (by modification time, then name) is graded and the others are noted. Files
    skipped while looking through ``paths`` (links, hidden files, ...) are appended to ``skipped``."""
    files, passed_over = submissions_in(paths)
    if skipped is not None:
        skipped += passed_over
    names = task.names()
    latest: dict[str, Submission] = {}
    replaced: dict[str, list[Submission]] = {}
    for path, hint in files:
        submission = read_submission(path, names, hint)
        key = submission.student or f"\0{submission.path}"        # a file that gave no id stands alone
        held = latest.get(key)
        if held is not None:
            newer = (submission.modified, str(submission.path)) > (held.modified, str(held.path))
            submission, older = (submission, held) if newer else (held, submission)
            replaced.setdefault(key, []).append(older)
        latest[key] = submission
    by_name = {s.id: s.name for s in task.students}
    results = []
    graded = _grade_many(task, list(latest.values()), carried_credit, degenerate_credit)
    for (student, submission), result in zip(latest.items(), graded, strict=True):
        result.name = by_name.get(student) or result.name
        for older in replaced.get(student, []):
            note = f"{older.path} also gives id {student!r}; the newer {submission.path} was graded instead"
            result.notes.append(note)
            result.flags.append(f"{student}: {note}")
        results.append(result)
    return sorted(results, key=lambda r: (r.student, r.source))


PARALLEL_FROM = 64       # submissions: below this a pool of processes costs more than it saves


def _grade_many(task: Task, submissions: list[Submission], carried_credit: bool,
                degenerate_credit: bool) -> list[Result]:
    """Grade each submission, over the machine's cores for a large class (each grading is independent; the
    audit's passes are many small NumPy calls, so processes, not threads)."""
    import os

    workers = min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1, 8)
    if len(submissions) < PARALLEL_FROM or workers < 2:
        return [grade_submission(task, s, carried_credit, degenerate_credit) for s in submissions]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    global _POOL_TASK
    _POOL_TASK = (task, carried_credit, degenerate_credit)        # inherited by the forked workers, not pickled
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            chunk = max(1, len(submissions) // (workers * 8))
            return list(pool.map(_grade_in_worker, submissions, chunksize=chunk))
    finally:
        _POOL_TASK = None


_POOL_TASK = None


def _grade_in_worker(submission: Submission) -> Result:
    task, carried_credit, degenerate_credit = _POOL_TASK
    return grade_submission(task, submission, carried_credit, degenerate_credit)


def gradebook_csv(results: list[Result], task: Task) -> str:
    """The gradebook: one row per student of the roster (or per result), see ``gradebook.gradebook_csv``."""
    from .gradebook import gradebook_csv as book

    return book(results, task.points or {m.name: m.points for r in results for m in r.marks}, task.students)
