"""The Numbas route: every exported exam validates against Numbas's exam schema and compiles with its compiler (the
copy in ../shared/vendor/numbas, see its ORIGIN.md); in headless Chromium the compiled exam shows the exercise,
computes every quantity as chainrule does, and marks a scripted student who slips at z1 and works on correctly from
the slip, a right one and a blank one, part for part, as ``grade_values`` marks the same answers; the SCORM package
is produced, the same bytes each time, with its manifest.

Where the vendored Numbas, its Python packages (Jinja2, html5lib), MathJax (``make test`` puts it in
.venv/mathjax) or Chromium is missing, these tests skip here and fail under CI (``conftest.missing``)."""

import functools
import http.server
import importlib.util
import io
import json
import shutil
import threading
import time
import zipfile
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest

from chainrule.errors import ChainruleError
from chainrule.explainer.audit import author_pass, places_of
from chainrule.teach import make_exercise
from chainrule.teach.grade import grade_values
from chainrule.teach.numbas import EXAM, SCORM, class_files, compile_exam, exam, files, jme_names, to_jme
from chainrule.teach.precision import Precision
from chainrule.teach.roster import Student
from chainrule.teach.variants import variants
from browser import BrowserMissing, start as start_browser
from conftest import missing

ROOT = Path(__file__).resolve().parent.parent
NUMBAS = ROOT.parent / "shared" / "vendor" / "numbas"
MATHJAX = ROOT / ".venv" / "mathjax"            # the npm package's package/ folder (make test fetches it)
HOSTILE = "<b>bold</b> {z1} $5 \\(x\\) & ]]>"
EX = make_exercise((2, 2, 2), "sigmoid", "softmax", seed=7, title=HOSTILE)    # 39 asked quantities
EXERCISES = {
    "sigmoid-softmax": EX,
    "batch-of-2": make_exercise((2, 2, 1), "relu", "sigmoid", seed=3, batch=2),
    "relu-3-layers": make_exercise((2, 3, 2, 2), "relu", "softmax", seed=5),
    "decimals": make_exercise((2, 2, 1), "tanh", "identity", seed=2, precision=Precision("decimals", 3),
                              policy="partial"),
}


def numbas() -> Path:
    """The vendored Numbas, with the compiler's Python packages importable."""
    if not (NUMBAS / "bin" / "numbas.py").is_file():
        missing(f"the vendored Numbas is not in {NUMBAS}")
    absent = [m for m in ("jinja2", "html5lib") if importlib.util.find_spec(m) is None]
    if absent:
        missing(f"Numbas's compiler needs {', '.join(absent)} (make test installs them)")
    return NUMBAS


def document(ex) -> dict:
    text = exam(ex)
    head, body = text.split("\n", 1)
    assert head == "// Numbas version: finer_feedback_settings"
    return json.loads(body)


def question(ex) -> dict:
    return document(ex)["question_groups"][0]["questions"][0]


def test_templates_become_jme_with_the_same_parser():
    names = {n: n.replace("/", "_").replace("[", "_").replace("]", "") for n in
             ("z1", "a1", "w1", "x1", "b1", "z3", "z4", "y1", "yhat1", "yhat2", "dL/da1", "dL/dz1", "z1[2]")}
    assert to_jme("{w1}·{x1} + {b1}", names) == "w1 * x1 + b1"
    assert to_jme("σ({z1}) = 1/(1 + e^({-z1}))", names) == "1 / (1 + exp(-z1))"
    assert to_jme("e^({z3}) / (e^({z3}) + e^({z4}))", names) == "exp(z3) / (exp(z3) + exp(z4))"
    assert to_jme("{dL/da1}·[{z1[2]} > 0]", names) == "dL_da1 * if(z1_2 > 0, 1, 0)"
    assert to_jme("−({y1}·ln {yhat1} + (1 − {y1})·ln(1 − {yhat1}))", names) == \
        "- (y1 * ln(yhat1) + (1 - y1) * ln(1 - yhat1))"
    assert to_jme("½[({y1} − {yhat1})²]", names) == "(1/2) * ((y1 - yhat1)^2)"
    assert to_jme("(1/2)[({y1} − {yhat1})²]", names) == "(1 / 2) * ((y1 - yhat1)^2)"
    assert to_jme("{dL/da1}·{a1}·(1 − {a1})", names) == "dL_da1 * a1 * (1 - a1)"
    assert to_jme("max(0, {z1})", names) == "max(0, z1)"


