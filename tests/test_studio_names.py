"""chainrule studio's words for a learner: a bad number is named as the network names it (``w₂: expected a number,
found "abc"``), with its field's path kept for the highlighting; and training reports a validation split per epoch
and the test split once, at the end."""

import copy
import time

import numpy as np
import pytest

import starlette  # noqa: F401  the studio extra: make test installs it; missing, this fails loudly
from starlette.testclient import TestClient  # noqa: E402

from chainrule.studio import create_app  # noqa: E402

PLAIN = {"inputs": [1, 2, -1], "targets": [1, 0], "loss": "cross_entropy", "learning_rate": 0.1,
         "layers": [{"weights": [[0.2, -0.3, 0.4], [-0.5, 0.1, 0.2]], "bias": [0.5, 0.5], "activation": "sigmoid"},
                    {"weights": [[0.3, 0.4], [-0.1, 0.2]], "bias": 0.1, "activation": "softmax"}]}


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(("testserver",))) as c:
        yield c


@pytest.fixture(scope="module")
def seed(client):
    return client.get("/api/example/seed_article").json()["spec"]


def refused(client, spec, keys, value):
    """(message, field) of the answer to ``spec`` with the number at ``keys`` replaced by ``value``."""
    spec = copy.deepcopy(spec)
    holder = spec
    for key in keys[:-1]:
        holder = holder[key]
    holder[keys[-1]] = value
    answer = client.post("/api/explain", json={"spec": spec})
    assert answer.status_code == 400, answer.text[:300]
    return answer.json()["error"], answer.json()["field"]


def test_a_bad_number_is_named_as_the_diagram_names_it(client, seed):
    weight = ["layers", 0, "weights", 0, 1]
    assert refused(client, seed, weight, "abc") == ('w₂: expected a number, found "abc"', "layers[0].weights[0][1]")
    assert refused(client, seed, weight, "1e400") == (           # what the page sends for a number past a float
        "w₂: 1e400 is too large: expected a number of size at most 1e300", "layers[0].weights[0][1]")
    assert refused(client, seed, weight, "")[0] == "w₂: expected a number, found an empty box"
    assert refused(client, seed, weight, None)[0] == "w₂: expected a number, found nothing"
    assert refused(client, seed, ["layers", 1, "weights", 0, 1], "x")[0].startswith("w₉: ")   # the article's order
    assert refused(client, seed, ["layers", 0, "bias"], "x") == ('b⁽¹⁾: expected a number, found "x"',
                                                               "layers[0].bias")
    assert refused(client, seed, ["inputs", "x2"], "two") == ('x₂: expected a number, found "two"', "inputs.x2")
    assert refused(client, seed, ["targets", "y1"], "q") == ('y₁: expected a number, found "q"', "targets.y1")
    assert refused(client, seed, ["learning_rate"], "fast") == ('η: expected a number, found "fast"', "learning_rate")
    assert refused(client, seed, ["learning_rate"], -1)[0] == ("η: expected a positive learning rate of at most 1e6, "
                                                              "found -1")


def test_a_number_too_large_is_said_in_the_learners_notation_at_the_readers_limit(client, seed):
    """The spec reader takes numbers of size at most 1e300; past it, a number the page sends as a number (1e308 fits a
    float) and one it sends as text (1e400 does not) read the same way; digits other than 0-9 are no number."""
    from decimal import Decimal

    from chainrule.errors import ChainruleError
    from chainrule.explainer import parse_spec
    from chainrule.studio.names import LARGEST

    weight = ["layers", 0, "weights", 0, 1]
    for value, written in ((1e308, "1e308"), (-1.5e305, "-1.5e305"), ("1e400", "1e400"), (" 2e301 ", "2e301")):
        assert refused(client, seed, weight, value) == (
            f"w₂: {written} is too large: expected a number of size at most 1e300", "layers[0].weights[0][1]")
    assert refused(client, seed, ["learning_rate"], 1e305)[0] == ("η: 1e305 is too large: expected a number of size "
                                                                 "at most 1e300")
    for digits in ("١٢", "１２", "²"):                          # Arabic-Indic, full-width, a superscript
        assert refused(client, seed, weight, digits)[0] == f'w₂: expected a number, found "{digits}"'
    assert refused(client, seed, weight, "0.5")[0] == 'w₂: expected a number, found "0.5"'   # text, though a number
    at_limit = copy.deepcopy(PLAIN)
    at_limit["layers"][0]["weights"][0][1] = Decimal(repr(LARGEST))
    parse_spec(at_limit, "spec")                                  # the limit said is the reader's own
    at_limit["layers"][0]["weights"][0][1] = Decimal("1.0000001e300")
    with pytest.raises(ChainruleError, match="expected a number"):
        parse_spec(at_limit, "spec")


