"""A Numbas exam of an exercise: the route that keeps error carried forward in any LMS.

Numbas (numbas.org.uk) marks a later part with the student's own earlier answers put in place of the right values
("adaptive marking") and reaches Moodle, Canvas and Blackboard as a SCORM package, but the teacher must wire every
dependency by hand. chainrule knows the whole computation, so it writes that wiring for any network: every quantity
of the step is a question variable defined by its derivation step's own formula (the template turned into Numbas's
JME by the parser ``explain.latex`` uses, never typed twice), the given numbers are variables, and every asked
quantity is a number-entry part whose answer is its variable, with each asked quantity it is computed from as a
``variableReplacements`` entry (Numbas then recomputes everything between them from the student's numbers).

Numbas's own number-entry marking cannot say what ``chainrule grade`` says (its precision check accepts fewer digits,
not more; its tolerance is fixed), so each part extends it with JME notes that state chainrule's rule (the audit's
and ``grade.grade_values``'): an answer is right within half a unit of the asked digit of the right value plus the
rounding its right earlier answers carry forward (the audit's slope times each one's deviation), or carried from an
earlier slip within that plus half a unit of each wrong earlier answer, centred on the value the student's own
answers give. A carried value that makes its step trivial (0, or an update that leaves its weight as it was) earns
nothing; too few digits earn nothing, or half under the ``partial`` policy; a two-class softmax's ŷ₂ = 1 − ŷ₁ is
right working. Where Numbas cannot follow chainrule, ``DIFFERENCES`` says so.

An exercise over several steps or with another optimizer than gradient descent is refused (``supported``): its
later steps start from the parameters and optimizer state the step before left, which the wiring above does not
define. Gradescope and PrairieLearn, where chainrule's own grader runs, mark such exercises with error carried
forward.

The SCORM package is compiled by Numbas's own compiler (``numbas.py -s -z``) with a fixed clock and sorted folder
listings, so that the same exercise gives the same bytes.
"""

import hashlib
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

from ..errors import ChainruleError
from ..escape import html_text
from ..explainer.audit import SLOPE_SLACK, sensitivities
from ..explainer.latex import latex_name, parse_template, symbolic_atom, to_latex
from ..explainer.notation import format_number, unicode_name
from .exercise import Exercise
from .sheets import WORKING, convention_lines, definition_rows, given_quantities

EXAM = "numbas/exercise.exam"
SCORM = "numbas/exercise-scorm.zip"
VERSION_LINE = "// Numbas version: finer_feedback_settings\n"     # the newest: Numbas migrates nothing
COMPILER_PACKAGES = {"jinja2": "Jinja2", "html5lib": "html5lib"}       # Numbas's requirements.txt
MATHJAX = "https://cdn.jsdelivr.net/npm/mathjax@4"                    # what the LMS's page loads
DIFFERENCES = (      # where the exam's marks can differ from chainrule grade's for the same answers
    "Numbas marks a part when it is saved, with the earlier parts saved by then; a part saved before an earlier "
    "answer changes asks to be saved again.",
    "An earlier answer counts as wrong where it is more than half a unit of its last digit (the asked one, or the "
    "student's own where fewer are given) from the key; chainrule grade uses the audit's verdict of it, whose "
    "tolerance also holds the rounding carried into it.",
    "The rounding carried forward uses the audit's slopes at the key, as if every asked quantity were answered "
    "(chainrule grade: at the student's numbers, through the quantities left blank).",
    "Numbas holds an earlier answer as a number, without its trailing zeros: 0.5000 or 0.0000 counts as given to "
    "fewer digits, which widens what is accepted after it.",
    "A two-class softmax: ŷ₂ = 1 − ŷ₁ is read with the key's ŷ₁ where ŷ₁ is left blank, and ŷ₁ = 1 − ŷ₂ is not "
    "read (ŷ₂ is saved after ŷ₁).",
    "Ties within float64's rounding (1e-13 of the numbers) are not widened; exact decimal ties go to the student, "
    "as in chainrule grade. A whole number's trailing zeros are not significant figures (1200 has 2).",
)
_WORDS = {"ln": "ln", "tanh": "tanh", "max": "max"}
_SYMBOLS = {"·": "*", "−": "-", "½": "(1/2)", "+": "+", "/": "/", ",": ",", ">": ">", "^": "^", "²": "^2"}
_RESERVED = {"e", "i", "pi", "infinity", "nan", "true", "false", "exp", "ln", "log", "max", "if", "tanh", "abs"}


