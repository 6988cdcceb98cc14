"""``cr.explain(...)`` and ``Explanation``; the package ``chainrule.explainer`` importable by its parts;
``Network.summary`` and short reprs."""

import json
import subprocess
import sys
from decimal import Decimal

import numpy as np
import pytest

import chainrule as cr
from chainrule.explainer import RENDERERS, derive, example_path, load_spec
from chainrule.explainer.api import claims_from_text, html_fragment, scope_css, spec_json, spec_to_raw


def cli_json(*args):
    from chainrule.cli import main
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["explain", "--format", "json", *args]) == 0
    return json.loads(out.getvalue())


def test_the_function_and_the_package_each_have_a_plain_home():
    """``cr.explain`` is a plain function (``chainrule.explainer.api.explain``) and ``chainrule.explainer`` a plain
    package: no module made callable, so importing either first, or both, gives the same objects."""
    import types

    import chainrule.explainer as package
    from chainrule.explainer import RENDERERS as renderers, Spec, parse_spec, seed_article  # noqa: F401
    from chainrule.explainer.api import explain

    assert isinstance(cr.explain, types.FunctionType) and cr.explain is explain is package.explain
    assert type(package) is types.ModuleType and package.derive is derive
    assert renderers is RENDERERS and isinstance(cr.explain(), cr.Explanation)
    code = ("import chainrule.explainer.spec, chainrule.explainer as e; from chainrule.explainer import derive, "
            "load_spec, RENDERERS; import chainrule as cr; print(type(cr.explain()).__name__, "
            "e.explain is cr.explain, type(e).__name__)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.split() == ["Explanation", "True", "module"]


def test_values_gradients_updates_losses_match_the_command_line():
    e = cr.explain()                                          # the seed article
    document = cli_json()
    assert e.values == document["quantities"] and e.updated == document["updated"]
    assert e.losses == document["losses"]
    assert set(e.gradients) == {k for k in document["quantities"] if k.startswith("dL/d")}
    assert e.verdicts["z4"] == "slip" and e.verdicts["L"] == "carried"
    assert [c.verdict for c in e.claims] == [c["verdict"] for c in document["claims"]]
    # hand-worked: z1 = 0.2*1 - 0.3*2 + 0.4*(-1) + 0.5 = -0.3; w1' = w1 - 0.1 * dL/dw1
    assert e.values["z1"] == pytest.approx(-0.3, abs=1e-15)
    assert e.updated["w1"] == pytest.approx(0.2 - 0.1 * e.gradients["dL/dw1"], abs=1e-15)


def test_steps_and_next_step_match_steps_on_the_command_line():
    e = cr.explain("seed_article", lr=0.5, steps=3)
    assert e.losses == cli_json("--lr", "0.5", "--steps", "3")["losses"]
    second = e.next_step()
    assert second.step == 2 and second.values == cli_json("--lr", "0.5", "--steps", "3", "--show-step", "2")[
        "quantities"]
    assert second.values["w1"] == e.updated["w1"] and second.claims == []       # claims describe step 1
    assert second.next_step().next_step().losses[:4] == cli_json("--lr", "0.5", "--steps", "4")["losses"][:4]


def test_sources_dict_file_spec_and_claims(tmp_path):
    spec = load_spec(example_path("relu_student"))
    raw = spec_to_raw(spec)
    again = cr.explain(raw)                                  # a dict in the spec file's form
    assert again.values == cr.explain(spec).values == cr.explain(example_path("relu_student")).values
    assert again.claims == []                                # spec_to_raw leaves claims out
    (tmp_path / "s.json").write_text(spec_json(spec))
    from_file = cr.explain(tmp_path / "s.json")
    assert from_file.verdicts == cr.explain("relu_student").verdicts
    audited = cr.explain("seed_article", claims={"z1": "-0.300", "z3": 0.5})
    assert audited.verdicts == {"z1": "agrees", "z3": "slip"}
    assert [c.claimed_text for c in audited.claims] == ["-0.300", "0.5"]
    assert claims_from_text("# printed\nz1 = -0.300\n  a1: 0.426  # rounded\n") == {
        "z1": Decimal("-0.300"), "a1": Decimal("0.426")}


@pytest.mark.parametrize("call, message", [
    (lambda: cr.explain("no_such_example"), "neither a shipped example"),
    (lambda: cr.explain({"inputs": [1], "targets": [1], "loss": "cross_entropy"}), "layers: expected this field"),
    (lambda: cr.explain(steps=0), "steps: expected a positive number of steps, at most 1000"),
    (lambda: cr.explain(lr=-1), "lr: expected a positive learning rate"),
    (lambda: cr.explain(claims={"nothing": 1}), "claims.nothing: expected the name of a quantity"),
    (lambda: claims_from_text("z1 = abc"), "line 1: expected a number for z1"),
    (lambda: claims_from_text("z1 0.5"), "line 1: expected 'name = number'"),
    (lambda: cr.explain(3), "expected a spec, a spec file"),
])
def test_bad_requests_name_what_is_wrong(call, message):
    with pytest.raises(cr.ChainruleError, match=message):
        call()


LIMIT = r"\(the limit of the command line, the studio and cr.explain\)"


@pytest.mark.parametrize("call, message", [
    (lambda: cr.explain(steps=10**9), f"steps: expected a positive number of steps, at most 1000 {LIMIT}, "
                                      f"found 1000000000"),
    (lambda: cr.explain("relu_student", steps=1001), "steps: .* at most 1000 .*found 1001"),
    (lambda: cr.explain(show_step=1001), f"show_step: expected a step from 1 to 1000 {LIMIT}, found 1001"),
    (lambda: cr.explain(steps=np.int64(5000)), "steps: .*found 5000$"),
    (lambda: cr.explain(steps=2.5), "steps: .*found 2.5$"),
    (lambda: cr.explain(steps="3"), 'steps: .*found "3"$'),
    (lambda: cr.explain(steps=True), "steps: .*found True$"),
    (lambda: cr.explain(show_step=0), "show_step: expected a step from 1 to 1000"),
    (lambda: derive(load_spec(example_path("seed_article")), steps=10**9), "steps: .*at most 1000.*found 1000000000"),
    (lambda: cr.explain(steps=1000, show_step=1000).next_step(), "show_step: .*found 1001"),
])
def test_the_step_limit_is_the_command_lines_and_the_studios(call, message):
    """``cr.explain(spec, steps=10**9)`` would run for days: it is refused at once, by the same limit as
    ``chainrule explain --steps`` and the studio's step."""
    with pytest.raises(cr.ChainruleError, match=message):
        call()


def test_one_step_limit_for_every_face():
    from chainrule.cli import build_parser
    from chainrule.explainer.derivation import MAX_STEPS

    assert MAX_STEPS == 1000
    explain = next(a for a in build_parser()._actions if a.dest == "command").choices["explain"]
    for flag in ("--steps", "--show-step"):
        check = next(a for a in explain._actions if flag in a.option_strings).type
        assert check(str(MAX_STEPS)) == MAX_STEPS
        with pytest.raises(Exception, match=f"expected a whole number from 1 to {MAX_STEPS}, found {MAX_STEPS + 1}"):
            check(str(MAX_STEPS + 1))
    assert cr.explain(steps=MAX_STEPS).losses[-1] < cr.explain().losses[-1]    # the limit itself runs
    from chainrule.studio import server      # the studio extra: make test installs it, so missing it must fail
    assert server.MAX_STEPS is MAX_STEPS


def test_a_trained_network_and_one_example():
    data = cr.datasets.load("iris")
    net = cr.mlp([4, 6, 3], activation="tanh", seed=0)
    net.fit(data.X, data.y, epochs=5, standardize=True, verbose=0)
    e = cr.explain(net, data.X[:5], data.y[:5], index=2)
    assert e.values["yhat1"] == pytest.approx(net.predict_proba(data.X[2])[0, 0], rel=1e-5)
    assert e.values["y1"] == 1.0 and e.values["y2"] == 0.0                    # the example's own class, 0
    predicted = cr.explain(net, data.X[100])                                   # no y: the predicted class
    assert np.argmax([predicted.values[f"y{k}"] for k in (1, 2, 3)]) == net.predict(data.X[100])[0]
    with pytest.raises(cr.ChainruleError, match="index: expected 0..4"):
        cr.explain(net, data.X[:5], index=7)


def test_outputs_save_and_notebook_display(tmp_path):
    e = cr.explain()
    assert e.to_text() == RENDERERS["text"](e.derivation) and "Forward pass" in e.to_text()
    assert e.to_markdown().startswith("# ") and e.to_latex().startswith(r"\documentclass")
    assert json.loads(e.to_json())["step"] == 1
    for suffix, start in ((".md", "# "), (".tex", r"\documentclass"), (".html", "<!DOCTYPE html>"), (".json", "{"),
                          (".txt", "chainrule explain")):
        assert e.save(tmp_path / f"out{suffix}").read_text(encoding="utf-8").startswith(start)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"out{s}" for s in (".md", ".tex", ".html", ".json",
                                                                                     ".txt"))
    with pytest.raises(cr.ChainruleError, match="expected a file name ending in"):
        e.save(tmp_path / "out.docx")
    assert repr(e) == ("<Explanation, step 1: 3 inputs → 2 sigmoid → 2 softmax; loss: cross-entropy; "
                       "learning rate η = 0.1>")
    html = e._repr_html_()
    assert html.startswith('<div class="chainrule-explanation"><style>') and "<body" not in html
    assert html.count("<math") > 50 and "<svg" in html and "<script" not in html and "http" not in html.split(
        "</style>")[0]
    assert e._repr_markdown_() == e.to_markdown()


