"""chainrule studio's layout in headless Chromium, on a 420 px phone and a 1300 px desktop: the derivation first on
a phone with the controls in a drawer; diagram labels of at least 11 px; the parameter table's gradient column in
view; the edited box and the number it changes on one screen; the walk's formula clear of the fixed bars; typing
debounced, a number sent only whole, and older answers never shown after newer ones; the training charts' axes,
ticks, units and legend, the validation curves and the test score once."""

import re
import time

import pytest

import starlette  # noqa: F401  the studio extra: make test installs it

from test_studio_browser import driver, find, settled, studio  # noqa: E402,F401  the page's fixtures and helpers

PHONE, DESKTOP = (420, 900), (1300, 1000)
MIN_LABEL_PX = 11


def screen(driver, width, height):
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                                                                  "deviceScaleFactor": 1, "mobile": width < 600})


@pytest.fixture
def phone(studio, driver):
    screen(driver, *PHONE)
    driver.get(studio.url)
    settled(driver)
    yield driver
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


@pytest.fixture
def desktop(studio, driver):
    screen(driver, *DESKTOP)
    driver.get(studio.url)
    settled(driver)
    yield driver
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def diagram_label(driver, start: str):
    """The diagram's text element whose words begin with ``start`` (``w₁ = ``, ``z⁽¹⁾ = ``)."""
    return driver.execute_script("""return [...document.querySelectorAll('#derivation figure svg text')]
        .find((t) => t.textContent.startsWith(arguments[0]))""", start)


def box(driver, element) -> dict:
    return driver.execute_script("const r = arguments[0].getBoundingClientRect(); "
                                 "return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}", element)


def seen(driver, element) -> bool:
    """``element`` lies inside the viewport and nothing (the drawer, the header) covers its centre."""
    return driver.execute_script("""
        const e = arguments[0], r = e.getBoundingClientRect();
        if (r.top < 0 || r.left < 0 || r.bottom > innerHeight || r.right > innerWidth) return false;
        const top = document.elementFromPoint((r.left + r.right) / 2, (r.top + r.bottom) / 2);
        return top === e || e.contains(top) || (top !== null && top.closest('text') === e);""", element)


# --- a 420 px phone ------------------------------------------------------------------------------------------------

def test_on_a_phone_the_derivation_comes_first_and_the_controls_wait_in_a_drawer(phone):
    derivation, toggle = find(phone, "#derivation"), find(phone, "#drawer-toggle")
    assert box(phone, derivation)["top"] < 150                        # the result, not 2,400 px of controls
    assert toggle.is_displayed() and toggle.get_attribute("aria-expanded") == "false"
    assert seen(phone, toggle) and box(phone, toggle)["bottom"] == pytest.approx(PHONE[1], abs=1)
    assert "loss 0.567136 → " in toggle.text                          # a result on the handle itself
    assert not seen(phone, find(phone, '[data-path="layers[0].weights[0][0]"]'))     # tucked away
    toggle.click()
    time.sleep(0.3)                                                   # the drawer slides up
    assert toggle.get_attribute("aria-expanded") == "true" and seen(phone, find(phone, "#example"))
    assert phone.execute_script("return document.documentElement.scrollWidth") == PHONE[0]   # nothing sideways


def test_on_a_phone_diagram_labels_are_readable_and_the_gradient_column_fits(phone):
    sizes = phone.execute_script("""
        const svg = document.querySelector('#derivation figure svg'), scale = svg.getScreenCTM().a;
        return [...svg.querySelectorAll('text')]
            .map((t) => [t.textContent, parseFloat(getComputedStyle(t).fontSize) * scale]);""")
    assert len(sizes) > 30
    small = [(text, round(px, 2)) for text, px in sizes if px < MIN_LABEL_PX]
    assert small == [], small
    # the diagram pans sideways inside its figure; the page itself never does
    assert phone.execute_script("const f = document.querySelector('#derivation figure'); "
                                "return f.scrollWidth > f.clientWidth && getComputedStyle(f).overflowX") == "auto"
    rows = phone.execute_script("""
        const table = document.querySelector('#derivation table.weights'), holder = table.parentElement;
        const edge = Math.min(holder.getBoundingClientRect().right, innerWidth);
        return {fits: holder.scrollWidth <= holder.clientWidth, head: table.rows[0].cells[3].textContent,
                cells: [...table.rows].map((row) => [row.cells[3].textContent,
                                                     row.cells[3].getBoundingClientRect().right <= edge])};""")
    assert rows["fits"] and rows["head"].startswith("gradient")
    assert [text for text, inside in rows["cells"] if not inside] == []
    assert "-0.0423257" in [text for text, _ in rows["cells"]]         # ∂L/∂w₁ of the seed network, whole
    wide = phone.execute_script("""return [...document.querySelectorAll('#derivation table, #derivation .scroll')]
        .filter((t) => t.scrollWidth > t.clientWidth + 1).map((t) => t.className)""")
    assert wide == []                                                 # the given numbers wrap too


