import numpy as np
import pytest

from chainrule.errors import ChainruleError
from chainrule.optimizers import GradientDescent


def test_gradient_descent_is_w_minus_eta_grad():
    w, g = np.array([0.2, -0.3]), np.array([-0.04, 0.5])
    GradientDescent(0.1).step({"w": w}, {"w": g})
    np.testing.assert_allclose(w, [0.2 + 0.004, -0.3 - 0.05], rtol=1e-15)


def test_frozen_parameters_are_left_alone():
    w, b = np.array([1.0]), np.array([2.0])
    GradientDescent(0.5).step({"w": w}, {"w": np.array([1.0]), "b": np.array([1.0])})
    assert w[0] == 0.5 and b[0] == 2.0


@pytest.mark.parametrize("lr", [0, -1, float("nan"), float("inf")])
def test_invalid_learning_rate(lr):
    with pytest.raises(ChainruleError, match="Invalid learning rate"):
        GradientDescent(lr)