def test_styles_are_scoped_to_the_fragment():
    css = "body { margin: 0; } h1, .step math { color: red; } @media (max-width: 30rem) { .eq { display: block; } }"
    assert scope_css(css, ".x") == (".x { margin: 0; }\n.x h1, .x .step math { color: red; }\n"
                                    "@media (max-width: 30rem) {.x .eq { display: block; }}")
    assert html_fragment("<html><style>p {}</style><body><p>hi</p></body></html>", "k") == \
        '<div class="k"><style>.k p {}</style><p>hi</p></div>'


def test_spec_round_trips_through_its_file_form():
    for name in ("seed_article", "step_by_step_sigmoid", "relu_student"):
        spec = load_spec(example_path(name))
        back = cr.explain(json.loads(spec_json(spec), parse_float=Decimal)).spec
        assert [np.array_equal(a.weights, b.weights) for a, b in zip(spec.layers, back.layers)] == [True] * len(
            spec.layers)
        assert [(c.name, c.value, c.written) for c in back.claims] == [(c.name, c.value, c.written)
                                                                         for c in spec.claims]
        assert derive(back).values == derive(spec).values


def test_network_summary_and_short_reprs():
    net = cr.mlp([64, 128, 10], dropout=0.2, seed=0)
    lines = []
    net.summary(print_fn=lines.append)
    assert lines[0] == "Network: 64 inputs, loss cross_entropy, float32"
    assert lines[4].split() == ["0", "Dense", "64->128", "(None,", "128)", "8,320"]
    assert lines[-3:] == ["Total params: 9,610", "Trainable params: 9,610", "Non-trainable params: 0"]
    assert 64 * 128 + 128 + 128 * 10 + 10 == 9_610
    assert repr(net) == "Network(64 → 128 relu dropout 0.2 → 10 softmax; loss cross_entropy; 9,610 parameters, float32)"
    big = cr.mlp([784, 256, 10], seed=0)
    assert len(repr(big)) < 120 and "[" not in repr(big)
    data = cr.datasets.load("digits")
    assert repr(data) == "Dataset('digits': 1797 examples × 64 features, 10 classes [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])"


