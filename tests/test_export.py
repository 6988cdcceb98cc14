"""ONNX export, checked by running the graph in onnxruntime."""

import numpy as np
import onnxruntime as ort  # the onnx extra: installed by make test, so missing it must fail
import pytest

import chainrule as cr
from chainrule.errors import ChainruleError
from chainrule.export import export_onnx


def run_onnx(path, X, dtype=np.float32):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["probabilities"], {"input": X.astype(dtype)})[0]


@pytest.mark.parametrize("activation, dropout", [("relu", 0.2), ("tanh", 0.0), ("sigmoid", 0.0)])
def test_probabilities_match_on_digits(tmp_path, activation, dropout):
    data = cr.datasets.load("digits")
    net = cr.mlp([64, 32, 16, 10], activation, dropout=dropout, seed=0)
    net.fit(data.X, data.y, epochs=3, standardize=True, verbose=0)
    export_onnx(net, tmp_path / "digits.onnx")
    np.testing.assert_allclose(run_onnx(tmp_path / "digits.onnx", data.X), net.predict_proba(data.X), atol=1e-5)


def test_other_heads_and_float64(tmp_path):
    x = np.random.default_rng(0).normal(size=(20, 3))
    for net in (cr.mlp([3, 4, 2], output="sigmoid", seed=1), cr.mlp([3, 5, 1], output="identity", seed=2),
                cr.mlp([3, 4, 3], dtype=np.float64, seed=3)):
        export_onnx(net, tmp_path / "m.onnx")
        np.testing.assert_allclose(run_onnx(tmp_path / "m.onnx", x, net.dtype), net.predict_proba(x), atol=1e-5)


def test_the_command_line_exports_a_saved_model(tmp_path):
    from chainrule.cli import main

    net = cr.mlp([4, 6, 3], seed=0)
    net.save(tmp_path / "m.npz")
    assert main(["export", str(tmp_path / "m.npz"), str(tmp_path / "m.onnx")]) == 0
    x = np.ones((2, 4), dtype=np.float32)
    np.testing.assert_allclose(run_onnx(tmp_path / "m.onnx", x), net.predict_proba(x), atol=1e-6)


def test_a_layer_onnx_cannot_express_is_refused(tmp_path):
    class Square(cr.Layer):
        def forward(self, x, training=False):
            return x * x

    net = cr.Network([cr.Dense(2, 2, init="zeros"), Square(), cr.Dense(2, 2, init="zeros")], cr.SoftmaxCrossEntropy())
    with pytest.raises(ChainruleError, match=r"layer 1 \(Square\) has no ONNX form"):
        export_onnx(net, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("output, loss", sorted(cr.losses.FUSED))
def test_every_output_a_loss_applies_itself_is_exported(tmp_path, output, loss):
    """The fused pairings apply their output function inside the loss; the graph must apply it too."""
    x = np.random.default_rng(0).normal(size=(20, 3))
    net = cr.mlp([3, 4, 2], output=output, loss=loss, seed=1)
    export_onnx(net, tmp_path / "m.onnx")
    np.testing.assert_allclose(run_onnx(tmp_path / "m.onnx", x), net.predict_proba(x), rtol=1e-5, atol=1e-6)
