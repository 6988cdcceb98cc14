"""The output itself as the objective (``loss = "output"``): L = ŷ, so the backward pass starts from dL/dŷ = 1, as
micrograd's ``o.backward()`` on a neuron's output. Worked by hand with ``math`` alone and compared with what
``explain`` records from the engine's own ``OutputObjective``; micrograd's printed gradients audited."""

import json
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import ChainruleError
from chainrule.explainer import derive, parse_spec, render_json, render_text
from chainrule.explainer.checks import batch_step_errors
from chainrule.explainer.render_html import render_html
from chainrule.explainer.render_tex import render_latex, render_markdown
from chainrule.gradcheck import TOLERANCE
from chainrule.losses import PAIRINGS, OutputObjective, output_head

# micrograd's neuron: o = tanh(x1·w1 + x2·w2 + b), b chosen so that o = 1/√2
NEURON = {
    "inputs": {"x1": 2.0, "x2": 0.0}, "loss": "output",
    "layers": [{"weights": [[-3.0, 1.0]], "weight_names": [["w1", "w2"]], "bias": 6.8813735870195432,
                "bias_names": "b", "pre_activation_names": ["n"], "activation_names": ["o"], "activation": "tanh"}],
}
# micrograd prints these after o.backward(): x1.grad, w1.grad, x2.grad, w2.grad
MICROGRAD = {"dL/dx1": -1.5, "dL/dw1": 1.0, "dL/dx2": 0.5, "dL/dw2": 0.0}


def neuron_by_hand():
    n = 2.0 * -3.0 + 0.0 * 1.0 + 6.8813735870195432
    o = math.tanh(n)
    dn = 1.0 * (1 - o ** 2)                            # dL/do = 1, then through tanh
    return {"n": n, "o": o, "L": o, "dL/do": 1.0, "dL/dn": dn, "dL/dw1": dn * 2.0, "dL/dw2": dn * 0.0,
            "dL/db": dn, "dL/dx1": -3.0 * dn, "dL/dx2": 1.0 * dn}


def test_micrograds_neuron_against_hand_arithmetic_and_micrograd():
    hand = neuron_by_hand()
    assert hand["o"] == pytest.approx(1 / math.sqrt(2), rel=1e-15)
    for name, printed in MICROGRAD.items():          # the hand arithmetic is micrograd's
        assert hand[name] == pytest.approx(printed, abs=1e-12), name
    d = derive(parse_spec({**NEURON, "input_gradients": True}))
    for name, value in hand.items():
        assert d.values[name] == pytest.approx(value, rel=1e-12, abs=1e-15), name
    assert d.updated["w1"] == pytest.approx(-3.0 - 0.1 * hand["dL/dw1"], rel=1e-12)   # the default η = 0.1
    assert d.losses[0] == pytest.approx(hand["o"], rel=1e-12)


def test_micrograds_printed_gradients_agree():
    d = derive(parse_spec({**NEURON, "claims": {**MICROGRAD, "o": 0.7071}}))
    assert {c.name: c.verdict for c in d.claims} == {name: "agrees" for name in [*MICROGRAD, "o"]}
    # a claimed dL/dx1 shows the inputs' gradients without being asked
    assert any(s.title == "Backward pass, error carried back to the inputs" for s in d.sections)


def test_a_wrong_local_derivative_is_a_slip_and_carried():
    """An author who forgets tanh's derivative (dL/dn = 1) prints dL/dw1 = 2: a slip at dL/dn, carried."""
    d = derive(parse_spec({**NEURON, "claims": {"dL/dn": 1.0, "dL/dw1": 2.0, "dL/dx1": -3.0}}))
    assert {c.name: c.verdict for c in d.claims} == {"dL/dn": "slip", "dL/dw1": "carried", "dL/dx1": "carried"}


def test_the_formulas_say_the_output_is_the_loss():
    d = derive(parse_spec(NEURON))
    loss = next(s for s in d.sections if s.kind == "loss").steps[-1]
    assert (loss.name, loss.template) == ("L", "{o}")
    error = next(s for s in d.sections if s.kind == "output_error").steps
    assert [(s.name, s.template, s.value) for s in error[:1]] == [("dL/do", "1", 1.0)]
    text = render_text(d)
    assert "L = o\n" in text and "∂L/∂o = 1\n" in text and "loss: the output itself" in text
    assert "no target enters it" in text and "y₁" not in text
    assert d.spec.target_names == [] and "y1" not in d.values


def test_every_format_renders_it():
    d = derive(parse_spec(NEURON))
    assert json.loads(render_json(d))["quantities"]["L"] == pytest.approx(neuron_by_hand()["o"], rel=1e-12)
    assert r"L &= o" in render_latex(d) and "the output itself" in render_markdown(d)
    assert "the output itself" in render_html(d)


def sig(z):
    return 1 / (1 + math.exp(-z))


# two outputs, a batch of two: each example's L[n] = ŷ1 + ŷ2, the batch's their mean (or sum)
TWO = {"inputs": [[1.0, 0.5], [0.0, -1.0]], "loss": "output", "learning_rate": 0.5,
       "layers": [{"weights": [[0.1, 0.3], [0.2, -0.4]], "bias": [0.0, 0.1], "activation": "sigmoid"}]}


