"""Every shipped example in every format; LaTeX compiled by pdflatex; HTML loaded in headless Chromium."""

import json
import os
import re
import shutil
import subprocess

import pytest
from browser import BrowserMissing, start as start_browser
from conftest import missing, pdflatex

from chainrule.explainer import RENDERERS, derive, examples, load_spec, example_path

EXAMPLES = examples()


def test_three_examples_ship():
    assert {"seed_article", "step_by_step_sigmoid", "relu_student"} <= set(EXAMPLES)


@pytest.mark.parametrize("name", EXAMPLES)
@pytest.mark.parametrize("fmt", sorted(RENDERERS))
def test_every_example_renders_in_every_format(name, fmt):
    d = derive(load_spec(example_path(name)))
    text = RENDERERS[fmt](d)
    assert len(text) > 500
    if fmt == "json":
        document = json.loads(text)
        # every quantity but the updated parameters of step 1, which are "updated" (a later step's are quantities)
        assert set(document["quantities"]) >= {step.name for s in d.sections for step in s.steps} - set(d.updated) \
            - {f"{name}'" for name in d.updated}
    elif fmt == "markdown":
        assert text.count("$$") >= 2 * sum(len(s.steps) for s in d.sections) and "## Audit" in text
    elif fmt == "latex":
        assert text.startswith(r"\documentclass") and text.rstrip().endswith(r"\end{document}")
        assert text.count(r"\begin{align*}") == text.count(r"\end{align*}") == len(d.sections) + 1
    elif fmt == "html":
        assert "<math" in text and "<svg" in text and 'class="badge' in text
        assert not re.search(r"(src|href)=\"https?:", text) and "<script" not in text    # self-contained
    else:
        assert "Forward pass" in text


@pytest.mark.parametrize("name", EXAMPLES)
def test_latex_compiles(name, tmp_path):
    compiler = pdflatex()
    (tmp_path / "explain.tex").write_text(RENDERERS["latex"](derive(load_spec(example_path(name)))))
    result = subprocess.run([compiler, "-interaction=nonstopmode", "-halt-on-error", "explain.tex"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:]
    assert (tmp_path / "explain.pdf").stat().st_size > 10_000


def browser():
    try:
        return start_browser(1200, 1600)
    except BrowserMissing as absent:
        missing(str(absent))


def test_html_in_a_real_browser(tmp_path):
    from selenium.webdriver.common.by import By

    page = tmp_path / "article.html"
    page.write_text(RENDERERS["html"](derive(load_spec(example_path("seed_article")))), encoding="utf-8")
    driver = browser()
    try:
        driver.get(page.as_uri())
        body = driver.find_element(By.TAG_NAME, "body").text
        for expected in ["0.157444", "0.185", "SLIP", "carried from an earlier slip", "First slip", "0.567148"]:
            assert expected in body, expected
        assert len(driver.find_elements(By.TAG_NAME, "math")) > 50
        slip = driver.find_element(By.CSS_SELECTOR, '.step.slip[data-name="z4"]')
        assert slip.is_displayed() and "SLIP" in slip.text
        svg = driver.find_element(By.TAG_NAME, "svg")
        assert svg.size["width"] > 400 and svg.size["height"] > 200
        mathml_height = driver.execute_script(
            "return document.querySelector('.step math').getBoundingClientRect().height")
        assert mathml_height > 10                         # MathML laid out by the browser, not raw text
        errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        assert errors == []
        assert driver.save_screenshot(str(tmp_path / "article.png"))
        assert (tmp_path / "article.png").stat().st_size > 20_000
    finally:
        driver.quit()


def test_wide_layers_switch_to_matrix_form_and_model_examples_explain(tmp_path):
    import numpy as np

    import chainrule as cr
    from chainrule.explainer.from_model import spec_from_network

    data = cr.datasets.load("iris")
    net = cr.mlp([4, 12, 3], activation="tanh", seed=0)
    net.fit(data.X, data.y, epochs=5, standardize=True, verbose=0)
    spec = spec_from_network(net, data.X[60], int(data.y[60]), 0.1, "iris example 60")
    d = derive(spec)
    np.testing.assert_allclose([d.values[n] for n in spec.layers[-1].activation_names],
                               net.predict_proba(data.X[60])[0], rtol=1e-5)      # the model's own prediction
    text = RENDERERS["text"](d)
    assert "z⁽¹⁾ = W⁽¹⁾·x + b⁽¹⁾   W⁽¹⁾: (12 × 4), x: (4), z⁽¹⁾: (12)" in text
    assert "δ⁽¹⁾ = ∂L/∂a⁽¹⁾ ⊙ tanh′(z⁽¹⁾)" in text and "…" in text
    assert "z₁ = " not in text                                                  # no scalar lines for wide layers
    for fmt in ("markdown", "html", "latex", "json"):
        assert len(RENDERERS[fmt](d)) > 500
    if shutil.which("pdflatex") or os.environ.get("CI"):     # under CI make test installs it: never silently off
        (tmp_path / "m.tex").write_text(RENDERERS["latex"](d))
        assert subprocess.run([pdflatex(), "-interaction=nonstopmode", "-halt-on-error", "m.tex"], cwd=tmp_path,
                              capture_output=True, timeout=120).returncode == 0


THREE_LAYERS = {"title": "three layers", "inputs": {"x1": 0.5, "x2": -1.0}, "targets": {"y1": 0, "y2": 1},
                "loss": "cross_entropy", "learning_rate": 0.1, "layers": [
                    {"weights": [[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6]], "bias": [0.1, 0.2, 0.3],
                     "activation": "sigmoid"},
                    {"weights": [[0.2, -0.1, 0.3], [-0.4, 0.5, 0.1], [0.6, -0.3, -0.2]], "bias": [0.0, 0.1, -0.1],
                     "activation": "tanh"},
                    {"weights": [[0.7, -0.6, 0.2], [-0.3, 0.4, 0.5]], "bias": [0.05, -0.05], "activation": "softmax"}]}
# 0.1 * 3 + (-0.3) * 1 is 5.55e-17 in floating point: zero but for rounding
ROUNDING = {"inputs": {"x1": 3.0, "x2": 1.0}, "targets": {"y1": 1}, "loss": "binary_cross_entropy",
            "learning_rate": 0.1, "layers": [{"weights": [[0.1, -0.3]], "bias": [0.0], "activation": "sigmoid"}]}

OVERLAPS = """
const boxes = (css) => [...document.querySelectorAll(css)].map((e) => [e, e.getBoundingClientRect()]);
const meet = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
const labels = boxes('svg .edge-label, svg text.values, svg text.bias');
const circles = boxes('svg circle');
const found = [];
labels.forEach(([e, a], k) => {
  labels.slice(k + 1).forEach(([f, b]) => { if (meet(a, b)) found.push(e.textContent + ' | ' + f.textContent); });
  circles.forEach(([f, b]) => { if (meet(a, b)) found.push(e.textContent + ' | circle'); });
});
return [found, labels.length];
"""


def _page(tmp_path, source, name):
    import chainrule as cr
    page = tmp_path / f"{name}.html"
    page.write_text(cr.explain(source).to_html(), encoding="utf-8")
    return page.as_uri()


def _width(driver, width):
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": width, "height": 900,
                                                                  "deviceScaleFactor": 1, "mobile": width < 600})


