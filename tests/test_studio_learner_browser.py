"""chainrule studio as a learner meets it, in headless Chromium (1300 px, and 420 px where the layout differs), and
the server's answers behind it:

- numbers printed with a network belong to it: judged while it is shown (a learning rate of one's own keeps them,
  but those worked out from it), not after an edit of its shape or of a number it was given; a button restores the
  original network; the learner's own numbers are judged against whatever is shown;
- neurons and layers added get small random weights from a seed shown beside them, the same seed the same weights
  (through the link too), and the gradients below a new layer are not 0; structural edits go one at a time;
- the editor says it holds the starting weights while a later step is shown;
- a walk through the step, quantity by quantity, in the derivation's order, highlighted in the diagram and the
  formulas, with the formula and its numbers: buttons, keys, and its place in the address; a batch's, a later
  step's and an optimizer's quantities too;
- any number of the diagram gives its formula on hover or keyboard focus, the text derivation's own;
- menus offer only what the engine pairs, the Example menu names what is shown, and no box cuts its number;
- links made before they named their original network, and links the page cannot read.
"""

import base64
import json
import re
import time

import numpy as np
import pytest

import starlette  # noqa: F401  the studio extra: make test installs it
from starlette.testclient import TestClient  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule.losses import output_head  # noqa: E402
from chainrule.studio import create_app  # noqa: E402
from test_studio_browser import driver, find, settled, shown, studio, type_into  # noqa: E402,F401  the page's fixtures and helpers


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(("testserver",))) as c:
        yield c


def last(driver, key=None):
    answer = driver.execute_script("return window.studio.last")
    return answer if key is None else answer[key]


def until(driver, script, timeout=30):
    """Wait until ``script`` returns true (an example is fetched before its request counts as sent)."""
    deadline = time.monotonic() + timeout
    while not driver.execute_script(script):
        assert time.monotonic() < deadline, script
        time.sleep(0.02)
    settled(driver)