def test_on_a_phone_the_edited_box_and_the_number_it_changes_share_the_screen(phone):
    from selenium.webdriver.common.keys import Keys

    label = diagram_label(phone, "w₁ = ")
    phone.execute_script("arguments[0].scrollIntoView({block: 'center'})", label)
    label.click()                                                     # a tap on w₁ in the diagram
    field = phone.switch_to.active_element
    assert field.get_attribute("data-path") == "layers[0].weights[0][0]"
    assert find(phone, "#drawer-toggle").get_attribute("aria-expanded") == "true"
    time.sleep(0.3)                                                   # the drawer slides up
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys("0.6")
    settled(phone)
    time.sleep(0.2)
    changed = diagram_label(phone, "z⁽¹⁾ = ")
    assert changed.text.startswith("z⁽¹⁾ = 0.1,")                     # 0.6·1 − 0.3·2 + 0.4·(−1) + 0.5
    assert seen(phone, field) and seen(phone, changed)
    a, b = box(phone, field), box(phone, changed)
    assert abs((a["top"] + a["bottom"]) / 2 - (b["top"] + b["bottom"]) / 2) < PHONE[1]
    assert [e for e in phone.get_log("browser") if e["level"] == "SEVERE"] == []


# --- the walk: each highlighted formula in view, clear of the bars fixed over the page -------------------------------

WALK_STOP = """
const step = document.querySelector('#derivation .step.walk-here').getBoundingClientRect();
const bar = document.querySelector('#walk').getBoundingClientRect(), phone = innerWidth <= 900;
const top = phone ? bar.bottom : document.querySelector('header').getBoundingClientRect().bottom;
const bottom = phone ? document.querySelector('#controls').getBoundingClientRect().top : bar.top;
return {name: state.walk, clear: step.top >= top && step.bottom <= bottom, step: [step.top, step.bottom],
        room: [top, bottom]};"""


def walk_stops_out_of_view(driver) -> list:
    """Walk the whole step by its ▶ button; the stops whose highlighted formula is not wholly in view."""
    hidden = []
    while True:
        stop = driver.execute_script(WALK_STOP)
        if not stop["clear"]:
            hidden.append(stop)
        if not find(driver, "#walk-next").is_enabled():
            return hidden
        find(driver, "#walk-next").click()


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["1300px", "420px"])
def test_the_walk_keeps_each_highlighted_formula_in_view(studio, driver, size):
    screen(driver, *size)
    try:
        driver.get("about:blank")
        driver.get(studio.url)
        settled(driver)
        if size == PHONE:
            find(driver, "#drawer-toggle").click()                   # the walk's button is in the drawer
            time.sleep(0.3)
        start = find(driver, "#walk-start")
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", start)
        start.click()
        time.sleep(0.3)                                               # the drawer slides away
        assert find(driver, "#drawer-toggle").get_attribute("aria-expanded") == "false"
        assert driver.switch_to.active_element.get_attribute("id") == "walk-next"      # the arrow keys walk on
        assert walk_stops_out_of_view(driver) == []
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


# --- typing: debounced, and never an older answer after a newer one ------------------------------------------------

COUNT_REQUESTS = """
window.explainRequests = [];
const original = window.fetch;
window.fetch = (url, options) => {
  if (String(url).endsWith('/api/explain')) window.explainRequests.push(JSON.parse(options.body));
  return original(url, options);
};"""

