"""Claimable intermediates authors print: a softmax's e^z and its denominator, the error reaching a hidden neuron
through each connection, and (in a batch) one example's gradient inside the batch's. Each value is checked against
scalar arithmetic written out here, independently of the engine, and each slip against what it carries into."""

import json
import math
from decimal import Decimal

import pytest

from chainrule.explain import RENDERERS, derive, parse_spec


def sigmoid(z):
    return 1 / (1 + math.exp(-z))


SOFT = {"inputs": [1.0, 0.5], "targets": 0, "loss": "cross_entropy", "learning_rate": 0.5,
        "layers": [{"weights": [[0.1, 0.2], [0.3, -0.4]], "bias": [0.0, -0.1], "activation": "sigmoid"},
                   {"weights": [[0.5, -0.6], [0.7, 0.2]], "bias": [0.2, -0.1], "activation": "softmax"}]}
SOFT_BATCH = {**SOFT, "inputs": [[1.0, 0.5], [-0.5, 2.0]], "targets": [0, 1]}


def by_hand(x, cls):
    """SOFT's network on one example, scalar by scalar."""
    a1, a2 = sigmoid(0.1 * x[0] + 0.2 * x[1] + 0.0), sigmoid(0.3 * x[0] - 0.4 * x[1] - 0.1)
    z3, z4 = 0.5 * a1 - 0.6 * a2 + 0.2, 0.7 * a1 + 0.2 * a2 - 0.1
    e3, e4 = math.exp(z3), math.exp(z4)
    total = e3 + e4
    t = [1.0 if cls == 0 else 0.0, 1.0 if cls == 1 else 0.0]
    d3, d4 = e3 / total - t[0], e4 / total - t[1]
    return {"a1": a1, "a2": a2, "z3": z3, "z4": z4, "exp_z3": e3, "exp_z4": e4, "sum_exp": total,
            "yhat1": e3 / total, "yhat2": e4 / total, "dL/dz3": d3, "dL/dz4": d4,
            "dL/da1_via_z3": 0.5 * d3, "dL/da1_via_z4": 0.7 * d4, "dL/da2_via_z3": -0.6 * d3,
            "dL/da2_via_z4": 0.2 * d4, "dL/da1": 0.5 * d3 + 0.7 * d4, "dL/dw5": d3 * a1}


def four(x) -> Decimal:
    """A number printed to 4 places, as an author writes it (its digits say how it was rounded)."""
    return Decimal(f"{x:.4f}")


def verdicts(d):
    return {c.name: c.verdict for c in d.claims}


# --- a softmax's e^z and its denominator -------------------------------------------------------------------------

def test_exp_z_and_the_denominator_match_hand_computed_values_and_are_shown_only_when_claimed():
    assert "Σe^z" not in RENDERERS["text"](derive(parse_spec(SOFT)))
    hand = by_hand([1.0, 0.5], 0)
    d = derive(parse_spec({**SOFT, "claims": {"exp_z3": four(hand["exp_z3"])}}))
    for name in ("exp_z3", "exp_z4", "sum_exp", "yhat1", "yhat2"):
        assert d.values[name] == pytest.approx(hand[name], rel=1e-12), name
    assert verdicts(d) == {"exp_z3": "agrees"}
    text = RENDERERS["text"](d)
    assert "e^z₃ = e^(z₃)" in text and "Σe^z = e^z₃ + e^z₄" in text and "ŷ₁ = e^z₃ / Σe^z" in text
    assert d.order.index("exp_z3") < d.order.index("sum_exp") < d.order.index("yhat1")


def test_exp_z_is_shown_in_every_format():
    d = derive(parse_spec({**SOFT, "claims": {"sum_exp": 2.5}}))
    for kind in ("markdown", "latex"):
        out = RENDERERS[kind](d)
        assert r"e^{z_{3}}" in out and r"\textstyle\sum e^{z}" in out, kind
    html = RENDERERS["html"](d)
    assert 'data-name="exp_z3"' in html and 'data-name="sum_exp"' in html
    document = json.loads(RENDERERS["json"](d))
    assert {"exp_z3", "exp_z4", "sum_exp"} <= set(document["quantities"])
    assert document["order"].index("sum_exp") < document["order"].index("yhat1")


