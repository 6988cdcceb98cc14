"""The error carried back to the inputs, dL/dx1, ...: shown on request (spec, command line, cr.explain) or when
claimed, audited like any other number, and checked against hand arithmetic with ``math`` and finite differences."""

import json
import math
from dataclasses import replace

import pytest

import chainrule as cr
from chainrule.cli import main
from chainrule.errors import ChainruleError
from chainrule.explainer import RENDERERS, derive, example_path, load_spec, parse_spec, render_text, seed_article
from chainrule.explainer.checks import input_gradient_errors
from chainrule.gradcheck import TOLERANCE

TITLE = "Backward pass, error carried back to the inputs"


def sig(z):
    return 1 / (1 + math.exp(-z))


def seed_by_hand():
    """The seed article's network (x = (1, 2, −1), one shared bias per layer, softmax + cross-entropy, y = (1, 0))."""
    z1, z2 = 0.2 * 1 - 0.3 * 2 + 0.4 * -1 + 0.5, -0.5 * 1 + 0.1 * 2 + 0.2 * -1 + 0.5
    a1, a2 = sig(z1), sig(z2)
    z3, z4 = 0.3 * a1 + 0.4 * a2 + 0.1, -0.1 * a1 + 0.2 * a2 + 0.1
    yhat1 = math.exp(z3) / (math.exp(z3) + math.exp(z4))
    d3, d4 = yhat1 - 1, (1 - yhat1) - 0                # ŷ − y
    d1 = (0.3 * d3 - 0.1 * d4) * a1 * (1 - a1)          # w7, w8 from a1
    d2 = (0.4 * d3 + 0.2 * d4) * a2 * (1 - a2)          # w9, w10 from a2
    return {"dL/dz1": d1, "dL/dz2": d2, "dL/dx1": 0.2 * d1 - 0.5 * d2, "dL/dx2": -0.3 * d1 + 0.1 * d2,
            "dL/dx3": 0.4 * d1 + 0.2 * d2}


def test_the_seed_networks_input_gradients_against_hand_arithmetic():
    hand = seed_by_hand()
    assert (hand["dL/dx1"], hand["dL/dx2"], hand["dL/dx3"]) == (pytest.approx(0.00235616, abs=5e-9),
                                                                 pytest.approx(0.0105335, abs=5e-8),
                                                                 pytest.approx(-0.0212588, abs=5e-8))
    d = derive(replace(seed_article(), input_gradients=True))
    for name, value in hand.items():
        assert d.values[name] == pytest.approx(value, rel=1e-12), name
    section = next(s for s in d.sections if s.title == TITLE)
    assert (section.kind, section.layer) == ("input_gradients", 0)
    assert [(s.name, s.template) for s in section.steps] == [
        ("dL/dx1", "{w1}·{dL/dz1} + {w4}·{dL/dz2}"), ("dL/dx2", "{w2}·{dL/dz1} + {w5}·{dL/dz2}"),
        ("dL/dx3", "{w3}·{dL/dz1} + {w6}·{dL/dz2}")]
    assert "∂L/∂x₁ = w₁·∂L/∂z⁽¹⁾ + w₄·∂L/∂z⁽²⁾" in render_text(d)


def test_not_shown_unless_asked_or_claimed():
    d = derive(seed_article())
    assert "dL/dx1" not in d.values and all(s.title != TITLE for s in d.sections)
    claimed = derive(parse_spec(seed_with({"dL/dx2": 0.0105})))
    assert claimed.values["dL/dx1"] == pytest.approx(seed_by_hand()["dL/dx1"], rel=1e-12)
    assert [(c.name, c.verdict) for c in claimed.claims] == [("dL/dx2", "agrees")]


def seed_with(claims: dict) -> dict:
    raw = json.loads(example_path("seed_article").read_text())
    raw["claims"] = claims
    return raw


def test_a_slip_below_is_carried_into_the_input_gradient():
    """A printed dL/dz1 that is wrong: dL/dx1 = w1·dL/dz1 + w4·dL/dz2 worked from it is carried; a printed dL/dx3
    wrong on its own is a slip."""
    hand = seed_by_hand()
    wrong = -0.05
    carried = 0.2 * wrong - 0.5 * hand["dL/dz2"]
    d = derive(parse_spec(seed_with({"dL/dz1": wrong, "dL/dz2": round(hand["dL/dz2"], 6),
                                     "dL/dx1": round(carried, 6), "dL/dx3": -0.0195})))
    assert {c.name: c.verdict for c in d.claims} == {"dL/dz1": "slip", "dL/dz2": "agrees", "dL/dx1": "carried",
                                                     "dL/dx3": "slip"}


def test_the_error_through_each_connection_to_an_input_may_be_claimed():
    hand = seed_by_hand()
    d = derive(parse_spec(seed_with({"dL/dx1_via_z1": round(0.2 * hand["dL/dz1"], 6)})))
    assert d.values["dL/dx1_via_z2"] == pytest.approx(-0.5 * hand["dL/dz2"], rel=1e-12)
    assert [(c.name, c.verdict) for c in d.claims] == [("dL/dx1_via_z1", "agrees")]


def test_the_command_line_and_cr_explain_ask_for_them(capsys):
    assert main(["explain", "--example", "seed_article", "--input-gradients", "--format", "json"]) == 0
    quantities = json.loads(capsys.readouterr().out)["quantities"]
    assert quantities["dL/dx3"] == pytest.approx(seed_by_hand()["dL/dx3"], rel=1e-12)
    step = cr.explain("seed_article", input_gradients=True)
    assert step.gradients["dL/dx2"] == pytest.approx(seed_by_hand()["dL/dx2"], rel=1e-12)
    assert "dL/dx1" not in cr.explain("seed_article").values
    with pytest.raises(ChainruleError, match="input_gradients: expected True or False, found 'yes'"):
        cr.explain("seed_article", input_gradients="yes")
    with pytest.raises(ChainruleError, match="input_gradients: expected true or false, found the number 1"):
        parse_spec({**seed_with({}), "input_gradients": 1})