SLOW_FIRST_ANSWER = """
window.shownW1 = [];
window.explainRequests = [];
const original = window.fetch;
let calls = 0;
window.fetch = (url, options) => {
  const answer = original(url, options);
  if (!String(url).endsWith('/api/explain')) return answer;
  window.explainRequests.push(JSON.parse(options.body).spec.layers[0].weights[0][0]);
  if (++calls > 1) return answer;
  return answer.then((response) => new Promise((resolve) => setTimeout(() => resolve(response), 800)));
};
new MutationObserver(() => {
  const cell = document.querySelector('#values tr[data-name="w1"] .value');
  if (cell) window.shownW1.push(cell.textContent);
}).observe(document.querySelector('#values tbody'), {childList: true});"""


def test_fast_typing_sends_few_requests_and_ends_on_the_last_value(desktop):
    desktop.execute_script(COUNT_REQUESTS)
    field = find(desktop, '[data-path="layers[0].weights[0][0]"]')
    typed = "0.6123456789012345"
    field.send_keys(*["\b"] * 3, typed)                               # 21 keystrokes: three deletions, 18 characters
    settled(desktop)
    sent = desktop.execute_script("return window.explainRequests.map((body) => body.spec.layers[0].weights[0][0])")
    assert 1 <= len(sent) <= 4, sent                                  # the first at once, the rest gathered
    assert sent[-1] == float(typed)
    assert desktop.execute_script("return window.studio.last.spec.layers[0].weights[0][0]") == float(typed)
    assert find(desktop, '#values tr[data-name="w1"] .value').text == "0.612346"


def test_an_older_answer_arriving_late_is_never_shown(desktop):
    desktop.execute_script(SLOW_FIRST_ANSWER)
    from selenium.webdriver.common.keys import Keys

    field = find(desktop, '[data-path="layers[0].weights[0][0]"]')
    field.send_keys(Keys.END, "57")                                   # 0.25 at once, its answer 0.8 s late; 0.257
    settled(desktop)
    time.sleep(1.2)                                                   # past the late answer
    assert desktop.execute_script("return window.explainRequests") == [0.25, 0.257]
    assert desktop.execute_script("return window.studio.last.spec.layers[0].weights[0][0]") == 0.257
    shown = desktop.execute_script("return window.shownW1")
    assert shown and shown[-1] == "0.257", shown                      # the late one was dropped, not drawn over it
    assert find(desktop, '#values tr[data-name="w1"] .value').text == "0.257"


ERRORS_SHOWN = """
window.errorsShown = [];
new MutationObserver(() => {
  for (const node of document.querySelectorAll('.field-error, #banner')) {
    if (node.textContent && node.offsetParent !== null) window.errorsShown.push(node.textContent);
  }
}).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});"""


def test_a_number_being_typed_is_sent_whole(desktop):
    """Typing η = 0.05 at a learner's pace never sends the 0 (or 0., 0.0) on the way, which would be refused."""
    from selenium.webdriver.common.keys import Keys

    desktop.execute_script(COUNT_REQUESTS)
    desktop.execute_script(ERRORS_SHOWN)
    desktop.get_log("browser")
    field = find(desktop, "#lr")
    field.send_keys(Keys.CONTROL, "a")
    for key in "0.05":
        field.send_keys(key)
        time.sleep(0.2)                                               # longer than the debounce, between every key
    settled(desktop)
    assert desktop.execute_script("return window.explainRequests.map((body) => body.spec.learning_rate)") == [0.05]
    assert desktop.execute_script("return window.errorsShown") == []
    assert [e for e in desktop.get_log("browser") if e["level"] == "SEVERE"] == []
    assert find(desktop, '#values tr[data-name="eta"] .value').text == "0.05"


def test_a_single_edit_is_sent_at_once(desktop):
    """A change after a pause goes without waiting for the debounce: the page asks before any timer could fire."""
    desktop.execute_script(COUNT_REQUESTS)
    sent = desktop.execute_script("""
        const field = document.querySelector('[data-path="layers[0].weights[0][0]"]');
        field.value = '0.25';
        field.dispatchEvent(new Event('input', {bubbles: true}));
        return window.explainRequests.length;""")
    assert sent == 1
    settled(desktop)


# --- a desktop -----------------------------------------------------------------------------------------------------

