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


from chainrule.optimizers import SGD, Adam


def run(optimizer, grads):
    w = np.array([1.0, -2.0])
    for g in grads:
        optimizer.step({"w": w}, {"w": np.array(g)})
    return w


def test_momentum_by_hand():
    # v1 = g1, w1 = w0 - lr v1; v2 = m v1 + g2, w2 = w1 - lr v2
    g1, g2, lr, m = np.array([0.5, -1.0]), np.array([0.25, 0.5]), 0.1, 0.9
    v1, w = g1, np.array([1.0, -2.0]) - lr * g1
    v2 = m * v1 + g2
    np.testing.assert_allclose(run(SGD(lr, momentum=m), [g1, g2]), w - lr * v2, rtol=1e-14)


def test_nesterov_by_hand():
    g1, g2, lr, m = np.array([0.5, -1.0]), np.array([0.25, 0.5]), 0.1, 0.9
    v1 = g1
    w1 = np.array([1.0, -2.0]) - lr * (g1 + m * v1)
    v2 = m * v1 + g2
    np.testing.assert_allclose(run(SGD(lr, momentum=m, nesterov=True), [g1, g2]), w1 - lr * (g2 + m * v2),
                               rtol=1e-14)


def test_weight_decay_adds_l2_gradient():
    np.testing.assert_allclose(run(SGD(0.1, weight_decay=0.5), [[0.0, 0.0]]), [1.0 - 0.05, -2.0 + 0.1], rtol=1e-14)


def test_adam_by_hand():
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    w, m, v = np.array([1.0, -2.0]), np.zeros(2), np.zeros(2)
    grads = [np.array([0.5, -1.0]), np.array([0.25, 0.5]), np.array([-1.0, 2.0])]
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w = w - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    np.testing.assert_allclose(run(Adam(lr), grads), w, rtol=1e-12)


def test_adam_with_other_betas_and_epsilon_by_hand():
    lr, b1, b2, eps = 0.05, 0.5, 0.75, 0.1
    w, m, v = np.array([1.0, -2.0]), np.zeros(2), np.zeros(2)
    grads = [np.array([0.5, -1.0]), np.array([0.25, 0.5]), np.array([-1.0, 2.0]), np.array([0.0, 0.125])]
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w = w - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    np.testing.assert_allclose(run(Adam(lr, betas=(b1, b2), eps=eps), grads), w, rtol=1e-12)


def test_adam_with_epsilon_beside_sqrt_v_by_hand():
    """scikit-learn's form: lr_t = lr sqrt(1 - b2^t) / (1 - b1^t), w <- w - lr_t m / (sqrt(v) + eps)."""
    from chainrule.optimizers import AdamEpsilonHat

    lr, b1, b2, eps = 0.05, 0.5, 0.75, 0.1
    w, m, v = np.array([1.0, -2.0]), np.zeros(2), np.zeros(2)
    grads = [np.array([0.5, -1.0]), np.array([0.25, 0.5]), np.array([-1.0, 2.0])]
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w = w - lr * np.sqrt(1 - b2**t) / (1 - b1**t) * m / (np.sqrt(v) + eps)
    np.testing.assert_allclose(run(AdamEpsilonHat(lr, betas=(b1, b2), eps=eps), grads), w, rtol=1e-12)


@pytest.mark.parametrize("nesterov", [False, True])
def test_a_velocity_of_steps_by_hand_when_the_rate_changes(nesterov):
    """scikit-learn's momentum, v <- m v - lr g, w <- w + v (Nesterov: w <- w + m v - lr g): a new rate reaches the
    new gradient only; SGD's velocity of gradients takes the new rate for all of it."""
    from chainrule.optimizers import SGDVelocityOfSteps

    mu, grads, rates = 0.9, [np.array([1.0, 2.0]), np.array([-0.5, 0.25]), np.array([0.125, -1.0])], [0.1, 0.01, 0.05]
    w, v = np.array([1.0, -2.0]), np.zeros(2)
    optimizer, w_ours = SGDVelocityOfSteps(0.1, momentum=mu, nesterov=nesterov), np.array([1.0, -2.0])
    for g, lr in zip(grads, rates, strict=True):
        v = mu * v - lr * g
        w = w + (mu * v - lr * g if nesterov else v)
        optimizer.lr = lr
        optimizer.step({"w": w_ours}, {"w": g})
    np.testing.assert_allclose(w_ours, w, rtol=1e-14)
    assert optimizer.loss_scale() is None                      # never the prescaled step, whose velocity is SGD's


def test_inverse_scaling_by_hand():
    """scikit-learn's invscaling: lr = base / (t + 1)^power_t, t the examples seen before the epoch."""
    from chainrule.optimizers import InverseScaling

    schedule = InverseScaling(power_t=0.25, examples=30)
    assert [schedule(epoch) for epoch in range(3)] == pytest.approx([1.0, 31 ** -0.25, 61 ** -0.25], rel=1e-15)
    later = InverseScaling(power_t=0.5, examples=30, seen=90)          # a fit that follows 90 examples seen
    assert later(0) == pytest.approx(91 ** -0.5, rel=1e-15) and later(2) == pytest.approx(151 ** -0.5, rel=1e-15)
    optimizer = SGD(0.2, schedule=InverseScaling(0.5, 8))
    optimizer.start_epoch(3)
    assert optimizer.lr == pytest.approx(0.2 / 25 ** 0.5, rel=1e-15)
    assert InverseScaling(0.0, 30)(7) == 1.0                              # power_t 0: a constant rate
    with pytest.raises(ChainruleError, match="Invalid power_t"):
        InverseScaling(-0.5, 30)
    with pytest.raises(ChainruleError, match="expected examples >= 1"):
        InverseScaling(0.5, 0)


def test_momentum_one_keeps_every_gradient():
    lr, g1, g2 = 0.1, np.array([1.0, 2.0]), np.array([-0.5, 0.25])
    np.testing.assert_allclose(run(SGD(lr, momentum=1.0), [g1, g2]),
                               np.array([1.0, -2.0]) - lr * g1 - lr * (g1 + g2), rtol=1e-14)


def test_adam_matches_torch_when_installed():
    torch = pytest.importorskip("torch")
    grads = [np.array([0.5, -1.0]), np.array([0.25, 0.5]), np.array([-1.0, 2.0])]
    p = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([p], lr=0.01, weight_decay=0.1)
    for g in grads:
        p.grad = torch.tensor(g)
        opt.step()
    np.testing.assert_allclose(run(Adam(0.01, weight_decay=0.1), grads), p.detach().numpy(), rtol=1e-12)


def test_invalid_settings():
    with pytest.raises(ChainruleError, match="Invalid momentum"):
        SGD(0.1, momentum=1.5)
    with pytest.raises(ChainruleError, match="Nesterov momentum needs momentum > 0"):
        SGD(0.1, nesterov=True)
    with pytest.raises(ChainruleError, match="Invalid beta2"):
        Adam(betas=(0.9, 1.0))
