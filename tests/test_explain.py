"""The explanation of the seed article: hand-worked numbers, an independent computation, claims, specs."""

import json
import math

import numpy as np
import pytest

from chainrule.errors import ChainruleError
from chainrule.explainer import derive, load_spec, parse_spec, render_json, render_text, seed_article
from chainrule.explainer.spec import build_network
from chainrule.optimizers import GradientDescent
from chainrule.explainer.recorder import Recorder


def sig(z):
    return 1 / (1 + math.exp(-z))


def article_by_hand(eta=0.1):
    """The article's step written out scalar by scalar, independently of chainrule."""
    x1, x2, x3, y1, y2 = 1, 2, -1, 1, 0
    w = {1: .2, 2: -.3, 3: .4, 4: -.5, 5: .1, 6: .2, 7: .3, 8: -.1, 9: .4, 10: .2}
    b1, b2 = .5, .1
    q = {"z1": w[1] * x1 + w[2] * x2 + w[3] * x3 + b1, "z2": w[4] * x1 + w[5] * x2 + w[6] * x3 + b1}
    q["a1"], q["a2"] = sig(q["z1"]), sig(q["z2"])
    q["z3"] = w[7] * q["a1"] + w[9] * q["a2"] + b2          # Step 3's numbering
    q["z4"] = w[8] * q["a1"] + w[10] * q["a2"] + b2
    e3, e4 = math.exp(q["z3"]), math.exp(q["z4"])
    q["yhat1"], q["yhat2"] = e3 / (e3 + e4), e4 / (e3 + e4)
    q["L"] = -(y1 * math.log(q["yhat1"]) + y2 * math.log(q["yhat2"]))
    d3, d4 = q["yhat1"] - y1, q["yhat2"] - y2
    grads = {7: d3 * q["a1"], 9: d3 * q["a2"], 8: d4 * q["a1"], 10: d4 * q["a2"]}
    d1 = (d3 * w[7] + d4 * w[8]) * q["a1"] * (1 - q["a1"])
    d2 = (d3 * w[9] + d4 * w[10]) * q["a2"] * (1 - q["a2"])
    grads |= {1: d1 * x1, 2: d1 * x2, 3: d1 * x3, 4: d2 * x1, 5: d2 * x2, 6: d2 * x3}
    q |= {f"dL/dw{i}": g for i, g in grads.items()}
    q["dL/db1"], q["dL/db2"] = d1 + d2, d3 + d4
    q["dL/dz1"], q["dL/dz2"], q["dL/dz3"], q["dL/dz4"] = d1, d2, d3, d4
    updated = {f"w{i}": w[i] - eta * grads[i] for i in w}
    updated |= {"b1": b1 - eta * q["dL/db1"], "b2": b2 - eta * q["dL/db2"]}
    return q, updated


def test_first_layer_by_hand():
    d = derive(seed_article())
    assert abs(d.values["z1"] - (-0.3)) < 1e-12       # 0.2 - 0.6 - 0.4 + 0.5
    assert abs(d.values["z2"] - 0.0) < 1e-12          # -0.5 + 0.2 - 0.2 + 0.5
    assert d.values["a2"] == 0.5


@pytest.mark.parametrize("eta", [0.1, 0.5])
def test_every_quantity_against_an_independent_computation(eta):
    d = derive(seed_article(), learning_rate=eta)
    expected, updated = article_by_hand(eta)
    for name, value in expected.items():
        assert d.values[name] == pytest.approx(value, abs=1e-9), name
    for name, value in updated.items():
        assert d.updated[name] == pytest.approx(value, abs=1e-9), name


def test_the_article_z4_is_its_first_mistake():
    d = derive(seed_article())
    verdicts = {c.name: c.verdict for c in d.claims}
    assert verdicts == {"z1": "agrees", "z2": "agrees", "a1": "agrees", "a2": "agrees", "z3": "agrees",
                        "z4": "slip", "yhat1": "carried", "yhat2": "carried", "L": "carried"}
    slip = d.first_slip()
    assert slip.name == "z4" and slip.from_claims == pytest.approx(-0.1 * 0.426 + 0.2 * 0.5 + 0.1, abs=1e-12)
    assert d.values["z4"] == pytest.approx(-0.1 * 0.425557483 + 0.2 * 0.5 + 0.1, abs=1e-9)
    # the article's yhat1 follows from its own z3, z4 within their rounding: 1 / (1 + e^(0.185 - 0.428)) = 0.5604
    yhat1 = next(c for c in d.claims if c.name == "yhat1")
    assert yhat1.from_claims == pytest.approx(1 / (1 + math.exp(0.185 - 0.428)), abs=1e-12)


