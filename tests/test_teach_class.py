"""A class of 30 submissions for one exercise, graded against marks worked out here and not by chainrule.

The exercise is a 2-2-2 network (sigmoid hidden, softmax output, cross-entropy) with the full step asked: 39
quantities to 4 significant figures, 1 point each. This file works the step in plain Python (``math.exp``, dicts)
from the exercise's given numbers, twice for each submission: the right values, and the values that follow from the
student's own written numbers (each quantity from the student's numbers before it, where the student gave them). A
student's expected marks then follow from a few clear-cut rules (``expected_marks``):

- a number with fewer significant figures than asked is *imprecise* and earns nothing;
- a number within half a unit of its 4th significant figure of the right value is *right*;
- a number within half a unit of the value that follows from the student's own earlier numbers, when that value is
  far from the right one, is *carried* and earns its point; for a two-class softmax, ŷ₂ written as 1 − ŷ₁ of the
  student's own ŷ₁ is carried too;
- any other number is a *slip*; an asked quantity with no number (not written, blank, unreadable) is *missing*.

Every submission is built so that its verdicts are unambiguous: a slip is far from both values, a carried number
far from the right one (``expected_marks`` refuses a submission that is not). The submissions differ in the ways a
class's do: slips with and without carried chains, too few or too many digits, the sheet's notation, decimal commas,
a byte-order mark, CRLF, blank and unreadable lines, typos in names, restated given values, CSV, TOML and JSON files,
an ``id`` line, half an answer, an empty file and a student who handed in twice.
"""

import json
import math
import os
from decimal import ROUND_HALF_UP, Decimal

import pytest

from chainrule.teach import exercise_document, make_exercise
from chainrule.teach.grade import grade, load_task

SEED = 7
DIGITS = 4


def _exercise():
    try:
        from chainrule.teach.precision import Precision

        return make_exercise((2, 2, 2), "sigmoid", "softmax", seed=SEED, precision=Precision("significant", DIGITS))
    except TypeError:           # an exercise that still takes its significant figures as ``digits``
        return make_exercise((2, 2, 2), "sigmoid", "softmax", seed=SEED, digits=DIGITS)


EX = _exercise()

# The step's quantities in the order a student computes them (updated parameters written w5').
ASKED = ["z1", "z2", "a1", "a2", "z3", "z4", "yhat1", "yhat2", "L", "dL/dz3", "dL/dz4",
         "dL/dw5", "dL/dw6", "dL/dw7", "dL/dw8", "dL/db3", "dL/db4", "dL/da1", "dL/da2", "dL/dz1", "dL/dz2",
         "dL/dw1", "dL/dw2", "dL/dw3", "dL/dw4", "dL/db1", "dL/db2",
         "w1'", "w2'", "w3'", "w4'", "b1'", "b2'", "w5'", "w6'", "w7'", "w8'", "b3'", "b4'"]
FORWARD = ASKED[:8]
PARAMETERS = ["w1", "w2", "w3", "w4", "b1", "b2", "w5", "w6", "w7", "w8", "b3", "b4"]


# ---------------------------------------------------------------------------------------------------------------
# The step in plain Python


def given_numbers(document) -> dict[str, float]:
    """x1, x2, the one-hot targets y1, y2, w1..w8, b1..b4 and eta from the exercise's spec (weights neuron-major:
    row k holds the weights into neuron k, so z1 = w1·x1 + w2·x2 + b1)."""
    assert document["weight_layout"] == "neuron_major" and document["loss"] == "cross_entropy"
    (x1, x2), target = document["inputs"], document["targets"]
    hidden, output = document["layers"]
    (w1, w2), (w3, w4) = hidden["weights"]
    (w5, w6), (w7, w8) = output["weights"]
    (b1, b2), (b3, b4) = hidden["bias"], output["bias"]
    return {"x1": x1, "x2": x2, "y1": float(target == 0), "y2": float(target == 1), "w1": w1, "w2": w2, "w3": w3,
            "w4": w4, "w5": w5, "w6": w6, "w7": w7, "w8": w8, "b1": b1, "b2": b2, "b3": b3, "b4": b4,
            "eta": document["learning_rate"]}


def _sigmoid(z):
    return 1 / (1 + math.exp(-z))


def _ln(p):
    return math.log(p) if p > 0 else math.nan


