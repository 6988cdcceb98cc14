"""chainrule exercise: answer keys against an independent scalar computation written here, no degenerate draws,
byte-for-byte reproducibility, LaTeX that compiles, Moodle XML that matches the key, one variant per student."""

import json
import math
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from conftest import pdflatex
from hypothesis import HealthCheck, given, settings, strategies as st

from chainrule.cli import main
from chainrule.errors import ChainruleError
from chainrule.teach import make_exercise, moodle_xml, question_latex, question_markdown, write_exercise
from chainrule.teach.exercise import degenerate, rounded, student_seed


def _act(kind, z):
    return {"sigmoid": lambda: 1 / (1 + math.exp(-z)), "tanh": lambda: math.tanh(z), "relu": lambda: max(0.0, z),
            "identity": lambda: z}[kind]()


def _act_prime(kind, z, a):
    return {"sigmoid": a * (1 - a), "tanh": 1 - a * a, "relu": 1.0 if z > 0 else 0.0, "identity": 1.0}[kind]


def scalar_step(doc):
    """One example, one gradient-descent step, scalar by scalar, for neuron-major weights and per-neuron biases.
    Returns {name: value} with the exercise's default names."""
    x, layers, eta = list(doc["inputs"]), doc["layers"], doc["learning_rate"]
    k = len(layers[-1]["weights"])
    t = [float(j == doc["targets"]) for j in range(k)] if isinstance(doc["targets"], int) else doc["targets"]
    values, acts, zs, w_names, b_names, z_names, a_names = {}, [x], [], [], [], [], []
    wc = bc = zc = ac = 0
    for number, layer in enumerate(layers):
        last = number == len(layers) - 1
        W, b, kind = layer["weights"], layer["bias"], layer["activation"]
        z = [sum(W[j][i] * acts[-1][i] for i in range(len(acts[-1]))) + b[j] for j in range(len(W))]
        w_names.append([[f"w{wc + j * len(acts[-1]) + i + 1}" for i in range(len(acts[-1]))] for j in range(len(W))])
        b_names.append([f"b{bc + j + 1}" for j in range(len(W))])
        z_names.append([f"z{zc + j + 1}" for j in range(len(W))])
        a_names.append([f"yhat{j + 1}" if last else f"a{ac + j + 1}" for j in range(len(W))])
        wc, bc, zc, ac = wc + len(W) * len(acts[-1]), bc + len(W), zc + len(W), ac + (0 if last else len(W))
        if kind == "softmax":
            m = max(z)
            e = [math.exp(v - m) for v in z]
            a = [v / sum(e) for v in e]
        else:
            a = [_act(kind, v) for v in z]
        zs.append(z)
        acts.append(a)
        values |= dict(zip(z_names[-1], z)) | dict(zip(a_names[-1], a))
    y, out, loss = acts[-1], layers[-1]["activation"], doc["loss"]
    if loss == "cross_entropy":
        values["L"] = -sum(tj * math.log(yj) for tj, yj in zip(t, y))
        delta = [yj - tj for yj, tj in zip(y, t)]
    elif loss == "binary_cross_entropy":
        values["L"] = -sum(tj * math.log(yj) + (1 - tj) * math.log(1 - yj) for tj, yj in zip(t, y))
        delta = [yj - tj for yj, tj in zip(y, t)]
    else:
        scale = 0.5 if loss == "half_squared_error" else 1 / k
        values["L"] = scale * sum((tj - yj) ** 2 for tj, yj in zip(t, y))
        values |= {f"dL/dyhat{j + 1}": 2 * scale * (yj - tj) for j, (yj, tj) in enumerate(zip(y, t))}
        delta = [2 * scale * (yj - tj) * _act_prime(out, zj, yj) for yj, tj, zj in zip(y, t, zs[-1])]
    for number in range(len(layers) - 1, -1, -1):
        W = layers[number]["weights"]
        values |= {f"dL/d{n}": d for n, d in zip(z_names[number], delta)}
        for j in range(len(W)):
            for i in range(len(acts[number])):
                g = delta[j] * acts[number][i]
                values[f"dL/d{w_names[number][j][i]}"] = g
                values[w_names[number][j][i] + "'"] = W[j][i] - eta * g
            values[f"dL/d{b_names[number][j]}"] = delta[j]
            values[b_names[number][j] + "'"] = layers[number]["bias"][j] - eta * delta[j]
        if number:
            kind = layers[number - 1]["activation"]
            up = [sum(W[j][i] * delta[j] for j in range(len(W))) for i in range(len(acts[number]))]
            values |= {f"dL/d{n}": u for n, u in zip(a_names[number - 1], up)}
            delta = [u * _act_prime(kind, z, a) for u, z, a in zip(up, zs[number - 1], acts[number])]
    return values