def press(driver, element):
    """A click on an element centred first, so that nothing fixed (the header, a drawer) takes it."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
    element.click()


def opened(driver, url):
    driver.get("about:blank")
    driver.get(url)
    settled(driver)


def buttons(driver, text):
    from selenium.webdriver.common.by import By
    return [b for b in driver.find_elements(By.CSS_SELECTOR, "#editor button") if b.text == text]


def link(url, spec, claims="", **extra):
    state = json.dumps({"spec": spec, "claims": claims, **extra}).encode()
    return f"{url}#step=1&s={base64.urlsafe_b64encode(state).decode().rstrip('=')}"


def derivation_text(spec, name) -> str:
    """A step of the text derivation (``render_text``) as one line: its formula, numbers and result joined."""
    text, written = cr.explain(spec).to_text(), unicode(spec, name)
    lines = text.splitlines()
    first = next(k for k, line in enumerate(lines) if line.startswith(f"  {written} = "))
    pad, parts = "  " + " " * len(written) + " = ", [lines[first][2:]]
    for line in lines[first + 1:]:
        if not line.startswith(pad):
            break
        parts.append(line[len(pad):])
    return " = ".join(parts)


def unicode(spec, name):
    from chainrule.explainer.notation import unicode_name
    return unicode_name(name, spec.get("notation", {}).get("superscript", []))


def emulate(driver, width, height=900):
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                                                                  "deviceScaleFactor": 1, "mobile": width < 600})


# --- printed numbers belong to the network they were printed for ---------------------------------------------

def test_printed_numbers_are_judged_only_on_their_own_network(studio, driver):
    opened(driver, studio.url)
    assert find(driver, "#printed-status").text.startswith("The article's 9 printed numbers are judged")
    assert len(last(driver, "claims")) == 9 and find(driver, "#derivation #audit").is_displayed()
    type_into(driver, '[data-path="learning_rate"]', "0.5")                # a learning rate of one's own
    assert len(last(driver, "claims")) == 9 and "are judged" in find(driver, "#printed-status").text
    type_into(driver, '[data-path="layers[0].weights[0][0]"]', "0.6")       # w1: another network
    status = find(driver, "#printed-status").text
    assert "are of the original network, and you changed w₁" in status and "not judged" in status
    assert last(driver, "claims") == [] and find(driver, "#verdicts").text == ""
    assert not driver.find_elements("css selector", "#derivation #audit, #derivation .step.slip, #derivation .badge")
    assert find(driver, "#restore").text == "restore the original network"
    assert find(driver, "#example").get_attribute("value") == "custom"

    type_into(driver, "#claims", "z1 = 0.1\nz3 = 0.9")                      # the learner's own: judged on theirs
    verdicts = find(driver, "#verdicts").text
    assert "z1: printed 0.1, agrees · yours" in verdicts and "z3: printed 0.9, SLIP" in verdicts
    audit = find(driver, "#derivation #audit").text
    assert "from the learner's own inputs" in audit and "article" not in audit
    assert [c["by"] for c in last(driver, "claims")] == ["learner", "learner"]

    press(driver, find(driver, "#restore"))                                  # the original, and its audit, back
    settled(driver)
    assert shown(driver, "w1") == "0.2" and shown(driver, "eta") == "0.1"
    assert find(driver, "#example").get_attribute("value") == "seed_article"
    claims = {c["name"]: c for c in last(driver, "claims")}
    assert len(claims) == 9 and claims["z1"]["by"] == "learner" and claims["z4"]["by"] == "printed"
    assert claims["z4"]["verdict"] == "slip"                                 # the article's own slip, on its network
    assert "from the article or learner's own inputs" in find(driver, "#derivation #audit").text
    assert find(driver, "#restore").text == "back to your network"
    press(driver, find(driver, "#restore"))                                  # and back to the learner's
    settled(driver)
    assert shown(driver, "w1") == "0.6" and shown(driver, "eta") == "0.5"
    assert [c["by"] for c in last(driver, "claims")] == ["learner", "learner"]


def test_a_new_neuron_or_layer_leaves_the_printed_numbers_unmatched(studio, driver):
    for add in (lambda: buttons(driver, "+ neuron")[0], lambda: find(driver, "#add-layer")):
        opened(driver, studio.url)
        press(driver, add())
        settled(driver)
        assert last(driver, "claims") == []                          # no z1 of the article matched to a new z1
        assert "you changed the network's shape" in find(driver, "#printed-status").text
        assert find(driver, '.field-error[data-for="claims"]').text == ""
        assert find(driver, "#example").get_attribute("value") == "custom"


def test_a_learning_rate_of_ones_own_sets_aside_only_what_depends_on_it(studio, driver):
    from selenium.webdriver.support.ui import Select

    opened(driver, studio.url)
    Select(find(driver, "#example")).select_by_value("step_by_step_sigmoid")
    until(driver, "return window.studio.last.spec.title.includes('Step by Step')")
    assert len(last(driver, "claims")) == 19 and last(driver, "set_aside") == {}
    type_into(driver, '[data-path="learning_rate"]', "0.3")
    aside = last(driver, "set_aside")
    assert sorted(aside) == ["w1+", "w2+", "w3+", "w4+", "w5+", "w6+", "w7+", "w8+"]    # the updated weights
    verdicts = {c["name"]: c["verdict"] for c in last(driver, "claims")}
    assert len(verdicts) == 11 and set(verdicts.values()) == {"agrees"}       # forward, loss, gradients: all agree
    status = find(driver, "#printed-status").text
    assert "the 8 that depend on it (w₅′, w₆′, w₇′ and 5 more) were worked at η = 0.5 and are not judged" in status


def test_what_depends_on_the_learning_rate():
    """A simultaneous update uses the learning rate only in the updates; a sequential one carries the error below the
    output layer through its updated weights, so those errors and the gradients below depend on it too."""
    from chainrule.studio.claims import rate_dependent

    mazur = cr.explain("step_by_step_sigmoid").spec_dict()
    simultaneous = rate_dependent(cr.explain(mazur).derivation)
    assert {name for name in simultaneous if not name.endswith("'")} == {"eta"} and "w5'" in simultaneous
    sequential = rate_dependent(cr.explain({**mazur, "update_order": "sequential"}).derivation)
    assert {"dE/dout_h1", "dE/dnet_h1", "dE/dw1", "w1'", "w5'"} <= sequential
    assert not {"dE/dw5", "dE/dnet_o1", "E", "out_o1"} & sequential


def test_the_server_judges_what_the_page_sends(client):
    post = lambda body: client.post("/api/explain", json=body).json()  # noqa: E731
    mazur = client.get("/api/example/step_by_step_sigmoid").json()
    mine = post({"spec": mazur["spec"], "claims": "net_h1 = 0.3775"})
    assert [(c["name"], c["by"]) for c in mine["claims"]] == [("net_h1", "learner")]
    assert mine["spec"]["claims_source"] == "post"                   # the spec keeps its own words
    refused = client.post("/api/explain", json={"spec": mazur["spec"], "printed": "x"})
    assert refused.status_code == 400 and refused.json()["error"].startswith("printed: line 1")


# --- new neurons and layers: small random weights from a seed ---------------------------------------------------

def new_layer(driver):
    """The seed note of the editor's second layer."""
    return driver.find_elements("css selector", "#editor .layer")[1].find_element("css selector", ".seed")