def worked(g: dict[str, float], written: dict[str, float] | None = None) -> dict[str, float]:
    """Every quantity of the step, each computed from the numbers before it: the student's own numbers where
    ``written`` gives them, else the values computed here. With nothing written, the right values."""
    written = written or {}
    own, v = {}, {}

    def put(name, value):
        own[name] = value                       # what this step gives from the numbers before it
        v[name] = written.get(name, value)      # what the next steps are computed from

    put("z1", g["w1"] * g["x1"] + g["w2"] * g["x2"] + g["b1"])
    put("z2", g["w3"] * g["x1"] + g["w4"] * g["x2"] + g["b2"])
    put("a1", _sigmoid(v["z1"]))
    put("a2", _sigmoid(v["z2"]))
    put("z3", g["w5"] * v["a1"] + g["w6"] * v["a2"] + g["b3"])
    put("z4", g["w7"] * v["a1"] + g["w8"] * v["a2"] + g["b4"])
    e3, e4 = math.exp(v["z3"]), math.exp(v["z4"])
    put("yhat1", e3 / (e3 + e4))
    put("yhat2", e4 / (e3 + e4))
    put("L", -sum(_ln(v[p]) for y, p in (("y1", "yhat1"), ("y2", "yhat2")) if g[y]))
    # softmax with cross-entropy: the output error is yhat - y
    put("dL/dz3", v["yhat1"] - g["y1"])
    put("dL/dz4", v["yhat2"] - g["y2"])
    put("dL/dw5", v["dL/dz3"] * v["a1"])
    put("dL/dw6", v["dL/dz3"] * v["a2"])
    put("dL/dw7", v["dL/dz4"] * v["a1"])
    put("dL/dw8", v["dL/dz4"] * v["a2"])
    put("dL/db3", v["dL/dz3"])
    put("dL/db4", v["dL/dz4"])
    put("dL/da1", g["w5"] * v["dL/dz3"] + g["w7"] * v["dL/dz4"])
    put("dL/da2", g["w6"] * v["dL/dz3"] + g["w8"] * v["dL/dz4"])
    put("dL/dz1", v["dL/da1"] * v["a1"] * (1 - v["a1"]))
    put("dL/dz2", v["dL/da2"] * v["a2"] * (1 - v["a2"]))
    put("dL/dw1", v["dL/dz1"] * g["x1"])
    put("dL/dw2", v["dL/dz1"] * g["x2"])
    put("dL/dw3", v["dL/dz2"] * g["x1"])
    put("dL/dw4", v["dL/dz2"] * g["x2"])
    put("dL/db1", v["dL/dz1"])
    put("dL/db2", v["dL/dz2"])
    for p in PARAMETERS:                        # a simultaneous update: each from its own gradient
        put(f"{p}'", g[p] - g["eta"] * v[f"dL/d{p}"])
    return own


# ---------------------------------------------------------------------------------------------------------------
# Rounding as a person does, and the rules that give a student's marks


def significant(value: float, digits: int = DIGITS) -> str:
    """``value`` to ``digits`` significant figures, half away from zero, from its shortest decimal form."""
    d = Decimal(repr(value))
    if d == 0:
        return "0"
    r = d.quantize(Decimal(1).scaleb(d.adjusted() - digits + 1), rounding=ROUND_HALF_UP)
    if r.adjusted() > d.adjusted():                     # 0.99996 -> 1.000
        r = d.quantize(Decimal(1).scaleb(r.adjusted() - digits + 1), rounding=ROUND_HALF_UP)
    return format(r, "f")


