"""Optimizers in explanations, and claims on later steps: every number checked against the same steps worked by
hand with ``math`` alone, and against the training path (``Network.fit`` with the engine's optimizer) for the
same steps. The audit follows an author from one step into the next, and feeds a printed starting value in."""

import math
from decimal import Decimal

import numpy as np
import pytest

from chainrule.errors import ChainruleError
from chainrule.explainer import build_network_for, derive, example_path, load_spec, parse_spec, render_text
from chainrule.explainer.render_tex import render_latex, render_markdown
from chainrule.optimizers import SGD, Adam, RMSprop, SGDVelocityOfSteps

# one sigmoid neuron, two inputs, half squared error: small enough to work every step by hand
NEURON = {"inputs": {"x1": 1.0, "x2": 0.5}, "targets": {"t1": 1.0}, "loss": "half_squared_error",
          "learning_rate": 0.5,
          "layers": [{"weights": [[0.2, -0.4]], "bias": 0.1, "activation": "sigmoid",
                      "pre_activation_names": ["z"], "activation_names": ["y"]}]}
X = (1.0, 0.5)
SETTINGS = {"momentum": 0.9, "rho": 0.8, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
RULES = [({"name": "momentum", "momentum": 0.9}, "momentum"),
         ({"name": "momentum", "momentum": 0.9, "velocity": "steps"}, "momentum_steps"),
         ({"name": "nesterov", "momentum": 0.9}, "nesterov"),
         ({"name": "nesterov", "momentum": 0.9, "velocity": "steps"}, "nesterov_steps"),
         ({"name": "rmsprop", "rho": 0.8, "eps": 1e-8}, "rmsprop"),
         ({"name": "adam", "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}, "adam")]


def sigmoid(z):
    return 1 / (1 + math.exp(-z))


def by_hand(rule: str, steps: int, eta: float = 0.5, w=(0.2, -0.4, 0.1), state=None, taken: int = 0):
    """Each step's numbers, parameter by parameter in plain Python: the rule as its paper or course writes it."""
    w, s = list(w), dict(state or {})
    mu, rho, b1, b2, eps = (SETTINGS[k] for k in ("momentum", "rho", "beta1", "beta2", "eps"))
    names = ("w1", "w2", "b1")
    out = []
    for t in range(taken + 1, taken + steps + 1):
        z = w[0] * X[0] + w[1] * X[1] + w[2]
        y = sigmoid(z)
        q = {"z": z, "y": y, "L": 0.5 * (1 - y) ** 2}
        dz = (y - 1) * y * (1 - y)
        grads = (dz * X[0], dz * X[1], dz)
        for k, (name, g) in enumerate(zip(names, grads)):
            q[f"dL/d{name}"] = g
            if rule == "gd":
                w[k] -= eta * g
            elif rule in ("momentum", "nesterov"):
                v = q[f"v_{name}"] = mu * s.get(f"v_{name}", 0.0) + g
                w[k] -= eta * (g + mu * v if rule == "nesterov" else v)
            elif rule in ("momentum_steps", "nesterov_steps"):
                v = q[f"v_{name}"] = mu * s.get(f"v_{name}", 0.0) + eta * g
                w[k] -= eta * g + mu * v if rule == "nesterov_steps" else v
            elif rule == "rmsprop":
                sq = q[f"s_{name}"] = rho * s.get(f"s_{name}", 0.0) + (1 - rho) * g * g
                w[k] -= eta * g / (math.sqrt(sq) + eps)
            else:
                m = q[f"m_{name}"] = b1 * s.get(f"m_{name}", 0.0) + (1 - b1) * g
                v = q[f"v_{name}"] = b2 * s.get(f"v_{name}", 0.0) + (1 - b2) * g * g
                q[f"mhat_{name}"], q[f"vhat_{name}"] = m / (1 - b1 ** t), v / (1 - b2 ** t)
                w[k] -= eta * q[f"mhat_{name}"] / (math.sqrt(q[f"vhat_{name}"]) + eps)
            q[f"{name}'"] = w[k]
        s = {key: value for key, value in q.items() if key[:2] in ("v_", "s_", "m_")}
        out.append(q)
    return out


def step_name(name: str, step: int) -> str:
    return name if step == 1 else f"{name}@{step}"


@pytest.mark.parametrize("optimizer, rule", RULES, ids=[r for _, r in RULES])
def test_three_steps_of_every_rule_agree_with_hand_arithmetic(optimizer, rule):
    spec = parse_spec({**NEURON, "optimizer": optimizer, "claims": {"L@2": 0.1, "L@3": 0.1}})
    d = derive(spec)
    hand = by_hand(rule, 3)
    for step, q in enumerate(hand, start=1):
        for name, value in q.items():
            assert d.values[step_name(name, step)] == pytest.approx(value, rel=1e-12, abs=1e-15), (step, name)


@pytest.mark.parametrize("optimizer, rule", RULES, ids=[r for _, r in RULES])
def test_the_explained_steps_are_the_training_paths(optimizer, rule):
    """The parameters after each explained step are those ``fit`` leaves after as many epochs of the one example
    (plain SGD trains there through its own prescaled step: another code path, the same numbers)."""
    spec = parse_spec({**NEURON, "optimizer": optimizer, "claims": {"L@2": 0.1, "L@3": 0.1}})
    d = derive(spec)
    for epochs in (1, 2, 3):
        engine = {"momentum": SGD(0.5, momentum=0.9), "momentum_steps": SGDVelocityOfSteps(0.5, momentum=0.9),
                  "nesterov": SGD(0.5, momentum=0.9, nesterov=True),
                  "nesterov_steps": SGDVelocityOfSteps(0.5, momentum=0.9, nesterov=True),
                  "rmsprop": RMSprop(0.5, rho=0.8, eps=1e-8), "adam": Adam(0.5, eps=1e-8)}[rule]
        network, x, y = build_network_for(spec)
        network.fit(x, y, epochs=epochs, batch_size=1, optimizer=engine, shuffle=False, verbose=0)
        params = network.named_parameters()
        trained = [*params["0.weight"].reshape(-1), *params["0.bias"]]
        explained = [d.values[step_name(f"{p}'", epochs)] for p in ("w1", "w2", "b1")]
        np.testing.assert_allclose(explained, trained, rtol=1e-12)


def test_a_starting_state_and_steps_taken_are_used():
    state = {"m_w1": 0.02, "v_w1": 0.0003, "m_b1": -0.01}
    spec = parse_spec({**NEURON, "optimizer": {"name": "adam", "steps_taken": 4, "state": state},
                       "claims": {"L@2": 0.1}})
    d = derive(spec)
    hand = by_hand("adam", 2, state=state, taken=4)
    assert d.values["t"] == 5 and d.values["t@2"] == 6
    assert d.values["m_w1@0"] == 0.02 and d.values["v_w2@0"] == 0.0
    for step, q in enumerate(hand, start=1):
        for name, value in q.items():
            assert d.values[step_name(name, step)] == pytest.approx(value, rel=1e-12, abs=1e-15), (step, name)


def test_the_momentum_example_carries_a_slip_from_step_2_into_step_3():
    """The shipped three-step example: every printed number is checked against ``by_hand``, then the verdicts. The
    author's w₂ after step 2 is wrong; z and E of step 3 are right working from it."""
    spec = load_spec(example_path("momentum_three_steps"))
    d = derive(spec)
    hand = by_hand("momentum", 3)
    verdicts = {c.name: c.verdict for c in d.claims}
    assert verdicts.pop("w2+@2") == "slip"
    assert verdicts.pop("z@3") == verdicts.pop("E@3") == "carried"
    assert set(verdicts.values()) == {"agrees"}
    # The author's step 3, by hand from what the author printed: w after step 2 as printed; b, never printed, as the
    # author's step 2 left it, computed from the author's printed z of step 2 (y, the error and the bias's velocity
    # follow from it) and step 1's right velocity of b.
    w1, w2 = 0.3670, -0.3265
    y2 = sigmoid(0.2333)
    b = hand[0]["b1'"] - 0.5 * (0.9 * hand[0]["v_b1"] + (y2 - 1) * y2 * (1 - y2))
    z3 = w1 * X[0] + w2 * X[1] + b
    by_author = {c.name: c.from_claims for c in d.claims}
    assert by_author["z@3"] == pytest.approx(z3, abs=1e-12)
    assert by_author["E@3"] == pytest.approx(0.5 * (1 - sigmoid(0.4708)) ** 2, abs=1e-12)   # from the printed z
    assert [c for c in d.claims if c.name == "z@3"][0].carried_from == ["w2'@2"]
    text = render_text(d)
    assert "Step 3: Update by momentum (μ = 0.9)" in text and "v_w₁⁽ᵗ⁼³⁾ = μ·v_w₁⁽ᵗ⁼²⁾ + ∂E/∂w₁⁽ᵗ⁼³⁾" in text


def test_the_adam_example_agrees_with_hand_arithmetic():
    spec = load_spec(example_path("adam_step"))
    d = derive(spec)
    hand = by_hand("adam", 1, eta=0.01)[0]
    for name in ("m_w1", "v_w1", "mhat_w1", "vhat_w1", "w1'", "w2'", "b1'"):
        assert d.values[name] == pytest.approx(hand[name], rel=1e-12)
    assert {c.verdict for c in d.claims} == {"agrees"}
    # the first step of Adam moves each weight by η·sign(g), up to ε: the bias correction at work
    assert d.values["w1'"] == pytest.approx(0.2 + 0.01, abs=1e-9)
    assert "m̂_w₁ = m_w₁/(1 − β₁^t)" in render_text(d)
    latex = render_latex(d)
    assert r"\sqrt{\hat{v}_{w_{1}}}" in latex and r"\beta_{1}" in latex


def test_a_wrongly_printed_starting_weight_is_fed_in():
    """The author printed w1 = 0.3 (the spec gives 0.2) and computed on from it: z and y are carried, not slips."""
    z = 0.3 * X[0] - 0.4 * X[1] + 0.1           # 0.2
    y = sigmoid(z)                              # 0.549834
    spec = parse_spec({**NEURON, "claims": {"w1": 0.3, "z": 0.2, "y": round(y, 4), "L": round(0.5 * (1 - y) ** 2, 4)}})
    checks = {c.name: c for c in derive(spec).claims}
    assert checks["w1"].verdict == "slip"
    assert checks["z"].verdict == "carried" and checks["z"].carried_from == ["w1"]
    assert checks["y"].verdict == "carried" and checks["L"].verdict == "carried"
    assert checks["y"].from_claims == pytest.approx(y, rel=1e-12)


def test_a_wrongly_printed_input_is_fed_in():
    z = 0.2 * 1.0 - 0.4 * 0.25 + 0.1            # x2 printed as 0.25
    spec = parse_spec({**NEURON, "claims": {"x2": 0.25, "z": round(z, 4)}})
    checks = {c.name: c for c in derive(spec).claims}
    assert checks["x2"].verdict == "slip" and checks["z"].verdict == "carried"


def test_a_printed_velocity_feeds_the_update():
    """A velocity printed wrongly, and the weight updated right from it: the weight is carried."""
    g = by_hand("momentum", 1)[0]["dL/dw1"]
    spec = parse_spec({**NEURON, "optimizer": {"name": "momentum", "momentum": 0.9},
                       "claims": {"v_w1": -0.25, "w1+": 0.2 - 0.5 * -0.25}})
    checks = {c.name: c for c in derive(spec).claims}
    assert g == pytest.approx(-0.118459, abs=1e-6)
    assert checks["v_w1"].verdict == "slip" and checks["w1+"].verdict == "carried"


def test_a_printed_bias_corrected_moment_feeds_the_update():
    spec = parse_spec({**NEURON, "learning_rate": 0.01, "optimizer": {"name": "adam"},
                       "claims": {"mhat_w1": -0.5, "vhat_w1": 0.01403,
                                  "w1+": round(0.2 - 0.01 * -0.5 / math.sqrt(0.01403), 5)}})
    checks = {c.name: c for c in derive(spec).claims}
    assert checks["mhat_w1"].verdict == "slip" and checks["vhat_w1"].verdict == "agrees"
    assert checks["w1+"].verdict == "carried"


def test_a_weight_at_the_start_of_step_2_is_its_value_after_step_1():
    spec = parse_spec({**NEURON, "claims": {"w1@2": 0.31, "z@2": 0.1}})
    d = derive(spec)
    assert d.claims[0].computed == pytest.approx(by_hand("gd", 1)[0]["w1'"], rel=1e-12)
    assert [c.verdict for c in d.claims] == ["slip", "slip"]


@pytest.mark.parametrize("change, message", [
    ({"optimizer": {"name": "adam", "momentum": 0.9}}, 'optimizer.momentum: unknown field'),
    ({"optimizer": {"name": "adamw"}}, "optimizer.name: expected one of"),
    ({"optimizer": {"name": "nesterov", "momentum": 0}}, "optimizer.momentum: expected a momentum above 0"),
    ({"optimizer": {"name": "momentum", "state": {"v_w9": 1}}}, 'optimizer.state.v_w9: expected a state of one'),
    ({"optimizer": {"name": "momentum", "state": {"m_w1": 1}}}, "optimizer.state.m_w1: expected the state momentum"),
    ({"optimizer": {"name": "adam", "beta1": 1}}, "optimizer.beta1: expected a number from 0 up to"),
    ({"optimizer": {"name": "adam"}, "update_order": "sequential"}, 'update_order: expected "simultaneous"'),
    ({"optimizer": {"name": "momentum"}, "inputs": {"x1": 1.0, "mu": 0.5}}, 'names: expected names other than'),
])
def test_bad_optimizer_fields_are_refused_naming_the_field(change, message):
    with pytest.raises(ChainruleError) as error:
        parse_spec({**NEURON, **change}, "step.json")
    assert f"step.json: {message}" in str(error.value)


def test_claims_beyond_the_last_step_are_refused():
    with pytest.raises(ChainruleError, match=r"claims.z@1001: expected a step from 1 to 1000 after @, found 1001"):
        derive(parse_spec({**NEURON, "claims": {"z@1001": 0.1}}))
    with pytest.raises(ChainruleError, match=r'claims.q@2: expected the name of a quantity'):
        derive(parse_spec({**NEURON, "claims": {"q@2": 0.1}}))


def test_every_format_names_the_steps():
    spec = load_spec(example_path("momentum_three_steps"))
    d = derive(spec)
    assert "v_{w_{1}}}^{(t=2)}" in render_latex(d)
    assert "Step 2: Forward pass" in render_markdown(d)


def test_gradient_descent_explanations_read_as_before():
    """No optimizer table: plain gradient descent, the update titled as it always was, no state shown."""
    d = derive(parse_spec(NEURON))
    assert d.sections[-1].title == "Update, w′ = w − η·∂L/∂w"
    assert [s.name for s in d.sections[-1].steps] == ["w1'", "w2'", "b1'"]
    assert Decimal(repr(d.values["w1'"])) == Decimal(repr(by_hand("gd", 1)[0]["w1'"]))


def test_gradcheck_compares_every_optimizer_with_the_training_path():
    from chainrule.explainer import seed_article
    from chainrule.explainer.checks import OPTIMIZER_CASES, optimizer_step_errors
    from chainrule.gradcheck import TOLERANCE

    errors = optimizer_step_errors(seed_article())
    assert set(errors) == set(OPTIMIZER_CASES) and max(errors.values()) <= TOLERANCE


def test_the_training_path_check_can_fail(monkeypatch):
    """A recording that showed the state before the step moved it would be caught."""
    from chainrule.explainer import seed_article
    from chainrule.explainer.checks import optimizer_step_errors
    from chainrule.optimizers import Adam

    monkeypatch.setattr(Adam, "corrected", lambda self, state: (state["m"] / 0.5, state["v"] / 0.5))
    assert optimizer_step_errors(seed_article())["adam"] > 1e-3


@pytest.mark.parametrize("optimizer, rule", RULES, ids=[r for _, r in RULES])
def test_a_later_step_shown_alone_reads_its_state_before(optimizer, rule):
    """--show-step 3: step 3 in full, its state before the step (v_w1@2) the engine's, every format rendered."""
    from chainrule.explainer import RENDERERS

    d = derive(parse_spec({**NEURON, "optimizer": optimizer}), steps=3, show_step=3)
    hand = by_hand(rule, 3)
    for name, value in hand[2].items():
        assert d.values[name] == pytest.approx(value, rel=1e-12, abs=1e-15), name
    for letter in {"momentum": "v", "momentum_steps": "v", "nesterov": "v", "nesterov_steps": "v", "rmsprop": "s",
                   "adam": "m"}[rule]:
        assert d.values[f"{letter}_w1@2"] == pytest.approx(hand[1][f"{letter}_w1"], rel=1e-12)
    for render in RENDERERS.values():
        assert len(render(d)) > 500


def test_a_printed_starting_state_is_fed_in():
    """v_w1@0 = 0.1 printed for the spec's 0: a slip, and the velocity worked from it is carried."""
    g = by_hand("momentum", 1)[0]["dL/dw1"]
    spec = parse_spec({**NEURON, "optimizer": {"name": "momentum", "momentum": 0.9},
                       "claims": {"v_w1@0": 0.1, "v_w1": round(0.9 * 0.1 + g, 4)}})
    checks = {c.name: c for c in derive(spec).claims}
    assert checks["v_w1@0"].verdict == "slip" and checks["v_w1"].verdict == "carried"


def test_error_terms_of_later_steps_are_read_in_the_authors_sign():
    hand = by_hand("gd", 2)
    delta = -(hand[1]["y"] - 1) * hand[1]["y"] * (1 - hand[1]["y"])      # δ = −∂L/∂z, the error t − y
    spec = parse_spec({**NEURON, "error_sign": "negative", "claims": {"dL/dz@2": round(delta, 6)}})
    assert [c.verdict for c in derive(spec).claims] == ["agrees"]


def test_an_author_who_rounds_as_they_go_is_followed_over_steps():
    """carries_rounded = 2 over three steps, worked by hand: each number rounded to 2 places and computed on."""
    from decimal import ROUND_HALF_UP

    def r(x):
        return float(Decimal(repr(x)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
    w1, w2, b, claims = 0.2, -0.4, 0.1, {}
    for k in (1, 2, 3):
        z = r(w1 * X[0] + w2 * X[1] + b)
        y = r(sigmoid(z))
        dz = r(r(y - 1) * y * (1 - y))
        w1, w2, b = r(w1 - 0.5 * r(dz * X[0])), r(w2 - 0.5 * r(dz * X[1])), r(b - 0.5 * dz)
        claims |= {step_name("z", k): z, step_name("w1+", k): w1}
    spec = parse_spec({**NEURON, "carries_rounded": 2, "claims": claims})
    assert claims["z@2"] != round(by_hand("gd", 2)[1]["z"], 2)       # the rounding has drifted past the digits
    assert {c.verdict for c in derive(spec).claims} == {"agrees"}


def test_a_zero_printed_to_significant_digits_is_zero():
    spec = parse_spec({**NEURON, "printed_significant": 8, "claims": {"L": 0}})
    assert [c.verdict for c in derive(spec).claims] == ["slip"]


def test_an_input_is_the_same_in_every_step():
    spec = parse_spec({**NEURON, "claims": {"x1@2": 1.0, "z@2": 0.2333}})
    assert [c.verdict for c in derive(spec).claims] == ["agrees", "agrees"]


@pytest.mark.parametrize("change, message", [
    ({"optimizer": {"name": "momentum", "momentum": 0}}, "optimizer.momentum: expected a momentum above 0"),
    ({"optimizer": {"name": "adam", "state": {"v_w1": -1}}}, "optimizer.state.v_w1: expected a number of at least 0"),
    ({"optimizer": {"name": "rmsprop", "state": {"s_b1": -0.5}}}, "optimizer.state.s_b1: expected a number of at"),
    ({"update_biases": False, "optimizer": {"name": "momentum", "state": {"v_b1": 0.5}}},
     "optimizer.state.v_b1: expected a state of a parameter the step updates"),
])
def test_optimizer_states_that_cannot_be_are_refused(change, message):
    with pytest.raises(ChainruleError) as error:
        parse_spec({**NEURON, **change}, "step.json")
    assert f"step.json: {message}" in str(error.value)


def test_claims_written_out_keep_their_declared_precision_and_every_printing():
    """The studio's and cr.explain's channel for claims (name = number lines) keeps what the spec declared."""
    import chainrule as cr
    from chainrule.explainer.api import claims_from_text, claims_text

    spec = parse_spec({**NEURON, "printed_decimals": 8, "claims": {"y": [0.52, 0.5249791], "L": 0.1128}})
    text = claims_text(spec)
    assert text == "y = 0.52000000\ny = 0.52497910\nL = 0.11280000\n"
    assert claims_from_text(text)["y"] == [Decimal("0.52000000"), Decimal("0.52497910")]
    assert [(c.name, c.verdict) for c in cr.explain(spec, claims=text).claims] == \
        [(c.name, c.verdict) for c in derive(spec).claims]


def test_a_printed_bias_corrected_moment_feeds_its_own_step_only():
    """An author who forgets Adam's bias correction prints m̂ = m (a slip) and updates from it; step 2's moment is
    worked from the right m (0.9·m + 0.1·g of step 2, g from the author's own w after step 1): carried, not a slip."""
    eta, b1 = 0.01, 0.9
    first = by_hand("adam", 1, eta=eta)[0]
    m, vhat = round(first["m_w1"], 6), first["vhat_w1"]                 # as printed
    mhat_wrong = m
    w1 = round(0.2 - eta * mhat_wrong / (math.sqrt(vhat) + 1e-8), 6)    # the author's update from the wrong m̂
    z2 = w1 * X[0] + first["w2'"] * X[1] + first["b1'"]                 # step 2 from the author's w1
    y2 = sigmoid(z2)
    m2 = b1 * m + (1 - b1) * (y2 - 1) * y2 * (1 - y2) * X[0]
    spec = parse_spec({**NEURON, "learning_rate": eta, "optimizer": {"name": "adam"},
                       "claims": {"m_w1": m, "mhat_w1": mhat_wrong, "w1+": w1, "m_w1@2": round(m2, 6)}})
    checks = {c.name: c for c in derive(spec).claims}
    assert checks["mhat_w1"].verdict == "slip" and checks["w1+"].verdict == "carried"
    assert checks["m_w1@2"].verdict == "carried"
    assert checks["m_w1@2"].from_claims == pytest.approx(m2, rel=1e-9)


def test_fixed_biases_keep_no_optimizer_state_to_read():
    from chainrule.explainer.audit import author_pass, places_of

    spec = parse_spec({**NEURON, "update_biases": False, "optimizer": {"name": "adam"}, "claims": {"L@2": 0.1}})
    values = author_pass(spec, spec.learning_rate, {}, places_of(spec))
    assert "m_w1" in values and "m_b1" not in values
    assert [c.verdict for c in derive(spec).claims] == ["slip"]
