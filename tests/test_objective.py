"""The flat objective of full-batch solvers: its gradient is the engine's and agrees with finite differences; sums
over any split of the rows add up to the whole; the penalty reaches the weights only."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.objective import Objective, loss_and_gradient_sum, set_flat
from chainrule.training import encode_targets


def problem(rng, output="softmax", rows=23):
    net = cr.mlp([5, 7, 3], activation="tanh", output=output, dtype=np.float64, seed=1)
    X = rng.standard_normal((rows, 5))
    y = rng.integers(0, 3, rows) if output == "softmax" else rng.standard_normal((rows, 3))
    return net, X, encode_targets(net, y, rows)


@pytest.mark.parametrize("output", ["softmax", "identity"])
@pytest.mark.parametrize("l2", [0.0, 0.3])
def test_the_gradient_agrees_with_finite_differences(rng, output, l2):
    net, X, Y = problem(rng, output)
    f = Objective(net, X, Y, l2=l2)
    theta = net.flat_parameters()[0].copy() + 0.1 * rng.standard_normal(net.flat_parameters()[0].shape)
    _, grad = f(theta)
    numeric = np.zeros_like(theta)
    for i in range(theta.size):
        step = np.zeros_like(theta)
        step[i] = 1e-6
        numeric[i] = (f(theta + step)[0] - f(theta - step)[0]) / 2e-6
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)
    assert f.calls == 1 + 2 * theta.size


def test_the_mean_loss_is_the_networks(rng):
    net, X, Y = problem(rng)
    theta = net.flat_parameters()[0].copy()
    loss, _ = Objective(net, X, Y)(theta)
    assert loss == pytest.approx(net.loss(X, Y), rel=1e-14)


def test_sums_over_a_split_add_up_to_the_whole(rng):
    net, X, Y = problem(rng, rows=50)
    whole = loss_and_gradient_sum(net, X, Y)
    parts = [loss_and_gradient_sum(net, X[a:b], Y[a:b]) for a, b in ((0, 0), (0, 17), (17, 50))]
    assert sum(p[0] for p in parts) == pytest.approx(whole[0], rel=1e-12)
    np.testing.assert_allclose(sum(p[1] for p in parts), whole[1], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(loss_and_gradient_sum(net, X, Y, block_rows=7)[1], whole[1], rtol=1e-12, atol=1e-14)
    empty = loss_and_gradient_sum(net, X[:0], Y[:0])
    assert empty[0] == 0 and not empty[1].any()


def test_the_penalty_reaches_weights_not_biases(rng):
    net, X, Y = problem(rng)
    theta = net.flat_parameters()[0].copy()
    plain, penalised = Objective(net, X, Y)(theta)[1], Objective(net, X, Y, l2=2.0)(theta)[1]
    set_flat(net, theta)
    added = penalised - plain
    offset = 0
    for name, param in net.named_parameters().items():
        part = added[offset:offset + param.size]
        expected = 2.0 * param.reshape(-1) if name.endswith("weight") else np.zeros(param.size)
        np.testing.assert_allclose(part, expected, rtol=1e-12, atol=1e-15, err_msg=name)
        offset += param.size


def test_a_theta_of_the_wrong_shape_is_refused(rng):
    net, X, Y = problem(rng)
    with pytest.raises(ValueError, match=r"theta: expected shape \(\d+,\), found \(3,\)"):
        Objective(net, X, Y)(np.zeros(3))


def test_lbfgs_lowers_the_loss_and_counts_its_evaluations(rng):
    from chainrule.objective import minimize_lbfgs
    net, X, Y = problem(rng, rows=60)
    f = Objective(net, X, Y, l2=1e-3)
    theta0 = net.flat_parameters()[0].copy()
    start = f(theta0)[0]
    result = minimize_lbfgs(f, theta0, max_iter=30, max_fun=15, tol=1e-8)
    assert result.fun < start and result.nfev <= 15 + 1 and f.calls == 1 + result.nfev


@pytest.mark.parametrize("output", ["softmax", "identity"])
def test_a_weight_of_two_counts_the_row_twice(rng, output):
    """Weighted sums and the weighted mean equal those over the rows repeated as often as their weights; the
    gradient of the weighted objective agrees with finite differences."""
    net, X, Y = problem(rng, output, rows=30)
    w = rng.integers(0, 4, size=30).astype(float)
    w[:2] = [1.0, 2.0]
    repeat = np.repeat(np.arange(30), w.astype(int))
    weighted = loss_and_gradient_sum(net, X, Y, weight=w, block_rows=7)
    repeated = loss_and_gradient_sum(net, X[repeat], Y[repeat])
    assert weighted[0] == pytest.approx(repeated[0], rel=1e-12)
    np.testing.assert_allclose(weighted[1], repeated[1], rtol=1e-11, atol=1e-13)
    theta = net.flat_parameters()[0].copy()
    f = Objective(net, X, Y, l2=0.2 / w.sum(), sample_weight=w)
    loss, grad = f(theta)
    loss_repeated, grad_repeated = Objective(net, X[repeat], Y[repeat], l2=0.2 / len(repeat))(theta)
    assert loss == pytest.approx(loss_repeated, rel=1e-12)
    np.testing.assert_allclose(grad, grad_repeated, rtol=1e-10, atol=1e-13)
    step = np.zeros_like(theta)
    for i in rng.choice(theta.size, 8, replace=False):
        step[:] = 0
        step[i] = 1e-6
        assert grad[i] == pytest.approx((f(theta + step)[0] - f(theta - step)[0]) / 2e-6, rel=1e-5, abs=1e-8)
    with pytest.raises(ValueError, match=r"weight: expected shape \(30,\), one per row of X, found \(29,\)"):
        loss_and_gradient_sum(net, X, Y, weight=w[:29])


def test_the_training_pass_is_the_same_function_and_leaves_the_rows_alone(rng):
    """The objective runs the layers' training pass (buffers, in place) when that computes the same function: the
    values agree with the plain pass, the caller's X is unchanged, and a network with dropout gets the plain pass."""
    from chainrule.objective import _fast_pass_is_the_function

    net, X, Y = problem(rng, rows=50)
    kept = X.copy()
    fast = loss_and_gradient_sum(net, X, Y, block_rows=16)
    plain = net.loss(X, Y) * len(X)
    assert fast[0] == pytest.approx(plain, rel=1e-13)
    np.testing.assert_array_equal(X, kept)
    assert _fast_pass_is_the_function(net)
    assert not _fast_pass_is_the_function(cr.mlp([5, 7, 3], dropout=0.5, seed=0))
    assert _fast_pass_is_the_function(cr.mlp([5, 7, 3], dropout=0.0, seed=0))


def test_blocks_keep_the_widest_activations_near_the_cache_size():
    from chainrule.objective import BLOCK_BYTES, MAX_BLOCK_ROWS, MIN_BLOCK_ROWS, block_rows_for
    assert block_rows_for(cr.mlp([100, 100, 10], dtype=np.float64)) == BLOCK_BYTES // 800 == 512
    assert block_rows_for(cr.mlp([100, 100, 10], dtype=np.float32)) == 1024
    assert block_rows_for(cr.mlp([4, 8, 3])) == MAX_BLOCK_ROWS
    assert block_rows_for(cr.mlp([784, 4096, 10], dtype=np.float64)) == MIN_BLOCK_ROWS