def test_each_part_is_its_steps_variable_marked_adaptively_from_the_parts_it_uses():
    q, names = question(EX), jme_names(EX)
    assert len(set(names.values())) == len(names) and all(n == n.lower() for n in names.values())
    parts = {p["customName"]: p for p in q["parts"]}
    assert len(q["parts"]) == len(EX.asked) and all(p["marks"] == 1 for p in q["parts"])
    assert Decimal(q["variables"]["x1"]["definition"].strip("()")) == Decimal(repr(float(EX.derivation.values["x1"])))
    assert q["variables"][names["a1"]]["definition"] == "1 / (1 + exp(-z1))"
    a1 = parts["a₁"]
    assert a1["minValue"] == a1["maxValue"] == "a1"
    assert a1["variableReplacements"] == [{"variable": "z1", "part": "p0", "must_go_first": False}]
    assert a1["variableReplacementStrategy"] == "originalfirst"
    assert all(p["adaptiveMarkingUseCondition"] == "true" for p in q["parts"])
    used = {r["variable"] for r in parts["∂L/∂w₁"]["variableReplacements"]}
    assert {"z1", "a1", "z3", "yhat1", "dl_dz3", "dl_da1", "dl_dz1"} <= used and "w1_new" not in used
    assert "yhat1" in {r["variable"] for r in parts["ŷ₂"]["variableReplacements"]}      # ŷ₂ = 1 − ŷ₁
    # nothing that would show a student the key
    settings = document(EX)["feedback"]
    assert settings["allowrevealanswer"] is False and settings["showexpectedanswerswhen"] == "never"
    assert not any(p["showCorrectAnswer"] for p in q["parts"])


@pytest.mark.parametrize("label", EXERCISES)
def test_every_exported_exam_validates_against_the_schema_and_compiles(label, tmp_path):
    path = numbas()
    schema = json.loads((path / "schema" / "exam_schema.json").read_text(encoding="utf-8"))
    ex = EXERCISES[label]
    jsonschema.validate(document(ex), schema, cls=jsonschema.Draft202012Validator)
    compile_exam(exam(ex), path, tmp_path / "out", "-c", "--mathjax-4-url", "mathjax")
    assert (tmp_path / "out" / "index.html").is_file()
    assert json.loads((tmp_path / "out" / "source.exam").read_text(encoding="utf-8").split("\n", 1)[1]) == \
        document(ex)


def test_the_scorm_package_holds_its_manifest_and_is_the_same_bytes_each_time():
    made = files(EX, numbas())
    assert set(made) == {EXAM, SCORM} and made[EXAM] == exam(EX)
    with zipfile.ZipFile(io.BytesIO(made[SCORM])) as package:
        names = package.namelist()
        manifest = package.read("imsmanifest.xml").decode()
    assert {"imsmanifest.xml", "index.html", "source.exam"} <= set(names)
    assert "<organization" in manifest and 'href="index.html"' in manifest
    assert files(EX, NUMBAS)[SCORM] == made[SCORM]


def test_without_the_compilers_packages_the_error_names_them(monkeypatch, tmp_path):
    monkeypatch.delenv("CHAINRULE_NUMBAS", raising=False)
    script = tmp_path / "bin" / "numbas.py"
    script.parent.mkdir()
    script.write_text("")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "html5lib" else real(name, *a))
    with pytest.raises(ChainruleError, match="needs the Python packages html5lib"):
        files(EX, tmp_path)
    with pytest.raises(ChainruleError, match="expected Numbas's source"):
        files(EX, tmp_path / "elsewhere")
    assert set(files(EX)) == {EXAM}          # no compiler given: the exam, for the Numbas editor


def test_a_class_gets_one_exam_per_student_of_their_own_variant():
    students = [Student("s1", "Ann"), Student("s2", "")]
    found = variants(students, "ab" * 32, shape=(2, 2, 2), hidden="sigmoid", output="softmax")
    made = class_files(found, students)
    assert set(made) == {"numbas/s1.exam", "numbas/s2.exam"}
    for student in students:
        body = json.loads(made[f"numbas/{student.id}.exam"].split("\n", 1)[1])
        variables = body["question_groups"][0]["questions"][0]["variables"]
        assert Decimal(variables["w1"]["definition"].strip("()")) == Decimal(repr(float(found[student.id].derivation.values["w1"])))
        assert (student.name or student.id) in body["name"]


