"""Claimable intermediates authors print: a softmax's e^z and its denominator, the error reaching a hidden neuron
through each connection, and (in a batch) one example's gradient inside the batch's. Each value is checked against
scalar arithmetic written out here, independently of the engine, and each slip against what it carries into."""

import json
import math
from decimal import Decimal

import pytest

from chainrule.explainer import RENDERERS, derive, parse_spec


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


# --- the error reaching a hidden neuron through each connection --------------------------------------------------

def test_the_error_per_connection_matches_hand_computed_values_and_sums_to_the_neurons_error():
    assert "(via z₃)" not in RENDERERS["text"](derive(parse_spec(SOFT)))
    hand = by_hand([1.0, 0.5], 0)
    d = derive(parse_spec({**SOFT, "claims": {"dL/da1_via_z3": four(hand["dL/da1_via_z3"])}}))
    for name in ("dL/da1_via_z3", "dL/da1_via_z4", "dL/da1"):
        assert d.values[name] == pytest.approx(hand[name], rel=1e-12), name
    assert "dL/da2_via_z3" not in d.values               # shown for the neuron whose connections are claimed
    assert verdicts(d) == {"dL/da1_via_z3": "agrees"}
    text = RENDERERS["text"](d)
    assert "∂L/∂a₁ (via z₃) = w₅·∂L/∂z₃" in text and "∂L/∂a₁ (via z₄) = w₇·∂L/∂z₄" in text
    assert "∂L/∂a₁ = ∂L/∂a₁ (via z₃) + ∂L/∂a₁ (via z₄)" in text
    assert r"\right|_{\mathrm{via}\,z_{3}}" in RENDERERS["latex"](d)
    assert r"\right|_{\mathrm{via}\,z_{3}}" in RENDERERS["markdown"](d)
    assert 'data-name="dL/da1_via_z4"' in RENDERERS["html"](d)
    document = json.loads(RENDERERS["json"](d))
    assert document["order"].index("dL/da1_via_z4") < document["order"].index("dL/da1")


def test_a_slip_in_one_connection_carries_into_the_neurons_error_and_below():
    hand = by_hand([1.0, 0.5], 0)
    via3, wrong = float(four(hand["dL/da1_via_z3"])), 0.1         # via z4 is 0.4 (0.7 · 0.5708)
    da1 = via3 + wrong
    dz1 = da1 * hand["a1"] * (1 - hand["a1"])
    claims = {"dL/da1_via_z3": four(via3), "dL/da1_via_z4": four(wrong), "dL/da1": four(da1),
              "dL/dz1": four(dz1), "dL/dw1": four(dz1 * 1.0), "w1+": four(0.1 - 0.5 * dz1)}
    d = derive(parse_spec({**SOFT, "claims": claims}))
    assert verdicts(d) == {"dL/da1_via_z3": "agrees", "dL/da1_via_z4": "slip", "dL/da1": "carried",
                           "dL/dz1": "carried", "dL/dw1": "carried", "w1+": "carried"}
    assert next(c for c in d.claims if c.name == "dL/da1").from_claims == pytest.approx(da1, rel=1e-12)
    assert "It carried into: ∂L/∂a₁ (printed" in RENDERERS["text"](d)


def test_the_error_per_connection_in_a_batch_and_in_the_authors_sign():
    h1, h2 = by_hand([1.0, 0.5], 0), by_hand([-0.5, 2.0], 1)
    wrong = 0.3
    dz1 = (h2["dL/da1_via_z3"] + wrong) * h2["a1"] * (1 - h2["a1"])
    claims = {"dL/da1_via_z4[2]": four(wrong), "dL/da1[2]": four(h2["dL/da1_via_z3"] + wrong),
              "dL/dw2[2]": four(dz1 * 2.0), "dL/dw2": four((h1["a1"] * (1 - h1["a1"]) * h1["dL/da1"] * 0.5
                                                             + dz1 * 2.0) / 2)}
    d = derive(parse_spec({**SOFT_BATCH, "claims": claims}))
    assert d.values["dL/da1_via_z4[2]"] == pytest.approx(h2["dL/da1_via_z4"], rel=1e-12)
    assert verdicts(d) == {"dL/da1_via_z4[2]": "slip", "dL/da1[2]": "carried", "dL/dw2[2]": "carried",
                           "dL/dw2": "carried"}
    negative = derive(parse_spec({**SOFT, "error_sign": "negative",
                                  "claims": {"dL/da1_via_z3": four(-by_hand([1.0, 0.5], 0)["dL/da1_via_z3"])}}))
    assert verdicts(negative) == {"dL/da1_via_z3": "agrees"}


