"""chainrule exercise: answer keys against an independent scalar computation written here, keys the audit accepts,
no degenerate draws at the precision asked, byte-for-byte reproducibility, the student's and the teacher's folders
(nothing a student receives holds an answer, the seed or the secret), LaTeX that compiles, an HTML sheet that fits a
phone, Moodle XML that matches the key, folders never left half written, and the largest exercise in seconds."""

import json
import math
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import missing, pdflatex
from hypothesis import HealthCheck, given, settings, strategies as st

from chainrule.cli import main
from chainrule.errors import ChainruleError
from chainrule.escape import html_text
from chainrule.explainer import derive, parse_spec
from chainrule.explainer.spec import Claim
from chainrule.teach import (Precision, Student, answers_template, make_exercise, moodle_xml, question_html,
                             question_latex, question_markdown, write_exercise)
from chainrule.teach import sheets
from chainrule.teach.exercise import degenerate, exercise_document, parse_shape

STUDENT_FILES = ["answers.txt", "questions.html", "questions.md", "questions.tex"]
TEACHER_FILES = ["exercise.json", "key.html", "key.md", "key.tex", "moodle-cloze.xml", "moodle.xml"]


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
    assert not degenerate(ex.derivation, ex.asked, ex.precision)
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


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_same_seed_writes_the_same_files_byte_for_byte(tmp_path):
    for folder in ("one", "two"):
        assert main(["exercise", "--seed", "7", "--shape", "2-3-2", "--out", str(tmp_path / folder)]) == 0
    one = tree(tmp_path / "one")
    assert sorted(one) == [f"student/{n}" for n in STUDENT_FILES] + [f"teacher/{n}" for n in TEACHER_FILES]
    assert one == tree(tmp_path / "two")
    assert main(["exercise", "--seed", "8", "--shape", "2-3-2", "--out", str(tmp_path / "three")]) == 0
    assert tree(tmp_path / "three")["teacher/exercise.json"] != one["teacher/exercise.json"]
    assert not [p for p in tmp_path.rglob(".*")]          # no temporary folder or file left behind


def test_nothing_a_student_receives_holds_an_answer_the_seed_or_the_exercise_file(tmp_path):
    ex = make_exercise((2, 2, 2), "sigmoid", "softmax", seed=7)
    write_exercise(ex, tmp_path / "ex")
    handed_out = {name: text.decode() for name, text in tree(tmp_path / "ex" / "student").items()}
    assert sorted(handed_out) == STUDENT_FILES
    for name, text in handed_out.items():
        numbers = set(re.findall(r"-?\d+\.\d+", text))
        assert not numbers & {ex.answer_text(a) for a in ex.asked} - {"0.1235"}, name    # 0.1235: the form's example
        assert "seed" not in text.lower() and "Exercise 7" not in text and "exercise.json" not in text, name
    assert ex.spec.title == "Exercise: a 2-2-2 network, sigmoid hidden, softmax output, cross entropy"
    document = json.loads((tmp_path / "ex" / "teacher" / "exercise.json").read_text())
    assert document["seed"] == 7 and "seed" not in document["options"]


def test_the_answers_template_lists_every_asked_name_and_the_sheets_say_how_to_hand_in():
    ex = make_exercise((2, 2, 1), "sigmoid", "sigmoid", seed=5, batch=2, ask=["forward", "dL/dw5", "w1+"])
    template = answers_template(ex).splitlines()
    lines = [line for line in template if not line.startswith("#")]
    assert lines == ["id = ", "name = "] + [f"{name} = " for name in ex.asked]
    assert "z1[2] = " in lines and "dL/dw5 = " in lines and "w1' = " in lines
    assert all(line.isascii() for line in lines)
    assert answers_template(ex, Student("zoë", "Zoë Martin")).splitlines()[len(template) - len(lines)] == "id = zoë"
    for sheet, typed in ((question_markdown(ex), "`{}`"), (question_html(ex), "<code>{}</code>"),
                         (question_latex(ex), r"\texttt{{{}}}")):
        assert "answers.txt" in sheet and "decimal comma" in sheet
        assert "Give each answer to 4 significant figures" in sheet
        assert "Name:" in sheet and "ID:" in sheet
        escape = html_text if "<html" in sheet else sheets.tex if "documentclass" in sheet else str
        for name in ex.asked:
            assert typed.format(escape(name)) in sheet, name
    named = question_markdown(ex, student=Student("zoe", "Zoë Martin"))
    assert "**Name:** Zoë Martin **ID:** zoe" in named
    assert question_latex(ex).count(sheets.ROOM_FOR_WORKING) == len(ex.asked)