PAIRS = [("softmax", None), ("sigmoid", None), ("identity", None), ("tanh", None), ("sigmoid", "half_squared_error"),
         ("identity", "mean_squared_error")]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2 ** 32 - 1), widths=st.lists(st.integers(1, 3), min_size=2, max_size=4),
       hidden=st.sampled_from(["sigmoid", "tanh", "relu", "identity"]), pair=st.sampled_from(PAIRS))
def test_the_answer_key_matches_an_independent_scalar_computation(seed, widths, hidden, pair):
    output, loss = pair
    if output == "softmax" and widths[-1] == 1:
        widths = widths[:-1] + [2]
    try:
        ex = make_exercise(tuple(widths), hidden, output, loss, seed=seed)
    except ChainruleError as error:        # a network whose every draw is degenerate (a 1-wide ReLU chain, ...)
        assert "no draw of" in str(error)
        return
    expected = scalar_step(ex.document)
    assert set(ex.asked) <= set(expected) | {ex.spec.loss_name}
    for name in ex.asked:
        assert ex.derivation.values[name] == pytest.approx(expected[name], rel=1e-9, abs=1e-12), name
    assert not degenerate(ex.derivation, ex.asked, ex.digits)
    for name in ex.asked:
        assert abs(expected[name]) >= 1e-6
    for name, value in ex.derivation.values.items():
        if name.startswith(("a", "yhat")) and name[-1].isdigit() and output == "sigmoid" and name.startswith("yhat"):
            assert 0.05 <= value <= 0.95


def test_relu_inputs_are_never_exactly_zero_and_outputs_not_saturated():
    for seed in range(40):
        ex = make_exercise((3, 3, 2), "relu", "softmax", seed=seed)
        for name in ("z1", "z2", "z3"):
            assert ex.derivation.values[name] != 0
        for name in ("yhat1", "yhat2"):
            assert 0.01 <= ex.derivation.values[name] <= 0.99


def test_the_same_seed_writes_the_same_files_byte_for_byte(tmp_path):
    for folder in ("one", "two"):
        assert main(["exercise", "--seed", "7", "--shape", "2-3-2", "--out", str(tmp_path / folder)]) == 0
    names = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert names == ["exercise.json", "key.html", "key.md", "key.tex", "moodle.xml", "questions.html",
                     "questions.md", "questions.tex"]
    for name in names:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name
    assert main(["exercise", "--seed", "8", "--shape", "2-3-2", "--out", str(tmp_path / "three")]) == 0
    assert (tmp_path / "three" / "exercise.json").read_bytes() != (tmp_path / "one" / "exercise.json").read_bytes()


def test_the_question_sheet_holds_no_answer_and_the_key_marks_every_one():
    ex = make_exercise((2, 2, 2), "sigmoid", "softmax", seed=7)
    sheet, key = question_markdown(ex), question_markdown(ex, key=True)
    assert ex.answer_text("a1") not in sheet and f"**{ex.answer_text('a1')}**" in key
    assert all(c.verdict == "agrees" for c in ex.key_derivation().claims)
    assert len(ex.key_derivation().claims) == len(ex.asked) == 39
    assert key.count("✅ answer:") == len(ex.asked) and "## Audit" not in key