def test_spec_dict_is_a_fresh_editable_copy():
    step = cr.explain()
    spec = step.spec_dict()
    spec["layers"][0]["weights"][0][0] = 0.6
    assert step.spec_dict()["layers"][0]["weights"][0][0] == 0.2
    assert cr.explain(spec).values["z1"] == pytest.approx(0.1, abs=1e-15)


ROUND_TRIP = {
    "inputs": [[1.0, 0.5], [0.0, -1.0]], "targets": [[1.0], [0.0]], "reduction": "sum", "loss": "half_squared_error",
    "learning_rate": 0.5, "weight_layout": "input_major", "rounding": "truncate", "carries_rounded": 4,
    "error_sign": "negative", "optimizer": {"name": "momentum", "momentum": 0.5, "state": {"v_w1": 0.01}},
    "layers": [{"weights": [[0.1, 0.3], [0.2, -0.4]], "bias": [0.0, 0.1], "activation": "sigmoid"},
               {"weights": [[0.5], [-0.6]], "bias": 0.2, "activation": "sigmoid"}],
    "claims": {"dL/dz3[2]": 0.1, "z3[2]": 0.0516, "w1+": 0.1},
}


@pytest.mark.parametrize("name", ["round trip", *__import__("chainrule.explainer", fromlist=["examples"]).examples()])
def test_a_spec_written_out_reads_back_the_same(name):
    """spec_json and spec_to_raw + claims_text (the studio's and cr.explain's way) keep every field a step depends on:
    a batch's examples and reduction, rounding, carried rounding, the error sign (claims in their author's sign),
    the optimizer and its starting state."""
    from chainrule.explainer import parse_spec
    from chainrule.explainer.api import claims_text, spec_json

    spec = parse_spec(ROUND_TRIP) if name == "round trip" else load_spec(example_path(name))
    again = parse_spec(json.loads(spec_json(spec), parse_float=Decimal), "again")
    first, second = derive(spec), derive(again)
    assert first.values == second.values
    assert [(c.name, c.verdict, c.claimed_text) for c in first.claims] == \
        [(c.name, c.verdict, c.claimed_text) for c in second.claims]
    through = cr.explain(spec, claims=claims_text(spec))
    assert [(c.name, c.verdict) for c in through.claims] == [(c.name, c.verdict) for c in first.claims]