def test_a_new_layer_gets_random_weights_from_a_seed_and_learns(studio, driver, client):
    opened(driver, studio.url)
    assert find(driver, "#draw-seed").get_attribute("value") == "1"
    press(driver, find(driver, "#add-layer"))
    settled(driver)
    spec, values = last(driver, "spec"), last(driver, "values")
    new, output = spec["layers"][1]["weights"], spec["layers"][2]["weights"]
    drawn = client.post("/api/draw", json={"shapes": [[2, 2], [2, 2]], "seed": 1}).json()["weights"]
    assert [new, output] == drawn                                         # the server's draw from seed 1
    assert new[0] != new[1] and all(0.05 <= abs(w) <= 0.5 for w in np.ravel([new, output]))
    assert values["yhat1"] != values["yhat2"]
    below = [name for name in values if name.startswith("dL/dw") and int(name[5:]) <= 10]    # layers 1 and 2
    assert len(below) == 10 and all(abs(values[name]) > 1e-6 for name in below)
    assert cr.explain(spec).values == values                                         # the engine's own step
    assert "new weights drawn from seed 1" in new_layer(driver).text
    assert find(driver, "#draw-seed").get_attribute("value") == "2"

    press(driver, buttons(driver, "+ neuron")[1])                  # seed 2: a third neuron in the new layer
    settled(driver)
    grown = last(driver, "spec")["layers"][1]["weights"]
    assert len({tuple(row) for row in grown}) == 3 and "seed 1, 2" in new_layer(driver).text
    address = driver.current_url
    opened(driver, address)                                         # the link keeps the weights and their seeds
    assert last(driver, "spec")["layers"][1]["weights"] == grown
    assert "seed 1, 2" in new_layer(driver).text
    assert find(driver, "#draw-seed").get_attribute("value") == "3"

    opened(driver, studio.url)                                      # the same seed draws the same weights
    press(driver, find(driver, "#add-layer"))
    settled(driver)
    assert last(driver, "spec")["layers"][1]["weights"] == new
    type_into(driver, "#draw-seed", "7")
    press(driver, find(driver, "#add-layer"))
    settled(driver)
    assert last(driver, "spec")["layers"][2]["weights"] != new and "seed 7" in find(driver, "#editor").text


def address_spec(driver):
    """The spec the page's address holds."""
    state = re.search(r"[#&]s=([^&]+)", driver.current_url).group(1)
    return json.loads(base64.urlsafe_b64decode(state + "=" * (-len(state) % 4)))["spec"]


def rows_everywhere(driver):
    """The first layer's neurons as the page's state, the editor, the address and the answer shown hold them."""
    return {"state": driver.execute_script("return state.spec.layers[0].weights.length"),
            "editor": driver.execute_script("return document.querySelector('#editor .layer').querySelectorAll('tr')"
                                            ".length - 1"),
            "address": len(address_spec(driver)["layers"][0]["weights"]),
            "shown": len(last(driver, "spec")["layers"][0]["weights"])}