def test_a_sequential_update_carries_the_error_through_the_updated_weight():
    hand = by_hand([1.0, 0.5], 0)
    w5_new = 0.5 - 0.5 * hand["dL/dw5"]
    d = derive(parse_spec({**SOFT, "update_order": "sequential", "claims": {"dL/da1_via_z3": 0.1}}))
    assert d.values["dL/da1_via_z3"] == pytest.approx(w5_new * hand["dL/dz3"], rel=1e-12)
    assert "∂L/∂a₁ (via z₃) = w₅′·∂L/∂z₃" in RENDERERS["text"](d)


# --- one example's printed gradient inside the batch's -----------------------------------------------------------

@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_a_slip_in_one_examples_gradient_is_carried_into_the_batch_gradient(reduction):
    h1, h2 = by_hand([1.0, 0.5], 0), by_hand([-0.5, 2.0], 1)
    share = 0.5 if reduction == "mean" else 1.0
    wrong = 0.2                                                     # example 2's dL/dw5 is -0.1926
    claims = {"dL/dw5[1]": four(h1["dL/dw5"]), "dL/dw5[2]": four(wrong),
              "dL/dw5": four(share * (float(four(h1["dL/dw5"])) + wrong)),
              "w5+": four(0.5 - 0.5 * share * (float(four(h1["dL/dw5"])) + wrong))}
    d = derive(parse_spec({**SOFT_BATCH, "reduction": reduction, "claims": claims}))
    assert verdicts(d) == {"dL/dw5[1]": "agrees", "dL/dw5[2]": "slip", "dL/dw5": "carried", "w5+": "carried"}
    batch = next(c for c in d.claims if c.name == "dL/dw5")
    assert batch.from_claims == pytest.approx(share * (float(four(h1["dL/dw5"])) + wrong), rel=1e-12)
    assert batch.computed == pytest.approx(share * (h1["dL/dw5"] + h2["dL/dw5"]), rel=1e-12)
    # the batch gradient computed right from the same wrong example is no longer marked correct
    right = derive(parse_spec({**SOFT_BATCH, "reduction": reduction,
                               "claims": {"dL/dw5[2]": four(wrong),
                                          "dL/dw5": four(share * (h1["dL/dw5"] + h2["dL/dw5"]))}}))
    assert verdicts(right) == {"dL/dw5[2]": "slip", "dL/dw5": "agrees"}


def test_a_slip_in_one_examples_loss_is_carried_into_the_batch_loss():
    h1, h2 = by_hand([1.0, 0.5], 0), by_hand([-0.5, 2.0], 1)
    l1, wrong = -math.log(h1["yhat1"]), 0.9                          # example 2's loss is 0.5306
    d = derive(parse_spec({**SOFT_BATCH, "claims": {"L[1]": four(l1), "L[2]": four(wrong),
                                                    "L": four((float(four(l1)) + wrong) / 2)}}))
    assert d.values["L[2]"] == pytest.approx(-math.log(h2["yhat2"]), rel=1e-12)
    assert verdicts(d) == {"L[1]": "agrees", "L[2]": "slip", "L": "carried"}


def test_the_readme_example_of_e_z_and_connections_runs_as_shown(tmp_path):
    import re
    from pathlib import Path

    from chainrule.explainer import example_path, load_spec

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Batches, layouts"):readme.index("### JSON output")]
    example = next(block for block in re.findall(r"```toml\n(.*?)```", section, re.S) if "sum_exp" in block)
    path = tmp_path / "softmax.toml"
    path.write_text(example, encoding="utf-8")
    d = derive(load_spec(path))
    said = dict(re.findall(r'^"?([\w/]+)"? = \S+ +# .*?(agrees|slip|carried)', example, re.M))
    assert verdicts(d) == {**{c.name: "agrees" for c in d.claims}, **said}
    assert said == {"sum_exp": "slip", "yhat1": "carried", "dL/da1_via_z3": "carried", "dL/da1_via_z4": "carried",
                    "dL/da1": "carried"}
    assert d.values["sum_exp"] == pytest.approx(sum(math.exp(d.values[z]) for z in ("z3", "z4")), rel=1e-12)
    text = RENDERERS["text"](d)
    shown = [block.strip() for block in re.findall(r"```text\n(.*?)```", section, re.S) if "Σe^z" in block]
    assert shown and shown[0] in text
    # the names in the README's prose exist for Mazur's network
    raw = json.loads(example_path("step_by_step_sigmoid").read_text(), parse_float=Decimal)
    raw["claims"] = {"dE/dout_h1_via_net_o1": Decimal("0.055399425")}      # Mazur's dE_o1/dout_h1
    assert verdicts(derive(parse_spec(raw))) == {"dE/dout_h1_via_net_o1": "agrees"}