def test_the_question_sheet_holds_no_answer_and_the_key_marks_every_one():
    ex = make_exercise((2, 2, 2), "sigmoid", "softmax", seed=7)
    sheet, key = question_markdown(ex), question_markdown(ex, key=True)
    assert ex.answer_text("a1") not in sheet and f"**{ex.answer_text('a1')}**" in key
    assert all(c.verdict == "agrees" for c in ex.key_derivation().claims)
    assert len(ex.key_derivation().claims) == len(ex.asked) == 39
    assert key.count("✅ answer:") == len(ex.asked) and "## Audit" not in key


def test_latex_sheets_and_keys_compile(tmp_path):
    compiler = pdflatex()
    ex = make_exercise((2, 3, 1), "tanh", "sigmoid", seed=3, batch=2, title="Week 3: «backprop» & 100% effort")
    student = Student("zoë-2", "Þórdís O'Brien_渡辺 {x} $5 #1", "t@example.org")
    for name, text in (("q.tex", question_latex(ex)), ("k.tex", question_latex(ex, key=True)),
                       ("qs.tex", question_latex(ex, student=student)),
                       ("ks.tex", question_latex(ex, key=True, student=student))):
        (tmp_path / name).write_text(text, encoding="utf-8")
        run = subprocess.run([compiler, "-interaction=nonstopmode", "-halt-on-error", name], cwd=tmp_path,
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stdout[-2000:]


def test_the_html_sheet_fits_a_phone(tmp_path):
    from browser import BrowserMissing, start

    try:
        driver = start(420, 900)
    except BrowserMissing as absent:
        missing(str(absent))
    try:
        pages = {"small": question_html(make_exercise((2, 2, 2), seed=7)),
                 "wide": question_html(make_exercise((4, 8, 3), "tanh", "softmax", seed=2, batch=3),
                                       student=Student("s1", "A" * 60 + " very-long-name-without-any-space" * 3))}
        for name, html in pages.items():
            page = tmp_path / f"{name}.html"
            page.write_text(html, encoding="utf-8")
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": 420, "height": 900,
                                                                          "deviceScaleFactor": 1, "mobile": True})
            driver.get(page.as_uri())
            assert driver.execute_script("return document.documentElement.scrollWidth") <= 420, name
            assert driver.execute_script("return document.querySelector('svg').getBoundingClientRect().width") <= 420
    finally:
        driver.quit()


def test_moodle_xml_parses_and_matches_the_key():
    ex = make_exercise((2, 2, 2), "relu", "softmax", seed=11, ask=["gradients", "update"])
    quiz = ET.fromstring(moodle_xml(ex, category="backprop"))
    questions = [q for q in quiz.findall("question") if q.get("type") == "numerical"]
    assert quiz.find("question").get("type") == "category"
    assert len(questions) == len(ex.asked)
    for question, name in zip(questions, ex.asked):
        key, exact = question.findall("answer")[:2]             # the key as shown, then the value within half a unit
        assert key.get("fraction") == exact.get("fraction") == "100"
        assert key.find("text").text == ex.answer_text(name) and Decimal(key.find("tolerance").text) == 0
        unit = ex.precision.unit(ex.derivation.values[name])    # one unit of the key's last digit
        assert Decimal(exact.find("tolerance").text) == unit / 2
        assert abs(float(exact.find("text").text) - ex.derivation.values[name]) <= 1e-12
        assert question.find("name/text").text.endswith(name)
        assert "to 4 significant figures" in question.find("questiontext/text").text