def test_structural_edits_go_one_at_a_time(studio, driver, client):
    """Two clicks on "+ neuron" in one moment add two neurons, each with weights of its own seed; a step taken while
    the weights are drawn shows the new neuron too; and everything shown is of one network."""
    opened(driver, studio.url)
    driver.execute_script("const add = [...document.querySelectorAll('#editor button')]"
                          ".find((b) => b.textContent === '+ neuron'); add.click(); add.click();")
    settled(driver)
    assert rows_everywhere(driver) == {"state": 4, "editor": 4, "address": 4, "shown": 4}
    assert last(driver, "network").startswith("3 inputs → 4 sigmoid → 2 softmax")
    new = last(driver, "spec")["layers"][0]["weights"][2:]
    drawn = [client.post("/api/draw", json={"shapes": [[1, 3], [2, 1]], "seed": seed}).json()["weights"][0][0]
             for seed in (1, 2)]
    assert new == drawn                                              # seeds 1 and 2: no two neurons alike
    assert "new weights drawn from seed 1, 2" in find(driver, "#editor .layer .seed").text
    assert find(driver, "#draw-seed").get_attribute("value") == "3"
    titles = [box.get_attribute("title") for box in driver.find_elements("css selector", "#editor .layer input")]
    assert titles[:4] == ["w1", "w2", "w3", "w4"] and "w12" in titles       # the spec reader's names, adopted

    opened(driver, studio.url)
    driver.execute_script("[...document.querySelectorAll('#editor button')].find((b) => b.textContent === "
                          "'+ neuron').click(); document.querySelector('#step').click();")
    settled(driver)
    assert rows_everywhere(driver) == {"state": 3, "editor": 3, "address": 3, "shown": 3}
    assert last(driver, "step") == 2 and len(driver.find_elements("css selector", "#derivation svg circle")) == 8
    type_into(driver, '[data-path="layers[0].weights[0][0]"]', "0.3")         # and the next edit keeps it
    assert last(driver, "network").startswith("3 inputs → 3 sigmoid")
    assert last(driver, "spec")["layers"][0]["weights"][0][0] == 0.3


def test_drawn_weights_and_bad_draw_requests(client):
    one = client.post("/api/draw", json={"shapes": [[16, 1]], "seed": 5}).json()["weights"][0]
    assert len({tuple(row) for row in one}) == 16                   # no two new neurons alike, even with one input
    assert client.post("/api/draw", json={"shapes": [[16, 1]], "seed": 5}).json()["weights"][0] == one
    for body in ({"shapes": [[0, 2]]}, {"shapes": [[2, 2]] * 5}, {"shapes": "2x2"}, {"shapes": [[2, 2]], "seed": -1}):
        answer = client.post("/api/draw", json=body)
        assert answer.status_code == 400 and answer.json()["error"].startswith(("shapes: expected", "seed: expected"))


# --- one notion of now --------------------------------------------------------------------------------------------

def test_the_editor_says_it_holds_the_starting_weights(studio, driver):
    opened(driver, studio.url)
    assert find(driver, "#editor-now").text == "The starting weights: step 1 begins from these."
    for _ in range(2):
        press(driver, find(driver, "#step"))
        settled(driver)
    now = find(driver, "#editor-now").text
    assert now.startswith("The starting weights (step 0), not step 3's") and "after 2 updates" in now
    assert find(driver, '[data-path="layers[0].weights[0][0]"]').get_attribute("value") == "0.2"
    assert shown(driver, "w1") != "0.2"                             # the table: w1 as step 3 begins
    press(driver, find(driver, "#reset"))
    settled(driver)
    assert find(driver, "#editor-now").text == "The starting weights: step 1 begins from these."


# --- the walk through the step ---------------------------------------------------------------------------------

def walking(driver):
    return driver.execute_script("return state.walk")