def files(ex: Exercise, numbas=None) -> dict[str, str | bytes]:
    """The exam (``numbas/exercise.exam``, to import in the Numbas editor) and, where Numbas's compiler is at hand
    (``numbas``, else the folder in ``CHAINRULE_NUMBAS``), its SCORM package for an LMS."""
    supported(ex)
    text = exam(ex)
    numbas = numbas or os.environ.get("CHAINRULE_NUMBAS")
    return {EXAM: text} | ({SCORM: scorm(text, numbas)} if numbas else {})


def class_files(found: dict[str, Exercise], students) -> dict[str, str]:
    """One exam per student of a roster (``numbas/ID.exam``), each of the student's own variant."""
    for ex in found.values():
        supported(ex)
    return {f"numbas/{s.id}.exam": exam(found[s.id], s.name or s.id) for s in students}


def supported(ex: Exercise) -> None:
    """Refuse an exercise the exam cannot mark as ``chainrule grade`` does: one over several steps, or with an
    optimizer's state (see the module's docstring)."""
    rule = ex.spec.optimizer.name
    if rule == "gradient_descent" and ex.steps == 1:
        return
    flag = "--steps" if rule == "gradient_descent" else "--optimizer"
    found = f"{ex.steps} steps" + ("" if rule == "gradient_descent" else f" of {rule}") if ex.steps > 1 \
        else f"one step of {rule}"
    raise ChainruleError(f"--numbas: expected an exercise of one step of gradient descent, found {found} ({flag}): "
                         "the exam's adaptive marking is wired from one step's formulas, and a later step's start "
                         "from the step before or an optimizer's state is not among them; --gradescope and "
                         "--prairielearn mark this exercise with error carried forward (Moodle and Canvas part by "
                         "part)")


def exam(ex: Exercise, student: str = "") -> str:
    """The ``.exam`` file: Numbas's version line, then the exam as JSON (``schema/exam_schema.json``)."""
    names = jme_names(ex)
    title = ex.spec.title + (f" ({student})" if student else "")
    question = {"name": title, "statement": _statement(ex), "advice": "", "tags": [], "rulesets": {},
                "extensions": [], "builtin_constants": {"e": True, "pi,\u03c0": True, "i": True},
                "constants": [], "functions": _half_unit(ex.precision), "preamble": {"js": "", "css": ""},
                "variables": _variables(ex, names), "variablesTest": {"condition": "", "maxRuns": 100},
                "ungrouped_variables": sorted(names.values()), "variable_groups": [],
                "parts": _parts(ex, names), "partsMode": "all", "maxMarks": 0, "objectives": [], "penalties": [],
                "objectiveVisibility": "always", "penaltyVisibility": "always"}
    document = {
        "name": title, "duration": 0, "percentPass": 0, "showQuestionGroupNames": False,
        "shuffleQuestionGroups": False, "showstudentname": True, "allowPrinting": True,
        "question_groups": [{"name": "", "pickingStrategy": "all-ordered", "pickQuestions": 1,
                             "questions": [question]}],
        "navigation": {"allowregen": False, "reverse": True, "browse": True, "allowsteps": False,
                       "showfrontpage": False, "preventleave": False, "typeendtoleave": False,
                       "navigatemode": "sequence", "onleave": {"action": "none", "message": ""},
                       "startpassword": "", "allowAttemptDownload": False, "downloadEncryptionKey": "",
                       "autoSubmit": False},
        "timing": {"allowPause": True, "timeout": {"action": "none", "message": ""},
                   "timedwarning": {"action": "none", "message": ""}},
        # the marks as they are earned; never a right answer: the exam is the student's
        "feedback": {"allowrevealanswer": False, "showexpectedanswerswhen": "never", "showadvicewhen": "never",
                     "showactualmarkwhen": "always", "showtotalmarkwhen": "always",
                     "showanswerstatewhen": "always", "showpartfeedbackmessageswhen": "always",
                     "intro": "", "feedbackmessages": [], "enterreviewmodeimmediately": True,
                     "results_options": {"printquestions": True, "printadvice": False}},
        "contributors": [], "extensions": [], "custom_part_types": [], "resources": [],
        "metadata": {"description": "", "licence": "None specified"},
    }
    return VERSION_LINE + json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n"


