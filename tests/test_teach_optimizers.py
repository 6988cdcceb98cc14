"""Exercises of momentum, Nesterov, RMSprop and Adam, over one step or several, and their grading with error carried
forward across steps, against numbers worked out here in plain Python (``math``, dicts) and not by chainrule.

The network is the 2-2-2 of every seeded exercise (sigmoid hidden, softmax output, cross-entropy). ``worked`` runs
its steps from the exercise's given numbers: the forward pass, the gradients, then the rule's own update of every
parameter (a velocity, a mean square, Adam's two moments and their bias correction with t the step's number), each
later step from the parameters and state the step before left. Fed a student's written numbers, it gives each
quantity as that student's own earlier numbers make it (every number from the numbers before it, the student's
where written), as a hand marker carrying error forward would. A student's marks then follow from the rules of
tests/test_teach_class.py: right within half a unit of the 4th significant figure of the right value; carried within
half a unit of the value their own numbers give, far from the right one; any other number a slip.
"""

import json
import math
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import pdflatex
from test_teach_class import given_numbers, significant, unit   # the sheet's numbers; rounding as a person does

from chainrule.errors import ChainruleError
from chainrule.teach import answers_template, exercise_document, make_exercise, question_html, question_latex
from chainrule.teach import question_markdown, write_exercise
from chainrule.teach.feedback import feedback_markdown
from chainrule.teach.grade import grade, grade_values, load_task
from chainrule.teach.submission import read_submission

ROOT = Path(__file__).resolve().parent.parent
PARAMETERS = ["w1", "w2", "w3", "w4", "b1", "b2", "w5", "w6", "w7", "w8", "b3", "b4"]
DIGITS = 4


# ---------------------------------------------------------------------------------------------------------------
# The steps in plain Python


def at(name: str, step: int) -> str:
    """A quantity of a later step as chainrule names it: z1 of step 2 is z1@2; step 1 keeps the plain name."""
    return name if step == 1 else f"{name}@{step}"


def _sigmoid(z):
    return 1 / (1 + math.exp(-z))


def worked(g: dict, rule: dict, steps: int, written: dict[str, float] | None = None) -> dict[str, float]:
    """Every quantity of ``steps`` steps, each computed from the numbers before it: the student's own where
    ``written`` gives them, else the values computed here. ``rule``: the optimizer table (name and settings)."""
    written = written or {}
    own, used = {}, {}

    def put(name, value):
        own[name] = value                       # what this step gives from the numbers before it
        used[name] = written.get(name, value)   # what the next steps are computed from

    params = {p: g[p] for p in PARAMETERS}
    state: dict[str, float] = {}                # "v_w5" -> its value before the step (0 before step 1)
    eta, name = g["eta"], rule["name"]
    for k in range(1, steps + 1):
        def q(n):
            return at(n, k)
        p = params
        put(q("z1"), p["w1"] * g["x1"] + p["w2"] * g["x2"] + p["b1"])
        put(q("z2"), p["w3"] * g["x1"] + p["w4"] * g["x2"] + p["b2"])
        put(q("a1"), _sigmoid(used[q("z1")]))
        put(q("a2"), _sigmoid(used[q("z2")]))
        put(q("z3"), p["w5"] * used[q("a1")] + p["w6"] * used[q("a2")] + p["b3"])
        put(q("z4"), p["w7"] * used[q("a1")] + p["w8"] * used[q("a2")] + p["b4"])
        e3, e4 = math.exp(used[q("z3")]), math.exp(used[q("z4")])
        put(q("yhat1"), e3 / (e3 + e4))
        put(q("yhat2"), e4 / (e3 + e4))
        put(q("L"), -sum(math.log(used[q(o)]) for y, o in (("y1", "yhat1"), ("y2", "yhat2")) if g[y]))
        put(q("dL/dz3"), used[q("yhat1")] - g["y1"])          # softmax with cross-entropy: yhat - y
        put(q("dL/dz4"), used[q("yhat2")] - g["y2"])
        for w, z, a in (("w5", "z3", "a1"), ("w6", "z3", "a2"), ("w7", "z4", "a1"), ("w8", "z4", "a2")):
            put(q(f"dL/d{w}"), used[q(f"dL/d{z}")] * used[q(a)])
        put(q("dL/db3"), used[q("dL/dz3")])
        put(q("dL/db4"), used[q("dL/dz4")])
        put(q("dL/da1"), p["w5"] * used[q("dL/dz3")] + p["w7"] * used[q("dL/dz4")])
        put(q("dL/da2"), p["w6"] * used[q("dL/dz3")] + p["w8"] * used[q("dL/dz4")])
        put(q("dL/dz1"), used[q("dL/da1")] * used[q("a1")] * (1 - used[q("a1")]))
        put(q("dL/dz2"), used[q("dL/da2")] * used[q("a2")] * (1 - used[q("a2")]))
        for w, z, x in (("w1", "z1", "x1"), ("w2", "z1", "x2"), ("w3", "z2", "x1"), ("w4", "z2", "x2")):
            put(q(f"dL/d{w}"), used[q(f"dL/d{z}")] * g[x])
        put(q("dL/db1"), used[q("dL/dz1")])
        put(q("dL/db2"), used[q("dL/dz2")])
        for w in PARAMETERS:                    # a simultaneous update: each from its own gradient and state
            grad = used[q(f"dL/d{w}")]
            if name in ("momentum", "nesterov"):
                mu, of_steps = rule["momentum"], rule.get("velocity") == "steps"
                put(q(f"v_{w}"), mu * state.get(f"v_{w}", 0.0) + (eta * grad if of_steps else grad))
                v = used[q(f"v_{w}")]
                if name == "momentum":
                    change = v if of_steps else eta * v
                else:                           # Nesterov: the gradient and the look-ahead along the velocity
                    change = eta * grad + mu * v if of_steps else eta * (grad + mu * v)
                put(q(f"{w}'"), p[w] - change)
                state[f"v_{w}"] = v
            elif name == "rmsprop":
                rho = rule["rho"]
                put(q(f"s_{w}"), rho * state.get(f"s_{w}", 0.0) + (1 - rho) * grad ** 2)
                put(q(f"{w}'"), p[w] - eta * grad / (math.sqrt(used[q(f"s_{w}")]) + rule["eps"]))
                state[f"s_{w}"] = used[q(f"s_{w}")]
            else:                               # Adam, t = k: its bias correction counts this step
                b1, b2 = rule["beta1"], rule["beta2"]
                put(q(f"m_{w}"), b1 * state.get(f"m_{w}", 0.0) + (1 - b1) * grad)
                put(q(f"v_{w}"), b2 * state.get(f"v_{w}", 0.0) + (1 - b2) * grad ** 2)
                put(q(f"mhat_{w}"), used[q(f"m_{w}")] / (1 - b1 ** k))
                put(q(f"vhat_{w}"), used[q(f"v_{w}")] / (1 - b2 ** k))
                put(q(f"{w}'"), p[w] - eta * used[q(f"mhat_{w}")] / (math.sqrt(used[q(f"vhat_{w}")]) + rule["eps"]))
                state[f"m_{w}"], state[f"v_{w}"] = used[q(f"m_{w}")], used[q(f"v_{w}")]
        params = {w: used[q(f"{w}'")] for w in PARAMETERS}
    return own