def test_walk_through_the_step_in_order_and_back(studio, driver):
    from selenium.webdriver.common.keys import Keys

    opened(driver, studio.url)
    spec, order, formulas = last(driver, "spec"), last(driver, "order"), last(driver, "walk")["formulas"]
    press(driver, find(driver, "#walk-start"))
    seen = [walking(driver)]
    while find(driver, "#walk-next").is_enabled():
        find(driver, "#walk-next").click()
        seen.append(walking(driver))
        name = seen[-1]
        assert find(driver, "#walk-formula").text == formulas[name] == derivation_text(spec, name)
        assert find(driver, f'#derivation .step.walk-here[data-name="{name}"]').is_displayed()
        assert len(driver.find_elements("css selector", "#derivation .walk-here")) >= 2, name   # and in the diagram
    assert seen == order                                               # every quantity, in the derivation's order
    assert {"z1", "L", "dL/dz3", "dL/dw7", "dL/da1", "dL/dz1", "dL/dw1", "w1'"} <= set(seen)
    assert find(driver, "#walk-where").text.startswith(f"{len(order)} of {len(order)} · 8. Update")

    back = find(driver, "#walk-back")                                   # by keyboard: Home, arrows, End, Escape
    back.send_keys(Keys.HOME)
    assert walking(driver) == "z1" and find(driver, "#walk-where").text.startswith("1 of")
    find(driver, "#walk-next").send_keys(Keys.ARROW_RIGHT)
    find(driver, "#walk-next").send_keys(Keys.ARROW_RIGHT)
    find(driver, "#walk-next").send_keys(Keys.ARROW_LEFT)
    assert walking(driver) == "z2"
    assert "walk=z2" in driver.current_url
    assert find(driver, "#derivation svg text.values.walk-here").text.startswith("z⁽²⁾ = 0,")   # its neuron

    for _ in range(order.index("dL/dz3") - 1):
        find(driver, "#walk-next").send_keys(Keys.ARROW_DOWN)
    address = driver.current_url
    assert "walk=dL%2Fdz3" in address
    opened(driver, address)                                               # a shared link opens at that stop
    assert walking(driver) == "dL/dz3" and find(driver, "#walk").is_displayed()
    assert find(driver, "#walk-formula").text == "∂L/∂z⁽³⁾ = ŷ₁ − y₁ = 0.567148 − 1 = -0.432852"
    assert find(driver, '#derivation .step.walk-here[data-name="dL/dz3"]').is_displayed()
    press(driver, find(driver, "#step"))                                 # stepping keeps the walk's place
    settled(driver)
    assert walking(driver) == "dL/dz3"
    assert find(driver, "#walk-formula").text == last(driver, "walk")["formulas"]["dL/dz3"]
    find(driver, "#walk-next").send_keys(Keys.ESCAPE)
    assert not find(driver, "#walk").is_displayed() and "walk=" not in driver.current_url


def highlighted(driver):
    """What the diagram highlights at the walk's stop: the names of its circles (by the label beside each) and its
    texts."""
    return driver.execute_script("""return [...document.querySelectorAll('#derivation svg .walk-here')].map((node) =>
        node.tagName === 'circle' ? `circle ${node.nextElementSibling.textContent}` : node.textContent)""")


def test_walk_and_hover_reach_a_batch_and_an_optimizers_state(studio, driver):
    """A batch's diagram draws each neuron once, with example 1's values; a later step's quantities and an optimizer's
    state are drawn where their neuron or parameter is: every stop of the walk highlights something there."""
    from selenium.webdriver.support.ui import Select

    opened(driver, studio.url)
    for example in ("batch_homework", "adam_step", "momentum_three_steps"):
        Select(find(driver, "#example")).select_by_value(example)
        until(driver, f"return window.studio.last.spec.title === {json.dumps(cr.explain(example).spec.title)}")
        press(driver, find(driver, "#walk-start"))
        stops, bare = [], []
        while True:
            stops.append(walking(driver))
            if not highlighted(driver):
                bare.append(stops[-1])
            if not find(driver, "#walk-next").is_enabled():
                break
            find(driver, "#walk-next").click()
        assert bare == [], (example, bare)
        find(driver, "#walk-close").click()
        if example == "batch_homework":
            assert len(stops) == 63 and {"z1[2]", "L[1]", "L", "dL/dz1[2]"} <= set(stops)
        elif example == "adam_step":
            assert {"m_w1", "v_w1", "mhat_w1", "vhat_w1"} <= set(stops)
        else:
            assert {"v_w1", "z@2", "E@3", "v_w1@2"} <= set(stops)

    Select(find(driver, "#example")).select_by_value("batch_homework")
    until(driver, "return window.studio.last.spec.title.startsWith('A homework step over a batch')")
    formulas = last(driver, "walk")["formulas"]
    driver.execute_script("walkTo(walkStops().findIndex((stop) => stop.name === 'z1[1]'))")
    assert highlighted(driver) == ["circle a₁", "z₁ = 0.2, 0.549834"]          # example 1's: its values too
    driver.execute_script("walkTo(walkStops().findIndex((stop) => stop.name === 'z1[2]'))")
    assert highlighted(driver) == ["circle a₁"]                                # example 2's: the neuron alone
    driver.execute_script("stopWalking()")
    neuron = next(t for t in driver.find_elements("css selector", "#derivation svg text.values")
                  if t.text.startswith("z₁ = "))
    driver.execute_script("arguments[0].focus()", neuron)                      # by keyboard too
    assert tip(driver) == formulas["z1[1]"] + "\n" + formulas["a1[1]"]
    assert len(driver.find_elements("css selector", "#derivation svg text.values[data-q][tabindex='0']")) == 5