def jme_names(ex: Exercise) -> dict[str, str]:
    """chainrule's name -> its Numbas variable: lower case (Numbas ignores case), letters, digits and ``_`` only
    (``dL/dw5`` -> ``dl_dw5``, ``z1[2]`` -> ``z1_ex2``, ``w5'`` -> ``w5_new``), never a JME constant or function."""
    names, taken = {}, set()
    for name in list(ex.derivation.values) + ex.derivation.order:
        if name in names:
            continue
        base = name.lower().replace("'", "_new").replace("[", "_ex").replace("]", "")
        base = re.sub(r"[^a-z0-9_]", "_", base)
        base = base if base not in _RESERVED else f"v_{base}"
        unique, n = base, 1
        while unique in taken:
            n += 1
            unique = f"{base}_{n}"
        names[name], taken = unique, taken | {unique}
    return names


def to_jme(template: str, names: dict[str, str]) -> str:
    """A derivation step's template as JME: ``{w1}·{x1} + {b1}`` -> ``w1*x1 + b1``, ``e^({-z1})`` -> ``exp(-z1)``,
    ``[{z1} > 0]`` -> ``if(z1 > 0, 1, 0)``; of ``σ({z}) = 1/(1 + e^({-z}))`` only what follows the ``=``."""
    items = parse_template(template)
    if "=" in items:
        items = items[len(items) - items[::-1].index("="):]
    return _jme(items, names)


def _jme(items, names) -> str:
    out, operand = [], False            # operand: the last item written was a value (two in a row multiply)
    i = 0
    while i < len(items):
        item, text, value = items[i], None, True
        if isinstance(item, tuple):
            bracket, inner = item
            body = _jme(inner, names)
            text = f"if({body}, 1, 0)" if bracket == "[" and ">" in inner else f"({body})"
        elif item == "e" and i + 1 < len(items) and items[i + 1] == "^":
            text, i = f"exp({_jme(_group(items[i + 2]), names)})", i + 2
        elif item in _WORDS:
            text, i = f"{_WORDS[item]}({_jme(_group(items[i + 1]), names)})", i + 1
        elif item.startswith("{"):
            text = names[item.strip("{}-")]
            if item.startswith("{-"):
                text = f"-{text}" if i == 0 else f"(-{text})"
        elif re.fullmatch(r"\d+(\.\d+)?", item):
            text = item
        elif item in _SYMBOLS:
            text, value = _SYMBOLS[item], item in ("½", "²")
            operand = operand and item == "²"
        else:
            raise ChainruleError(f"no JME for {item!r} in the formula {''.join(map(str, items))!r}")
        if value and operand and item != "²":
            out.append("*")
        out.append(text)
        operand = value
        i += 1
    return " ".join(out).replace(" ^", "^").replace("^ ", "^").replace(" ,", ",")


def _group(item) -> list:
    """A function's argument: a bracketed group's items, or the one item."""
    return item[1] if isinstance(item, tuple) else [item]


def _number(value) -> str:
    """A JME number literal (JME reads no exponent): ``0.00012``, ``(-0.3)``."""
    text = format(Decimal(repr(float(value))), "f")
    return f"({text})" if text.startswith("-") else text


def _variables(ex: Exercise, names: dict[str, str]) -> dict:
    d = ex.derivation
    defined = {name: _number(d.values[name]) for name in given_quantities(ex)}
    defined |= {step.name: to_jme(step.template, names) for section in d.sections for step in section.steps}
    return {names[n]: {"name": names[n], "group": "Ungrouped variables", "definition": jme,
                       "description": html_text(n), "templateType": "anything", "can_override": False}
            for n, jme in defined.items()}