def whole(value: float) -> str:
    r = Decimal(repr(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return "0" if r == 0 else format(r, "f")


def unit(value: float) -> Decimal:
    """One unit of the 4th significant figure of ``value``."""
    return Decimal(1).scaleb(Decimal(significant(value)).as_tuple().exponent)


def imprecise(text: str, right: float) -> bool:
    """Fewer significant figures than asked; a zero, which has none, when written coarser than the key's last
    digit."""
    d = Decimal(text)
    if d == 0:
        return d.as_tuple().exponent > unit(right).as_tuple().exponent
    return len(d.as_tuple().digits) < DIGITS


CARRIED_APART = 5      # a carried number is at least this many units from the right value
SLIP_APART = 50        # a slip is at least this many units from both the right value and the carried one


def verdict(name: str, text: str, right: float, own: float, texts: dict[str, str]) -> str:
    """The verdict of one written number, refusing (AssertionError) a construction that is not clear-cut."""
    if imprecise(text, right):
        return "imprecise"
    w, u = Decimal(text), unit(right)
    if abs(w - Decimal(repr(right))) <= u / 2:
        return "right"
    own_d = Decimal(repr(own)) if math.isfinite(own) else None
    if own_d is not None and abs(w - own_d) <= u / 2:
        assert abs(own_d - Decimal(repr(right))) >= CARRIED_APART * u, f"{name}: carried too close to right"
        assert abs(own_d) >= u / 2, f"{name}: carried value is 0, a degenerate step"
        start = name[:-1] if name.endswith("'") else None
        assert start is None or abs(own - GIVEN[start]) >= float(u), f"{name}: carried update leaves it as it was"
        return "carried"
    if name == "yhat2" and texts.get("yhat1") is not None:   # ŷ₂ = 1 − ŷ₁ of the student's own ŷ₁
        if abs(w - (1 - Decimal(texts["yhat1"]))) <= u / 2 + unit(RIGHT["yhat1"]) / 2:
            return "carried"
    assert abs(w - Decimal(repr(right))) >= SLIP_APART * u, f"{name}: slip too close to the right value"
    assert own_d is None or abs(w - own_d) >= SLIP_APART * u, f"{name}: slip too close to the carried value"
    return "slip"


def expected_marks(texts: dict[str, str | None]) -> dict[str, set[str]]:
    """Verdict -> asked quantities, for a student who wrote ``texts`` (canonical name -> number as written; None
    or absent: no number)."""
    written = {n: float(Decimal(t)) for n, t in texts.items() if t is not None and n in RIGHT}
    own = worked(GIVEN, written)
    marks = {}
    for name in ASKED:
        text = texts.get(name)
        kind = "missing" if text is None else verdict(name, text, RIGHT[name], own[name], texts)
        marks.setdefault(kind, set()).add(name)
    return marks


def points(marks: dict[str, set[str]]) -> int:
    return len(marks.get("right", ())) + len(marks.get("carried", ()))


GIVEN = given_numbers(EX.document)
RIGHT = worked(GIVEN)
KEY = {name: significant(RIGHT[name]) for name in ASKED}


def carried_chain(slips: dict[str, str]) -> dict[str, str]:
    """A student who slips at ``slips`` (name -> number written) and works every other quantity correctly from
    their own numbers, rounding each to 4 significant figures before going on. Where their own value is within
    rounding of the right one (their inputs were right) they write the key's number, so that no verdict hangs on
    how rounding carries forward."""
    texts: dict[str, str] = {}
    for name in ASKED:
        own = worked(GIVEN, {n: float(Decimal(t)) for n, t in texts.items()})[name]
        near = abs(Decimal(repr(own)) - Decimal(repr(RIGHT[name]))) < CARRIED_APART * unit(RIGHT[name])
        texts[name] = slips.get(name) or (KEY[name] if near else significant(own))
    return texts


def answers(**changes) -> dict[str, str | None]:
    """The key's numbers with ``changes`` (``dL__dw5`` for dL/dw5, ``w5_p`` for w5'; None: not written)."""
    texts: dict[str, str | None] = dict(KEY)
    texts.update({k.replace("__", "/").replace("_p", "'"): v for k, v in changes.items()})
    return texts


# ---------------------------------------------------------------------------------------------------------------
# How students write names and files


def sheet_name(name: str) -> str:
    """The name as the sheet prints it: z₁, ŷ₁, ∂L/∂w₅, w₅′."""
    sub = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
    if name.endswith("'"):
        return sheet_name(name[:-1]) + "′"
    if name.startswith("dL/d"):
        return "∂L/∂" + sheet_name(name[4:])
    return name.replace("yhat", "ŷ").translate(sub)


MIXED_NAMES = {"z1": "z₁", "a2": "a₂", "yhat1": "ŷ1", "yhat2": "yhat2", "dL/dw5": "∂L/∂w5", "dL/dw6": "dL/dw6",
               "dL/dz3": "∂L/∂z₃", "w5'": "w5'", "w6'": "w6’", "w7'": "w7+", "w8'": "w8′", "b3'": "b₃′"}


def text_file(texts, head=(), names=None, newline="\n") -> bytes:
    """``name = value`` lines (``head`` first) for every number written."""
    names = names or {}
    body = [f"{names.get(n, n)} = {t}" for n, t in texts.items() if t is not None]
    return newline.join([*head, *body]).encode() + newline.encode()


YHAT1_SLIP = significant(RIGHT["yhat1"] + 0.1)
CHAINS = {   # a slip and every later number worked from it
    "early": carried_chain({"z1": significant(RIGHT["z1"] + 1)}),
    "softmax": carried_chain({"yhat1": YHAT1_SLIP, "yhat2": format(1 - Decimal(YHAT1_SLIP), "f")}),
    "backward": carried_chain({"dL/da1": significant(-RIGHT["dL/da1"])}),        # a sign lost
    "csv_student": carried_chain({"dL/dw2": significant(RIGHT["dL/dw2"] + 0.1)}),
}

# student id -> (file name, what the student meant to write: canonical name -> number, or None for no number)
CLASS: dict[str, tuple[str, dict[str, str | None]]] = {
    "right": ("right.txt", answers()),
    "six": ("six.txt", {n: significant(RIGHT[n], 6) for n in ASKED}),
    "three": ("three.txt", answers(yhat1=significant(RIGHT["yhat1"], 3))),
    "whole": ("whole.txt", {n: whole(RIGHT[n]) for n in ASKED}),
    "zeros": ("zeros.txt", {n: "0" for n in ASKED}),
    "zeros_e9": ("zeros_e9.txt", {n: "0e9" for n in ASKED}),
    "early": ("early.txt", CHAINS["early"]),
    "late": ("late.txt", answers(w8_p=significant(RIGHT["w8'"] + 0.01))),
    "two": ("two.txt", answers(z2=significant(RIGHT["z2"] * 2), dL__dw6=significant(-RIGHT["dL/dw6"]))),
    "softmax": ("softmax.txt", CHAINS["softmax"]),
    "backward": ("backward.txt", CHAINS["backward"]),
    "sheet": ("sheet.txt", answers()),
    "mixed": ("mixed.txt", answers()),
    "commas": ("commas.txt", answers()),
    "colons": ("colons.txt", answers()),
    "bom": ("bom.txt", answers()),
    "crlf": ("crlf.txt", answers()),
    "blank": ("blank.txt", answers(dL__dw5=None)),
    "unreadable": ("unreadable.txt", answers(a1=None)),
    "typo": ("typo.txt", answers(dL__dw5=None)),
    "restated": ("restated.txt", answers()),
    "unasked": ("unasked.txt", answers()),
    "csv_student": ("csv_student.csv", CHAINS["csv_student"]),
    "toml_student": ("toml_student.toml", answers()),
    "json_student": ("json_student.json", answers()),
    "carol": ("idline.txt", answers()),
    "forward": ("forward.txt", {n: (KEY[n] if n in FORWARD else None) for n in ASKED}),
    "empty": ("empty.txt", {}),
    "dana": ("dana_a.txt", answers(b4_p=significant(RIGHT["b4'"] + 0.1))),     # the newer of dana's two
}
DANA_OLDER = ("dana_b.txt", answers())

# The totals, from the rules above by hand: what each submission should earn of 39.
TOTALS = {"right": 39, "six": 39, "three": 38, "whole": 0, "zeros": 0, "zeros_e9": 0, "early": 38, "late": 38,
          "two": 37, "softmax": 38, "backward": 38, "sheet": 39, "mixed": 39, "commas": 39, "colons": 39, "bom": 39,
          "crlf": 39, "blank": 38, "unreadable": 38, "typo": 38, "restated": 39, "unasked": 39, "csv_student": 38,
          "toml_student": 39, "json_student": 39, "carol": 39, "forward": 8, "empty": 0, "dana": 38}

# The expected marks, worked out here: student id -> verdict -> quantities.
EXPECTED = {student: expected_marks(texts) for student, (_, texts) in CLASS.items()}


def file_bytes(student: str, texts: dict[str, str | None]) -> bytes:
    """The submission as the student hands it in."""
    texts = {n: t for n, t in texts.items() if t is not None}
    if student == "sheet":
        return text_file(texts, names={n: sheet_name(n) for n in ASKED})
    if student == "mixed":
        return text_file(texts, names=MIXED_NAMES)
    if student == "commas":
        return text_file({n: t.replace(".", ",") for n, t in texts.items()})
    if student == "colons":
        return "\n".join(f"   {n}  :  {t}   " for n, t in texts.items()).encode() + b"\n"
    if student == "bom":
        return "\ufeff".encode() + text_file(texts)
    if student == "crlf":
        return text_file(texts, newline="\r\n")
    if student == "blank":
        return text_file(texts, head=["dL/dw5 ="])
    if student == "unreadable":
        return text_file(texts, head=["a1 = 0.69.4"])
    if student == "typo":
        return text_file(texts, head=["dL/dw55 = 0.1"])
    if student == "restated":
        return text_file(texts, head=[f"x1 = {GIVEN['x1']}", f"w1 = {GIVEN['w1']}"])
    if student == "unasked":
        a1 = RIGHT["a1"]
        return text_file(texts, head=[f"da1/dz1 = {significant(a1 * (1 - a1))}"])
    if student == "csv_student":
        return ("name,value\n" + "\n".join(f"{n},{t}" for n, t in texts.items())).encode() + b"\n"
    if student == "toml_student":
        return "\n".join(f'"{n}" = {t}' for n, t in texts.items()).encode() + b"\n"
    if student == "json_student":           # written by hand: json.dumps would drop the trailing zeros
        return ("{" + ", ".join(f'"{n}": {t}' for n, t in texts.items()) + "}").encode()
    if student in ("carol", "dana"):
        return text_file(texts, head=[f"id = {student}"])
    if student == "empty":
        return b""
    return text_file(texts)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Student id -> Result, and the folder graded."""
    root = tmp_path_factory.mktemp("class30")
    (root / "exercise.json").write_text(json.dumps(exercise_document(EX)))
    subs = root / "subs"
    subs.mkdir()
    for student, (name, texts) in CLASS.items():
        (subs / name).write_bytes(file_bytes(student, texts))
    (subs / DANA_OLDER[0]).write_bytes(file_bytes("dana", DANA_OLDER[1]))
    os.utime(subs / DANA_OLDER[0], (1_700_000_000, 1_700_000_000))
    os.utime(subs / CLASS["dana"][0], (1_700_000_100, 1_700_000_100))
    assert len(list(subs.iterdir())) == 30
    results = grade(load_task(root / "exercise.json"), [subs])
    return {r.student: r for r in results}, results, subs


def test_the_step_worked_here_is_the_exercise_s_step():
    """The plain-Python step agrees with the engine's derivation, so the expected marks rest on the same numbers."""
    assert set(EX.asked) == set(ASKED) and len(ASKED) == 39
    for name in ASKED:
        assert RIGHT[name] == pytest.approx(EX.derivation.values[name], rel=1e-12, abs=1e-15), name


def test_the_expected_marks_follow_from_the_rules():
    assert {s: points(m) for s, m in EXPECTED.items()} == TOTALS
    early = EXPECTED["early"]
    assert early["slip"] == {"z1"} and {"z2", "a2"} <= early["right"] and len(early["carried"]) > 30
    assert EXPECTED["softmax"]["slip"] == {"yhat1"} and "yhat2" in EXPECTED["softmax"]["carried"]
    assert EXPECTED["three"]["imprecise"] == {"yhat1"}
    assert EXPECTED["whole"] == {"imprecise": set(ASKED)} and EXPECTED["zeros"] == {"imprecise": set(ASKED)}
    kinds = {kind for marks in EXPECTED.values() for kind in marks}
    assert kinds == {"right", "carried", "slip", "imprecise", "missing"}


def test_the_class_is_graded_one_row_per_student(graded):
    by_id, results, subs = graded
    assert len(results) == 29                                 # 30 files, dana handed in twice
    assert set(by_id) == set(CLASS)
    assert [r.student for r in results] == sorted(r.student for r in results)
    assert all(not r.problem for s, r in by_id.items() if s != "empty"), \
        {s: r.problem for s, r in by_id.items() if r.problem}


VERDICT = {"agrees": "right", "carried": "carried", "slip": "slip", "imprecise": "imprecise", "missing": "missing"}


@pytest.mark.parametrize("student", list(CLASS))
def test_each_student_earns_the_marks_worked_out_here(graded, student):
    result = graded[0][student]
    expected = EXPECTED[student]
    assert result.total == TOTALS[student]
    if student == "empty" and result.problem:                 # an empty file may be reported rather than graded
        return
    assert result.possible == 39 and all(m.points == 1 for m in result.marks)
    assert len(result.marks) == 39 and {m.name for m in result.marks} == set(ASKED)
    found: dict[str, set[str]] = {}
    for m in result.marks:
        found.setdefault(VERDICT.get(m.verdict, m.verdict), set()).add(m.name)
    assert found == expected
    for m in result.marks:
        assert m.earned == (1 if VERDICT.get(m.verdict) in ("right", "carried") else 0), m


def test_what_the_students_were_told(graded):
    by_id = graded[0]
    assert by_id["carol"].source.endswith("idline.txt") and "idline" not in by_id
    assert by_id["dana"].source.endswith("dana_a.txt")                 # the newer file, though it sorts first
    assert any("dana_b.txt" in f for f in by_id["dana"].flags)
    assert any("dL/dw55" in note for note in by_id["typo"].notes)
    reasons = {s: {m.name: m.reason for m in by_id[s].marks if m.verdict == "missing"}
               for s in ("blank", "unreadable", "typo")}
    assert "blank" in reasons["blank"]["dL/dw5"].lower()
    assert "0.69.4" in reasons["unreadable"]["a1"]                     # the reason quotes what was unreadable
    assert set(reasons["typo"]) == {"dL/dw5"}
    softmax = {m.name: m.submitted for m in by_id["softmax"].marks}
    assert Decimal(softmax["yhat1"]) + Decimal(softmax["yhat2"]) == 1