def test_every_format_shows_them():
    d = derive(parse_spec({**seed_with({"dL/dx1": 0.0024}), "input_gradients": True}))
    for fmt, render in RENDERERS.items():
        out = render(d)
        assert TITLE in out or fmt == "json", fmt
    assert r"\frac{\partial L}{\partial x_{1}}" in RENDERERS["latex"](d)
    assert "dL/dx3" in json.loads(RENDERERS["json"](d))["order"]


BATCH = {"inputs": [[1.0, 0.5], [0.0, -1.0]], "targets": [[1.0], [0.0]], "loss": "half_squared_error",
         "learning_rate": 0.5, "input_gradients": True,
         "layers": [{"weights": [[0.1, 0.3], [0.2, -0.4]], "bias": [0.0, 0.1], "activation": "sigmoid"},
                    {"weights": [[0.5, -0.6]], "bias": 0.2, "activation": "sigmoid"}]}


def batch_example_by_hand(x1, x2, t):
    z1, z2 = 0.1 * x1 + 0.3 * x2, 0.2 * x1 - 0.4 * x2 + 0.1
    a1, a2 = sig(z1), sig(z2)
    o = sig(0.5 * a1 - 0.6 * a2 + 0.2)
    d3 = (o - t) * o * (1 - o)
    d1, d2 = 0.5 * d3 * a1 * (1 - a1), -0.6 * d3 * a2 * (1 - a2)
    return {"dL/dx1": 0.1 * d1 + 0.2 * d2, "dL/dx2": 0.3 * d1 - 0.4 * d2}


def test_a_batch_shows_each_examples_input_gradients():
    d = derive(parse_spec(BATCH))
    for n, hand in ((1, batch_example_by_hand(1.0, 0.5, 1.0)), (2, batch_example_by_hand(0.0, -1.0, 0.0))):
        for name, value in hand.items():
            assert d.values[f"{name}[{n}]"] == pytest.approx(value, rel=1e-12), (name, n)
    assert "dL/dx1" not in d.values                   # no batch-wide gradient at an input: each example has its own
    assert sum(s.title.endswith(TITLE) for s in d.sections) == 2
    right = round(batch_example_by_hand(0.0, -1.0, 0.0)["dL/dx2"], 6)
    claimed = derive(parse_spec({**BATCH, "input_gradients": False,
                                 "claims": {"dL/dx2[2]": right, "dL/dx1[1]": -0.000123}}))
    assert {c.name: c.verdict for c in claimed.claims} == {"dL/dx2[2]": "agrees", "dL/dx1[1]": "slip"}


def test_a_sequential_update_carries_the_error_with_the_updated_weights():
    """One linear layer, half squared error, sequential: the layer is updated first, then dL/dx = w′·dL/dz."""
    spec = {"inputs": [1.0, 2.0], "targets": [1.0], "loss": "half_squared_error", "learning_rate": 0.1,
            "update_order": "sequential", "input_gradients": True,
            "layers": [{"weights": [[0.5, -0.25]], "bias": 0.0, "activation": "identity"}]}
    z = 0.5 * 1.0 - 0.25 * 2.0
    dz = z - 1.0
    w1, w2 = 0.5 - 0.1 * dz * 1.0, -0.25 - 0.1 * dz * 2.0
    d = derive(parse_spec(spec))
    assert d.values["dL/dx1"] == pytest.approx(w1 * dz, rel=1e-12)
    assert d.values["dL/dx2"] == pytest.approx(w2 * dz, rel=1e-12)
    assert "w₁′·∂L/∂z₁" in render_text(d)


def test_the_negative_error_sign_reads_an_input_error_in_the_authors_sign():
    hand = seed_by_hand()
    d = derive(parse_spec({**seed_with({"dL/dx3": round(-hand["dL/dx3"], 6)}), "error_sign": "negative"}))
    assert d.claims[0].verdict == "agrees"


def test_a_wide_first_layer_is_shown_as_a_vector():
    spec = {"inputs": [0.1, 0.2, 0.3, 0.4, 0.5], "targets": [1.0], "loss": "half_squared_error",
            "input_gradients": True,
            "layers": [{"weights": [[0.1, -0.2, 0.3, -0.4, 0.5]], "bias": 0.0, "activation": "identity"}]}
    d = derive(parse_spec(spec))
    dz = (0.01 - 0.04 + 0.09 - 0.16 + 0.25) - 1.0
    assert "∂L/∂x = W⁽¹⁾ᵀ·δ⁽¹⁾ = [" in render_text(d)
    assert d.values["dL/dx4"] == pytest.approx(-0.4 * dz, rel=1e-12)


def test_gradcheck_covers_them(capsys):
    assert max(input_gradient_errors(seed_article()).values()) < TOLERANCE
    batch = load_spec(example_path("batch_homework"))
    errors = input_gradient_errors(batch)
    assert set(errors) == {"example 1", "example 2"} and max(errors.values()) < TOLERANCE
    wrong = derive(replace(seed_article(), input_gradients=True)).values
    wrong["dL/dx2"] *= 1.01
    assert input_gradient_errors(seed_article(), wrong)["example"] > 1e-3
    assert main(["gradcheck", "--inputs", "2", "--hidden", "2", "--depth", "1", "--outputs", "2"]) == 0
    assert "ok    gradients at the inputs dL/dx1" in capsys.readouterr().out