def _statement(ex: Exercise) -> str:
    """The exercise as the question sheet gives it: conventions, the network's formulas, the given numbers.
    ``nosubvars``: Numbas substitutes nothing into it; ``mathjax_ignore``: a title is text, never mathematics."""
    sup = ex.spec.superscript
    formulas = "".join(f"<p>\\({latex_name(n, sup)} = {to_latex(t, symbolic_atom(sup))}\\)</p>"
                       for n, t in definition_rows(ex))
    given = "".join(f"<tr><td>\\({latex_name(n, sup)}\\)</td><td>{format_number(ex.derivation.values[n])}"
                    "</td></tr>" for n in given_quantities(ex))
    conventions = "".join(f"<li>{html_text(line)}</li>" for line in convention_lines(ex))
    return (f'<div nosubvars="nosubvars"><p class="mathjax_ignore">{html_text(ex.spec.title)}</p>'
            f"<ul>{conventions}</ul><h3>The network</h3>{formulas}<h3>Given</h3>"
            f"<table><tbody>{given}</tbody></table>"
            f"<p>Give each answer to {ex.precision.describe()}; save each answer before the next: a later part "
            f"is marked with your own earlier answers. {html_text(WORKING)}</p></div>")


def _parts(ex: Exercise, names: dict[str, str]) -> list[dict]:
    d, asked = ex.derivation, ex.asked
    uses = {step.name: set(re.findall(r"\{-?([^{}]+)\}", step.template)) for s in d.sections for step in s.steps}
    path = {name: f"p{k}" for k, name in enumerate(asked)}
    slopes = _slopes(ex)
    parts = []
    for name in asked:
        earlier = [n for n in asked if n in _upstream(name, uses) or n == _complement(ex, name)]
        parts.append({
            "type": "numberentry", "useCustomName": True, "customName": unicode_name(name, ex.spec.superscript),
            "marks": 1, "scripts": {}, "showCorrectAnswer": False, "showFeedbackIcon": True,
            "prompt": f'<p nosubvars="nosubvars">\\({latex_name(name, ex.spec.superscript)} =\\)</p>',
            "minValue": names[name], "maxValue": names[name], "correctAnswerFraction": False,
            "allowFractions": False, "mustBeReduced": False, "mustBeReducedPC": 0, "displayAnswer": "",
            "precisionType": "none", "precision": 0, "precisionPartialCredit": 0, "strictPrecision": False,
            "showPrecisionHint": False, "showFractionHint": False,
            "notationStyles": ["plain", "plain-eu", "scientific"], "correctAnswerStyle": "plain",
            "customMarkingAlgorithm": _marking(ex, name, names, slopes.get(name, {})),
            "extendBaseMarkingAlgorithm": True, "unitTests": [],
            "variableReplacements": [{"variable": names[n], "part": path[n], "must_go_first": False}
                                     for n in earlier],
            "variableReplacementStrategy": "originalfirst", "adaptiveMarkingPenalty": 0,
            "adaptiveMarkingUseCondition": "true", "nextParts": [], "suggestGoingBack": False,
            "exploreObjective": None, "steps": [], "stepsPenalty": 0, "alternatives": []})
    return parts


def _upstream(name: str, uses: dict[str, set]) -> set[str]:
    """Every quantity ``name`` is computed from, directly or through others."""
    found, todo = set(), list(uses.get(name, ()))
    while todo:
        n = todo.pop()
        if n not in found:
            found.add(n)
            todo += uses.get(n, ())
    return found


def _slopes(ex: Exercise) -> dict[str, dict[str, float]]:
    """How each asked quantity moves with each asked quantity it is computed from, the others held: the audit's own
    sensitivities (central differences of the engine's pass), at the key, every asked quantity answered."""
    values = ex.derivation.values
    printed = {name: values[name] for name in ex.asked}
    size = {name: max(abs(v), float(ex.precision.unit(v))) for name, v in printed.items()}
    return sensitivities(ex.spec, ex.derivation.learning_rate, printed, size)