def test_a_slip_in_the_denominator_carries_into_every_yhat_computed_from_it():
    hand = by_hand([1.0, 0.5], 0)
    e3, e4, wrong = float(four(hand["exp_z3"])), float(four(hand["exp_z4"])), 2.7  # the sum is 2.6402
    claims = {"exp_z3": four(e3), "exp_z4": four(e4), "sum_exp": four(wrong), "yhat1": four(e3 / wrong),
              "yhat2": four(e4 / wrong), "dL/dz3": four(e3 / wrong - 1),
              "dL/dw5": four((e3 / wrong - 1) * hand["a1"])}
    d = derive(parse_spec({**SOFT, "claims": claims}))
    assert verdicts(d) == {"exp_z3": "agrees", "exp_z4": "agrees", "sum_exp": "slip", "yhat1": "carried",
                           "yhat2": "carried", "dL/dz3": "carried", "dL/dw5": "carried"}
    slip = next(c for c in d.claims if c.name == "sum_exp")
    assert slip.from_claims == pytest.approx(e3 + e4, rel=1e-12)       # the sum of the author's own e^z
    carried = next(c for c in d.claims if c.name == "yhat1")
    assert carried.from_claims == pytest.approx(e3 / wrong, rel=1e-12)
    text = RENDERERS["text"](d)
    assert "First slip: Σe^z is printed as 2.7000" in text and "It carried into: ŷ₁ (printed" in text


def test_a_slip_in_one_exponential_carries_into_the_denominator_and_the_yhats():
    hand = by_hand([1.0, 0.5], 0)
    e3, e4 = 1.2, float(four(hand["exp_z4"]))                         # e^z3 is 1.1561: a slip
    claims = {"exp_z3": four(e3), "exp_z4": four(e4), "sum_exp": four(e3 + e4), "yhat2": four(e4 / (e3 + e4))}
    d = derive(parse_spec({**SOFT, "claims": claims}))
    assert verdicts(d) == {"exp_z3": "slip", "exp_z4": "agrees", "sum_exp": "carried", "yhat2": "carried"}


def test_exp_z_per_example_in_a_batch_and_a_slip_carried_into_the_batch_gradient():
    h1, h2 = by_hand([1.0, 0.5], 0), by_hand([-0.5, 2.0], 1)
    d = derive(parse_spec({**SOFT_BATCH, "claims": {"exp_z3[2]": four(h2["exp_z3"])}}))
    assert d.values["exp_z3[2]"] == pytest.approx(h2["exp_z3"], rel=1e-12)
    assert d.values["sum_exp[1]"] == pytest.approx(h1["sum_exp"], rel=1e-12)
    assert d.values["dL/dw5"] == pytest.approx((h1["dL/dw5"] + h2["dL/dw5"]) / 2, rel=1e-12)
    wrong = 2.0
    p = float(four(h2["exp_z3"])) / wrong                             # example 2's yhat1 from the printed denominator
    claims = {"exp_z3[2]": four(h2["exp_z3"]), "sum_exp[2]": four(wrong), "yhat1[2]": four(p),
              "dL/dz3[2]": four(p), "dL/dw5": four((h1["dL/dw5"] + p * h2["a1"]) / 2)}
    d = derive(parse_spec({**SOFT_BATCH, "claims": claims}))
    assert verdicts(d) == {"exp_z3[2]": "agrees", "sum_exp[2]": "slip", "yhat1[2]": "carried",
                           "dL/dz3[2]": "carried", "dL/dw5": "carried"}
    assert "e^z₃[2] = e^(z₃[2])" in RENDERERS["text"](d)