def test_a_student_submission_may_name_the_new_intermediates():
    from chainrule.teach.grade import grade_values

    hand = by_hand([1.0, 0.5], 0)
    values = {"exp_z3": four(hand["exp_z3"]), "sum_exp": Decimal("2.7000"),
              "dL/da1_via_z4": four(hand["dL/da1_via_z4"])}
    result = grade_values(parse_spec(SOFT), None, "s1", values, "s1.txt")
    assert {m.name: m.verdict for m in result.marks} == {"exp_z3": "agrees", "sum_exp": "slip",
                                                         "dL/da1_via_z4": "agrees"}
    assert result.total == 2


# --- a sequential update and rounded working, in a batch ---------------------------------------------------------

BATCH = {"inputs": [[1.0, 0.5], [0.0, -1.0]], "targets": [[1.0], [0.0]], "loss": "half_squared_error",
         "learning_rate": 0.5,
         "layers": [{"weights": [[0.1, 0.2], [0.3, -0.4]], "bias": [0.0, 0.1], "activation": "sigmoid"},
                    {"weights": [[0.5, -0.6]], "bias": 0.2, "activation": "sigmoid"}]}


def worked(x, t, r=lambda v: v, w5=0.5, w6=-0.6):
    """BATCH's network on one example, each number rounded by ``r`` as it is computed; the error below the output
    layer is carried with ``w5``, ``w6`` (the updated ones, in a sequential update)."""
    a1, a2 = r(sigmoid(r(0.1 * x[0] + 0.2 * x[1] + 0.0))), r(sigmoid(r(0.3 * x[0] - 0.4 * x[1] + 0.1)))
    o = r(sigmoid(r(0.5 * a1 - 0.6 * a2 + 0.2)))
    d3 = r(r(o - t) * o * (1 - o))
    d1, d2 = d3 * w5 * a1 * (1 - a1), d3 * w6 * a2 * (1 - a2)
    return {"a1": a1, "a2": a2, "o": o, "d3": d3, "w5": d3 * a1, "w6": d3 * a2, "b3": d3, "da1": d3 * w5,
            "w1": d1 * x[0], "w2": d1 * x[1], "w3": d2 * x[0], "w4": d2 * x[1], "b1": d1, "b2": d2}


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_a_sequential_batch_carries_each_examples_error_with_the_batchs_updated_weights(reduction):
    share = 0.5 if reduction == "mean" else 1.0
    first = [worked([1.0, 0.5], 1.0), worked([0.0, -1.0], 0.0)]
    w5, w6 = (0.5 - 0.5 * share * sum(e["w5"] for e in first), -0.6 - 0.5 * share * sum(e["w6"] for e in first))
    e1, e2 = worked([1.0, 0.5], 1.0, w5=w5, w6=w6), worked([0.0, -1.0], 0.0, w5=w5, w6=w6)
    d = derive(parse_spec({**BATCH, "reduction": reduction, "update_order": "sequential"}))
    assert d.updated["w5"] == pytest.approx(w5, rel=1e-12) and d.updated["w6"] == pytest.approx(w6, rel=1e-12)
    assert d.values["dL/da1[2]"] == pytest.approx(e2["da1"], rel=1e-12)
    start = {"w1": 0.1, "w2": 0.2, "w3": 0.3, "w4": -0.4, "b1": 0.0, "b2": 0.1}
    for name, value in start.items():
        assert d.values[f"dL/d{name}[1]"] == pytest.approx(e1[name], rel=1e-10, abs=1e-15), name
        assert d.values[f"dL/d{name}"] == pytest.approx(share * (e1[name] + e2[name]), rel=1e-10, abs=1e-15)
        assert d.updated[name] == pytest.approx(value - 0.5 * share * (e1[name] + e2[name]), rel=1e-12)
    assert "∂L/∂a₁[2] = w₅′·∂L/∂z₃[2]" in RENDERERS["text"](d)