def test_default_and_custom_names_are_the_spec_readers(client):
    # default names count on over the layers: layer 2's second weight of its first row is w8
    assert refused(client, PLAIN, ["layers", 1, "weights", 0, 1], "x")[0].startswith("w₈: ")
    assert refused(client, PLAIN, ["layers", 0, "bias", 1], "x")[0].startswith("b₂: ")
    assert refused(client, PLAIN, ["inputs", 2], "x") == ('x₃: expected a number, found "x"', "inputs[2]")
    assert refused(client, PLAIN, ["targets", 1], "x")[0].startswith("y₂: ")
    named = copy.deepcopy(PLAIN)
    named["layers"][0]["weight_names"] = [["u1", "u2", "u3"], ["v1", "v2", "v3"]]
    assert refused(client, named, ["layers", 0, "weights", 1, 2], "x")[0].startswith("v₃: ")
    # rows are inputs under weight_layout = "input_major": row 2, column 0 is the weight from x3 to the first neuron
    columns = copy.deepcopy(PLAIN) | {"weight_layout": "input_major"}
    columns["layers"][0]["weights"] = [[0.2, -0.5], [-0.3, 0.1], [0.4, 0.2]]
    columns["layers"][1]["weights"] = [[0.3, -0.1], [0.4, 0.2]]
    assert refused(client, columns, ["layers", 0, "weights", 2, 0], "x")[0].startswith("w₃: ")


def test_other_mistakes_keep_the_spec_readers_words(client, seed):
    message, field = refused(client, seed, ["layers", 0, "weight_names", 0, 0], "<b>w</b>")
    assert message.startswith("spec: layers[0].weight_names[0][0]: expected") and field == \
        "layers[0].weight_names[0][0]"
    short = copy.deepcopy(PLAIN)
    short["layers"][0]["weights"][1] = [0.1, 0.2]
    assert client.post("/api/explain", json={"spec": short}).json()["error"] == \
        "spec: layers[0].weights[1]: expected 3 columns, one per input of this layer, found 2"


def test_training_draws_a_validation_split_and_scores_the_test_split_once(client):
    started = client.post("/api/train", json={"data": "iris", "hidden": [8], "epochs": 30, "seed": 1}).json()
    assert started["test_accuracy"] is None                       # not while training
    deadline = time.monotonic() + 120
    while (state := client.get(f"/api/train/{started['job']}").json())["status"] == "running":
        assert state["test_accuracy"] is None
        assert time.monotonic() < deadline, "training did not end"
        time.sleep(0.05)
    assert state["status"] == "done" and len(state["history"]["val_loss"]) == 30
    # 150 irises: a quarter (38) held out for the test; a fifth of the other 112 (22) for the curves' validation
    assert (state["test_size"], state["validation_size"], state["train_size"]) == (38, 22, 90)
    job = client.app.state.jobs.get(started["job"])
    right = np.mean(job.network.predict(job.X_test) == job.y_test)          # counted here, not by the engine's score
    assert state["test_accuracy"] == pytest.approx(right, abs=1e-12)