def test_asking_for_named_quantities_and_a_batch():
    ex = make_exercise((2, 2, 1), "sigmoid", "sigmoid", seed=5, ask=["dL/dw5", "w1+"], batch=3, reduction="sum")
    assert ex.asked == ["dL/dw5", "w1'"]
    assert ex.spec.batch_size == 3 and ex.spec.reduction == "sum"
    full = make_exercise((2, 2, 1), "sigmoid", "sigmoid", seed=5, batch=2)
    assert "z1[2]" in full.asked and "dL/dw1" in full.asked and "L" in full.asked


def test_decimal_places_the_policy_and_the_exercise_file():
    ex = make_exercise((2, 2, 2), seed=7, precision=Precision("decimals", 3), policy="partial")
    assert all(len(ex.answer_text(n).split(".")[1]) == 3 for n in ex.asked)
    assert all(ex.tolerance(n) == 0.001 for n in ex.asked)
    assert "Give each answer to 3 decimal places." in question_markdown(ex)
    document = exercise_document(ex)
    assert document["version"] == 2 and document["precision"] == {"kind": "decimals", "digits": 3}
    assert document["precision_policy"] == "partial"
    assert document["questions"][0] == {"name": "z1", "points": 1}
    assert document["answers"]["z1"] == {"value": ex.derivation.values["z1"], "rounded": ex.answer_text("z1"),
                                         "tolerance": 0.001}
    assert "digits" not in document["options"]


def test_answers_round_half_away_from_zero_from_the_shortest_decimal():
    ex = make_exercise((2, 2, 2), seed=7, precision=Precision("significant", 2))
    value = ex.derivation.values["z1"]                       # 0.82, whose float is a hair below 0.82
    assert ex.answer_text("z1") == Precision("significant", 2).text(value) == "0.82"
    assert Precision("significant", 1).text(0.05) == "0.05" and Precision("significant", 2).text(0.0595) == "0.060"


def test_a_quantity_that_rounds_to_zero_at_the_precision_asked_is_degenerate():
    ex = make_exercise((2, 2, 2), seed=7)
    smallest = min(ex.asked, key=lambda n: abs(ex.derivation.values[n]))
    size = abs(ex.derivation.values[smallest])
    places = next(p for p in range(1, 9) if Precision("decimals", p).rounded(size) != 0)
    assert not degenerate(ex.derivation, ex.asked, Precision("decimals", places))
    if places > 1:
        assert degenerate(ex.derivation, ex.asked, Precision("decimals", places - 1))
    coarse = make_exercise((2, 2, 2), seed=7, precision=Precision("decimals", 2), ask=["forward", "loss"])
    assert all(Decimal(coarse.answer_text(n)) != 0 for n in coarse.asked)


