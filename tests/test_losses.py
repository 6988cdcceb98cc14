"""Losses: values worked out by hand, gradients against finite differences, no log(0), extreme logits."""

import math

import numpy as np
import pytest

from chainrule.errors import ChainruleError
from chainrule.losses import (ExpPoissonDeviance, HalfSquaredError, MeanSquaredError, SigmoidBinaryCrossEntropy,
                              SoftmaxCrossEntropy, SumSquaredError, output_head)
from conftest import numeric_grad

LOSSES = [SoftmaxCrossEntropy, SigmoidBinaryCrossEntropy, HalfSquaredError, MeanSquaredError, ExpPoissonDeviance,
          SumSquaredError]


def targets_for(loss, rng, n, k):
    if isinstance(loss, SoftmaxCrossEntropy):
        return np.eye(k)[rng.integers(0, k, n)]
    if isinstance(loss, SigmoidBinaryCrossEntropy):
        return rng.integers(0, 2, (n, k)).astype(float)
    if isinstance(loss, ExpPoissonDeviance):                    # counts, zeros among them
        return rng.poisson(2.0, (n, k)).astype(float)
    return rng.normal(size=(n, k))


@pytest.mark.parametrize("loss_class", LOSSES)
@pytest.mark.parametrize("n,k", [(1, 1), (1, 3), (5, 2), (4, 4)])
def test_loss_gradient(loss_class, n, k, rng):
    loss = loss_class()
    z, y = rng.normal(size=(n, k)) * 2, None
    y = targets_for(loss, rng, n, k)
    loss.forward(z, y)
    analytic = loss.backward()
    np.testing.assert_allclose(analytic, numeric_grad(lambda: loss.forward(z, y), z), rtol=1e-6, atol=1e-9)


def test_values_by_hand():
    z, y = np.array([[1.0, 2.0, 3.0]]), np.array([[0.0, 0.0, 1.0]])
    expected = -(3 - math.log(math.e + math.e**2 + math.e**3))
    assert SoftmaxCrossEntropy().forward(z, y) == pytest.approx(expected, rel=1e-12)
    o, t = np.array([[0.75, 0.77]]), np.array([[0.01, 0.99]])
    assert HalfSquaredError().forward(o, t) == pytest.approx(0.5 * (0.74**2 + 0.22**2), rel=1e-12)
    assert MeanSquaredError().forward(o, t) == pytest.approx((0.74**2 + 0.22**2) / 2, rel=1e-12)
    bce = SigmoidBinaryCrossEntropy().forward(np.array([[0.0, 2.0]]), np.array([[1.0, 0.0]]))
    assert bce == pytest.approx(-math.log(0.5) - math.log(1 - 1 / (1 + math.exp(-2))), rel=1e-12)


def test_sum_squared_error_over_a_batch_of_two_by_hand():
    """Sum over the outputs, no 1/2, mean over the batch; dL/do = 2 (o - t) / N. Worked with ``math`` alone."""
    o, t = np.array([[0.75, 0.77], [0.2, -0.4]]), np.array([[0.01, 0.99], [1.0, 0.5]])
    l1 = math.fsum([(0.75 - 0.01) ** 2, (0.77 - 0.99) ** 2])     # 0.74^2 + 0.22^2 = 0.596
    l2 = math.fsum([(0.2 - 1.0) ** 2, (-0.4 - 0.5) ** 2])        # 0.8^2 + 0.9^2 = 1.45
    assert (l1, l2) == (pytest.approx(0.596, rel=1e-12), pytest.approx(1.45, rel=1e-12))
    loss = SumSquaredError()
    assert loss.forward(o, t) == pytest.approx((l1 + l2) / 2, rel=1e-12)
    np.testing.assert_allclose(loss.per_example(o, t), [l1, l2], rtol=1e-12)
    loss.forward(o, t)
    by_hand = [[2 * (0.75 - 0.01) / 2, 2 * (0.77 - 0.99) / 2], [2 * (0.2 - 1.0) / 2, 2 * (-0.4 - 0.5) / 2]]
    np.testing.assert_allclose(loss.backward(), by_hand, rtol=1e-12)
    np.testing.assert_allclose(loss.backward(scale=2.0), np.multiply(by_hand, 2), rtol=1e-12)   # the batch's sum
    # twice the half squared error, gradient and all
    half = HalfSquaredError()
    assert loss.forward(o, t) == pytest.approx(2 * half.forward(o, t), rel=1e-12)
    half.forward(o, t)
    np.testing.assert_allclose(loss.backward(), 2 * half.backward(), rtol=1e-12)