def example_by_hand(x1, x2):
    z1, z2 = 0.1 * x1 + 0.3 * x2 + 0.0, 0.2 * x1 - 0.4 * x2 + 0.1
    o1, o2 = sig(z1), sig(z2)
    d1, d2 = o1 * (1 - o1), o2 * (1 - o2)          # dL/dz = 1·σ′
    return {"z1": z1, "z2": z2, "yhat1": o1, "yhat2": o2, "L": o1 + o2, "dL/dyhat1": 1.0, "dL/dyhat2": 1.0,
            "dL/dz1": d1, "dL/dz2": d2, "dL/dw1": d1 * x1, "dL/dw2": d1 * x2, "dL/dw3": d2 * x1, "dL/dw4": d2 * x2,
            "dL/db1": d1, "dL/db2": d2, "dL/dx1": 0.1 * d1 + 0.2 * d2, "dL/dx2": 0.3 * d1 - 0.4 * d2}


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_several_outputs_over_a_batch_against_hand_arithmetic(reduction):
    one, two = example_by_hand(1.0, 0.5), example_by_hand(0.0, -1.0)
    d = derive(parse_spec({**TWO, "reduction": reduction, "input_gradients": True}))
    for n, hand in ((1, one), (2, two)):
        for name, value in hand.items():
            assert d.values[f"{name}[{n}]"] == pytest.approx(value, rel=1e-12, abs=1e-15), (name, n)
    share = 1.0 if reduction == "sum" else 0.5
    for name in ["L"] + [f"dL/dw{i}" for i in range(1, 5)] + ["dL/db1", "dL/db2"]:
        assert d.values[name] == pytest.approx(share * (one[name] + two[name]), rel=1e-12), name
    assert d.updated["w3"] == pytest.approx(0.2 - 0.5 * share * (one["dL/dw3"] + two["dL/dw3"]), rel=1e-12)
    assert "(ŷ₁ − y₁)" not in render_text(d) and "L[1] = ŷ₁[1] + ŷ₂[1]" in render_text(d)


def test_the_batch_gradients_match_finite_differences():
    spec = parse_spec(TWO)
    assert max(batch_step_errors(spec).values()) < TOLERANCE


def test_the_engines_loss_by_hand():
    """L = (1/N) Σ_n Σ_k o_nk, dL/do = 1/N (times the scale of a summed loss); the targets are never read."""
    o = np.array([[0.25, -0.5], [1.5, 2.0]])
    loss = OutputObjective()
    assert loss.forward(o, np.full_like(o, np.nan)) == pytest.approx((0.25 - 0.5 + 1.5 + 2.0) / 2, rel=1e-15)
    np.testing.assert_array_equal(loss.per_example(o, np.zeros_like(o)), [0.25 - 0.5, 1.5 + 2.0])
    np.testing.assert_array_equal(loss.backward(), np.full((2, 2), 0.5))
    np.testing.assert_array_equal(loss.backward(scale=2.0), np.ones((2, 2)))


def test_it_pairs_with_every_output_activation_and_is_saved(tmp_path):
    for output in ("identity", "sigmoid", "tanh", "softmax", "relu"):
        assert (output, "output") in PAIRINGS
        layers, loss = output_head(output, "output")
        assert len(layers) == 1 and isinstance(loss, OutputObjective)
    net = cr.mlp([2, 3, 1], output="tanh", loss="output", dtype=np.float64, seed=0)
    net.save(tmp_path / "o.npz")
    assert isinstance(cr.load(tmp_path / "o.npz").loss_fn, OutputObjective)


def test_gradcheck_covers_its_derivative(monkeypatch):
    from chainrule.gradcheck import check_loss_derivatives
    from chainrule.losses import UNFUSED

    assert check_loss_derivatives()["output"] < TOLERANCE

    class Doubled(OutputObjective):
        def backward(self, scale=1.0):
            return 2 * super().backward(scale)
    monkeypatch.setitem(UNFUSED, "output", Doubled)
    assert check_loss_derivatives()["output"] > 0.1


@pytest.mark.parametrize("change, words", [
    (lambda r: r.update(targets=[1.0]), 'targets: expected no targets with loss = "output" (the objective is the '
                                        "network's output itself, which no target enters), found [1.0]"),
    (lambda r: r.update(target_names=["t1"]), 'target_names: expected no target_names with loss = "output"'),
    (lambda r: r.update(loss="half_squared_error"), "targets: expected this field to be present (loss = "
                                                    '"half_squared_error" compares the outputs with targets; only '
                                                    'loss = "output" takes none), found nothing'),
    (lambda r: r.update(loss="outputs"), 'did you mean "output"'),
])
def test_targets_go_with_every_loss_but_the_output(change, words):
    raw = json.loads(json.dumps(NEURON))
    change(raw)
    with pytest.raises(ChainruleError) as caught:
        parse_spec(raw, "neuron.json")
    assert str(caught.value) == f"neuron.json: {words}" or words in str(caught.value)
    assert str(caught.value).startswith("neuron.json: ")


def test_a_spec_without_targets_round_trips_and_takes_claims():
    step = cr.explain(NEURON, claims={"dL/dx1": "-1.5"})
    assert "targets" not in step.spec_dict() and step.verdicts == {"dL/dx1": "agrees"}
    again = cr.explain(step.spec_dict())
    assert again.values["o"] == pytest.approx(neuron_by_hand()["o"], rel=1e-12)


def test_an_exercise_can_ask_for_it():
    from chainrule.teach.exercise import make_exercise

    ex = make_exercise(shape=[2, 2, 1], output="tanh", loss="output", seed=3)
    assert "targets" not in ex.document and ex.spec.loss == "output"
    assert ex.derivation.values["dL/dyhat1"] == 1.0
