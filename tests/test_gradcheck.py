import numpy as np

from chainrule.activations import Sigmoid
from chainrule.gradcheck import TOLERANCE, check_gradients, random_cases
from chainrule.layers import Dense
from chainrule.losses import PAIRINGS, SoftmaxCrossEntropy
from chainrule.network import Network


def test_every_pairing_passes():
    labels = []
    for label, net, x, y in random_cases([3, 4, 3, 2], batch=3, seed=1):
        errors = check_gradients(net, x, y)
        assert max(errors.values()) < TOLERANCE, (label, errors)
        labels.append(label)
    assert len(labels) == 4 * len(PAIRINGS)


class WrongSigmoid(Sigmoid):
    """The classic bug: the derivative applied to the output as if it were the pre-activation."""

    def backward(self, grad_out):
        s = 1 / (1 + np.exp(-self.a))
        return grad_out * s * (1 - s)


def test_a_wrong_derivative_is_caught(rng):
    net = Network([Dense(3, 4, rng=rng), WrongSigmoid(), Dense(4, 2, rng=rng)], SoftmaxCrossEntropy())
    x, y = rng.normal(size=(5, 3)), np.eye(2)[[0, 1, 1, 0, 1]]
    errors = check_gradients(net, x, y)
    assert errors["0.weight"] > 1e-2          # the layer below the bug is wrong
    assert errors["2.weight"] < TOLERANCE     # the layer above it is not


def test_a_gradient_that_is_exactly_zero_is_not_a_failure():
    """Absolute error's signs can cancel over a batch: the bias gradient is exactly 0 and central differences give
    float64 noise; that must read as agreement (``chainrule gradcheck --depth 1`` met it)."""
    from chainrule.gradcheck import TOLERANCE, relative_error

    assert relative_error(np.zeros(3), np.array([1e-11, -2e-11, 0.0])) <= TOLERANCE
    assert relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.1])) > TOLERANCE


def test_the_explained_batch_step_check_catches_a_wrong_reduction():
    from dataclasses import replace

    from chainrule.explainer import derive, example_path, load_spec
    from chainrule.explainer.checks import batch_step_errors

    spec = load_spec(example_path("batch_homework"))
    errors = batch_step_errors(spec)
    assert set(errors) == {"example 1", "example 2", "batch (mean)"} and max(errors.values()) < TOLERANCE
    summed = derive(replace(spec, reduction="sum")).values        # the sum's gradients shown for the mean
    assert batch_step_errors(spec, summed)["batch (mean)"] > 0.1
    assert max(batch_step_errors(spec, summed).values()) > TOLERANCE
    assert batch_step_errors(replace(spec, reduction="sum"), summed)["batch (sum)"] < TOLERANCE


def test_the_connection_check_catches_errors_sent_along_the_wrong_connection():
    from chainrule.explainer import derive, seed_article
    from chainrule.explainer.checks import connection_errors, connection_names
    from chainrule.explainer.spec import Claim

    spec = seed_article()
    spec.claims = [Claim(name, 0.0, __import__("decimal").Decimal(0)) for name in connection_names(spec)]
    values = derive(spec).values
    assert connection_errors(spec, values)["layer 2"] < TOLERANCE
    swapped = {**values, "dL/da1_via_z3": values["dL/da1_via_z4"], "dL/da1_via_z4": values["dL/da1_via_z3"]}
    assert connection_errors(spec, swapped)["layer 2"] > 1e-2


def test_the_softmax_check_catches_shifted_exponentials(monkeypatch):
    """e^(z - max z), the engine's own stable form, gives the same softmax but not the author's e^z: the derivative
    of ln of its sum is not the softmax, and the check says so."""
    from chainrule.explainer.checks import softmax_exponential_errors
    from chainrule.explainer.recorder import Recorder

    assert max(softmax_exponential_errors().values()) < TOLERANCE

    def shifted(self, key, z):
        self.exps[key] = np.exp(z - z.max(axis=1, keepdims=True))
        self.sums[key] = self.exps[key].sum(axis=1, keepdims=True)
    monkeypatch.setattr(Recorder, "exponentiate", shifted)
    errors = softmax_exponential_errors()
    assert errors["e^z / sum"] < TOLERANCE and errors["d ln sum / dz"] > 1e-2


def test_every_loss_derivative_explain_shows_matches_finite_differences(monkeypatch):
    """dL/dŷ as each loss's backward gives it (what explain shows as dL/dyhat1), sum of squared errors included;
    a sum of squared errors that forgot its factor 2 is caught."""
    from chainrule.gradcheck import check_loss_derivatives
    from chainrule.losses import UNFUSED, SumSquaredError

    errors = check_loss_derivatives()
    assert set(UNFUSED) <= set(errors) and "sum_squared_error" in errors
    assert max(errors.values()) < TOLERANCE, errors

    class HalfForgotten(SumSquaredError):
        def backward(self, scale=1.0):
            return self.diff * (scale / len(self.diff))          # the 1/2's derivative, without the 1/2
    monkeypatch.setitem(UNFUSED, "sum_squared_error", HalfForgotten)
    assert check_loss_derivatives()["sum_squared_error"] > 0.1