def test_walk_on_a_phone(studio, driver):
    emulate(driver, 420)
    try:
        opened(driver, studio.url)
        driver.execute_script("walkTo(2)")                # the walk's start button is in the drawer
        bar = driver.execute_script("const r = document.querySelector('#walk').getBoundingClientRect(); "
                                    "return [r.top, r.right, r.bottom]")
        assert bar[0] == 0 and bar[1] <= 420 and bar[2] < 450            # on top: the drawer is at the bottom
        formula = find(driver, "#walk-formula")
        assert formula.text == last(driver, "walk")["formulas"]["a1"] and formula.size["width"] <= 420
        assert find(driver, '#derivation .step.walk-here[data-name="a1"]').is_displayed()
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


# --- the formula behind a number of the diagram --------------------------------------------------------------

def tip(driver):
    return driver.execute_script("const tip = document.querySelector('#formula-tip'); "
                                 "return tip.hidden ? null : tip.textContent")


def test_hover_or_focus_on_a_number_shows_its_formula(studio, driver):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    opened(driver, studio.url)
    spec = last(driver, "spec")
    gradient = driver.find_elements("css selector", "#derivation svg g.edge-label text")[1]     # ∂ of w1
    ActionChains(driver).move_to_element(gradient).perform()
    assert tip(driver) == derivation_text(spec, "dL/dw1")
    neuron = next(t for t in driver.find_elements("css selector", "#derivation svg text.values")
                  if t.text.startswith("z⁽¹⁾"))
    ActionChains(driver).move_to_element(neuron).perform()
    assert tip(driver) == derivation_text(spec, "z1") + "\n" + derivation_text(spec, "a1")
    ActionChains(driver).move_to_element(find(driver, "#step")).perform()
    assert tip(driver) is None

    numbers = driver.find_elements("css selector", "#derivation svg [data-q][tabindex='0']")
    assert len(numbers) == 29                           # 10 weights, their 10 gradients, 2 biases, 7 neurons
    driver.execute_script("arguments[0].focus()", numbers[0])
    assert tip(driver) == "b⁽¹⁾ = 0.5\n" + derivation_text(spec, "b1'")
    ActionChains(driver).send_keys(Keys.TAB).perform()               # the next number, by keyboard
    assert driver.execute_script("return document.activeElement.dataset.q") == '["w1","w1\'"]'
    assert tip(driver) == "w₁ = 0.2\n" + derivation_text(spec, "w1'")
    ActionChains(driver).send_keys(Keys.ENTER).perform()              # Enter edits it, as a click does
    assert driver.execute_script("return document.activeElement.dataset.path") == "layers[0].weights[0][0]"
    assert tip(driver) is None

    emulate(driver, 420)
    try:
        opened(driver, studio.url)
        last_neuron = driver.find_elements("css selector", "#derivation svg text.values")[-1]
        driver.execute_script("arguments[0].focus()", last_neuron)
        box = driver.execute_script("const r = document.querySelector('#formula-tip').getBoundingClientRect(); "
                                    "return [r.left, r.right]")
        assert tip(driver) and box[0] >= 0 and box[1] <= 420           # the whole formula on the screen
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


# --- menus, the Example menu, whole numbers in the boxes -------------------------------------------------------

def options(driver, css):
    return [o.get_attribute("value") for o in driver.find_elements("css selector", f"{css} option")]


