"""chainrule studio in headless Chromium: an edit changes every number on the page as the command line computes
it; steps, back, reset and the shared address; a malformed spec and a bad number shown beside their fields while
the page keeps working; the audit; training on moons; the edit-to-update timing (its figure: benchmarks/studio_latency.py); screenshots.

Screenshots go to a temporary folder; with ``CHAINRULE_SCREENSHOTS=docs`` they replace the README's in docs/.
"""

import contextlib
import io
import json
import os
import re
import time
import urllib.request
from pathlib import Path

import pytest

import starlette  # noqa: F401  the studio extra: make test installs it

import chainrule as cr  # noqa: E402
from chainrule.explainer.api import spec_json  # noqa: E402
from chainrule.studio import Running  # noqa: E402
from browser import BrowserMissing, start as start_browser  # noqa: E402
from conftest import missing  # noqa: E402

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.fixture(scope="module")
def studio():
    with Running() as running:
        yield running


@pytest.fixture(scope="module")
def driver():
    try:
        browser = start_browser(1300, 1000)
    except BrowserMissing as absent:
        missing(str(absent))
    yield browser
    browser.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    return DOCS if os.environ.get("CHAINRULE_SCREENSHOTS") == "docs" else tmp_path_factory.mktemp("shots")


def settled(driver, timeout=30):
    """Wait until every request the page sent has been answered and shown."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if driver.execute_script("const s = window.studio; return s && s.sent > 0 && s.done >= s.sent"):
            return
        time.sleep(0.02)
    raise AssertionError("the page did not settle")


def find(driver, css):
    from selenium.webdriver.common.by import By
    return driver.find_element(By.CSS_SELECTOR, css)


def type_into(driver, css, text):
    from selenium.webdriver.common.keys import Keys
    field = find(driver, css)
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(text)
    settled(driver)


def shown(driver, name) -> str:
    return find(driver, f'#values tr[data-name="{name}"] .value').text


def cli_json(spec, *args):
    from chainrule.cli import main

    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"studio-edited-{os.getpid()}.json"
    path.write_text(spec_json(spec), encoding="utf-8")
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            assert main(["explain", "--spec", str(path), "--format", "json", *args]) == 0
    finally:
        path.unlink()
    return json.loads(out.getvalue())


def agrees_to_shown_digits(text: str, value: float) -> bool:
    """``text`` is ``value`` to six significant figures, as the page prints numbers."""
    return text == ("0" if f"{value:.6g}" in ("0", "-0") else f"{value:.6g}")


def post(url, body):
    request = urllib.request.Request(url + "api/explain", json.dumps(body).encode(), {"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(request, timeout=60).read())


def test_an_edit_updates_every_number_as_the_command_line_computes_it(studio, driver, shots):
    driver.get(studio.url)
    settled(driver)
    assert shown(driver, "z1") == "-0.3" and shown(driver, "z4") == "0.157444"
    type_into(driver, '[data-path="layers[0].weights[0][0]"]', "0.6")             # w1: 0.2 -> 0.6
    assert shown(driver, "w1") == "0.6"
    spec = cr.explain(driver.execute_script("return window.studio.last.spec"),
                      claims=driver.execute_script("return document.querySelector('#claims').value")).spec
    reference = cli_json(spec)
    names = ["z1", "a1", "L"] + [n for n in reference["quantities"] if n.startswith("dL/d")]
    for name in names:
        assert agrees_to_shown_digits(shown(driver, name), reference["quantities"][name]), name
    for name, value in reference["updated"].items():
        assert agrees_to_shown_digits(shown(driver, f"{name}'"), value), name
    assert "0.1" in find(driver, '#derivation .step[data-name="z1"]').text            # the derivation itself
    assert find(driver, "#derivation svg").is_displayed()
    # the studio's own API, on the page's state, to 1e-12
    answer = post(studio.url, {"spec": driver.execute_script("return window.studio.last.spec"),
                               "claims": find(driver, "#claims").get_attribute("value"), "step": 1})
    for name, value in reference["quantities"].items():
        assert abs(answer["values"][name] - value) <= 1e-12, name
    for name, value in reference["updated"].items():
        assert abs(answer["updated"][name] - value) <= 1e-12, name
    assert [c["verdict"] for c in answer["claims"]] == [c["verdict"] for c in reference["claims"]]
    driver.save_screenshot(str(shots / "studio.png"))
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE" and "favicon" not in e["message"]]
    assert errors == []


def test_a_click_in_the_diagram_selects_that_numbers_field(studio, driver):
    driver.get(studio.url)
    settled(driver)
    for label, path in (("w₂ = ", "layers[0].weights[0][1]"), ("w₉ = ", "layers[1].weights[0][1]"),
                        ("b⁽¹⁾ = ", "layers[0].bias")):
        driver.execute_script("""
            const label = [...document.querySelectorAll('#derivation svg text')]
                .find((t) => t.textContent.startsWith(arguments[0]));
            label.dispatchEvent(new MouseEvent('click', {bubbles: true}));""", label)
        assert driver.execute_script("return document.activeElement.dataset.path") == path, label
    find(driver, '[data-path="layers[0].bias"]').send_keys("7")              # typed over the selected 0.5
    settled(driver)
    assert shown(driver, "b1") == "7" and shown(driver, "z1") == "6.2"            # -0.3 - 0.5 + 7


def test_shape_activation_and_loss_edits(studio, driver):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    def matches_the_engine():
        page = driver.execute_script("return window.studio.last")
        assert page["values"] == cr.explain(page["spec"]).values
        return page["network"]

    def press(element):                       # centred first: the sticky header must not take the click
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
        element.click()

    driver.get(studio.url)
    settled(driver)
    buttons = lambda text: [b for b in driver.find_elements(By.CSS_SELECTOR, "#editor button") if b.text == text]  # noqa
    press(buttons("+ neuron")[0])
    settled(driver)
    assert matches_the_engine().startswith("3 inputs → 3 sigmoid → 2 softmax")
    assert shown(driver, "w7") not in ("0", "0.1")      # drawn from a seed (tests/test_studio_learner_browser.py)
    press(find(driver, "#add-layer"))
    settled(driver)
    assert matches_the_engine().startswith("3 inputs → 3 sigmoid → 2 sigmoid → 2 softmax")
    press(buttons("remove layer")[0])                                   # the first hidden layer
    settled(driver)
    assert matches_the_engine().startswith("3 inputs → 2 sigmoid → 2 softmax")
    Select(find(driver, '[data-path="layers[0].activation"]')).select_by_value("tanh")
    settled(driver)
    assert matches_the_engine().startswith("3 inputs → 2 tanh → 2 softmax")
    Select(find(driver, "#order")).select_by_value("sequential")
    settled(driver)
    assert driver.execute_script("return window.studio.last.spec.update_order") == "sequential"
    matches_the_engine()
    Select(find(driver, '[data-path="layers[1].activation"]')).select_by_value("sigmoid")
    Select(find(driver, "#loss")).select_by_value("half_squared_error")
    settled(driver)
    assert "half squared error" in matches_the_engine()
    press(buttons("− neuron")[-1])                                      # one output: a sigmoid with one target
    settled(driver)
    assert "are of the original network" in find(driver, "#printed-status").text     # the article's: not judged
    assert find(driver, '.field-error[data-for="claims"]').text == ""
    find(driver, "#claims").clear()
    find(driver, "#claims").send_keys(" ")
    settled(driver)
    press(buttons("− neuron")[-1])
    settled(driver)
    assert matches_the_engine().startswith("3 inputs → 2 tanh → 1 sigmoid")
    find(driver, "#n-steps").clear()
    find(driver, "#n-steps").send_keys("5")
    press(find(driver, "#step-n"))
    settled(driver)
    assert find(driver, "#step-shown").text.startswith("step 6:")
    assert len(driver.execute_script("return window.studio.last.losses")) == 7


def test_steps_back_reset_and_the_shared_address(studio, driver):
    from selenium.webdriver.common.by import By

    driver.get(studio.url)
    settled(driver)
    type_into(driver, '[data-path="learning_rate"]', "0.5")
    for _ in range(2):
        find(driver, "#step").click()
        settled(driver)
    assert find(driver, "#step-shown").text.startswith("step 3:")
    spec = cr.explain(driver.execute_script("return window.studio.last.spec")).spec
    reference = cli_json(spec, "--steps", "3")["losses"]
    table = find(driver, "#derivation table.given").text           # the loss table of the derivation
    rows = re.findall(r"^(?:after )?(\d+) (\S+)$", table, re.M)
    assert [float(v) for _, v in rows] == pytest.approx(reference, rel=1e-5) and len(rows) == 4
    assert driver.execute_script("return window.studio.last.losses") == pytest.approx(reference, abs=1e-12, rel=0)
    assert len(driver.find_elements(By.CSS_SELECTOR, "#loss-chart circle")) == 4
    address = driver.current_url
    assert "step=3" in address
    find(driver, "#back").click()
    settled(driver)
    assert find(driver, "#step-shown").text.startswith("step 2:")
    find(driver, "#reset").click()
    settled(driver)
    assert find(driver, "#step-shown").text.startswith("step 1:")
    driver.get("about:blank")
    driver.get(address)                                             # a link a teacher sends
    settled(driver)
    assert find(driver, "#step-shown").text.startswith("step 3:") and shown(driver, "eta") == "0.5"
    assert driver.execute_script("return window.studio.last.losses") == pytest.approx(reference, abs=1e-12, rel=0)


def test_bad_input_is_shown_beside_its_field_and_the_page_keeps_working(studio, driver, tmp_path):
    driver.get(studio.url)
    settled(driver)
    type_into(driver, '[data-path="layers[0].weights[0][1]"]', "abc")
    message = find(driver, '.field-error[data-for="layers[0]"]').text
    assert message == 'w₂: expected a number, found "abc"'               # the quantity's name, not its path
    assert "invalid" in find(driver, '[data-path="layers[0].weights[0][1]"]').get_attribute("class")
    assert shown(driver, "z1") == "-0.3"                               # the last good state is kept
    type_into(driver, '[data-path="layers[0].weights[0][1]"]', "-0.2")
    assert find(driver, '.field-error[data-for="layers[0]"]').text == "" and shown(driver, "z1") == "-0.1"
    bad = tmp_path / "bad.json"
    bad.write_text('{"inputs": [1, 2, -1], "layers": [', encoding="utf-8")
    find(driver, "#spec-file").send_keys(str(bad))
    deadline = time.monotonic() + 20
    while not find(driver, "#error-file").text and time.monotonic() < deadline:
        time.sleep(0.05)
    assert find(driver, "#error-file").text.startswith("bad.json: not valid JSON")
    type_into(driver, '[data-path="inputs.x1"]', "2")                 # still working: z1 = 0.4 - 0.2*... changes
    assert shown(driver, "x1") == "2" and shown(driver, "z1") == "0.1"
    good = tmp_path / "good.toml"
    good.write_text(Path(cr.explainer.example_path("relu_student")).read_text(), encoding="utf-8")
    find(driver, "#spec-file").send_keys(str(good))
    deadline = time.monotonic() + 20
    while "binary cross-entropy" not in find(driver, "#status").text and time.monotonic() < deadline:
        time.sleep(0.05)
    settled(driver)
    assert find(driver, "#error-file").text == "" and "binary cross-entropy" in find(driver, "#status").text


def test_pasted_numbers_are_audited_on_the_page(studio, driver):
    from selenium.webdriver.common.keys import Keys

    driver.get(studio.url)
    settled(driver)
    claims = find(driver, "#claims")
    claims.send_keys(Keys.CONTROL, "a")
    claims.send_keys("z1 = -0.30\nz3 = 0.5\n")
    settled(driver)
    verdicts = find(driver, "#verdicts").text
    assert "z1: printed -0.30, agrees" in verdicts and "z3: printed 0.5, SLIP" in verdicts
    assert find(driver, '#derivation .step.slip[data-name="z3"]').is_displayed()
    claims.send_keys("nonsense")
    settled(driver)
    assert "claims: line 3: expected 'name = number'" in find(driver, '.field-error[data-for="claims"]').text


def test_train_on_moons_and_explain_a_prediction(studio, driver, shots):
    from selenium.webdriver.support.ui import Select

    driver.get(studio.url)
    settled(driver)
    find(driver, "#tab-train").click()
    Select(find(driver, "#data")).select_by_value("moons")
    type_into_plain = lambda css, text: (find(driver, css).clear(), find(driver, css).send_keys(text))  # noqa: E731
    type_into_plain("#epochs", "60")
    find(driver, "#train-start").click()
    deadline = time.monotonic() + 120
    while "done" not in find(driver, "#train-status").text and time.monotonic() < deadline:
        time.sleep(0.2)
    status = find(driver, "#train-status").text
    accuracy = float(re.search(r"test accuracy ([\d.]+)%", status)[1])
    assert "epoch 60 of 60" in status and accuracy >= 95.0
    assert find(driver, "#regions").is_displayed()
    driver.save_screenshot(str(shots / "studio-train.png"))
    sent = driver.execute_script("return window.studio.sent")
    find(driver, "#explain-example").click()
    deadline = time.monotonic() + 30           # the page first asks for the example, then for its step: settled
    while driver.execute_script("return window.studio.sent") == sent and time.monotonic() < deadline:   # waits
        time.sleep(0.02)                       # for the step only once it has been asked for
    settled(driver)
    assert find(driver, "#explain").is_displayed() and "test example 0 of moons" in find(driver, "#derivation").text


def test_edit_to_update_is_timed_as_the_benchmark_times_it(studio, driver):
    """The page times each edit from the input event to the updated derivation, and the benchmark's edit drives
    it. How fast that is (under 100 ms for the seed network) is measured by ``benchmarks/studio_latency.py``, not
    asserted here: a timed unit test fails on a slower or busier machine without anything being wrong."""
    import importlib.util

    location = Path(__file__).resolve().parent.parent / "benchmarks" / "studio_latency.py"
    spec = importlib.util.spec_from_file_location("studio_latency", location)
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)                  # the benchmark's own edit, so both time the same thing
    driver.get(studio.url)
    settled(driver)
    for k in range(1, 6):
        value = f"{0.2 + 0.01 * k:.2f}"
        elapsed = driver.execute_async_script(benchmark.EDIT, value)
        assert isinstance(elapsed, (int, float)) and 0 < elapsed < 60_000
        assert driver.execute_script("return window.studio.last.server_ms") > 0
        assert float(driver.find_element("css selector", '[data-path="layers[0].weights[0][0]"]').get_attribute(
            "value")) == float(value)


def test_html_explanation_at_420_and_1100_pixels(driver, shots, tmp_path):
    page = tmp_path / "seed.html"
    page.write_text(cr.explain().to_html(), encoding="utf-8")
    for width in (420, 1100):
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": width, "height": 900,
                                                                      "deviceScaleFactor": 1, "mobile": width < 600})
        driver.get(page.as_uri())
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": width, "height": min(height, 2400),
                                                                      "deviceScaleFactor": 1, "mobile": width < 600})
        driver.save_screenshot(str(shots / f"explain-{width}.png"))
        assert (shots / f"explain-{width}.png").stat().st_size > 20_000
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
