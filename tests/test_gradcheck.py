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