def test_menus_offer_only_what_the_engine_pairs(studio, driver):
    from selenium.webdriver.support.ui import Select

    opened(driver, studio.url)
    offered = options(driver, "#loss")
    assert offered == ["cross_entropy", "half_squared_error", "mean_squared_error", "sum_squared_error"]
    for loss in offered:
        output_head("softmax", loss)                                  # the engine takes each
    with pytest.raises(cr.ChainruleError):
        output_head("softmax", "binary_cross_entropy")               # and refuses what is not offered
    assert "relu" not in options(driver, '[data-path="layers[1].activation"]')
    assert "relu" in options(driver, '[data-path="layers[0].activation"]')
    Select(find(driver, '[data-path="layers[1].activation"]')).select_by_value("sigmoid")
    settled(driver)
    assert last(driver, "spec")["loss"] == "binary_cross_entropy" and find(driver, "#loss").get_attribute("value") == \
        "binary_cross_entropy"
    assert find(driver, "#loss-note").text == ("The loss is now binary cross-entropy: cross-entropy does not go with "
                                               "a sigmoid output.")
    assert options(driver, "#loss") == ["binary_cross_entropy", "half_squared_error", "mean_squared_error",
                                         "sum_squared_error"]
    assert find(driver, "#example").get_attribute("value") == "custom"

    seed = cr.explain().spec_dict()                                   # a link pairing them otherwise
    opened(driver, link(studio.url, {**seed, "loss": "binary_cross_entropy"}))
    message = find(driver, '.field-error[data-for="loss"]').text
    assert message == ("loss: binary cross-entropy does not go with a softmax output; with softmax choose "
                       "cross-entropy, half squared error, mean squared error or sum of squared errors")
    words = {o.text for o in driver.find_elements("css selector", "#loss option")}
    assert all(word in words for word in ("cross-entropy", "half squared error", "mean squared error",
                                          "sum of squared errors"))
    assert "huber" not in message and "absolute" not in message and "poisson" not in message


def test_the_example_menu_names_what_is_shown(studio, driver):
    opened(driver, studio.url)
    assert find(driver, "#example").get_attribute("value") == "seed_article"
    type_into(driver, '[data-path="inputs.x1"]', "2")
    assert find(driver, "#example").get_attribute("value") == "custom"
    edited = driver.current_url
    type_into(driver, '[data-path="inputs.x1"]', "1")                 # the example itself again
    assert find(driver, "#example").get_attribute("value") == "seed_article"
    opened(driver, edited)                                            # a shared link with another spec
    assert find(driver, "#example").get_attribute("value") == "custom" and shown(driver, "x1") == "2"
    assert "you changed x₁" in find(driver, "#printed-status").text   # its original travels with it
    press(driver, find(driver, "#restore"))
    settled(driver)
    assert find(driver, "#example").get_attribute("value") == "seed_article"
    opened(driver, link(studio.url, cr.explain("relu_student").spec_dict(), origin=None))   # no original known
    assert find(driver, "#example").get_attribute("value") == "custom"
    assert find(driver, "#printed").get_attribute("hidden")


def test_a_link_made_before_links_named_their_original(studio, driver, client):
    """Such a link (no "origin") holds the spec and, in the box, the numbers printed with it: a shipped example as
    shipped is that example, its printed numbers judged as its author's; any other network is the learner's own."""
    seed = client.get("/api/example/seed_article").json()
    opened(driver, link(studio.url, seed["spec"], seed["claims"]))
    assert find(driver, "#example").get_attribute("value") == "seed_article"
    assert find(driver, "#claims").get_attribute("value") == ""                 # the article's, not the learner's
    claims = last(driver, "claims")
    assert len(claims) == 9 and {c["by"] for c in claims} == {"printed"}
    assert find(driver, "#printed-status").text.startswith("The article's 9 printed numbers are judged")

    opened(driver, link(studio.url, cr.explain("relu_student").spec_dict()))
    assert find(driver, "#example").get_attribute("value") == "relu_student"
    assert len(last(driver, "claims")) > 0 and not find(driver, "#printed").get_attribute("hidden")

    edited = {**seed["spec"], "inputs": {"x1": 2, "x2": 2, "x3": -1}}
    opened(driver, link(studio.url, edited, "z1 = 0.1"))                        # the learner's own network
    assert find(driver, "#example").get_attribute("value") == "custom"
    assert find(driver, "#printed").get_attribute("hidden")
    assert [(c["name"], c["by"]) for c in last(driver, "claims")] == [("z1", "learner")]