def test_a_slip_in_a_sequential_batch_is_carried_through_the_authors_updated_weight():
    first = [worked([1.0, 0.5], 1.0), worked([0.0, -1.0], 0.0)]
    wrong = 0.05                                                     # example 2's dL/dw5 is 0.0572
    w5 = 0.5 - 0.5 * 0.5 * (float(four(first[0]["w5"])) + wrong)     # the student's update of w5, from it
    claims = {"dL/dw5[1]": four(first[0]["w5"]), "dL/dw5[2]": four(wrong), "w5+": four(w5),
              "dL/da1[2]": four(first[1]["d3"] * w5), "dL/da1[1]": four(first[0]["d3"] * w5)}
    d = derive(parse_spec({**BATCH, "update_order": "sequential", "claims": claims}))
    assert verdicts(d) == {"dL/dw5[1]": "agrees", "dL/dw5[2]": "slip", "w5+": "carried", "dL/da1[1]": "carried",
                           "dL/da1[2]": "carried"}


def test_a_sequential_step_feeds_a_printed_gradient_into_the_update_and_the_update_into_the_error_below():
    e = worked([1.0, 0.5], 1.0)
    single = {**BATCH, "inputs": [1.0, 0.5], "targets": [1.0], "update_order": "sequential"}
    w5 = 0.5 - 0.5 * 0.1                                             # from a printed dL/dw5 of 0.1000 (a slip)
    d = derive(parse_spec({**single, "claims": {"dL/dw5": four(0.1), "w5+": four(w5),
                                                "dL/da1": four(e["d3"] * w5)}}))
    assert verdicts(d) == {"dL/dw5": "slip", "w5+": "carried", "dL/da1": "carried"}
    d = derive(parse_spec({**single, "claims": {"w5+": four(0.6), "dL/da1": four(e["d3"] * 0.6)}}))
    assert verdicts(d) == {"w5+": "slip", "dL/da1": "carried"}


def test_an_author_who_rounds_every_intermediate_of_a_batch_is_not_marked_for_it():
    from chainrule.explainer.audit import places_of, rounded_pass

    r = lambda v: round(v, 2)      # noqa: E731  the author's working, by hand: each intermediate to 2 places
    e1, e2 = worked([1.0, 0.5], 1.0, r), worked([0.0, -1.0], 0.0, r)
    batch = (r(e1["w6"]) + r(e2["w6"])) / 2                          # the mean of the rounded gradients: 0.01
    spec = parse_spec({**BATCH, "carries_rounded": 2})
    worked_out = rounded_pass(spec, 0.5, places_of(spec))
    assert worked_out["dL/dw6[2]"] == pytest.approx(e2["w6"], rel=1e-12)          # as computed, before rounding
    assert worked_out["dL/dw6"] == pytest.approx(batch, rel=1e-12)
    assert worked_out["w6'"] == pytest.approx(-0.6 - 0.5 * r(batch), rel=1e-12)
    claims = {"dL/dw6": four(batch), "dL/dw6[2]": four(e2["w6"])}
    truth = derive(parse_spec(BATCH)).values
    assert four(truth["dL/dw6"]) != four(batch) and four(truth["dL/dw6[2]"]) != four(e2["w6"])
    assert set(verdicts(derive(parse_spec({**BATCH, "claims": claims}))).values()) == {"slip"}
    assert set(verdicts(derive(parse_spec({**BATCH, "carries_rounded": 2, "claims": claims}))).values()) == {"agrees"}


@pytest.mark.parametrize("name", ["sum_exp", "Delta_w1", "L_yhat2"])
def test_a_spec_may_not_give_a_derived_name_to_one_of_its_own_quantities(name):
    from chainrule.errors import ChainruleError

    layers = [SOFT["layers"][0], {**SOFT["layers"][1], "activation_names": ["yhat1", "yhat2"]}]
    layers[0] = {**layers[0], "activation_names": [name, "a2"]}
    with pytest.raises(ChainruleError, match=f'names: expected names other than those chainrule gives .* found "{name}"'):
        parse_spec({**SOFT, "layers": layers}, "s.json")