def test_html_fits_a_phone_and_a_projector_and_labels_never_overlap(tmp_path):
    pages = {name: _page(tmp_path, name, name) for name in EXAMPLES}
    pages["three layers"] = _page(tmp_path, THREE_LAYERS, "three")
    driver = browser()
    try:
        for name, uri in pages.items():
            for width in (420, 1100):
                _width(driver, width)
                driver.get(uri)
                sideways = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
                assert sideways[0] <= sideways[1], (name, width, sideways)
                svg = driver.execute_script("const r = document.querySelector('svg').getBoundingClientRect();"
                                            "return [r.left, r.right, r.width]")
                assert svg[0] >= 0 and svg[1] <= driver.execute_script("return window.innerWidth"), (name, width)
                found, count = driver.execute_script(OVERLAPS)
                assert found == [], (name, width, found)
                assert count >= driver.execute_script("return document.querySelectorAll('svg circle').length")
            if name != "three layers":                         # the weights are labelled on their edges
                weights = sum(layer.weights.size for layer in load_spec(example_path(name)).layers)
                assert count > min(10, weights), name
        circles = driver.execute_script("return [...document.querySelectorAll('svg circle')].map((c) => "
                                        "c.getBoundingClientRect().right)")
        assert len(circles) == 2 + 3 + 3 + 2 and max(circles) <= 1100   # the three-layer network, whole at 1100 px
        assert len(driver.find_elements("css selector", "svg .edge-label")) == 6 + 9 + 6
    finally:
        driver.quit()


def test_zero_up_to_rounding_reads_as_zero_with_the_note_and_exponents_stay_whole(tmp_path):
    from chainrule.explainer.render import result_text
    import chainrule as cr

    z1 = cr.explain(ROUNDING).values["z1"]
    assert z1 != 0 and abs(z1) < 1e-12
    driver = browser()
    try:
        _width(driver, 420)
        driver.get(_page(tmp_path, ROUNDING, "rounding"))
        step = driver.find_element("css selector", '.step[data-name="z1"]')
        assert step.find_elements("css selector", ".row")[-1].text.replace(" ", "").replace("\n", "") == "=0"
        assert step.find_element("css selector", ".rounding").text == f"computed {result_text(z1)}"
        assert "zero up to floating-point rounding" in result_text(z1)
        number = step.find_element("css selector", ".rounding .num")
        assert number.text == f"{z1:.6g}" and "e-" in number.text
        assert driver.execute_script("return arguments[0].getClientRects().length", number) == 1    # one line
        assert "z₁ = 0," in driver.execute_script("return document.querySelector('svg').textContent")
        sideways = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        assert sideways[0] <= sideways[1]
    finally:
        driver.quit()


def test_captions_describe_what_is_drawn():
    import chainrule as cr

    wide = {"inputs": {f"x{k}": 0.1 * k for k in range(1, 13)}, "targets": {"y1": 0, "y2": 1},
            "loss": "cross_entropy", "learning_rate": 0.1, "layers": [
                {"weights": [[0.01 * (i - j) for i in range(12)] for j in range(12)], "bias": [0.0] * 12,
                 "activation": "tanh"},
                {"weights": [[0.1 * (i % 3 - 1) for i in range(12)] for _ in range(2)], "bias": [0.0, 0.0],
                 "activation": "softmax"}]}
    page = cr.explain(wide).to_html()
    caption = re.search(r"<figcaption>(.*?)</figcaption>", page)[1]
    assert "box is a whole layer, not a neuron" in caption and "matrix-form" in caption and "circle" not in caption
    assert "<circle" not in page and 'class="matrix"' in page and 'class="weights"' not in page
    page = cr.explain("seed_article").to_html()
    caption = re.search(r"<figcaption>(.*?)</figcaption>", page)[1]
    assert "each circle is a neuron" in caption and "labelled with its weight" in caption
    assert page.count("<circle") == 7 and page.count('class="edge-label"') == 10
