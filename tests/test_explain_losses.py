"""The losses authors use, explained: the sum of squared errors Σ (ŷ − y)² (no ½), worked by hand with ``math``
alone and compared with what ``explain`` records from the engine's own ``SumSquaredError``."""

import json
import math
from dataclasses import replace

import pytest

from chainrule.errors import ChainruleError
from chainrule.explainer import derive, parse_spec, render_json, render_text
from chainrule.explainer.checks import batch_step_errors
from chainrule.explainer.render_html import render_html
from chainrule.explainer.render_tex import render_latex, render_markdown
from chainrule.gradcheck import TOLERANCE

# 2 inputs -> 2 sigmoid -> 2 sigmoid, a batch of two examples
BATCH = {
    "inputs": [[1.0, 0.5], [0.0, -1.0]],
    "targets": [[1.0, 0.0], [0.0, 1.0]],
    "loss": "sum_squared_error",
    "learning_rate": 0.5,
    "layers": [{"weights": [[0.1, 0.3], [0.2, -0.4]], "bias": [0.0, 0.1], "activation": "sigmoid"},
               {"weights": [[0.5, -0.6], [0.7, 0.2]], "bias": [0.2, -0.1], "activation": "sigmoid"}],
}
W = {1: 0.1, 2: 0.3, 3: 0.2, 4: -0.4, 5: 0.5, 6: -0.6, 7: 0.7, 8: 0.2}
B = {1: 0.0, 2: 0.1, 3: 0.2, 4: -0.1}


def sig(z):
    return 1 / (1 + math.exp(-z))


def example_by_hand(x1, x2, y1, y2):
    """One example's pass, scalar by scalar: L = (ŷ₁ − y₁)² + (ŷ₂ − y₂)², dL/dŷ = 2(ŷ − y)."""
    q = {"z1": W[1] * x1 + W[2] * x2 + B[1], "z2": W[3] * x1 + W[4] * x2 + B[2]}
    q["a1"], q["a2"] = sig(q["z1"]), sig(q["z2"])
    q["z3"] = W[5] * q["a1"] + W[6] * q["a2"] + B[3]
    q["z4"] = W[7] * q["a1"] + W[8] * q["a2"] + B[4]
    q["yhat1"], q["yhat2"] = sig(q["z3"]), sig(q["z4"])
    q["L"] = (q["yhat1"] - y1) ** 2 + (q["yhat2"] - y2) ** 2
    q["dL/dyhat1"], q["dL/dyhat2"] = 2 * (q["yhat1"] - y1), 2 * (q["yhat2"] - y2)
    d3 = q["dL/dyhat1"] * q["yhat1"] * (1 - q["yhat1"])
    d4 = q["dL/dyhat2"] * q["yhat2"] * (1 - q["yhat2"])
    d1 = (W[5] * d3 + W[7] * d4) * q["a1"] * (1 - q["a1"])
    d2 = (W[6] * d3 + W[8] * d4) * q["a2"] * (1 - q["a2"])
    q |= {"dL/dz1": d1, "dL/dz2": d2, "dL/dz3": d3, "dL/dz4": d4}
    q |= {"dL/dw1": d1 * x1, "dL/dw2": d1 * x2, "dL/dw3": d2 * x1, "dL/dw4": d2 * x2,
          "dL/dw5": d3 * q["a1"], "dL/dw6": d3 * q["a2"], "dL/dw7": d4 * q["a1"], "dL/dw8": d4 * q["a2"],
          "dL/db1": d1, "dL/db2": d2, "dL/db3": d3, "dL/db4": d4}
    return q


def batch_by_hand(reduction="mean", eta=0.5):
    one, two = example_by_hand(1.0, 0.5, 1.0, 0.0), example_by_hand(0.0, -1.0, 0.0, 1.0)
    share = 1.0 if reduction == "sum" else 0.5
    batch = {name: share * (one[name] + two[name]) for name in one if name == "L" or name.startswith("dL/dw")
             or name.startswith("dL/db")}
    updated = {f"w{i}": W[i] - eta * batch[f"dL/dw{i}"] for i in W}
    return one, two, batch, updated


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_a_batch_of_two_against_hand_arithmetic(reduction):
    one, two, batch, updated = batch_by_hand(reduction)
    d = derive(parse_spec({**BATCH, "reduction": reduction}))
    for n, hand in ((1, one), (2, two)):
        for name, value in hand.items():
            assert d.values[f"{name}[{n}]"] == pytest.approx(value, rel=1e-12, abs=1e-15), (name, n)
    for name, value in batch.items():
        assert d.values[name] == pytest.approx(value, rel=1e-12, abs=1e-15), name
    for name, value in updated.items():
        assert d.updated[name] == pytest.approx(value, rel=1e-12), name
    assert d.losses[0] == pytest.approx(batch["L"], rel=1e-12)


