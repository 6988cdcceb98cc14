"""Every layer's backward against central finite differences of a random linear read-out of its forward."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.activations import ACTIVATIONS, sigmoid
from chainrule.errors import ChainruleError
from chainrule.layers import Dense, Dropout
from conftest import numeric_grad


def check_layer(layer, x, rng, training=False):
    """L = sum(R * layer(x)) for a fixed random R, so dL/d(out) = R."""
    out = layer.forward(x, training)
    readout = rng.normal(size=out.shape)
    def loss():
        return float((readout * layer.forward(x, training)).sum())
    layer.forward(x, training)
    grad_x = layer.backward(readout)
    analytic = {name: g.copy() for name, g in layer.grads.items()}
    np.testing.assert_allclose(grad_x, numeric_grad(loss, x), rtol=1e-6, atol=1e-8)
    for name, param in layer.params.items():
        np.testing.assert_allclose(analytic[name], numeric_grad(loss, param), rtol=1e-6, atol=1e-8)


shapes = st.tuples(st.integers(1, 5), st.integers(1, 4), st.integers(1, 4))


@settings(max_examples=25, deadline=None)
@given(shape=shapes, bias=st.sampled_from(["per_neuron", "shared", "none"]), seed=st.integers(0, 2**16))
def test_dense_gradients(shape, bias, seed):
    n, d_in, d_out = shape
    rng = np.random.default_rng(seed)
    layer = Dense(d_in, d_out, bias=bias, rng=rng)
    if "bias" in layer.params:
        layer.params["bias"][:] = rng.normal(size=layer.params["bias"].shape)
    check_layer(layer, rng.normal(size=(n, d_in)), rng)


@settings(max_examples=20, deadline=None)
@given(name=st.sampled_from(sorted(ACTIVATIONS)), n=st.integers(1, 4), d=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_activation_gradients(name, n, d, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    if name == "relu":                  # keep clear of the kink at 0, where the derivative does not exist
        x = np.where(np.abs(x) < 1e-3, 0.5, x)
    check_layer(ACTIVATIONS[name](), x, rng)


def test_dropout_gradient_and_inference(rng):
    layer = Dropout(0.5, rng=np.random.default_rng(3))
    x = rng.normal(size=(6, 4))
    out = layer.forward(x, training=True)
    mask = layer.mask.copy()
    assert set(np.unique(mask)) <= {0.0, 2.0} and (mask == 0).any()
    np.testing.assert_array_equal(out, x * mask)
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), mask)   # d(out)/dx is the mask itself
    np.testing.assert_array_equal(layer.forward(x, training=False), x)     # identity at inference


def test_sigmoid_is_stable_at_extremes():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        for dtype in (np.float32, np.float64):
            values = sigmoid(np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0], dtype=dtype))
            assert values.dtype == dtype
            np.testing.assert_allclose(values, [0.0, np.exp(-40.0), 0.5, 1.0, 1.0], rtol=1e-6, atol=0)


def test_sigmoid_derivative_is_taken_from_the_output():
    layer = ACTIVATIONS["sigmoid"]()
    a = layer.forward(np.array([[0.0, 2.0]]))
    np.testing.assert_allclose(layer.backward(np.ones((1, 2))), a * (1 - a))


def test_dense_rejects_bad_settings():
    with pytest.raises(ChainruleError, match="bias must be one of"):
        Dense(2, 3, bias="every", init="zeros")
    with pytest.raises(ChainruleError, match="needs rng"):
        Dense(2, 3)
    with pytest.raises(ChainruleError, match="positive widths"):
        Dense(0, 3, init="zeros")
    with pytest.raises(ChainruleError, match="rate must be in"):
        Dropout(1.0, rng=np.random.default_rng())


def test_initialisation_scales(rng):
    he = Dense(1000, 100, init="he", rng=rng).params["weight"]
    glorot = Dense(1000, 100, init="glorot", rng=rng).params["weight"]
    assert abs(he.var() - 2 / 1000) < 2e-4                 # He: Var = 2 / fan_in
    assert abs(glorot.var() - 2 / 1100) < 2e-4             # Glorot: Var = 2 / (fan_in + fan_out)


def test_dropout_against_finite_differences(rng):
    """With the same mask each time (the generator re-seeded), dropout's backward matches central differences."""
    layer = Dropout(0.3, rng=np.random.default_rng(7))
    x = rng.normal(size=(5, 6))
    readout = rng.normal(size=(5, 6))

    def loss():
        layer.rng = np.random.default_rng(7)
        return float((readout * layer.forward(x, training=True)).sum())

    loss()
    analytic = layer.backward(readout)
    np.testing.assert_allclose(analytic, numeric_grad(loss, x), rtol=1e-6, atol=1e-8)
    assert (analytic == 0).any() and (analytic != 0).any()