def test_a_link_the_page_cannot_read_says_so_and_the_page_works(studio, driver, client):
    """A spec without layers cannot be edited: the seed article is shown, with the server's words for what is wrong;
    an original network that cannot be read is set aside, said, and its numbers judged nowhere."""
    from selenium.webdriver.support.ui import Select

    seed = client.get("/api/example/seed_article").json()["spec"]
    driver.get_log("browser")
    opened(driver, link(studio.url, {"inputs": [1]}))
    assert find(driver, "#link-note").text == ("The link's state could not be read (spec: layers: expected this field "
                                               "to be present, found nothing); the seed article is shown instead.")
    assert find(driver, "#example").get_attribute("value") == "seed_article" and len(last(driver, "claims")) == 9
    assert len(driver.find_elements("css selector", "#editor input")) == 17

    opened(driver, link(studio.url, seed, origin={"spec": {"inputs": "x"}, "claims": "z1 = 5"}))
    assert find(driver, "#link-note").text == (
        "The link's original network could not be read (spec: layers: expected this field to be present, found "
        "nothing): the numbers printed with it are not judged.")
    assert not find(driver, "#banner").is_displayed() and find(driver, "#status").text.startswith("3 inputs")
    assert last(driver, "claims") == [] and find(driver, "#printed").get_attribute("hidden")
    assert find(driver, "#example").get_attribute("value") == "custom"
    assert [e for e in driver.get_log("browser") if e["source"] != "network"] == []     # no script error
    type_into(driver, '[data-path="layers[0].weights[0][0]"]', "0.6")          # and the page works on
    assert shown(driver, "w1") == "0.6" and not find(driver, "#banner").is_displayed()

    Select(find(driver, "#example")).select_by_value("relu_student")            # opening another ends the note
    until(driver, "return window.studio.last.spec.title.includes('ReLU')")
    assert not find(driver, "#link-note").is_displayed()


def box_cut(driver):
    """The editor's boxes whose number does not fit them."""
    return driver.execute_script("return [...document.querySelectorAll('#editor input')]"
                                 ".filter((box) => box.scrollWidth > box.clientWidth).map((box) => box.value)")


def test_boxes_show_whole_numbers_and_a_trained_network_is_custom(studio, driver):
    opened(driver, studio.url)
    type_into(driver, '[data-path="layers[0].weights[0][0]"]', "0.244429")
    assert shown(driver, "w1") == "0.244429" and box_cut(driver) == []
    type_into(driver, '[data-path="layers[0].weights[0][0]"]', "-0.000123456789012345")
    assert box_cut(driver) == []

    find(driver, "#tab-train").click()
    find(driver, "#epochs").clear()
    find(driver, "#epochs").send_keys("3")
    find(driver, "#hidden").clear()
    find(driver, "#hidden").send_keys("4")
    find(driver, "#train-start").click()
    deadline = time.monotonic() + 120
    while "done" not in find(driver, "#train-status").text and time.monotonic() < deadline:
        time.sleep(0.1)
    find(driver, "#explain-example").click()
    settled(driver)
    assert find(driver, "#example").get_attribute("value") == "custom"
    job = next(iter(studio.server.config.app.state.jobs.jobs.values()))
    trained = [layer.params["weight"].T for layer in job.network.layers if "weight" in getattr(layer, "params", {})]
    boxes = {box.get_attribute("data-path"): box.get_attribute("value")
             for box in driver.find_elements("css selector", "#editor input[data-path*='weights']")}
    assert len(boxes) == sum(w.size for w in trained) and box_cut(driver) == []
    for path, text in boxes.items():
        layer, j, i = parse_weight_path(path)
        assert np.float32(text) == trained[layer][j, i], path          # the trained float32 weight, exactly
        assert text == str(np.float32(text)), path                    # written in its shortest digits


def parse_weight_path(path):
    """``layers[1].weights[2][0]`` -> ``(1, 2, 0)``."""
    return tuple(int(n) for n in re.findall(r"\[(\d+)\]", path))


def test_the_shipped_pages_set_no_markup(client):
    """Every script sets text only; the one innerHTML is the derivation the server rendered (studio.js)."""
    from chainrule.studio.server import STATIC
    for name in ("audit.js", "network.js", "walk.js"):
        script = STATIC.joinpath(name).read_text(encoding="utf-8")
        assert "innerHTML" not in script and "insertAdjacentHTML" not in script and "outerHTML" not in script
        assert client.get(f"/static/{name}").status_code == 200


def test_choices_are_the_engines_pairings(client):
    from chainrule.explainer.spec import LOSSES
    from chainrule.losses import PAIRINGS

    choices = client.get("/api/choices").json()
    for output, losses in choices["losses"].items():
        assert losses and all((output, loss) in PAIRINGS and loss in LOSSES for loss in losses)
    assert "relu" not in choices["losses"] and choices["default_loss"]["softmax"] == "cross_entropy"
    for output, losses in choices["losses"].items():
        assert choices["default_loss"][output] in losses