# ---------------------------------------------------------------------------------------------------------------
# Rounding as a person does, and the marking rules


def verdict(name: str, text: str, right: float, own_right: float, own: float) -> str:
    """right, carried or slip, refusing (AssertionError) a construction that is not clear-cut. ``own_right``: the
    value the student's right earlier numbers give (a right number worked from rounded right ones is right: the
    audit allows the rounding they carry); ``own``: the value all the student's earlier numbers give. The unit is
    of the 4th significant figure of the right value or of the student's number, whichever is larger."""
    w = Decimal(text)
    u = max(unit(right), unit(float(text)))
    if abs(w - Decimal(repr(right))) <= u / 2 or abs(w - Decimal(repr(own_right))) <= u / 2:
        return "right"
    if abs(w - Decimal(repr(own))) <= u / 2:
        assert abs(Decimal(repr(own)) - Decimal(repr(right))) >= 5 * u, f"{name}: carried too close to right"
        return "carried"
    assert abs(w - Decimal(repr(right))) >= 50 * u and abs(w - Decimal(repr(own))) >= 50 * u, f"{name}: unclear"
    return "slip"


def student(g, rule, steps, asked, slips: dict[str, str], carry: bool = True) -> dict[str, str]:
    """What a student writes: each asked quantity in order, as their own earlier numbers make it (``carry``) or as
    the right value, rounded to 4 significant figures; ``slips`` are written as given."""
    right, texts = worked(g, rule, steps), {}
    for name in asked:
        if name in slips:
            texts[name] = slips[name]
            continue
        mine = worked(g, rule, steps, {n: float(t) for n, t in texts.items()}) if carry else right
        texts[name] = significant(mine[name])
    return texts


def expected_marks(g, rule, steps, asked, texts: dict[str, str]) -> dict[str, str]:
    """Each asked quantity's verdict, in the order the steps compute them (each judged after those before it)."""
    right, marks = worked(g, rule, steps), {}
    own = worked(g, rule, steps, {n: float(t) for n, t in texts.items()})
    for name in asked:
        rights = {n: float(texts[n]) for n, v in marks.items() if v == "right"}
        marks[name] = verdict(name, texts[name], right[name], worked(g, rule, steps, rights)[name], own[name])
    return marks


# ---------------------------------------------------------------------------------------------------------------
# The keys