def test_roster_gives_each_student_a_reproducible_variant(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("id\nalice\nbob\ncarol\n")
    out = tmp_path / "out"
    assert main(["exercise", "--roster", str(roster), "--out", str(out)]) == 0
    document = json.loads((out / "teacher" / "variants.json").read_text())
    variants = document["variants"]
    assert set(variants) == {"alice", "bob", "carol"} and re.fullmatch(r"[0-9a-f]{64}", document["secret"])
    assert variants["alice"]["spec"] != variants["bob"]["spec"] and "seed" not in variants["alice"]
    assert (out / "students" / "bob" / "questions.html").exists()
    key = (out / "teacher" / "key.md").read_text()
    assert all(f"## {s}" in key for s in variants)
    again = tmp_path / "again"
    assert main(["exercise", "--roster", str(roster), "--secret", document["secret"], "--out", str(again)]) == 0
    assert tree(again) == tree(out)


@pytest.mark.parametrize("argv, message", [
    (["--shape", "2-x-2"], "--shape: expected widths from 1 to 8 joined by '-'"),
    (["--shape", "2-²-2"], "--shape: expected widths from 1 to 8 joined by '-'"),
    (["--shape", "2-٣-2"], "--shape: expected widths from 1 to 8 joined by '-'"),
    (["--shape", "2-2-2-2-2-2-2"], "--shape: expected widths from 1 to 8"),
    (["--ask", "dL/dw99"], "--ask: expected forward, loss, gradients, update, full-step or the name of a quantity"),
    (["--ask", "x1"], "--ask: expected forward"),
    (["--output", "softmax", "--loss", "half_squared_error", "--shape", "2-2-1"], "--shape: expected at least 2 "
     "outputs for a softmax output"),
    (["--output", "softmax", "--loss", "half_squared_error", "--shape", "2-2-3"], None),
    (["--output", "sigmoid", "--loss", "cross_entropy"], "--output/--loss: expected one of the engine's pairings"),
    (["--batch", "3", "--update-order", "sequential"], None),
    (["--roster", "ROSTER"], "row 2, column 1: expected a student id"),
    (["--digits", "3", "--decimals", "2"], "not allowed with argument"),
    (["--digits", "1"], "--digits"),
    (["--decimals", "9"], "--decimals"),
    (["--decimals", "3", "--precision-policy", "partial", "--ask", "forward"], None),
    (["--precision-policy", "lenient"], "--precision-policy"),
    (["--secret", "ab" * 32], "--secret: expected with --roster only"),
    (["--roster", "ROSTER_OK", "--secret", "xyz"], "--secret: expected the class secret, 64 hexadecimal digits"),
    (["--roster", "ROSTER_OK", "--seed", "3"], "--seed: a class's variants are drawn from its secret"),
    (["--title", "a\x1b[31mred"], "--title: expected at most 200 characters without control characters"),
    (["--roster", "PIPE"], "expected a roster file (CSV), found a named pipe"),
])
def test_bad_exercise_options_exit_2_naming_the_flag(tmp_path, argv, message):
    roster, good, pipe = tmp_path / "roster.csv", tmp_path / "good.csv", tmp_path / "pipe.csv"
    roster.write_text("alice\nbad id!\n")
    good.write_text("alice\n")
    os.mkfifo(pipe)                # a FIFO never blocks: it is refused before it is opened
    names = {"ROSTER": roster, "ROSTER_OK": good, "PIPE": pipe}
    argv = [str(names.get(a, a)) for a in argv]
    run = subprocess.run([sys.executable, "-m", "chainrule", "exercise", *argv, "--out", str(tmp_path / "o")],
                         capture_output=True, text=True, timeout=60)
    if message is None:
        assert run.returncode == 0, run.stderr
        return
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert message in run.stderr
    assert "\x1b" not in run.stderr + run.stdout
    assert not (tmp_path / "o").exists()


def test_help_says_what_each_precision_policy_does():
    run = subprocess.run([sys.executable, "-m", "chainrule", "exercise", "--help"], capture_output=True, text=True)
    text = " ".join(run.stdout.split())
    assert "strict: it earns nothing; partial: half its points when its value agrees" in text
    assert "significant figures of the answers (default: 4)" in text and "--decimals" in text


def test_an_existing_exercise_is_replaced_only_with_force(tmp_path):
    ex = make_exercise(seed=1, ask=["forward"])
    write_exercise(ex, tmp_path)
    with pytest.raises(ChainruleError, match="student exists; give --force"):
        write_exercise(ex, tmp_path)
    (tmp_path / "teacher" / "stale.txt").write_text("old")
    (tmp_path / "mine.txt").write_text("the teacher's own")
    write_exercise(make_exercise(seed=2, ask=["forward"]), tmp_path, force=True)
    assert not (tmp_path / "teacher" / "stale.txt").exists()       # chainrule's folders are replaced whole
    assert (tmp_path / "mine.txt").read_text() == "the teacher's own"
    assert json.loads((tmp_path / "teacher" / "exercise.json").read_text())["seed"] == 2
    killed = tmp_path / ".chainrule-999999999-abc" / "teacher"       # the work folder of a run that was killed
    killed.mkdir(parents=True)
    write_exercise(ex, tmp_path, force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt", "student", "teacher"]


def test_a_failure_in_the_last_render_leaves_the_old_folder_as_it_was(tmp_path, monkeypatch):
    from chainrule.teach import publish as exercise_module      # where the folder's files are made

    write_exercise(make_exercise(seed=1, ask=["forward"]), tmp_path / "ex")
    before = tree(tmp_path / "ex")

    def broken(*args, **kwargs):
        raise ChainruleError("the last file failed")
    monkeypatch.setattr(exercise_module, "exercise_document", broken)   # teacher/exercise.json: after student/
    with pytest.raises(ChainruleError, match="the last file failed"):
        write_exercise(make_exercise(seed=2, ask=["forward"]), tmp_path / "ex", force=True)
    assert tree(tmp_path / "ex") == before
    assert [p.name for p in (tmp_path / "ex").iterdir()] == ["student", "teacher"] or \
        sorted(p.name for p in (tmp_path / "ex").iterdir()) == ["student", "teacher"]
    with pytest.raises(ChainruleError, match="the last file failed"):
        write_exercise(make_exercise(seed=2, ask=["forward"]), tmp_path / "new")
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("planted", ["student", "teacher"])
@pytest.mark.parametrize("force", [False, True])
def test_a_planted_link_is_never_written_through(tmp_path, planted, force):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("untouched")
    out = tmp_path / "ex"
    out.mkdir()
    (out / planted).symlink_to(elsewhere, target_is_directory=True)
    argv = ["exercise", "--ask", "forward", "--out", str(out)] + (["--force"] if force else [])
    assert main(argv) == 2
    assert sorted(p.name for p in elsewhere.iterdir()) == ["keep.txt"]
    assert (out / planted).is_symlink() and not [p for p in out.iterdir() if p.name.startswith(".")]


def test_the_largest_exercise_within_the_limits_is_made(tmp_path):
    """The largest network and batch --shape and --batch allow: 4825 asked quantities. The key is not audited (two
    passes of the network per claim would take most of an hour); it is made in seconds."""
    assert main(["exercise", "--shape", "8-8-8-8-8-8", "--batch", "8", "--out", str(tmp_path / "big")]) == 0
    asked = json.loads((tmp_path / "big" / "teacher" / "exercise.json").read_text())["questions"]
    assert len(asked) == 4825 and parse_shape("8-8-8-8-8-8") == (8,) * 6


def audited(ex):
    """The key's answers put through the real audit (each claimed at its rounded answer)."""
    spec = parse_spec(ex.document, "key")
    spec.claims = [Claim(n, float(ex.precision.rounded(ex.derivation.values[n])),
                         ex.precision.rounded(ex.derivation.values[n])) for n in ex.asked]
    spec.claims_source = "answer"
    return derive(spec)


@pytest.mark.parametrize("options", [
    dict(shape=(3, 3, 2), hidden="relu", output="identity", loss="mean_squared_error"),
    dict(shape=(2, 3, 2), update_order="sequential"),
    dict(shape=(2, 3, 2), update_order="sequential", batch=2),
    dict(update_biases=False, weight_layout="input_major"),
    dict(batch=3, reduction="sum", output="sigmoid", shape=(2, 2, 1)),
    dict(shape=(3, 4, 3, 2), hidden="tanh"),
    dict(output="tanh", ask=["loss", "dL/dw1", "w3+"]),
    dict(precision=Precision("decimals", 3), shape=(2, 2, 1), output="sigmoid"),
    dict(precision=Precision("significant", 2)),
])
def test_every_option_gives_a_key_whose_answers_the_audit_accepts(options):
    """The key marks its answers as agreeing without auditing them; the real audit agrees with every one."""
    ex = make_exercise(seed=3, **options)
    key, audit = ex.key_derivation(), audited(ex)
    assert len(key.claims) == len(ex.asked) and {c.verdict for c in key.claims} == {"agrees"}
    assert sorted((c.name, c.claimed_text, c.verdict) for c in audit.claims) == \
        sorted((c.name, c.claimed_text, c.verdict) for c in key.claims)       # in causal order, the audit's
    if not options.get("update_biases", True):
        assert not any(name.startswith("b") and name.endswith("'") for name in ex.asked)
    if options.get("weight_layout") == "input_major":
        assert ex.document["weight_layout"] == "input_major"
        assert len(ex.document["layers"][0]["weights"]) == 2     # one row per input