def _marking(ex: Exercise, name: str, names: dict[str, str], slopes: dict[str, float]) -> str:
    """JME notes extending Numbas's number-entry marking with chainrule's rule (see the module's docstring). Each
    earlier answer it is computed from gets three notes: how far it is from the key, half a unit of its last
    digit, and whether it is wrong (further than that)."""
    p, values, v = ex.precision, ex.derivation.values, names[name]
    truth, unit = values[name], p.unit(values[name])
    if p.kind == "decimals":
        enough, asked_unit = f"countdp(cleanedStudentAnswer) >= {p.digits}", _number(unit)
    else:        # the unit of the student's number at the asked digits, or of the key's, whichever is larger
        enough = f"countsigfigs(cleanedStudentAnswer) >= {p.digits}"
        asked_unit = f"max({_number(unit)}, 10^(floor(log(abs(studentNumber))) - {p.digits - 1}))"
    notes, right, carried, wrong = [], [], [], []
    for n, slope in sorted(slopes.items()):
        u, s = names[n], _number(abs(slope) * (1 + SLOPE_SLACK))      # the audit's slack on its slopes
        notes += [_note(f"{u}_off", f"How far {u} is from the key", f"abs({u} - {_number(values[n])})"),
                  _note(f"{u}_half", f"Half a unit of the last digit of {u}",
                        f"half_unit({u}, {_number(p.unit(values[n]))})"),
                  _note(f"{u}_wrong", f"{u} is wrong", f"{u}_off > {u}_half")]
        right.append(f"{s} * if({u}_wrong, 0, {u}_off)")
        carried.append(f"{s} * if({u}_wrong, {u}_half, 0)")
        wrong.append(f"{u}_wrong")
    trivial = []          # chainrule's "degenerate": where the right value is not so
    if abs(truth) >= unit / 2:
        trivial.append(f"abs({v}) < {_number(unit / 2)}")
    start = name[:-1] if name.endswith("'") else None
    if start in values and abs(truth - values[start]) >= unit / 2:
        trivial.append(f"abs({v} - {names[start]}) < {_number(unit / 2)}")
    complement = _complement(ex, name)
    alternative = (f"\n    or abs(studentNumber - (1 - {names[complement]})) <= half + "
                   f"half_unit({names[complement]}, {_number(p.unit(values[complement]))})") if complement else ""
    share = 0.5 if ex.policy == "partial" else 0
    return "\n\n".join(notes + [
        _note("enough", "The digits asked are given", enough),
        _note("half", "Half a unit of the last asked digit, or of the student's own where fewer are given",
              f"if(enough, {asked_unit}, 10^(-countdp(cleanedStudentAnswer))) / 2"),
        _note("tolerance_right", "And the rounding that right earlier answers carry forward",
              " + ".join(["half"] + right)),
        _note("tolerance_carried", "And half a unit of each wrong earlier answer: it may stand for more digits",
              " + ".join(["tolerance_right"] + carried)),
        _note("from_slip", "An earlier answer is wrong", " or ".join(wrong) or "false"),
        _note("trivial", "The student's earlier answers make this step need no working",
              " or ".join(trivial) or "false"),
        _note("numberInRange", "Right, or right working from the student's own earlier answers",
              f"if(abs(studentNumber - {_number(truth)}) <= tolerance_right\n"
              f"    or (from_slip and not trivial and abs(studentNumber - {v}) <= tolerance_carried){alternative},\n"
              "    correct(), incorrect(); end())"),
        _note("correctPrecision", "Given to the digits asked",
              f"if(enough, true, multiply_credit({share}, \"Give {p.describe()}.\"); false)")]) + "\n"


def _note(name: str, why: str, body: str) -> str:
    return f"{name} ({why}):\n    {body}"


