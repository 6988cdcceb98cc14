"""Losses: values worked out by hand, gradients against finite differences, no log(0), extreme logits."""

import math

import numpy as np
import pytest

from chainrule.errors import ChainruleError
from chainrule.losses import (HalfSquaredError, MeanSquaredError, SigmoidBinaryCrossEntropy, SoftmaxCrossEntropy,
                              output_head)
from conftest import numeric_grad

LOSSES = [SoftmaxCrossEntropy, SigmoidBinaryCrossEntropy, HalfSquaredError, MeanSquaredError]


def targets_for(loss, rng, n, k):
    if isinstance(loss, SoftmaxCrossEntropy):
        return np.eye(k)[rng.integers(0, k, n)]
    if isinstance(loss, SigmoidBinaryCrossEntropy):
        return rng.integers(0, 2, (n, k)).astype(float)
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
