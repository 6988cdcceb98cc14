"""The network: widths that chain, clear errors at the boundary, predictions, the parameter registry."""

import numpy as np
import pytest

from chainrule.activations import ReLU, Sigmoid
from chainrule.errors import ChainruleError
from chainrule.layers import Dense
from chainrule.losses import HalfSquaredError, SoftmaxCrossEntropy
from chainrule.network import Network, mlp


def test_layers_that_do_not_chain_name_the_layer_and_both_shapes():
    layers = [Dense(3, 5, init="zeros"), Sigmoid(), Dense(4, 2, init="zeros")]
    with pytest.raises(ChainruleError) as info:
        Network(layers, SoftmaxCrossEntropy())
    message = str(info.value)
    assert "layer 2 (Dense 4->2)" in message and "(N, 4)" in message
    assert "layer 1 (Sigmoid)" in message and "(N, 5)" in message


def test_wrong_input_width_names_both_shapes():
    net = mlp([3, 4, 2], seed=0, dtype=np.float64)
    with pytest.raises(ChainruleError, match=r"expected 3 feature\(s\).*\(N, 3\).*found shape \(2, 4\)"):
        net.forward(np.zeros((2, 4)))


@pytest.mark.parametrize("bad, word", [(np.nan, "NaN"), (np.inf, "infinite")])
def test_non_finite_input_names_where(bad, word):
    net = mlp([3, 4, 2], seed=0, dtype=np.float64)
    x = np.zeros((4, 3))
    x[2, 1] = bad
    with pytest.raises(ChainruleError, match=f"input: .*{word}.*row 2, column 1"):
        net.predict(x)


def test_non_finite_targets_and_row_mismatch():
    net = mlp([3, 2], seed=0, dtype=np.float64)
    with pytest.raises(ChainruleError, match="targets: .*NaN at row 0, column 1"):
        net.loss(np.zeros((1, 3)), [[1.0, np.nan]])
    with pytest.raises(ChainruleError, match="targets: expected one row per example \\(2\\), found 1"):
        net.loss(np.zeros((2, 3)), [[1.0, 0.0]])


def test_non_numeric_input():
    net = mlp([2, 2], seed=0, dtype=np.float64)
    with pytest.raises(ChainruleError, match="not numeric"):
        net.forward([["a", "b"]])


def test_one_example_is_a_batch_of_one():
    net = mlp([3, 4, 2], seed=1, dtype=np.float64)
    x = np.array([0.5, -1.0, 2.0])
    np.testing.assert_array_equal(net.predict_proba(x), net.predict_proba(x[None, :]))
    assert net.predict_proba(x).shape == (1, 2)
    assert net.predict_proba(x).sum() == pytest.approx(1.0)


def test_predict_per_output_kind(rng):
    x = rng.normal(size=(5, 3))
    classifier = mlp([3, 4, 3], seed=0, dtype=np.float64)
    np.testing.assert_array_equal(classifier.predict(x), classifier.predict_proba(x).argmax(axis=1))
    multilabel = mlp([3, 4, 2], output="sigmoid", seed=0, dtype=np.float64)
    assert set(np.unique(multilabel.predict(x))) <= {0, 1}
    regressor = mlp([3, 4, 2], output="identity", loss="half_squared_error", seed=0, dtype=np.float64)
    assert isinstance(regressor.loss_fn, HalfSquaredError)
    np.testing.assert_array_equal(regressor.predict(x), regressor.forward(x))


def test_registry_names_and_first_layer_skips_input_gradient():
    net = Network([Dense(2, 3, init="zeros"), ReLU(), Dense(3, 1, init="zeros")], HalfSquaredError())
    assert list(net.named_parameters()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    net.loss(np.ones((2, 2)), np.ones((2, 1)))
    net.backward()
    assert list(net.named_gradients()) == list(net.named_parameters())
    assert net.layers[0].needs_input_grad is False and net.layers[2].needs_input_grad is True


def test_mlp_dtype_and_seed():
    a, b = mlp([4, 8, 3], seed=7), mlp([4, 8, 3], seed=7)
    assert a.dtype == np.float32
    for (name, p), q in zip(a.named_parameters().items(), b.named_parameters().values(), strict=True):
        np.testing.assert_array_equal(p, q, err_msg=name)
    with pytest.raises(ChainruleError, match="activation must be one of"):
        mlp([4, 3], activation="swish")
    with pytest.raises(ChainruleError, match="at least two positive layer sizes"):
        mlp([4])


def test_empty_batch_gives_empty_predictions():
    net = mlp([3, 4, 2], seed=0, dtype=np.float64)
    assert net.predict_proba(np.zeros((0, 3))).shape == (0, 2)
