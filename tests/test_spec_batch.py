"""Spec additions: batches (mean or sum), input-major weights, class-index targets, truncated printed digits.
Values are checked against scalar arithmetic written out here, independently of the engine."""

import json
import math
import subprocess
import sys

import pytest

from chainrule.errors import ChainruleError
from chainrule.explainer import RENDERERS, derive, load_spec, parse_spec


def sigmoid(z):
    return 1 / (1 + math.exp(-z))


BATCH = {
    "inputs": [[1.0, 0.5], [0.0, -1.0]],
    "targets": [[1.0], [0.0]],
    "loss": "half_squared_error",
    "learning_rate": 0.5,
    "layers": [{"weights": [[0.1, 0.2], [0.3, -0.4]], "bias": [0.0, 0.1], "activation": "sigmoid"},
               {"weights": [[0.5, -0.6]], "bias": 0.2, "activation": "sigmoid"}],
}


def by_hand(x, t):
    """One example of BATCH's network, scalar by scalar: (loss, {parameter: gradient})."""
    w1, w2, w3, w4, b1, b2, w5, w6, b3 = 0.1, 0.2, 0.3, -0.4, 0.0, 0.1, 0.5, -0.6, 0.2
    a1, a2 = sigmoid(w1 * x[0] + w2 * x[1] + b1), sigmoid(w3 * x[0] + w4 * x[1] + b2)
    o = sigmoid(w5 * a1 + w6 * a2 + b3)
    d3 = (o - t) * o * (1 - o)
    d1, d2 = d3 * w5 * a1 * (1 - a1), d3 * w6 * a2 * (1 - a2)
    grads = {"w1": d1 * x[0], "w2": d1 * x[1], "w3": d2 * x[0], "w4": d2 * x[1], "b1": d1, "b2": d2,
             "w5": d3 * a1, "w6": d3 * a2, "b3": d3}
    return 0.5 * (t - o) ** 2, grads, {"a1": a1, "a2": a2, "yhat1": o}


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_a_batch_step_matches_hand_computed_values(reduction):
    d = derive(parse_spec({**BATCH, "reduction": reduction}))
    (l1, g1, f1), (l2, g2, f2) = by_hand([1.0, 0.5], 1.0), by_hand([0.0, -1.0], 0.0)
    share = 1.0 if reduction == "sum" else 0.5
    assert d.values["L[1]"] == pytest.approx(l1, rel=1e-12) and d.values["L[2]"] == pytest.approx(l2, rel=1e-12)
    assert d.values["L"] == pytest.approx(share * (l1 + l2), rel=1e-12)
    assert d.values["a2[1]"] == pytest.approx(f1["a2"], rel=1e-12)
    assert d.values["a2[2]"] == pytest.approx(f2["a2"], rel=1e-12)
    start = {"w1": 0.1, "w2": 0.2, "w3": 0.3, "w4": -0.4, "b1": 0.0, "b2": 0.1, "w5": 0.5, "w6": -0.6, "b3": 0.2}
    for name in g1:
        assert d.values[f"dL/d{name}[1]"] == pytest.approx(g1[name], rel=1e-10, abs=1e-15)
        assert d.values[f"dL/d{name}[2]"] == pytest.approx(g2[name], rel=1e-10, abs=1e-15)
        assert d.values[f"dL/d{name}"] == pytest.approx(share * (g1[name] + g2[name]), rel=1e-10, abs=1e-15)
        assert d.updated[name] == pytest.approx(start[name] - 0.5 * share * (g1[name] + g2[name]), rel=1e-12)
    titles = [s.title for s in d.sections]
    assert titles[0].startswith("Example 1: Forward") and any(t.startswith("Example 2:") for t in titles)
    assert titles[-2] == f"Batch: the {reduction} of the 2 examples' losses and gradients"
    assert titles[-1].startswith("Update")