# ---- the compiled exam in headless Chromium ------------------------------------------------------------------

def early_slip(ex=EX, slip=0.25) -> dict[str, str]:
    """The scripted student: z1 wrong, every later asked quantity worked correctly from it, rounded as asked."""
    spec = ex.spec
    wrong = float(ex.answer_text("z1")) + slip
    worked = author_pass(spec, spec.learning_rate, {"z1": wrong}, places_of(spec))
    return {name: ex.precision.text(wrong if name == "z1" else worked[name]) for name in ex.asked}


def expected(values: dict[str, str], ex=EX) -> list[float]:
    """grade_values' marks for the same answers, part for part."""
    numbers = {name: Decimal(text) for name, text in values.items()}
    marks = grade_values(ex.spec, {name: 1.0 for name in ex.asked}, "student", numbers, "numbas",
                         precision=ex.precision, policy=ex.policy).marks
    assert [m.name for m in marks] == ex.asked
    return [m.earned for m in marks]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The compiled exam, MathJax beside it as ORIGIN.md says, served on 127.0.0.1."""
    path = numbas()
    if not (MATHJAX / "tex-svg.js").is_file():
        missing(f"MathJax 4 is not in {MATHJAX} (make test fetches it from the npm registry)")
    folder = tmp_path_factory.mktemp("numbas") / "exam"
    compile_exam(exam(EX), path, folder, "-c", "--mathjax-4-url", "mathjax")
    shutil.copytree(MATHJAX, folder / "mathjax")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/index.html"
    server.shutdown()


@pytest.fixture(scope="module")
def driver():
    try:
        browser = start_browser(1200, 900)
    except BrowserMissing as absent:
        missing(str(absent))
    yield browser
    browser.quit()


QUESTION = "document.querySelector('numbas-exam').exam.currentQuestion"


def open_exam(driver, url):
    driver.get(url)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if driver.execute_script("const e = document.querySelector('numbas-exam'); "
                                 "return !!(e && e.exam && e.exam.currentQuestion && e.exam.currentQuestion.display)"):
            return
        time.sleep(0.05)
    raise AssertionError("the exam did not load")


def answer(driver, values: dict[str, str]) -> list[float]:
    """Type each answer into its part's box and press Enter (which saves and marks it), in the order asked; the
    marks Numbas gives, part by part."""
    from selenium.webdriver.common.keys import Keys

    boxes = driver.execute_script("return [...document.querySelector('numbas-exam').shadowRoot"
                                  ".querySelectorAll('input.numberentry')]")
    assert len(boxes) == len(EX.asked)
    for name, box in zip(EX.asked, boxes, strict=True):
        if name in values:
            box.send_keys(values[name], Keys.ENTER)
    return driver.execute_script(f"return {QUESTION}.parts.map((p) => p.score)")


def test_the_exam_shows_the_exercise_and_computes_every_quantity_as_chainrule(served, driver):
    open_exam(driver, served)
    page = driver.execute_script("const r = document.querySelector('numbas-exam').shadowRoot; "
                                 "return [r.textContent, r.querySelectorAll('mjx-container').length, "
                                 "r.querySelectorAll('b').length]")
    assert HOSTILE in page[0] and page[1] > 20 and page[2] == 0      # the title as text; the formulas typeset
    names = jme_names(EX)
    held = driver.execute_script(f"const s = {QUESTION}.scope; "
                                 "return arguments[0].map((n) => s.getVariable(n).value)",
                                 [names[n] for n in EX.derivation.values])
    for (name, value), numbas_value in zip(EX.derivation.values.items(), held, strict=True):
        assert abs(float(numbas_value) - value) <= 1e-12 * max(1.0, abs(value)), name
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE" and "favicon" not in e["message"]]
    assert errors == []


@pytest.mark.parametrize("student", ["slips at z1 and carries it", "right", "blank"])
def test_numbas_marks_each_part_as_chainrule_grade_does(served, driver, student):
    values = {"slips at z1 and carries it": early_slip(), "right": {n: EX.answer_text(n) for n in EX.asked},
              "blank": {}}[student]
    open_exam(driver, served)
    marks = answer(driver, values)
    assert marks == expected(values)
    assert sum(marks) == {"slips at z1 and carries it": len(EX.asked) - 1, "right": len(EX.asked), "blank": 0}[student]