def test_sum_squared_error_pairs_with_every_output_and_is_saved(tmp_path):
    import chainrule as cr
    from chainrule.losses import PAIRINGS

    assert all((out, "sum_squared_error") in PAIRINGS for out in ("identity", "sigmoid", "tanh", "softmax"))
    layers, loss = output_head("sigmoid", "sum_squared_error")
    assert len(layers) == 1 and isinstance(loss, SumSquaredError)
    net = cr.mlp([3, 4, 2], output="identity", loss="sum_squared_error", seed=0)
    net.save(tmp_path / "s.npz")
    assert isinstance(cr.load(tmp_path / "s.npz").loss_fn, SumSquaredError)


def test_batch_mean():
    loss = HalfSquaredError()
    one = loss.forward(np.array([[1.0, 2.0]]), np.array([[0.0, 0.0]]))
    two = loss.forward(np.array([[1.0, 2.0], [1.0, 2.0]]), np.zeros((2, 2)))
    assert one == two == 2.5


@pytest.mark.parametrize("loss_class", [SoftmaxCrossEntropy, SigmoidBinaryCrossEntropy])
def test_cross_entropy_never_takes_log_of_zero(loss_class):
    z = np.array([[1000.0, -1000.0], [-1000.0, 1000.0]])
    y = np.array([[0.0, 1.0], [1.0, 0.0]])     # confidently wrong: the loss is large but finite
    loss = loss_class()
    with np.errstate(all="raise", under="ignore"):
        value = loss.forward(z, y)
        grad = loss.backward()
    assert np.isfinite(value) and value == pytest.approx(2000.0)
    assert np.all(np.isfinite(grad))


def test_fused_error_is_yhat_minus_y_over_batch(rng):
    loss = SoftmaxCrossEntropy()
    z, y = rng.normal(size=(4, 3)), np.eye(3)[[0, 1, 2, 0]]
    loss.forward(z, y)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(loss.backward(), (p - y) / 4, rtol=1e-12)


def test_unknown_pairing_is_refused():
    with pytest.raises(ChainruleError, match="identity \\+ cross_entropy"):
        output_head("identity", "cross_entropy")


# --- robust regression losses and the weighted loss ---------------------------------------------------------------
from chainrule.losses import AbsoluteError, Huber, Weighted  # noqa: E402


@pytest.mark.parametrize("loss", [AbsoluteError(), Huber(), Huber(epsilon=0.3)], ids=["absolute", "huber", "huber0.3"])
@pytest.mark.parametrize("n,k", [(1, 1), (5, 2), (4, 3)])
def test_robust_loss_gradients_against_finite_differences(loss, n, k, rng):
    z, y = rng.normal(size=(n, k)) * 2, rng.normal(size=(n, k))
    z[np.abs(z - y) < 1e-3] += 0.1           # away from |.|'s kink, where no derivative exists
    loss.forward(z, y)
    analytic = loss.backward()
    np.testing.assert_allclose(analytic, numeric_grad(lambda: loss.forward(z, y), z), rtol=1e-6, atol=1e-9)


def test_robust_losses_by_hand():
    o, t = np.array([[0.5, 3.0], [-1.0, 0.0]]), np.array([[0.0, 0.0], [1.0, 0.0]])   # residuals 0.5, 3, -2, 0
    assert AbsoluteError().forward(o, t) == pytest.approx((0.5 + 3 + 2 + 0) / 2, rel=1e-12)
    # epsilon 1: 0.5 is inside (0.5^2/2), 3 and -2 outside (1 * (|r| - 1/2))
    assert Huber(epsilon=1.0).forward(o, t) == pytest.approx((0.125 + 2.5 + 1.5 + 0) / 2, rel=1e-12)
    huber = Huber(epsilon=1.0)
    huber.forward(o, t)
    np.testing.assert_array_equal(huber.backward(), np.array([[0.5, 1.0], [-1.0, 0.0]]) / 2)
    absolute = AbsoluteError()
    absolute.forward(o, t)
    np.testing.assert_array_equal(absolute.backward(), np.array([[1.0, 1.0], [-1.0, 0.0]]) / 2)


def test_huber_meets_squared_and_absolute_error_at_the_ends(rng):
    z, y = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    assert Huber(epsilon=1e6).forward(z, y) == pytest.approx(HalfSquaredError().forward(z, y), rel=1e-12)
    # far from the targets Huber / epsilon tends to |r| - epsilon / 2
    small = 1e-9
    assert Huber(epsilon=small).forward(z, y) / small == pytest.approx(AbsoluteError().forward(z, y), rel=1e-6)


@pytest.mark.parametrize("epsilon", [0, -1, float("nan"), float("inf")])
def test_huber_refuses_a_bad_epsilon(epsilon):
    with pytest.raises(ChainruleError, match="epsilon must be a finite number > 0"):
        Huber(epsilon)