def test_a_batch_is_shown_in_every_format():
    d = derive(parse_spec({**BATCH, "claims": {"z3[2]": 0.06, "dL/dw5": -0.0029}}))
    text = RENDERERS["text"](d)
    assert "z₁[2] = w₁·x₁[2] + w₂·x₂[2] + b₁" in text and "∂L/∂w₅ = (1/2)·(∂L/∂w₅[1] + ∂L/∂w₅[2])" in text
    assert "a batch of 2 examples, the loss the mean of theirs" in text
    assert r"{z_{1}}[2]" in RENDERERS["markdown"](d) and r"{z_{1}}[2]" in RENDERERS["latex"](d)
    html = RENDERERS["html"](d)
    assert "example 1" in html and 'data-name="z1[2]"' in html
    document = json.loads(RENDERERS["json"](d))
    assert {"z1[2]", "dL/dw5[1]", "dL/dw5", "L[2]"} <= set(document["quantities"])
    assert [c["verdict"] for c in document["claims"]] == ["slip", "agrees"]


def test_a_slip_in_one_example_is_carried_into_the_batch_gradient_and_update():
    claims = {"a2[2]": 0.6225, "z3[2]": 0.0600, "yhat1[2]": 0.5150, "dL/dz3[2]": 0.1286, "dL/dw5[2]": 0.0579,
              "dL/dw5": -0.0055, "w5+": 0.5028}
    d = derive(parse_spec({**BATCH, "reduction": "sum", "claims": claims}))
    verdicts = {c.name: c.verdict for c in d.claims}
    assert verdicts == {"a2[2]": "agrees", "z3[2]": "slip", "yhat1[2]": "carried", "dL/dz3[2]": "carried",
                        "dL/dw5[2]": "carried", "dL/dw5": "carried", "w5+": "carried"}


def test_input_major_weights_give_the_same_step_as_rows_per_neuron():
    transposed = [{**layer, "weights": [list(col) for col in zip(*layer["weights"])]} for layer in BATCH["layers"]]
    a = derive(parse_spec({**BATCH, "weight_layout": "input_major", "layers": transposed}))
    b = derive(parse_spec(BATCH))
    assert a.values == b.values and a.updated == b.updated
    assert any("input-major" in line for line in RENDERERS["text"](a).splitlines())