def test_a_single_example_against_hand_arithmetic():
    hand = example_by_hand(1.0, 0.5, 1.0, 0.0)
    d = derive(parse_spec({**BATCH, "inputs": [1.0, 0.5], "targets": [1.0, 0.0]}))
    for name, value in hand.items():
        assert d.values[name] == pytest.approx(value, rel=1e-12, abs=1e-15), name


def test_the_formulas_are_the_sum_of_squared_errors_without_a_half():
    d = derive(parse_spec({**BATCH, "inputs": [1.0, 0.5], "targets": [1.0, 0.0]}))
    loss = next(s for s in d.sections if s.kind == "loss").steps[-1]
    assert loss.template == "({yhat1} − {y1})² + ({yhat2} − {y2})²"
    error = next(s for s in d.sections if s.kind == "output_error").steps
    assert [s.template for s in error[:2]] == ["2·({yhat1} − {y1})", "2·({yhat2} − {y2})"]
    text = render_text(d)
    assert "L = (ŷ₁ − y₁)² + (ŷ₂ − y₂)²" in text and "½" not in text
    assert "∂L/∂ŷ₁ = 2·(ŷ₁ − y₁)" in text and "loss: sum of squared errors" in text
    assert d.spec.target_names == ["y1", "y2"]


def test_every_format_renders_it():
    d = derive(parse_spec({**BATCH, "claims": {"L": 0.5}}))
    assert json.loads(render_json(d))["quantities"]["L"] == pytest.approx(batch_by_hand()[2]["L"], rel=1e-12)
    latex = render_latex(d)
    assert r"\left({\hat{y}_{1}}[1] - {y_{1}}[1]\right)^{2} + \left({\hat{y}_{2}}[1] - {y_{2}}[1]\right)^{2}" in latex
    assert r"\tfrac{1}{2}" not in latex
    assert "sum of squared errors" in render_markdown(d) and "sum of squared errors" in render_html(d)


def test_each_outputs_share_is_its_squared_error():
    hand = example_by_hand(1.0, 0.5, 1.0, 0.0)
    d = derive(parse_spec({**BATCH, "inputs": [1.0, 0.5], "targets": [1.0, 0.0],
                           "claims": {"L_yhat1": 0.3, "L_yhat2": 0.3}}))
    assert d.values["L_yhat1"] == pytest.approx((hand["yhat1"] - 1.0) ** 2, rel=1e-12)
    assert d.values["L_yhat2"] == pytest.approx((hand["yhat2"] - 0.0) ** 2, rel=1e-12)
    assert d.values["L_yhat1"] + d.values["L_yhat2"] == pytest.approx(d.values["L"], rel=1e-12)


def test_the_audit_calls_a_forgotten_factor_two_a_slip_and_carries_it():
    """An author who differentiates as if the ½ were there prints ŷ − y for the output error: a slip, and the
    gradient computed from it is carried."""
    hand = example_by_hand(1.0, 0.5, 1.0, 0.0)
    wrong = hand["yhat1"] - 1.0                                       # the ½'s derivative
    carried = wrong * hand["yhat1"] * (1 - hand["yhat1"]) * hand["a1"]
    d = derive(parse_spec({**BATCH, "inputs": [1.0, 0.5], "targets": [1.0, 0.0],
                           "claims": {"L": round(hand["L"], 4), "dL/dyhat1": round(wrong, 4),
                                      "dL/dw5": round(carried, 4)}}))
    assert {c.name: c.verdict for c in d.claims} == {"L": "agrees", "dL/dyhat1": "slip", "dL/dw5": "carried"}


def test_the_explained_batch_gradients_match_finite_differences():
    spec = parse_spec(BATCH)
    assert max(batch_step_errors(spec).values()) < TOLERANCE
    assert max(batch_step_errors(replace(spec, reduction="sum")).values()) < TOLERANCE


def test_the_spec_names_the_loss_exactly():
    with pytest.raises(ChainruleError, match='did you mean "sum_squared_error"'):
        parse_spec({**BATCH, "loss": "sum_squared_errors"})
    for output in ("identity", "sigmoid", "tanh", "softmax"):     # every output the loss compares with targets
        layers = [BATCH["layers"][0], {**BATCH["layers"][1], "activation": output}]
        assert derive(parse_spec({**BATCH, "layers": layers})).spec.loss == "sum_squared_error"