def _half_unit(p) -> dict:
    """The question's function ``half_unit(x, key_unit)``: half a unit of the last digit of an earlier answer ``x``
    as Numbas holds it (a decimal, trailing zeros dropped), at least of the asked digit where enough are given."""
    if p.kind == "decimals":
        body = f"if(countdp(string(x)) >= {p.digits}, key_unit, 10^(-countdp(string(x)))) / 2"
    else:
        at_digits = f"10^(floor(log(abs(x))) - {p.digits - 1})"
        body = f"if(countsigfigs(string(x)) >= {p.digits}, max(key_unit, {at_digits}), 10^(-countdp(string(x)))) / 2"
    return {"half_unit": {"parameters": [["x", "decimal"], ["key_unit", "decimal"]], "type": "decimal",
                          "language": "jme", "definition": body}}


def _complement(ex: Exercise, name: str) -> str | None:
    """For ŷ₂ of a two-class softmax, ŷ₁ (asked before it) of the same example; else None."""
    last = ex.spec.layers[-1]
    if last.activation != "softmax" or len(last.activation_names) != 2:
        return None
    first, second = last.activation_names
    base, bracket, example = name.partition("[")
    earlier = first + bracket + example
    return earlier if base == second and earlier in ex.asked else None


def scorm(exam_text: str, numbas) -> bytes:
    """The exam compiled by Numbas's compiler into a SCORM package (``numbas.py -s -z``)."""
    with tempfile.TemporaryDirectory(prefix="chainrule-numbas-") as work:
        out = Path(work) / "exercise-scorm.zip"
        compile_exam(exam_text, numbas, out, "-s", "-z", "--mathjax-4-url", MATHJAX)
        return out.read_bytes()


# The compiler stamps its clock into the package (a cache-busting query, the zip's dates) and lists folders in the
# file system's order: run with the clock fixed from the exam's hash and sorted listings, it gives the same bytes.
_STEADY = """
import datetime, os, pathlib, runpy, sys
stamp, script = int(sys.argv[1]), sys.argv[2]
class Clock(datetime.datetime):
    @classmethod
    def now(cls, tz=None):
        return cls(2001, 1, 1) + datetime.timedelta(seconds=stamp)
datetime.datetime = Clock
walk, iterdir = os.walk, pathlib.Path.iterdir
def sorted_walk(*args, **kwargs):
    for top, folders, files in walk(*args, **kwargs):
        folders.sort()
        yield top, folders, sorted(files)
os.walk, pathlib.Path.iterdir = sorted_walk, lambda self: iter(sorted(iterdir(self)))
sys.argv, sys.path[0] = sys.argv[2:], os.path.dirname(script)
runpy.run_path(script, run_name="__main__")
"""


def compile_exam(exam_text: str, numbas, out, *options: str) -> None:
    """Run Numbas's compiler (``numbas/bin/numbas.py``) on the exam with ``options``, writing ``out``."""
    script = Path(numbas) / "bin" / "numbas.py"
    if not script.is_file():
        raise ChainruleError(f"{numbas}: expected Numbas's source (github.com/numbas/Numbas), with bin/numbas.py; "
                             f"found no such file")
    absent = [package for module, package in COMPILER_PACKAGES.items() if importlib.util.find_spec(module) is None]
    if absent:
        raise ChainruleError(f"compiling a Numbas exam needs the Python packages {' and '.join(absent)} (Numbas's "
                             f"requirements.txt): pip install {' '.join(absent)}")
    stamp = int(hashlib.sha256(exam_text.encode()).hexdigest(), 16) % (20 * 365 * 86400)
    with tempfile.TemporaryDirectory(prefix="chainrule-numbas-") as work:
        source = Path(work) / "exercise.exam"
        source.write_text(exam_text, encoding="utf-8")
        command = [sys.executable, "-c", _STEADY, str(stamp), str(script), "-p", str(Path(numbas)),
                   "-o", str(out), *options, str(source)]
        done = subprocess.run(command, capture_output=True, text=True, env=os.environ | {"TZ": "UTC"},
                              timeout=600)
    if done.returncode != 0:
        raise ChainruleError(f"Numbas's compiler failed on the exam: {(done.stderr or done.stdout).strip()[-600:]}")