def test_class_index_targets_are_one_hot_rows():
    layers = [{"weights": [[0.1, 0.2], [0.3, -0.4], [0.0, 0.5]], "bias": 0.0, "activation": "softmax"}]
    spec = parse_spec({"inputs": [[1.0, 2.0], [0.5, -1.0]], "targets": [2, 0], "layers": layers,
                       "loss": "cross_entropy"})
    assert spec.Y.tolist() == [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    single = parse_spec({"inputs": [1.0, 2.0], "targets": 1, "layers": layers, "loss": "cross_entropy"})
    assert single.targets.tolist() == [0.0, 1.0, 0.0]
    z = [0.1 * 1 + 0.2 * 2, 0.3 - 0.8, 1.0]
    p = math.exp(z[1]) / sum(math.exp(v) for v in z)
    assert derive(single).values["L"] == pytest.approx(-math.log(p), rel=1e-12)


@pytest.mark.parametrize("spec, message", [
    ({"targets": [3, 1]}, "targets[0]: expected a list of target values (a class index is for a softmax output"),
    ({"targets": [[1.0]]}, "targets: expected a list of 2 targets, one per example of inputs, found [[1.0]]"),
    ({"inputs": [[1.0, 0.5], [0.0]]}, "inputs[1]: expected 2 values, as the first example, found 1"),
    ({"reduction": "median"}, 'reduction: expected one of "mean", "sum", found the string "median"'),
    ({"weight_layout": "rows"}, 'weight_layout: expected one of "neuron_major", "input_major"'),
    ({"rounding": "floor"}, 'rounding: expected one of "round", "truncate"'),
    ({"claims": {"z1[x]": 1}}, "claims key: expected a quantity name such as z1, dL/dw5, w5+, z1[2] (example 2 of a batch) or w5+@2"),
    ({"reduktion": "sum"}, 'reduktion: unknown field; did you mean "reduction"?'),
])
def test_bad_batch_fields_are_refused_naming_the_field(spec, message):
    with pytest.raises(ChainruleError) as error:
        parse_spec({**BATCH, **spec}, "batch.json")
    assert f"batch.json: {message}" in str(error.value)


def test_reduction_without_a_batch_is_refused():
    with pytest.raises(ChainruleError, match="reduction: expected inputs given as a list of examples"):
        parse_spec({**BATCH, "inputs": [1.0, 0.5], "targets": [1.0], "reduction": "sum"}, "one.json")


def test_truncated_digits_are_not_slips():
    claims = {"yhat1[1]": 0.5361}   # 0.536191: rounding gives 0.5362
    rounded = derive(parse_spec({**BATCH, "claims": claims}))
    truncated = derive(parse_spec({**BATCH, "claims": claims, "rounding": "truncate"}))
    assert rounded.claims[0].verdict == "slip" and truncated.claims[0].verdict == "agrees"


def test_the_cli_refuses_a_bad_batch_spec_with_exit_2(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({**BATCH, "targets": [[1.0], ["x"]]}))
    run = subprocess.run([sys.executable, "-m", "chainrule", "explain", "--spec", str(path)], capture_output=True,
                         text=True)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert f"{path}: targets[1]: expected a list of numbers" in run.stderr


def test_the_readme_batch_example_runs_as_shown(tmp_path):
    import re
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Batches, layouts"):readme.index("### JSON output")]
    example = re.findall(r"```toml\n(.*?)```", section, re.S)[0]
    path = tmp_path / "readme.toml"
    path.write_text(example, encoding="utf-8")
    d = derive(load_spec(path))
    verdicts = {c.name: c.verdict for c in d.claims}
    assert verdicts == {"z3[2]": "slip", "dL/dw5": "carried"}
    shown = re.findall(r"```text\n(.*?)```", section, re.S)[0].strip()
    assert shown in RENDERERS["text"](d)


def test_every_slip_is_named_with_enough_digits_to_see_the_difference():
    from chainrule.explainer import example_path
    from chainrule.explainer.render import possessive

    raw = json.loads(example_path("step_by_step_sigmoid").read_text())
    raw["claims"] |= {"out_h1": 0.593269995, "net_o1": 1.105905969}
    text = RENDERERS["text"](derive(parse_spec(raw)))
    assert ("First slip: out_h1 is printed as 0.593269995; from the post's own inputs it is 0.59326999211, and the "
            "correct value is 0.59326999211.") in text
    assert ("Further slip: net_o1 is printed as 1.105905969; from the post's own inputs it is 1.10590596810, and the "
            "correct value is 1.10590596706.") in text
    assert possessive("Mazur") == "Mazur's" and possessive("authors") == "the authors'"
    assert possessive("student") == "the student's" and possessive("Jones") == "Jones'"


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_the_batch_gradient_matches_central_differences_of_the_batch_loss(reduction):
    from chainrule.explainer.spec import build_network

    spec = parse_spec({**BATCH, "reduction": reduction})
    d = derive(spec)
    network, _ = build_network(spec)
    params = network.named_parameters()
    names = {"0.weight": [["w1", "w3"], ["w2", "w4"]], "2.weight": [["w5"], ["w6"]]}
    for key, grid in names.items():
        for (i, j), name in [((i, j), n) for i, row in enumerate(grid) for j, n in enumerate(row)]:
            start = params[key][i, j]
            params[key][i, j] = start + 1e-6
            plus = spec.loss_scale * network.loss(spec.X, spec.Y)
            params[key][i, j] = start - 1e-6
            minus = spec.loss_scale * network.loss(spec.X, spec.Y)
            params[key][i, j] = start
            assert d.values[f"dL/d{name}"] == pytest.approx((plus - minus) / 2e-6, rel=1e-6, abs=1e-10), name


def test_gradcheck_covers_the_batch_example(capsys):
    from chainrule.cli import main

    assert main(["gradcheck"]) == 0
    out = capsys.readouterr().out
    assert "ok    batch_homework example (a batch of 2" in out
    assert "ok    local derivatives da/dz (as explain shows a claimed da1/dz1)" in out
    assert "ok    batch_homework step as explain shows it: each example's gradients and the batch's mean" in out
    assert 'ok    the same batch step with reduction = "sum"' in out
    assert "ok    error per connection dL/da1_via_z3 (seed article; batch_homework, each example)" in out
    assert "batch layer 2, example 2" in out
    assert "ok    softmax e^z and denominator (as explain shows claimed exp_z3, sum_exp)" in out


def test_the_shipped_batch_example_audits_a_truncating_student():
    from chainrule.explainer import example_path

    d = derive(load_spec(example_path("batch_homework")))
    verdicts = {c.name: c.verdict for c in d.claims}
    assert [n for n, v in verdicts.items() if v == "slip"] == ["z3[2]"]
    assert {n for n, v in verdicts.items() if v == "carried"} == {"yhat1[2]", "dL/dz3[2]", "dL/dw5[2]", "dL/dw5",
                                                                  "w5+"}
    rounded = derive(parse_spec({**BATCH, "claims": {"a1[1]": 0.5498, "yhat1[1]": 0.5361}}))
    assert [c.verdict for c in rounded.claims] == ["agrees", "slip"]     # 0.536191 rounds to 0.5362


def test_an_author_who_rounds_every_intermediate_is_not_marked_for_it():
    r = lambda v: round(v, 2)      # noqa: E731  the author's working, by hand: each intermediate to 2 places
    z1 = r(0.15 * 0.05 + 0.2 * 0.1 + 0.35)
    a1 = r(sigmoid(z1))
    y = sigmoid(r(0.4 * a1 + 0.6))             # printed to 4 places, computed from the rounded numbers
    spec = {"inputs": [0.05, 0.1], "targets": [0.01], "loss": "half_squared_error",
            "layers": [{"weights": [[0.15, 0.2]], "bias": 0.35, "activation": "sigmoid"},
                       {"weights": [[0.4]], "bias": 0.6, "activation": "sigmoid"}],
            "claims": {"yhat1": round(y, 4)}}
    assert round(y, 4) != round(sigmoid(0.4 * sigmoid(0.3775) + 0.6), 4)
    assert [c.verdict for c in derive(parse_spec(spec)).claims] == ["slip"]
    declared = derive(parse_spec({**spec, "carries_rounded": 2}))
    assert [c.verdict for c in declared.claims] == ["agrees"]
    assert "rounds every intermediate to 2 decimal places" in RENDERERS["text"](declared)
    wrong = derive(parse_spec({**spec, "carries_rounded": 2, "claims": {"yhat1": round(y, 4) + 0.001}}))
    assert [c.verdict for c in wrong.claims] == ["slip"]
    with pytest.raises(ChainruleError, match="carries_rounded: expected a number of decimal places from 0 to 12"):
        parse_spec({**spec, "carries_rounded": 2.5}, "r.json")


def test_a_claimed_local_derivative_is_a_step_of_its_own_and_feeds_the_error_below():
    import tomllib
    from decimal import Decimal

    from chainrule.explainer import example_path

    raw = tomllib.loads(example_path("relu_student").read_text(), parse_float=Decimal)
    plain = RENDERERS["text"](derive(parse_spec(raw)))
    assert "∂a₂/∂z₂" not in plain                      # shown only when claimed
    raw["claims"] |= {"da2/dz2": Decimal(1), "da1/dz1": Decimal(1)}
    d = derive(parse_spec(raw))
    verdicts = {c.name: c.verdict for c in d.claims}
    # the student's ReLU derivative of 1 for z2 = -1.5 is the slip; the error 0.1350 through it is carried
    assert verdicts["da2/dz2"] == "slip" and verdicts["da1/dz1"] == "agrees"
    assert verdicts["dL/dz2"] == verdicts["dL/dw3"] == verdicts["w3+"] == "carried"
    text = RENDERERS["text"](d)
    assert "∂a₂/∂z₂ = [z₂ > 0]" in text and "∂L/∂z₂ = ∂L/∂a₂·∂a₂/∂z₂" in text
    assert d.values["da1/dz1"] == 1.0 and d.values["da2/dz2"] == 0.0
    for kind in ("markdown", "latex", "html"):
        assert "da2/dz2" in RENDERERS[kind](d) or r"\partial a_{2}" in RENDERERS[kind](d)


def test_local_derivatives_of_sigmoid_and_tanh_in_a_batch():
    d = derive(parse_spec({**BATCH, "claims": {"da1/dz1[2]": 0.2475, "da1/dz1[1]": 0.2485}}))
    a = sigmoid(-0.2)
    assert d.values["da1/dz1[2]"] == pytest.approx(a * (1 - a), rel=1e-12)
    assert [c.verdict for c in d.claims] == ["slip", "agrees"]      # example 1's is 0.247517, not 0.2485
    tanh = {**BATCH, "layers": [{**BATCH["layers"][0], "activation": "tanh"}, BATCH["layers"][1]],
            "claims": {"da2/dz2[1]": 0.9615}}
    value = derive(parse_spec(tanh)).values["da2/dz2[1]"]
    assert value == pytest.approx(1 - math.tanh(0.2) ** 2, rel=1e-12)


def test_an_authors_negative_error_convention_is_read_in_their_sign():
    spec = {**BATCH, "inputs": [1.0, 0.5], "targets": [1.0],
            "claims": {"dL/dz3": 0.1153, "dL/dz1": 0.0143, "dL/dw5": -0.0634}}   # delta = -dL/dz, t - y > 0
    d = derive(parse_spec({**spec, "error_sign": "negative"}))
    assert {c.name: c.verdict for c in d.claims} == {"dL/dz3": "agrees", "dL/dz1": "agrees", "dL/dw5": "agrees"}
    assert d.values["dL/dz3"] == pytest.approx(-0.115345, abs=1e-6)
    assert "error terms are δ = −∂L/∂z" in RENDERERS["text"](d)
    plain = derive(parse_spec(spec))
    assert {c.name: c.verdict for c in plain.claims}["dL/dz3"] == "slip"
    with pytest.raises(ChainruleError, match='error_sign: expected one of "gradient", "negative"'):
        parse_spec({**spec, "error_sign": "minus"}, "s.json")


def test_a_claimed_weight_change_is_shown_and_carried_into_the_updated_weight():
    from decimal import Decimal

    from chainrule.explainer import example_path

    raw = json.loads(example_path("step_by_step_sigmoid").read_text(), parse_float=Decimal)
    plain = RENDERERS["text"](derive(parse_spec(raw)))
    assert "Δw" not in plain
    # Mazur: dE/dw5 = 0.082167041, eta = 0.5, so Delta w5 = -0.0410835205 and w5' = 0.4 - 0.0410835205
    raw["claims"] |= {"Delta_w5": Decimal("-0.041083521"), "Delta_w6": Decimal("-0.0500"), "w6+": Decimal("0.4000")}
    d = derive(parse_spec(raw))
    verdicts = {c.name: c.verdict for c in d.claims}
    assert verdicts["Delta_w5"] == "agrees" and verdicts["w5+"] == "agrees"
    assert verdicts["Delta_w6"] == "slip" and verdicts["w6+"] == "carried"        # 0.45 - 0.05
    assert d.values["Delta_w5"] == pytest.approx(-0.5 * 0.0821670405, rel=1e-9)
    text = RENDERERS["text"](d)
    assert "Δw₅ = −η·∂E/∂w₅" in text and "w₅′ = w₅ + Δw₅" in text
    assert r"\Delta w_{5}" in RENDERERS["latex"](d)


def test_each_outputs_share_of_the_loss_is_claimable():
    from decimal import Decimal

    from chainrule.explainer import example_path

    raw = json.loads(example_path("step_by_step_sigmoid").read_text(), parse_float=Decimal)
    assert "E_out_o1" not in RENDERERS["text"](derive(parse_spec(raw)))
    # Mazur prints E_o1 = 0.274811083 and E_o2 = 0.023560026: 1/2 (t - o)^2 of each output
    raw["claims"] |= {"E_out_o1": Decimal("0.274811083"), "E_out_o2": Decimal("0.0236")}
    d = derive(parse_spec(raw))
    assert {c.name: c.verdict for c in d.claims if c.name.startswith("E_")} == {"E_out_o1": "agrees",
                                                                                  "E_out_o2": "agrees"}
    assert d.values["E_out_o1"] == pytest.approx(0.5 * (0.01 - d.values["out_o1"]) ** 2, rel=1e-12)
    assert "E = E_out_o1 + E_out_o2" in RENDERERS["text"](d)
    softmax = parse_spec({"inputs": [1.0, 2.0], "targets": 2, "loss": "cross_entropy",
                          "layers": [{"weights": [[0.1, 0.2], [0.3, -0.4], [0.0, 0.5]], "bias": 0.0,
                                      "activation": "softmax"}], "claims": {"L_yhat3": 0.4}})
    shares = derive(softmax)
    assert shares.values["L_yhat3"] == pytest.approx(-math.log(shares.values["yhat3"]), rel=1e-12)
    assert shares.values["L_yhat1"] == 0.0 and [c.verdict for c in shares.claims] == ["slip"]