@pytest.mark.parametrize("name", ["exp_z3", "exp_hours"])
def test_the_prefix_exp_is_reserved_for_e_to_the_z(name):
    """exp_NAME is shown as e^NAME, so no spec name may start with it (an input exp_hours would print as e^hours)."""
    from chainrule.errors import ChainruleError

    layers = [{**SOFT["layers"][0], "activation_names": [name, "a2"]}, SOFT["layers"][1]]
    with pytest.raises(ChainruleError, match=f'names: expected names that do not start with "exp_".* found "{name}"'):
        parse_spec({**SOFT, "layers": layers}, "s.json")


def test_via_is_reserved_for_the_error_per_connection():
    from chainrule.errors import ChainruleError

    layers = [{**SOFT["layers"][0], "activation_names": ["h_via_x", "a2"]}, SOFT["layers"][1]]
    with pytest.raises(ChainruleError, match='names: expected names without "_via_".* found "h_via_x"'):
        parse_spec({**SOFT, "layers": layers}, "s.json")


def test_an_author_who_rounds_every_intermediate_of_a_sequential_batch():
    """Worked by hand to 2 places: each example's output layer, the batch's rounded gradients and rounded updated
    w5, w6, then each example's error below carried with those, and the batch's gradient of w1 their mean."""
    from decimal import ROUND_HALF_UP

    from chainrule.explainer.audit import places_of, rounded_pass

    def r(v):     # to 2 places as a person rounds the digits they see: 0.015 (the mean of 0.01 and 0.02) is 0.02
        return float(Decimal(repr(v)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
    examples = [([1.0, 0.5], 1.0), ([0.0, -1.0], 0.0)]
    top = [worked(x, t, r) for x, t in examples]
    w5 = r(0.5 - 0.5 * r((r(top[0]["w5"]) + r(top[1]["w5"])) / 2))
    w6 = r(-0.6 - 0.5 * r((r(top[0]["w6"]) + r(top[1]["w6"])) / 2))

    def below(x, e):
        dz1 = r(r(e["d3"] * w5) * e["a1"] * (1 - e["a1"]))
        dz2 = r(r(e["d3"] * w6) * e["a2"] * (1 - e["a2"]))
        return {"da1": e["d3"] * w5, "w1": dz1 * x[0], "w4": dz2 * x[1]}
    low = [below(x, e) for (x, _), e in zip(examples, top)]
    spec = parse_spec({**BATCH, "update_order": "sequential", "carries_rounded": 2})
    worked_out = rounded_pass(spec, 0.5, places_of(spec))
    assert worked_out["dL/da1[2]"] == pytest.approx(low[1]["da1"], rel=1e-12)
    assert worked_out["dL/dw4[2]"] == pytest.approx(low[1]["w4"], rel=1e-12, abs=1e-15)
    assert worked_out["dL/dw1"] == pytest.approx((r(low[0]["w1"]) + r(low[1]["w1"])) / 2, rel=1e-12, abs=1e-15)
    assert worked_out["w4'"] == pytest.approx(-0.4 - 0.5 * r((r(low[0]["w4"]) + r(low[1]["w4"])) / 2), rel=1e-12)
    claims = {"dL/da1[2]": four(low[1]["da1"]), "dL/dw4[2]": four(low[1]["w4"])}
    truth = derive(parse_spec({**BATCH, "update_order": "sequential"})).values
    assert all(four(truth[name]) != value for name, value in claims.items())
    plain = derive(parse_spec({**BATCH, "update_order": "sequential", "claims": claims}))
    declared = derive(parse_spec({**BATCH, "update_order": "sequential", "carries_rounded": 2, "claims": claims}))
    assert set(verdicts(plain).values()) == {"slip"} and set(verdicts(declared).values()) == {"agrees"}


def test_rounded_working_rounds_as_a_person_does():
    import numpy as np

    from chainrule.explainer.recorder import round_as_printed

    values = np.array([[0.015, 0.025, -0.125], [2.675, 1e-9, np.inf]])
    assert round_as_printed(values, 2).tolist() == [[0.02, 0.03, -0.13], [2.68, 0.0, np.inf]]
    assert np.round(np.array([0.025, 0.125]), 2).tolist() == [0.02, 0.12]      # NumPy: ties to even