def test_robust_losses_pair_with_outputs_by_name_or_instance():
    layers, loss = output_head("identity", "absolute_error")
    assert layers and isinstance(loss, AbsoluteError)
    huber = Huber(epsilon=0.5)
    assert output_head("identity", huber)[1] is huber
    with pytest.raises(ChainruleError, match="identity \\+ cross_entropy"):
        output_head("identity", SoftmaxCrossEntropy())


@pytest.mark.parametrize("loss_class", LOSSES + [AbsoluteError, Huber])
def test_per_example_losses_average_to_the_loss(loss_class, rng):
    loss = loss_class()
    z = rng.normal(size=(5, 3)) * 2
    y = targets_for(loss, rng, 5, 3)
    assert loss.per_example(z, y).mean() == pytest.approx(loss.forward(z, y), rel=1e-12)


@pytest.mark.parametrize("loss_class", LOSSES + [AbsoluteError, Huber])
def test_weighted_loss_value_and_gradient(loss_class, rng):
    """sum w l / sum w, and its gradient against finite differences; integer weights equal repeated rows."""
    base = loss_class()
    z = rng.normal(size=(4, 3)) * 2
    y = targets_for(base, rng, 4, 3)
    w = np.array([2.0, 0.0, 1.0, 3.0])
    weighted = Weighted(base, 3)
    yw = np.column_stack([y, w])
    value = weighted.forward(z, yw)
    assert value == pytest.approx((w * base.per_example(z, y)).sum() / w.sum(), rel=1e-12)
    grad = weighted.backward()
    np.testing.assert_allclose(grad, numeric_grad(lambda: weighted.forward(z, yw), z), rtol=1e-6, atol=1e-9)
    repeat = np.repeat(np.arange(4), w.astype(int))          # the rows, each as many times as its weight
    plain = loss_class()
    assert plain.forward(z[repeat], y[repeat]) == pytest.approx(value, rel=1e-12)
    summed = np.zeros_like(z)
    np.add.at(summed, repeat, plain.backward())
    np.testing.assert_allclose(grad, summed, rtol=1e-12, atol=1e-15)
    # without the weight column it is the plain loss
    assert weighted.forward(z, y) == base.forward(z, y)


def test_a_batch_of_zero_weights_counts_for_nothing(rng):
    weighted = Weighted(HalfSquaredError(), 2)
    z, y = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    assert weighted.forward(z, np.column_stack([y, np.zeros(3)])) == 0.0
    assert not weighted.backward().any()


def test_a_saved_huber_network_keeps_its_epsilon(tmp_path):
    import chainrule as cr

    net = cr.mlp([3, 4, 2], output="identity", loss=Huber(epsilon=0.25), seed=0)
    net.save(tmp_path / "h.npz")
    loaded = cr.load(tmp_path / "h.npz")
    assert isinstance(loaded.loss_fn, Huber) and loaded.loss_fn.epsilon == 0.25
    absolute = cr.mlp([3, 2], output="identity", loss="absolute_error", seed=0)
    absolute.save(tmp_path / "a.npz")
    assert isinstance(cr.load(tmp_path / "a.npz").loss_fn, AbsoluteError)


def test_poisson_deviance_by_hand_and_as_scikit_learns():
    """Half the Poisson deviance of counts y at predictions e^z, worked by hand; and scikit-learn's own
    ``poisson_loss`` on the same predictions."""
    from sklearn.neural_network._base import poisson_loss

    z, y = np.array([[0.0, math.log(2.0)], [1.0, -1.0]]), np.array([[1.0, 0.0], [3.0, 2.0]])
    by_hand = ((1 * math.log(1 / 1) - 1 + 1) + (0 - 0 + 2)                                  # row 0: yhat 1, 2
               + (3 * math.log(3 / math.e) - 3 + math.e) + (2 * math.log(2 / math.exp(-1)) - 2 + math.exp(-1))) / 2
    loss = ExpPoissonDeviance()
    assert loss.forward(z, y) == pytest.approx(by_hand, rel=1e-12)
    assert loss.forward(z, y) == pytest.approx(poisson_loss(y, np.exp(z)), rel=1e-12)
    np.testing.assert_allclose(loss.backward(), (np.exp(z) - y) / 2, rtol=1e-12)
    assert loss.forward(np.log(y[:, :1]), y[:, :1]) == pytest.approx(0.0, abs=1e-15)   # a perfect fit: 0
    np.testing.assert_allclose(loss.link(z), np.exp(z), rtol=1e-15)
    assert output_head("exp", "poisson")[0] == [] and output_head("exp")[1].name == "poisson"