def made_up(claims: dict, **changes):
    raw = json.loads(seed_article_text())
    raw["claims"] = claims
    raw.update(changes)
    return parse_spec(raw, "made-up")


def seed_article_text():
    from chainrule.explainer import seed_article_path
    return seed_article_path().read_text()


def test_claims_right_and_wrong_on_made_up_numbers():
    d = derive(made_up({"a1": 0.42556, "dL/dw7": -0.1842, "w7'": 0.3184, "L": 0.58, "dL/dw1": 0.0423}))
    verdicts = {c.name: c.agrees for c in d.claims}
    assert verdicts == {"a1": True, "dL/dw7": True, "w7'": True, "L": False, "dL/dw1": False}   # sign slip
    assert d.first_slip().name == "L"


def test_rounding_tolerance_follows_the_printed_places():
    # computed a1 = 0.4255575: 0.43 is a correct 2-place rounding, 0.425 is not a correct 3-place one
    d = derive(made_up({"a1": 0.43}))
    assert d.claims[0].agrees
    d = derive(made_up({"a1": 0.425}))
    assert not d.claims[0].agrees


def test_claims_accept_plus_for_updated_values():
    d = derive(made_up({"w1+": 0.2042}))
    assert d.claims[0].agrees and d.claims[0].computed == d.updated["w1"]


def test_claim_of_an_unknown_quantity():
    with pytest.raises(ChainruleError, match="claims.w99: expected the name of a quantity"):
        derive(made_up({"w99": 1.0}))


@pytest.mark.parametrize("loss,activation", [("half_squared_error", "identity"), ("mean_squared_error", "identity"),
                                             ("binary_cross_entropy", "sigmoid"), ("cross_entropy", "softmax")])
def test_the_loss_is_called_L_for_every_loss_unless_the_spec_names_it(loss, activation):
    raw = {"inputs": [1.0, 2.0], "targets": [1.0, 0.0], "loss": loss,
           "layers": [{"weights": [[0.1, 0.2], [0.3, -0.4]], "activation": activation}]}
    d = derive(parse_spec(raw))
    assert d.spec.loss_name == "L" and {"L", "dL/dw1", "dL/dz2"} <= set(d.values)
    assert "Update, w′ = w − η·∂L/∂w" in render_text(d) and "∂L/∂w₁ =" in render_text(d)
    d = derive(parse_spec(raw | {"loss_name": "E"}))
    assert {"E", "dE/dw1"} <= set(d.values) and "L" not in d.values
    assert "Update, w′ = w − η·∂E/∂w" in render_text(d) and "∂L/∂" not in render_text(d)


def test_text_shows_every_step_with_formula_numbers_and_result():
    text = render_text(derive(seed_article()))
    for heading in ["Forward pass, layer 1 (sigmoid)", "Forward pass, layer 2 (softmax)", "Loss",
                    "Backward pass, output error", "Backward pass, gradients of layer 2",
                    "Backward pass, error carried back through layer 1 (sigmoid)",
                    "Backward pass, gradients of layer 1", "Update"]:
        assert heading in text
    for line in ["z⁽⁴⁾ = w₈·a⁽¹⁾ + w₁₀·a⁽²⁾ + b⁽²⁾", "= (-0.1)·0.425557 + 0.2·0.5 + 0.1", "= 0.157444",
                 "article: 0.185  ✗ SLIP (from its own inputs: 0.1574)", "article: 0.426  ✓ agrees",
                 "article: 0.561  ✗ carried",
                 "∂L/∂w₈ = ∂L/∂z⁽⁴⁾·a⁽¹⁾", "∂L/∂b⁽¹⁾ = ∂L/∂z⁽¹⁾ + ∂L/∂z⁽²⁾",
                 "∂L/∂z⁽¹⁾ = ∂L/∂a⁽¹⁾·a⁽¹⁾·(1 − a⁽¹⁾)", "w₁′ = w₁ − η·∂L/∂w₁", "= 0.204233",
                 "its w8 (from a(2) to z(3)) is w9 here", "one bias parameter shared by the 2 neurons",
                 "First slip: z⁽⁴⁾ is printed as 0.185; from the article's own inputs it is 0.1574, and the correct "
                 "value is 0.157444.", "It carried into: ŷ₁ (printed 0.561, correct 0.567148), ŷ₂"]:
        assert line in text, line
    for i in range(1, 11):
        assert f"∂L/∂w{str(i).translate(str.maketrans('0123456789', '₀₁₂₃₄₅₆₇₈₉'))} =" in text