MOMENTUM = {"name": "momentum", "momentum": 0.9}
ADAM = {"name": "adam", "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
RULES = {
    "momentum": MOMENTUM,
    "momentum-of-steps": {"name": "momentum", "momentum": 0.8, "velocity": "steps"},
    "nesterov": {"name": "nesterov", "momentum": 0.9},
    "rmsprop": {"name": "rmsprop", "rho": 0.9, "eps": 1e-8},
    "adam": ADAM,
    "adam-other-betas": {"name": "adam", "beta1": 0.8, "beta2": 0.99, "eps": 1e-8},
}


def with_defaults(rule: dict, ex) -> dict:
    """The rule as the exercise's spec writes it (every setting, the velocity's kind): what ``worked`` reads."""
    assert ex.document["optimizer"]["name"] == rule["name"]
    return ex.document["optimizer"]


@pytest.mark.parametrize("label", list(RULES))
@pytest.mark.parametrize("steps", [1, 2, 3])
def test_every_asked_quantity_of_every_step_is_the_hand_computation(label, steps):
    """The full step of each step, asked of each rule: the key is the hand computation to float64's rounding, and
    each answer is it rounded to 4 significant figures half away from zero."""
    rule = RULES[label]
    ex = make_exercise(seed=7, optimizer=rule, steps=steps)
    table = with_defaults(rule, ex)
    assert table == {**({"velocity": "gradients"} if rule["name"] in ("momentum", "nesterov") else {}), **rule}
    right = worked(given_numbers(ex.document), table, steps)
    per_step = 9 + 18 + 12 * (1 + len({"momentum": "v", "nesterov": "v", "rmsprop": "s", "adam": "mvMV"}[
        rule["name"]]))
    assert len(ex.asked) == per_step * steps and ex.steps == steps
    assert set(ex.asked) <= set(right)
    for name in ex.asked:
        assert ex.answers[name] == pytest.approx(right[name], rel=1e-12, abs=1e-15), name
        assert ex.answer_text(name) == significant(right[name]), name


def test_adams_bias_correction_divides_by_one_minus_beta_to_the_steps_number():
    """Adam, two steps: m̂ = m/(1 − β₁^t), v̂ = v/(1 − β₂^t) with t = 1 then 2; in step 1 m̂ is the gradient and
    v̂ its square (the moments start at 0), so each weight moves by η·(1 − ε/(|g| + ε)) against its gradient."""
    ex = make_exercise(seed=7, optimizer=ADAM, ask=["update", "dL/dw5", "dL/dw5@2"])
    assert ex.steps == 2
    g, right = given_numbers(ex.document), worked(given_numbers(ex.document), ADAM, 2)
    v = ex.answers
    assert v["mhat_w5"] == pytest.approx(v["m_w5"] / (1 - 0.9), rel=1e-12)
    assert v["mhat_w5@2"] == pytest.approx(v["m_w5@2"] / (1 - 0.9 ** 2), rel=1e-12)
    assert v["vhat_w5@2"] == pytest.approx(v["v_w5@2"] / (1 - 0.999 ** 2), rel=1e-12)
    assert v["mhat_w5"] == pytest.approx(v["dL/dw5"], rel=1e-12)
    assert v["vhat_w5"] == pytest.approx(v["dL/dw5"] ** 2, rel=1e-9)
    step = g["eta"] * abs(right["dL/dw5"]) / (abs(right["dL/dw5"]) + 1e-8)
    assert v["w5'"] == pytest.approx(g["w5"] - math.copysign(step, right["dL/dw5"]), rel=1e-12)
    assert v["w5'@2"] == pytest.approx(right["w5'@2"], rel=1e-12)


def test_the_draw_is_the_plain_exercises_and_reproducible(tmp_path):
    """The optimizer and the steps draw no numbers of their own: the same seed draws the plain exercise's networks
    (here the first makes a good exercise of both), and the same options give the same files, byte for byte."""
    plain = make_exercise(seed=10)
    adam = make_exercise(seed=10, optimizer=ADAM, steps=2)
    assert {k: v for k, v in adam.document.items() if k not in ("title", "optimizer")} == \
        {k: v for k, v in plain.document.items() if k != "title"}
    assert "optimizer" not in plain.document and "steps" not in plain.options
    assert adam.options["optimizer"] == ADAM and adam.options["steps"] == 2
    assert exercise_document(adam)["spec"]["optimizer"] == ADAM
    for out in ("a", "b"):
        write_exercise(make_exercise(seed=11, optimizer=MOMENTUM, ask=["w5+@2", "v_w5@2", "L@2"]), tmp_path / out)
    first = {p.relative_to(tmp_path / "a"): p.read_bytes() for p in (tmp_path / "a").rglob("*") if p.is_file()}
    second = {p.relative_to(tmp_path / "b"): p.read_bytes() for p in (tmp_path / "b").rglob("*") if p.is_file()}
    assert first == second and len(first) == 10


def test_ask_names_later_steps_and_words_ask_every_step_or_one():
    ex = make_exercise(seed=7, optimizer=MOMENTUM, ask=["w5+@2", "w5'", "v_w5", "update@2", "L@2", "L"])
    assert ex.steps == 2
    assert ex.asked[:4] == ["L", "v_w5", "w5'", "L@2"]
    assert ex.asked.count("w5'@2") == 1 and "v_b4@2" in ex.asked and "v_b4" not in ex.asked
    both = make_exercise(seed=7, optimizer=MOMENTUM, ask=["loss"], steps=3)
    assert both.asked == ["L", "L@2", "L@3"]
    fixed = make_exercise(seed=7, optimizer=MOMENTUM, ask=["update"], steps=2, update_biases=False)
    assert not any(name.startswith(("b", "v_b")) for name in fixed.asked) and "w1'@2" in fixed.asked


# ---------------------------------------------------------------------------------------------------------------
# The sheets and the answers template

@pytest.fixture(scope="module")
def adam_two():
    return make_exercise(seed=7, optimizer=ADAM, ask=["mhat_w5", "vhat_w5", "w5+", "m_w5@2", "mhat_w5@2",
                                                      "w5+@2", "L@2"])


def test_sheets_state_the_rule_show_each_later_quantity_and_hold_no_answer(adam_two):
    ex = adam_two
    md, html, tex = question_markdown(ex), question_html(ex), question_latex(ex)
    for sheet in (md, html, tex):
        assert "The update" in sheet
        assert not any(ex.answer_text(name) in sheet for name in ex.asked if len(ex.answer_text(name)) > 3)
    assert "${{w_{5}}'}^{(t=2)}$ = ? — type `w5'@2`" in md
    assert r"\hat{m}_{w_{5}}" in md and "type `mhat_w5`" in md
    assert r"\frac{m_{w}}{1 - \beta_{1}^{t}}" in md                   # the bias correction, as the engine's template
    assert "| $\\beta_{2}$ | 0.999 |" in md and "| $\\varepsilon$ | 1e-08 |" in md
    assert "w₅′⁽ᵗ⁼²⁾ = ? — type <code>w5&#x27;@2</code>" in html
    assert r"type \texttt{mhat\_w5@2}" in tex and "?" not in tex.split(r"\begin{document}")[1].replace(r"\;?", "")
    key = question_markdown(ex, key=True)
    later = ex.answer_text("w5'@2")
    assert f"**{later}**" in key and key.count("✅ answer:") == len(ex.asked)
    assert "Step 2: Update by Adam" in key


def test_the_answers_template_lists_names_a_student_can_type(adam_two):
    template = answers_template(adam_two)
    lines = [line for line in template.splitlines() if not line.startswith("#")]
    assert lines == ["id = ", "name = "] + [f"{name} = " for name in adam_two.asked]
    assert "# m_w5 and v_w5 are w5's moments, mhat_w5 and vhat_w5" in template
    assert "# name@2 is the quantity of step 2" in template


def test_latex_sheets_and_keys_of_optimizers_compile(tmp_path, adam_two):
    compiler = pdflatex()
    momentum = make_exercise((2, 2, 1), "tanh", "sigmoid", seed=3, batch=2, optimizer=MOMENTUM, steps=2,
                             title="Momentum & «Adam», 100%")
    for number, ex in enumerate((adam_two, momentum, make_exercise(seed=5, optimizer=RULES["rmsprop"]))):
        for key in (False, True):
            name = f"sheet{number}{'k' if key else ''}.tex"
            (tmp_path / name).write_text(question_latex(ex, key=key), encoding="utf-8")
            run = subprocess.run([compiler, "-interaction=nonstopmode", "-halt-on-error", name], cwd=tmp_path,
                                 capture_output=True, text=True, timeout=120)
            assert run.returncode == 0, run.stdout[-2000:]


# ---------------------------------------------------------------------------------------------------------------
# Reading how students write these names

def test_every_way_the_sheet_writes_a_name_reads_as_that_quantity_and_no_other(tmp_path, adam_two):
    task = load_task(_written(tmp_path, adam_two))
    names = task.names()
    lines = {
        "w₅′⁽ᵗ⁼²⁾": "w5'@2", "{w_{5}'}^{(t=2)}": "w5'@2", "w5+@2": "w5'@2",
        "m̂_w₅": "mhat_w5", "m_hat_w5": "mhat_w5", r"\hat{v}_{w_5}": "vhat_w5", "v̂_w5": "vhat_w5",
        "m_w₅⁽ᵗ⁼²⁾": "m_w5@2", "m_w5 (step 2)": "m_w5@2", "mhat_w5 [step 2]": "mhat_w5@2",
        "L (t=2)": "L@2", "w5′ (step 1)": "w5'",
    }
    for k, (written, canonical) in enumerate(lines.items()):
        path = tmp_path / f"s{k}.txt"
        path.write_text(f"id = s{k}\n{written} = 0.1234\n", encoding="utf-8")
        submission = read_submission(path, names)
        assert list(submission.values) == [canonical], (written, submission.values, submission.notes)
    # which quantity is strict: w5@2 is not w5'@2 (it is the start of step 2, fed in and not marked), the moment is
    # not its bias-corrected form, step 3 is not asked
    path = tmp_path / "strict.txt"
    path.write_text("id = x\nw5@2 = 0.1\nm_w5 = 0.2\nv_w5 = 0.3\nL@3 = 0.4\nmhat_w5 = 0.5\n", encoding="utf-8")
    submission = read_submission(path, names)
    assert list(submission.values) == ["mhat_w5"] and submission.starts == {"w5@2": Decimal("0.1")}
    assert any("L@3" in note and "not a quantity" in note for note in submission.notes)
    assert any("not asked for" in note and "m_w5" in note and "v_w5" in note for note in submission.notes)
    # the start of step 2 as the sheet prints it (w⁽ᵗ⁼²⁾ is w′ of step 1) and as people write it
    for k, written in enumerate(["w₅⁽ᵗ⁼²⁾", "w5⁽ᵗ⁼²⁾", r"{w_{5}}^{(t=2)}", "w5 (step 2)", "w5@2", "b3⁽ᵗ⁼²⁾"]):
        path = tmp_path / f"start{k}.txt"
        path.write_text(f"id = t{k}\n{written} = 0.1234\n", encoding="utf-8")
        submission = read_submission(path, names)
        start = "b3@2" if written.startswith("b3") else "w5@2"
        assert submission.starts == {start: Decimal("0.1234")} and not submission.values, written
        assert not submission.notes, (written, submission.notes)


def _written(folder: Path, ex) -> Path:
    write_exercise(ex, folder / "ex")
    return folder / "ex"


# ---------------------------------------------------------------------------------------------------------------
# Grading with error carried forward across steps

MOMENTUM_ASKED = ["dL/dw5", "v_w5", "w5'", "z3@2", "yhat1@2", "L@2", "dL/dw5@2", "v_w5@2", "w5'@2", "w6'@2"]
ADAM_ASKED = ["dL/dw5", "m_w5", "v_w5", "mhat_w5", "vhat_w5", "w5'", "dL/dw5@2", "m_w5@2", "mhat_w5@2", "w5'@2"]
# each student's file as students write it: the sheet's notation, a later step in words, a decimal comma
NOTATION = {"w5'": "w₅′", "v_w5@2": "v_w₅⁽ᵗ⁼²⁾", "w5'@2": "w5′ (step 2)", "L@2": "L@2", "mhat_w5": "m̂_w5",
            "vhat_w5": "v_hat_w5", "mhat_w5@2": "m̂_w₅ (step 2)", "m_w5@2": "m_w5@2", "w6'@2": "w6+@2"}


def _class(g, rule, asked, ex) -> dict[str, dict[str, str]]:
    right = worked(g, rule, 2)
    w5 = right["w5'"]
    sign_flipped = significant(-right[asked[1]])            # momentum's v_w5 or Adam's m_w5, the wrong way round
    return {
        "right": student(g, rule, 2, asked, {}),
        # a slip in w5' at step 1: its mark is lost; every number of step 2 worked rightly from it keeps its own
        "slip_w5": student(g, rule, 2, asked, {"w5'": significant(w5 + 0.3)}),
        # the state of step 1 the wrong way round: carried into w5' and into step 2's state
        "slip_state": student(g, rule, 2, asked, {asked[1]: sign_flipped}),
        # the same slip, but step 2 worked from the right numbers: right, not carried
        "slip_not_carried": student(g, rule, 2, asked, {"w5'": significant(w5 + 0.3)}, carry=False),
        # a slip at step 2 only
        "slip_at_step_2": student(g, rule, 2, asked, {"dL/dw5@2": significant(right["dL/dw5@2"] + 0.5)}),
    }


@pytest.mark.parametrize("rule, asked", [(MOMENTUM, MOMENTUM_ASKED), (ADAM, ADAM_ASKED)], ids=["momentum", "adam"])
def test_a_class_is_marked_as_carrying_error_forward_across_steps(tmp_path, rule, asked):
    """Five students of a two-step exercise, each marked as the rules give: a slip at step 1 costs its own mark
    only, and every number of step 2 worked rightly from it (the updated weight, the state, the next forward pass)
    keeps its mark."""
    ex = make_exercise(seed=7, optimizer=rule, ask=asked)
    assert ex.asked == asked and ex.steps == 2
    g = given_numbers(ex.document)
    folder, subs = _written(tmp_path, ex), tmp_path / "subs"
    subs.mkdir()
    written = _class(g, rule, asked, ex)
    for who, texts in written.items():
        lines = [f"id = {who}"] + [f"{NOTATION.get(n, n)} = {t.replace('.', ',') if who == 'right' else t}"
                                   for n, t in texts.items()]
        (subs / f"{who}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    results = {r.student: r for r in grade(load_task(folder), [subs])}
    words = {"agrees": "right", "carried": "carried", "slip": "slip"}
    for who, texts in written.items():
        marks = expected_marks(g, rule, 2, asked, texts)
        got = {m.name: words.get(m.verdict, m.verdict) for m in results[who].marks}
        assert got == marks, who
        assert results[who].total == sum(v != "slip" for v in marks.values()), who
        assert not results[who].notes and not results[who].flags, who
    carried = expected_marks(g, rule, 2, asked, written["slip_w5"])
    assert carried["w5'"] == "slip" and carried["w5'@2"] == "carried" and carried["dL/dw5@2"] == "carried"
    state = expected_marks(g, rule, 2, asked, written["slip_state"])
    assert state[asked[1]] == "slip" and state["w5'"] == "carried" and state[asked[7]] == "carried"
    assert set(expected_marks(g, rule, 2, asked, written["slip_not_carried"]).values()) == {"right", "slip"}
    assert list(expected_marks(g, rule, 2, asked, written["slip_at_step_2"]).values()).count("slip") == 1


def test_grade_values_without_a_file_and_missing_later_answers():
    """An answer left out of step 2 is missing, with the right value of step 2 beside it; answers of step 1 alone are
    marked without laying out step 2 (the audit runs the steps the answers name)."""
    ex = make_exercise(seed=7, optimizer=MOMENTUM, ask=MOMENTUM_ASKED)
    right = worked(given_numbers(ex.document), MOMENTUM, 2)
    values = {name: Decimal(significant(right[name])) for name in MOMENTUM_ASKED[:3]}
    result = grade_values(ex.spec, {n: 1.0 for n in ex.asked}, "s", values, "s.txt", precision=ex.precision)
    assert [m.verdict for m in result.marks] == ["agrees"] * 3 + ["missing"] * 7
    assert result.marks[-2].correct == pytest.approx(right["w5'@2"], rel=1e-12)


def test_a_carried_update_that_leaves_its_weight_as_step_2_started_it_is_flagged():
    """Degenerate at a later step: a student whose v_w5@2 is 0 (a slip) and who works w5'@2 rightly from it leaves
    w5 as step 2 started it (w5′): flagged for the teacher, not credited."""
    ex = make_exercise(seed=7, optimizer=MOMENTUM, ask=["dL/dw5", "v_w5", "w5'", "dL/dw5@2", "v_w5@2", "w5'@2"])
    g = given_numbers(ex.document)
    right = worked(g, MOMENTUM, 2)
    texts = student(g, MOMENTUM, 2, ex.asked, {"v_w5@2": "0.0000"})
    assert texts["w5'@2"] == texts["w5'"] and abs(right["w5'@2"] - right["w5'"]) > 0.01
    values = {n: Decimal(t) for n, t in texts.items()}
    result = grade_values(ex.spec, {n: 1.0 for n in ex.asked}, "s", values, "s.txt", precision=ex.precision)
    marks = {m.name: m for m in result.marks}
    assert marks["v_w5@2"].verdict == "slip"
    assert marks["w5'@2"].verdict == "degenerate" and marks["w5'@2"].earned == 0
    assert any("leave w5@2 unchanged by the update" in flag for flag in result.flags)


def test_a_later_update_is_judged_trivial_against_the_students_own_start_not_the_right_one(tmp_path):
    """Adam's first step moves w5 by η: 0.1 to 0.6000. A student whose w5′ is 0.2201 (a slip) and who works step 2
    rightly from it moves w5 from 0.2201 to 0.6000: right working that moves her weight by far more than a unit,
    though it ends where the right step 2 started. It is carried and keeps its mark, as L⁽ᵗ⁼²⁾ does."""
    ex = make_exercise(seed=11, optimizer=ADAM, ask=["w5+", "L@2", "w5+@2"])
    g, rule = given_numbers(ex.document), ex.document["optimizer"]
    right, own = worked(g, rule, 2), worked(g, rule, 2, {"w5'": 0.2201})
    texts = student(g, rule, 2, ex.asked, {"w5'": "0.2201"})
    assert texts["w5'@2"] == significant(right["w5'"]) == "0.6000"          # where the right step 2 starts
    assert abs(own["w5'@2"] - 0.2201) > 1000 * float(unit(own["w5'@2"]))   # her own update moves her weight
    assert expected_marks(g, rule, 2, ex.asked, texts) == {"w5'": "slip", "L@2": "carried", "w5'@2": "carried"}
    path = tmp_path / "deg2.txt"
    path.write_text("id = deg2\n" + "".join(f"{n} = {t}\n" for n, t in texts.items()), encoding="utf-8")
    (result,) = grade(load_task(_written(tmp_path, ex)), [path])
    assert [(m.name, m.verdict, m.earned) for m in result.marks] == [
        ("w5'", "slip", 0), ("L@2", "carried", 1), ("w5'@2", "carried", 1)]
    assert result.total == 2 and not result.flags
    text = feedback_markdown(result)
    assert "It carried into: L⁽ᵗ⁼²⁾, w₅′⁽ᵗ⁼²⁾ (right working from it, so they keep their marks)." in text
    assert "trivial" not in text


def test_feedback_says_which_carried_numbers_keep_their_marks_and_which_a_trivial_step_costs():
    """One slip (v_w5 of step 2 written 0) carried into two numbers: w5'@2, an update that leaves w5 as her step 2
    started it (degenerate: flagged, not credited), and L@3, right working from it that keeps its mark. The
    feedback says both, never "so they keep their marks" of a number that earned nothing."""
    asked = ["dL/dw5", "v_w5", "w5'", "dL/dw5@2", "v_w5@2", "w5'@2", "L@3"]
    ex = make_exercise(seed=7, optimizer=MOMENTUM, ask=asked)
    assert ex.asked == asked and ex.steps == 3
    g = given_numbers(ex.document)
    texts = student(g, MOMENTUM, 3, asked, {"v_w5@2": "0.0000"})
    assert texts["w5'@2"] == texts["w5'"]
    right, own = worked(g, MOMENTUM, 3), worked(g, MOMENTUM, 3, {n: float(t) for n, t in texts.items()})
    own_right = worked(g, MOMENTUM, 3, {n: float(texts[n]) for n in asked[:4]})      # from her right numbers
    assert abs(right["v_w5@2"]) > 0.5                                                 # 0.0000 is a slip
    for name in ("w5'@2", "L@3"):
        assert verdict(name, texts[name], right[name], own_right[name], own[name]) == "carried"
    result = grade_values(ex.spec, {n: 1.0 for n in asked}, "s", {n: Decimal(t) for n, t in texts.items()}, "s.txt",
                          precision=ex.precision)
    got = {m.name: (m.verdict, m.earned) for m in result.marks}
    assert got["w5'@2"] == ("degenerate", 0) and got["L@3"] == ("carried", 1) and result.total == 5
    text = feedback_markdown(result)
    assert "It carried into: w₅′⁽ᵗ⁼²⁾, L⁽ᵗ⁼³⁾ (right working from it)." in text
    assert "L⁽ᵗ⁼³⁾ keeps its marks, but your slip made the step of w₅′⁽ᵗ⁼²⁾ trivial, so it earns nothing." in text
    assert "so they keep their marks" not in text


# ---------------------------------------------------------------------------------------------------------------
# The start of a later step, written as the sheet names it

START_ASKED = ["w5'", "L@2", "v_w5@2", "w5'@2"]


def test_a_start_of_step_2_written_as_the_sheet_names_it_is_what_step_2_is_marked_from(tmp_path):
    """The sheet says w⁽ᵗ⁼²⁾ is w′ of step 1. A student whose w5′ is right (-0.6139) but who copies it as
    w₅⁽ᵗ⁼²⁾ = -0.5000 and works step 2 rightly from -0.5 has her step 2 carried from what she wrote (her copying
    slip is noted; it is not asked, so it costs no mark of its own). Written in place of w5′, the start is her
    w5′; written as her w5′ is, it changes nothing."""
    ex = make_exercise(seed=7, optimizer=MOMENTUM, ask=["w5+", "L@2", "v_w5@2", "w5+@2"])
    assert ex.asked == START_ASKED
    g = given_numbers(ex.document)
    right, copied = worked(g, MOMENTUM, 2), worked(g, MOMENTUM, 2, {"w5'": -0.5})
    w5 = significant(right["w5'"])
    later = {n: significant(copied[n]) for n in START_ASKED[1:]}
    assert w5 == "-0.6139" and later == {"L@2": "0.6010", "v_w5@2": "0.6636", "w5'@2": "-0.8318"}
    expected = {"w5'": "right"}
    for name, text in later.items():          # each worked rightly from her -0.5, far from the right value
        expected[name] = verdict(name, text, right[name], right[name], copied[name])
    assert expected == {"w5'": "right", "L@2": "carried", "v_w5@2": "carried", "w5'@2": "carried"}
    subs = tmp_path / "subs"
    subs.mkdir()
    files = {
        "copied": [f"w5+ = {w5}", "w5⁽ᵗ⁼²⁾ = -0.5000"] + [f"{n} = {t}" for n, t in later.items()],
        "instead": [r"w_{5}^{(t=2)} = " + w5] + [f"{n} = {significant(right[n])}" for n in START_ASKED[1:]],
        "same": [f"w5' = {w5}", f"w5 (step 2) = {w5}"] + [f"{n} = {significant(right[n])}" for n in START_ASKED[1:]],
    }
    for who, lines in files.items():
        (subs / f"{who}.txt").write_text("\n".join([f"id = {who}"] + lines) + "\n", encoding="utf-8")
    task = load_task(_written(tmp_path, ex))
    results = {r.student: r for r in grade(task, [subs])}
    words = {"agrees": "right", "carried": "carried", "slip": "slip"}
    copying = results["copied"]
    assert {m.name: words[m.verdict] for m in copying.marks} == expected and copying.total == 4
    assert copying.notes == ["your w5@2 = -0.5000 is not your w5' = -0.6139, though step 2 starts from w5': copied "
                             "wrongly? Your numbers of step 2 on are marked as worked from -0.5000."]
    assert copying.flags == ["copied: w5@2 = -0.5000 restates w5' = -0.6139 wrongly; step 2 on is marked as worked "
                             "from -0.5000"]
    assert "copied wrongly" in feedback_markdown(copying) and "-0.6139" in feedback_markdown(copying)
    assert grade(task, [subs / "copied.txt"], carried_credit=False)[0].total == 1
    instead = results["instead"]
    assert [m.verdict for m in instead.marks] == ["agrees"] * 4 and instead.marks[0].submitted == w5
    assert instead.notes == ["your w5@2 is read as your w5': step 2 starts from w5'"]
    same = results["same"]
    assert [m.verdict for m in same.marks] == ["agrees"] * 4 and not same.notes and not same.flags


def test_each_later_start_written_feeds_its_own_step_and_each_updated_weight_is_marked_on_its_own():
    """Three steps: w5@2 copied rightly, w5@3 copied wrongly. w5'@2, of step 2, is marked as she wrote it (right);
    L@3 is carried from the w5@3 she wrote, as the hand computation from that start gives it."""
    ex = make_exercise(seed=7, optimizer=MOMENTUM, ask=["w5+", "w5+@2", "L@3"])
    g = given_numbers(ex.document)
    right = worked(g, MOMENTUM, 3)
    start = float(significant(right["w5'@2"])) + 0.2
    copied = worked(g, MOMENTUM, 3, {"w5'@2": start})
    values = {"w5'": Decimal(significant(right["w5'"])), "w5'@2": Decimal(significant(right["w5'@2"])),
              "L@3": Decimal(significant(copied["L@3"]))}
    starts = {"w5@2": values["w5'"], "w5@3": Decimal(significant(start))}
    assert verdict("L@3", str(values["L@3"]), right["L@3"], right["L@3"], copied["L@3"]) == "carried"
    result = grade_values(ex.spec, {n: 1.0 for n in ex.asked}, "s", values, "s.txt", precision=ex.precision,
                          starts=starts)
    assert [(m.name, m.verdict) for m in result.marks] == [("w5'", "agrees"), ("w5'@2", "agrees"),
                                                           ("L@3", "carried")]
    assert len(result.notes) == 1 and result.notes[0].startswith(f"your w5@3 = {starts['w5@3']} is not your w5'@2")


# ---------------------------------------------------------------------------------------------------------------
# Rounding: what the sheet tells students, and what the marks then hold to

def test_every_sheet_says_to_keep_every_digit_and_round_only_what_is_written():
    """The marks are worked from unrounded numbers (only the numbers written down are fed in), so every place a
    student reads the question says so: the sheets, answers.txt and the LMS quizzes."""
    from chainrule.teach import canvas, moodle, numbas

    rule = "Work with every digit your calculator gives and round only the answers you write down"
    ex = make_exercise(seed=7, optimizer=ADAM, ask=["w5+", "L@2"])
    for text in (question_markdown(ex), question_html(ex), question_latex(ex), moodle.moodle_xml(ex),
                 moodle.cloze_xml(ex)):
        assert rule + ": numbers rounded along the way can change the last digit of a later answer." in text
    assert f"# {rule}." in answers_template(ex)
    plain = make_exercise(seed=7)                 # Numbas and Canvas take one step of gradient descent
    assert rule in numbas.exam(plain)
    assert rule in canvas.assessment(plain, "x").find(".//mattext").text


@pytest.mark.parametrize("label", ["momentum", "nesterov", "rmsprop", "adam"])
def test_a_student_who_keeps_every_digit_gets_every_mark_of_a_two_step_draw(label):
    """The sheet's rule kept, either way a student may go on: from each earlier answer as they wrote it (rounded)
    or from its unrounded value, every intermediate unrounded. Each answer is then right by the hand computation's
    rules, and the grader gives every mark: in each rule's two-step exercise of several seeds."""
    rule = RULES[label]
    for seed in (1, 2, 3, 4):
        ex = make_exercise(seed=seed, optimizer=rule, ask=["w5+", "L@2", "dL/dw5@2", "w5+@2"])
        g, table = given_numbers(ex.document), with_defaults(rule, ex)
        for carry in (True, False):
            texts = student(g, table, 2, ex.asked, {}, carry=carry)
            assert set(expected_marks(g, table, 2, ex.asked, texts).values()) == {"right"}
            result = grade_values(ex.spec, {n: 1.0 for n in ex.asked}, "s", {n: Decimal(t) for n, t in texts.items()},
                                  "s.txt", precision=ex.precision)
            assert [m.verdict for m in result.marks] == ["agrees"] * 4 and result.total == 4, (seed, carry, texts)


# ---------------------------------------------------------------------------------------------------------------
# The command line

def _run(*argv, cwd=None):
    return subprocess.run([sys.executable, "-m", "chainrule", *argv], capture_output=True, text=True, timeout=120,
                          cwd=cwd)


@pytest.mark.parametrize("argv, message", [
    (["--optimizer", "momentum", "--beta1", "0.8"], "--beta1: expected with --optimizer adam only"),
    (["--eps", "0.001"], "--eps: expected with --optimizer rmsprop or adam only"),
    (["--optimizer", "adam", "--beta2", "1"], "--beta2"),
    (["--optimizer", "momentum", "--momentum", "0"], "--momentum"),
    (["--optimizer", "nesterov", "--velocity", "fast"], "--velocity"),
    (["--steps", "4"], "--steps"),
    (["--ask", "w5+@4"], "--ask: expected a step from 1 to 3 after @"),
    (["--ask", "w5+@3", "--steps", "2"], "--ask: 'w5+@3' is of step 3, and the exercise covers steps 1 to 2"),
    (["--ask", "v_w5@0"], "--ask: expected a step from 1 to 3 after @"),
    (["--ask", "L@１"], "--ask: expected a step from 1 to 3 after @, in the digits 0-9, found 'L@１'"),   # full width
    (["--ask", "w5+@٢"], "--ask: expected a step from 1 to 3 after @, in the digits 0-9, found 'w5+@٢'"),  # Arabic 2
    (["--ask", "v_w5"], "--ask: expected forward, loss, gradients, update, full-step or the name of a quantity"),
    (["--optimizer", "momentum", "--update-order", "sequential"], "--update-order: expected simultaneous"),
    (["--optimizer", "adam", "--numbas"], "--numbas: expected an exercise of one step of gradient descent, found "
                                          "one step of adam (--optimizer)"),
    (["--steps", "2", "--numbas"], "found 2 steps (--steps)"),
    (["--optimizer", "adam", "--decimals", "3", "--ask", "v_w1"], "far below one unit of the last decimal place"),
])
def test_bad_options_exit_2_naming_the_flag_and_write_nothing(tmp_path, argv, message):
    run = _run("exercise", *argv, "--out", str(tmp_path / "o"))
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert message in run.stderr, run.stderr
    assert not (tmp_path / "o").exists()


def test_an_exercise_file_asking_a_step_in_other_digits_is_refused(tmp_path):
    """A question of step ２ (full width) is not a question of step 2, nor of step 1: the file is refused, naming the
    question, rather than graded as asking L."""
    write_exercise(make_exercise(seed=7, optimizer=MOMENTUM, ask=["L@2"]), tmp_path / "ex")
    path = tmp_path / "ex" / "teacher" / "exercise.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["questions"][0]["name"] == "L@2"
    document["questions"][0]["name"] = "L@２"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ChainruleError, match=r'questions\[1\]\.name: expected a quantity name .* found "L@２"'):
        load_task(tmp_path / "ex")


def test_help_documents_the_optimizer_and_step_options():
    text = " ".join(_run("exercise", "--help").stdout.split())
    for words in ("--optimizer {gradient_descent,momentum,nesterov,rmsprop,adam}", "--momentum", "--velocity",
                  "--rho", "--beta1", "--beta2", "--eps", "--steps", "name@k: L@2", "w5' (w5+)", "update@2",
                  "mhat_w5", "w5'@2 (w5 as step 2 left it)"):
        assert words in text, words


# ---------------------------------------------------------------------------------------------------------------
# The README's example

README = (ROOT / "README.md").read_text(encoding="utf-8")
PARAGRAPH = README[README.index("**Momentum, Adam and later steps.**"):README.index("## Put an exercise in your LMS")]


def test_the_readmes_two_step_example_runs_and_says_what_grade_says(tmp_path):
    block = re.search(r"\n\n((?:    \S.*\n)+)", PARAGRAPH)[1]
    lines = [line.strip() for line in block.splitlines()]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "chainrule").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m chainrule "$@"\n')
    (bin_dir / "chainrule").chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin"}
    outputs = []
    for line in lines:
        run = subprocess.run(["bash", "-c", line], cwd=tmp_path, env=env, capture_output=True, text=True,
                             timeout=120)
        assert run.returncode == 0, (line, run.stderr)
        outputs.append(run.stdout)
    shown = re.findall(r"`(dana: [^`]+)`", PARAGRAPH)
    assert shown and all(text in outputs[-1] for text in shown), outputs[-1]
    inline = re.findall(r"`(chainrule exercise [^`]+)`", " ".join(PARAGRAPH.split()))
    assert inline                                  # the one-step Adam exercise the paragraph names, run as written
    for command in inline:
        run = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True,
                             timeout=120)
        assert run.returncode == 0, (command, run.stderr)
    adam = json.loads((tmp_path / "adam" / "teacher" / "exercise.json").read_text(encoding="utf-8"))
    assert [q["name"] for q in adam["questions"]] == ["mhat_w5", "vhat_w5", "w5'"]
    # the numbers the paragraph quotes are the hand computation's: Dana's slip and her carried numbers
    document = json.loads((tmp_path / "momentum" / "teacher" / "exercise.json").read_text(encoding="utf-8"))
    g, rule = given_numbers(document["spec"]), document["spec"]["optimizer"]
    assert rule == {"name": "momentum", "momentum": 0.9, "velocity": "gradients"}
    right = worked(g, rule, 2)
    texts = dict(re.findall(r"^(\S+) = (\S+)$", (tmp_path / "dana.txt").read_text(), re.M))
    texts = {name.replace("+", "'"): text for name, text in texts.items() if name != "id"}
    marks = expected_marks(g, rule, 2, list(texts), texts)
    assert marks == {"w5'": "slip", "L@2": "carried", "v_w5@2": "carried", "w5'@2": "carried"}
    assert f"(-0.5000 for {significant(right[FIRST])})" in " ".join(PARAGRAPH.split())
    assert texts == student(g, rule, 2, list(texts), {FIRST: "-0.5000"})


FIRST = "w5'"
