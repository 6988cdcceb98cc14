"""Every shipped example in every format; LaTeX compiled by pdflatex; HTML loaded in headless Chromium."""

import json
import re
import shutil
import subprocess

import pytest

from chainrule.explain import RENDERERS, derive, examples, load_spec, example_path

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
        assert set(document["quantities"]) >= {step.name for s in d.sections[:-1] for step in s.steps}
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


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed (make test installs it as root)")
@pytest.mark.parametrize("name", EXAMPLES)
def test_latex_compiles(name, tmp_path):
    (tmp_path / "explain.tex").write_text(RENDERERS["latex"](derive(load_spec(example_path(name)))))
    result = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "explain.tex"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:]
    assert (tmp_path / "explain.pdf").stat().st_size > 10_000


def browser():
    from selenium import webdriver    # a test dependency; only the system browser may be absent
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip("Debian's chromium and chromium-driver are not installed (make test installs them as root)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1200,1600"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=options)


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
    from chainrule.explain.from_model import spec_from_network

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
    if shutil.which("pdflatex"):
        (tmp_path / "m.tex").write_text(RENDERERS["latex"](d))
        assert subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "m.tex"], cwd=tmp_path,
                              capture_output=True, timeout=120).returncode == 0