def test_json_output_schema():
    document = json.loads(render_json(derive(seed_article())))
    names = ["z1", "z2", "z3", "z4", "a1", "a2", "yhat1", "yhat2", "L"] + [f"dL/dw{i}" for i in range(1, 11)]
    assert all(isinstance(document["quantities"][n], float) for n in names)
    assert sorted(document["updated"]) == sorted([f"w{i}" for i in range(1, 11)] + ["b1", "b2"])
    claim = next(c for c in document["claims"] if c["name"] == "z4")
    assert claim == {"name": "z4", "claimed": 0.185, "computed": pytest.approx(0.1574442517), "agrees": False,
                     "verdict": "slip", "from_claims": pytest.approx(0.1574)}
    assert [c["verdict"] for c in document["claims"]].count("carried") == 3


def test_traced_and_untraced_steps_leave_identical_parameters():
    spec = seed_article()
    results = []
    for recorder in (None, Recorder()):
        net, _ = build_network(spec)
        net.loss(spec.inputs[None, :], spec.targets[None, :], recorder=recorder)
        net.backward(recorder=recorder)
        GradientDescent(0.1).step(net.named_parameters(), net.named_gradients())
        results.append({k: v.copy() for k, v in net.named_parameters().items()})
    for name in results[0]:
        np.testing.assert_array_equal(results[0][name], results[1][name])
    d = derive(spec)
    assert d.updated["w1"] == results[0]["0.weight"][0, 0]     # the explanation reports that same step


def test_frozen_biases():
    d = derive(made_up({}, update_biases=False))
    assert d.updated["b1"] == 0.5 and d.updated["b2"] == 0.1
    assert "Biases are kept fixed" in render_text(d)


def test_toml_spec_with_default_names(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text("""
inputs = [0.5, -1.0]
targets = [1.0]
loss = "binary_cross_entropy"
learning_rate = 0.5
[[layers]]
weights = [[0.1, 0.2], [0.3, -0.4]]
bias = [0.0, 0.1]
activation = "tanh"
[[layers]]
weights = [[0.5, -0.6]]
bias = 0.2
activation = "sigmoid"
[claims]
z1 = -0.15
""")
    d = derive(load_spec(path))
    a1, a2 = math.tanh(0.05 - 0.2), math.tanh(0.15 + 0.4 + 0.1)
    z3 = 0.5 * a1 - 0.6 * a2 + 0.2
    assert d.values["yhat1"] == pytest.approx(sig(z3), abs=1e-12)
    assert d.values["L"] == pytest.approx(-math.log(sig(z3)), abs=1e-12)
    assert d.values["dL/dw5"] == pytest.approx((sig(z3) - 1) * a1, abs=1e-12)
    assert d.values["dL/dz1"] == pytest.approx((sig(z3) - 1) * 0.5 * (1 - a1**2), abs=1e-12)
    assert [c.agrees for c in d.claims] == [True]
    assert "b₁" in render_text(d) and "b₃" in render_text(d)


@pytest.mark.parametrize("change, message", [
    (lambda r: r["layers"][1].update(weights=[[0.3], [0.1, 0.2]]),
     r"layers\[1\].weights\[0\]: expected 2 columns, one per input of this layer, found 1"),
    (lambda r: r["layers"][0].update(activation="swish"), r"layers\[0\].activation: expected one of"),
    (lambda r: r.update(targets=[1, 0, 0]), "targets: expected 2 values, one per output neuron, found 3"),
    (lambda r: r.update(loss="hinge"), "loss: expected one of"),
    (lambda r: r.pop("inputs"), "inputs: expected this field to be present"),
    (lambda r: r["layers"][0].update(weight_names=[["w1", "w2", "w3"], ["w4", "w5", "w1"]]), '"w1" twice'),
    (lambda r: r.update(learning_rate=-1), "learning_rate: expected a positive learning rate"),
    (lambda r: r["layers"][0]["weights"][0].__setitem__(0, "x"), r"weights\[0\]\[0\]: expected a number"),
])
def test_malformed_specs_name_the_field(change, message):
    raw = json.loads(seed_article_text())
    change(raw)
    with pytest.raises(ChainruleError, match=message):
        parse_spec(raw, "bad.json")


def test_spec_file_errors(tmp_path):
    with pytest.raises(ChainruleError, match="no such spec file"):
        load_spec(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{ not json")
    with pytest.raises(ChainruleError, match="broken.json: not valid JSON"):
        load_spec(broken)