def test_on_a_desktop_the_controls_sit_beside_the_derivation(desktop):
    controls, derivation = box(desktop, find(desktop, "#controls")), box(desktop, find(desktop, "#derivation"))
    assert controls["right"] <= derivation["left"] and abs(controls["top"] - derivation["top"]) < 5
    assert not find(desktop, "#drawer-toggle").is_displayed()
    rows = desktop.execute_script("""const holder = document.querySelector('#derivation table.weights').parentElement;
        return holder.scrollWidth <= holder.clientWidth""")
    assert rows


def test_the_step_charts_labels_keep_clear_of_its_markers(desktop):
    for _ in range(3):
        find(desktop, "#step").click()
        settled(desktop)
    overlaps = desktop.execute_script("""
        const svg = document.querySelector('#loss-chart'), hit = (a, b) =>
            a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
        const marks = [...svg.querySelectorAll('circle')].map((c) => c.getBoundingClientRect());
        return [...svg.querySelectorAll('text')].filter((t) => marks.some((m) => hit(t.getBoundingClientRect(), m)))
            .map((t) => t.textContent);""")
    assert overlaps == []
    ticks = desktop.execute_script("return [...document.querySelectorAll('#loss-chart text.tick')]"
                                   ".map((t) => t.textContent)")
    assert {"0", "1", "2", "3"} <= set(ticks) and len(ticks) >= 6     # steps taken, and the loss's own ticks


# --- the train tab -------------------------------------------------------------------------------------------------

def chart_facts(driver, css):
    return driver.execute_script("""
        const svg = document.querySelector(arguments[0]), plot = svg.querySelector('rect.plot').getBoundingClientRect();
        const inside = (r) => r.left < plot.right && plot.left < r.right && r.top < plot.bottom && plot.top < r.bottom;
        const scale = svg.getScreenCTM().a, texts = [...svg.querySelectorAll('text')];
        return {ticks: texts.filter((t) => t.classList.contains('tick')).map((t) => t.textContent),
                titles: texts.filter((t) => t.classList.contains('axis-title')).map((t) => t.textContent),
                legend: texts.filter((t) => t.classList.contains('legend')).map((t) => t.textContent),
                curves: svg.querySelectorAll('polyline.series').length,
                over: texts.filter((t) => inside(t.getBoundingClientRect())).map((t) => t.textContent),
                smallest: Math.min(...texts.map((t) => parseFloat(getComputedStyle(t).fontSize) * scale)),
                right: svg.getBoundingClientRect().right,
                caption: svg.closest('figure').querySelector('figcaption').textContent};""", css)


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["1300px", "420px"])
def test_training_charts_have_axes_a_legend_and_validation_curves(studio, driver, size):
    from selenium.webdriver.support.ui import Select

    screen(driver, *size)
    driver.get(studio.url)
    settled(driver)
    find(driver, "#tab-train").click()
    Select(find(driver, "#data")).select_by_value("iris")
    find(driver, "#epochs").clear()
    find(driver, "#epochs").send_keys("30")
    first = driver.execute_script("document.querySelector('#train-start').click(); "
                                  "return document.querySelector('#train-status').textContent")
    assert first.startswith("iris: preparing")                       # at once, before the server has answered
    deadline = time.monotonic() + 120
    while "done" not in find(driver, "#train-status").text:
        assert time.monotonic() < deadline, "training did not end"
        time.sleep(0.1)
    status = find(driver, "#train-status").text
    assert "epoch 30 of 30" in status and "validation accuracy" in status
    assert len(re.findall(r"test accuracy [\d.]+% \(38 held-out examples, scored once\)", status)) == 1
    assert "22 more, carved from the training data" in find(driver, "#train-split").text
    for css, title in (("#train-loss", "cross-entropy (nats)"), ("#train-accuracy", "accuracy (%)")):
        facts = chart_facts(driver, css)
        assert facts["titles"] == ["epoch", title]
        assert facts["legend"] == ["training", "validation"] and facts["curves"] == 2     # no per-epoch test curve
        assert "test" not in facts["caption"] and "blue" not in facts["caption"]           # the legend is the chart's
        assert len([t for t in facts["ticks"] if not t.endswith("%")]) >= 3 and facts["over"] == []
        assert facts["smallest"] >= MIN_LABEL_PX and facts["right"] <= size[0]
    assert {"0%", "100%"} <= set(chart_facts(driver, "#train-accuracy")["ticks"])      # accuracy on its whole range
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