def test_latex_sheets_compile(tmp_path):
    compiler = pdflatex()
    ex = make_exercise((2, 3, 1), "tanh", "sigmoid", seed=3, batch=2)
    for name, text in (("q.tex", question_latex(ex)), ("k.tex", question_latex(ex, key=True))):
        (tmp_path / name).write_text(text, encoding="utf-8")
        run = subprocess.run([compiler, "-interaction=nonstopmode", "-halt-on-error", name], cwd=tmp_path,
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stdout[-2000:]


def test_moodle_xml_parses_and_matches_the_key():
    ex = make_exercise((2, 2, 2), "relu", "softmax", seed=11, ask=["gradients", "update"])
    quiz = ET.fromstring(moodle_xml(ex, category="backprop"))
    questions = [q for q in quiz.findall("question") if q.get("type") == "numerical"]
    assert quiz.find("question").get("type") == "category"
    assert len(questions) == len(ex.asked)
    for question, name in zip(questions, ex.asked):
        answer = question.find("answer")
        assert answer.get("fraction") == "100"
        value, tolerance = float(answer.find("text").text), float(answer.find("tolerance").text)
        assert abs(value - ex.derivation.values[name]) <= tolerance / 2 + 1e-15
        assert question.find("name/text").text.endswith(name)


def test_asking_for_named_quantities_and_a_batch():
    ex = make_exercise((2, 2, 1), "sigmoid", "sigmoid", seed=5, ask=["dL/dw5", "w1+"], batch=3, reduction="sum")
    assert ex.asked == ["dL/dw5", "w1'"]
    assert ex.spec.batch_size == 3 and ex.spec.reduction == "sum"
    full = make_exercise((2, 2, 1), "sigmoid", "sigmoid", seed=5, batch=2)
    assert "z1[2]" in full.asked and "dL/dw1" in full.asked and "L" in full.asked


def test_roster_gives_each_student_a_reproducible_variant(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("id\nalice\nbob\ncarol\n")
    out = tmp_path / "out"
    assert main(["exercise", "--seed", "7", "--roster", str(roster), "--out", str(out)]) == 0
    variants = json.loads((out / "variants.json").read_text())["variants"]
    assert set(variants) == {"alice", "bob", "carol"}
    assert variants["alice"]["seed"] == student_seed(7, "alice") != student_seed(7, "bob")
    assert variants["alice"]["spec"] != variants["bob"]["spec"]
    assert (out / "students" / "bob" / "questions.html").exists()
    key = (out / "key.md").read_text()
    assert all(f"## {s}" in key for s in variants)
    again = make_exercise(seed=student_seed(7, "alice"))
    assert variants["alice"]["answers"]["L"]["rounded"] == again.answer_text("L")


@pytest.mark.parametrize("argv, message", [
    (["--shape", "2-x-2"], "--shape: expected widths from 1 to 8 joined by '-'"),
    (["--ask", "dL/dw99"], "--ask: expected forward, loss, gradients, update, full-step or the name of a quantity"),
    (["--output", "softmax", "--loss", "half_squared_error", "--shape", "2-2-1"], "--shape: expected at least 2 "
     "outputs for a softmax output"),
    (["--output", "softmax", "--loss", "half_squared_error", "--shape", "2-2-3"], None),
    (["--output", "sigmoid", "--loss", "cross_entropy"], "--output/--loss: expected one of the engine's pairings"),
    (["--batch", "3", "--update-order", "sequential"], None),
    (["--roster", "ROSTER"], "row 2: expected a student id"),
])
def test_bad_exercise_options_exit_2_naming_the_flag(tmp_path, argv, message):
    roster = tmp_path / "roster.csv"
    roster.write_text("alice\nbad id!\n")
    argv = [str(roster) if a == "ROSTER" else a for a in argv]
    run = subprocess.run([sys.executable, "-m", "chainrule", "exercise", *argv, "--out", str(tmp_path / "o")],
                         capture_output=True, text=True)
    if message is None:
        assert run.returncode == 0, run.stderr
        return
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert message in run.stderr


def test_an_existing_exercise_is_replaced_only_with_force(tmp_path):
    ex = make_exercise(seed=1, ask=["forward"])
    write_exercise(ex, tmp_path)
    with pytest.raises(ChainruleError, match="exercise.json exists; give --force"):
        write_exercise(ex, tmp_path)
    write_exercise(ex, tmp_path, force=True)


@pytest.mark.parametrize("value, digits, text", [(0.54983, 4, "0.5498"), (-0.0001234567, 4, "-0.0001235"),
                                                 (0.99996, 4, "1.000"), (12.345, 3, "12.3"), (0.0, 4, "0")])
def test_answers_are_rounded_to_significant_digits(value, digits, text):
    assert rounded(value, digits) == text


@pytest.mark.parametrize("options", [
    dict(shape=(3, 3, 2), hidden="relu", output="identity", loss="mean_squared_error"),
    dict(shape=(2, 3, 2), update_order="sequential"),
    dict(shape=(2, 3, 2), update_order="sequential", batch=2),
    dict(update_biases=False, weight_layout="input_major"),
    dict(batch=3, reduction="sum", output="sigmoid", shape=(2, 2, 1)),
    dict(shape=(3, 4, 3, 2), hidden="tanh"),
    dict(output="tanh", ask=["loss", "dL/dw1", "w3+"]),
])
def test_every_option_gives_a_key_whose_answers_the_audit_accepts(options):
    ex = make_exercise(seed=3, **options)
    key = ex.key_derivation()
    assert len(key.claims) == len(ex.asked) and {c.verdict for c in key.claims} == {"agrees"}
    if not options.get("update_biases", True):
        assert not any(name.startswith("b") and name.endswith("'") for name in ex.asked)
    if options.get("weight_layout") == "input_major":
        assert ex.document["weight_layout"] == "input_major"
        assert len(ex.document["layers"][0]["weights"]) == 2     # one row per input
