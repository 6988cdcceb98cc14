"""The training hot path's shortcuts change speed, never the numbers: the explanation stays identical to the one
recorded before them, training's layouts and shortcuts agree with the plain forms, and the benchmark runs."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
import stored
from chainrule.training import encode_targets

GOLDEN = Path(__file__).parent / "golden" / "explain.json"
sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
import mlp_speed  # noqa: E402


def explain_args(name, tmp_path):
    if name == "model_wine_3":   # the golden model: seeded, untrained, float64
        model = tmp_path / "golden.npz"
        cr.mlp([13, 8, 3], activation="relu", dtype=np.float64, seed=3).save(model)
        return ["--model", str(model), "--data", "wine", "--index", "3"]
    example, _, steps = name.partition("_steps")
    return ["--example", example] + (["--steps", steps, "--show-step", "2"] if steps else [])


@pytest.mark.parametrize("name", sorted(json.loads(GOLDEN.read_text())))
def test_explain_numbers_unchanged(name, tmp_path):
    """Every number chainrule explain printed before the hot-path work, within the stored-number tolerance of
    ``tests/stored.py`` (another CPU's BLAS kernel moves the last bits), and every verdict, name and count exactly."""
    golden = json.loads(GOLDEN.read_text())[name]
    result = subprocess.run([sys.executable, "-m", "chainrule", "explain", *explain_args(name, tmp_path),
                             "--format", "json"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert sum(stored.is_float(v) for v in stored.leaves(golden).values()) > 20
    changed = stored.differences(golden, json.loads(result.stdout))
    assert not changed, changed


def test_the_golden_comparison_catches_a_change_and_forgives_last_bits():
    """The tolerance is not a blanket: a wrong digit, a changed verdict or a lost quantity still fails."""
    golden = {"quantities": {"z3": -50.98370600063042, "tiny": 2.1e-17}, "claims": [{"verdict": "slip"}], "n": 3}
    assert not stored.differences(golden, {"quantities": {"z3": -50.983706000630434, "tiny": 2.3e-17},
                                           "claims": [{"verdict": "slip"}], "n": 3})
    for changed in ({"quantities": {"z3": -50.98370600073042, "tiny": 2.1e-17}, "claims": [{"verdict": "slip"}], "n": 3},
                    {"quantities": {"z3": -50.98370600063042, "tiny": 2.1e-17}, "claims": [{"verdict": "ok"}], "n": 3},
                    {"quantities": {"z3": -50.98370600063042}, "claims": [{"verdict": "slip"}], "n": 3},
                    {"quantities": {"z3": -50.98370600063042, "tiny": 2.1e-17}, "claims": [{"verdict": "slip"}], "n": 4}):
        assert stored.differences(golden, changed)


def test_one_row_weight_gradient_is_the_matrix_product(rng):
    """One row: the outer product, bit for bit; the bias gradient (1^T dL/dz) is the sum over the batch."""
    layer = cr.Dense(5, 4, init="glorot", rng=rng)
    for n in (1, 3):
        x, grad = rng.standard_normal((n, 5)), rng.standard_normal((n, 4))
        layer.forward(x, training=True)
        layer.backward(grad)
        np.testing.assert_allclose(layer.grads["weight"], x.T @ grad, rtol=1e-14)
        np.testing.assert_allclose(layer.grads["bias"], grad.sum(axis=0), rtol=1e-14)
    np.testing.assert_array_equal(layer.grads["weight"], np.matmul(x.T, grad))
    layer.forward(x[:1], training=True)
    layer.backward(grad[:1])
    np.testing.assert_array_equal(layer.grads["weight"], np.matmul(x[:1].T, grad[:1]))
    np.testing.assert_array_equal(layer.grads["bias"], grad[0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logits_by_column_give_the_same_step(rng, dtype):
    """Training lays the softmax layer's logits out by column; the loss, the predictions and every gradient
    agree with the row layout that predictions and explanations use."""
    X, y = rng.standard_normal((37, 6)).astype(dtype), rng.integers(0, 4, 37)
    results = []
    for by_column in (False, True):
        net = cr.mlp([6, 5, 4], seed=1, dtype=dtype)
        net.layers[-1].outputs_by_column = by_column
        loss = net._loss(X, encode_targets(net, y, len(y)), training=True)
        yhat = net.loss_fn.yhat
        assert yhat.flags.f_contiguous == by_column
        net.backward(scale=0.1)
        results.append((loss, yhat.copy(), {k: g.copy() for k, g in net.named_gradients().items()}))
    rtol = 1e-5 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=rtol)
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=rtol, atol=1e-7)
    for name, grad in results[0][2].items():
        np.testing.assert_allclose(results[1][2][name], grad, rtol=rtol * 10, atol=1e-7, err_msg=name)


@pytest.mark.parametrize("optimizer", [lambda: cr.SGD(lr=0.05), lambda: cr.SGD(lr=0.05, momentum=0.9),
                                       lambda: cr.SGD(lr=0.05, momentum=0.9, nesterov=True), lambda: cr.Adam()])
@pytest.mark.parametrize("batch_size", [1, 7])
def test_same_seed_same_bits(rng, optimizer, batch_size):
    X, y = rng.random((40, 9), dtype=np.float32), rng.integers(0, 3, 40)
    runs = []
    for _ in range(2):
        net = cr.mlp([9, 8, 3], seed=2)
        net.fit(X, y, epochs=2, batch_size=batch_size, optimizer=optimizer(), verbose=0, seed=4)
        runs.append(net.named_parameters())
    for name, value in runs[0].items():
        np.testing.assert_array_equal(runs[1][name], value, err_msg=name)


def test_benchmark_grid_runs_in_small():
    """The scaling map's machinery on a tiny grid (no timing is checked: only that every cell is measured)."""
    lines = []
    config = dict(widths=(8,), batches=(1, 16), threads=(1,), dtypes=(np.float32, np.float64), max_steps=20)
    cells = mlp_speed.scaling_grid(config, rounds=1, emit=lines.append)
    assert [(c["width"], c["batch"], c["dtype"]) for c in cells] == [
        (8, 1, "float32"), (8, 16, "float32"), (8, 1, "float64"), (8, 16, "float64")]
    assert all(c["floor"] > 0 and c["chainrule"] > 0 and c["x_floor"] > 0 for c in cells)
    assert sum(line.startswith("     8") for line in lines) == 4


def test_benchmark_floor_streams_the_data_set():
    """The streaming floor reads every batch of the data set; the cache-resident one only the first."""
    X = np.zeros((64, mlp_speed.D), np.float32)
    seen = []

    class Recording(np.ndarray):
        def __getitem__(self, index):
            seen.append(index)
            return super().__getitem__(index)

    for stream, expected in ((True, [slice(0, 16), slice(16, 32), slice(32, 48), slice(48, 64)]),
                             (False, [slice(None, 16)])):
        seen.clear()
        mlp_speed.floor_factory([mlp_speed.D, 8, 10], 16, stream=stream)(X.view(Recording), None)
        assert seen == expected


# --- plain SGD's step inside the weight-gradient product (blas.py) --------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_subtract_product_is_numpys_product_and_subtraction(rng, dtype):
    """W <- W - x^T g through NumPy's own GEMM equals NumPy's product and subtraction, bit for bit, for every
    layout of the factors training hands it (rows, columns, one row)."""
    from chainrule import blas
    weight = rng.standard_normal((13, 6)).astype(dtype)
    x, g = rng.standard_normal((9, 13)).astype(dtype), rng.standard_normal((9, 6)).astype(dtype)
    for x_, g_ in ((x, g), (np.asfortranarray(x), g), (x, np.asfortranarray(g)), (x[:1], g[:1]),
                   (x[::2], g[::2])):      # the last: no unit row stride for BLAS, so NumPy's own path
        got = weight.copy()
        blas.subtract_product(got, x_, g_)
        np.testing.assert_array_equal(got, weight - x_.T @ g_)


def test_numpys_blas_is_found_here():
    """On the platforms NumPy's wheels cover (this one included) the fused step is not silently off."""
    from chainrule import blas
    assert blas.available(np.float32) and blas.available(np.float64)


def _fit_both_ways(monkeypatch, make, X, y, **options):
    """The same network trained with the fused step and with the reference (product, then update)."""
    results = []
    for threshold in (0, 10**12):
        monkeypatch.setattr(cr.training, "FUSED_STEP_MIN_WEIGHTS", threshold)
        net = make()
        history = net.fit(X, y, verbose=0, seed=5, **options)
        results.append((net, history))
    return results


@pytest.mark.parametrize("make, targets", [
    (lambda: cr.mlp([7, 12, 9, 4], activation="relu", seed=1), "labels"),
    (lambda: cr.mlp([7, 12, 4], activation="tanh", dropout=0.3, seed=1, dtype=np.float64), "labels"),
    (lambda: cr.mlp([7, 12, 4], activation="sigmoid", output="sigmoid", seed=1), "multilabel"),
    (lambda: cr.mlp([7, 12, 4], activation="relu", output="identity", seed=1), "values"),
    (lambda: cr.mlp([7, 12, 4], activation="identity", output="tanh", loss="half_squared_error", seed=1), "values"),
    (lambda: cr.mlp([7, 12, 4], activation="sigmoid", output="softmax", loss="half_squared_error", seed=1), "onehot"),
    (lambda: cr.mlp([7, 12, 4], activation="tanh", output="identity", loss="absolute_error", seed=1), "values"),
    (lambda: cr.mlp([7, 12, 4], activation="relu", output="sigmoid", loss="huber", seed=1, dtype=np.float64),
     "multilabel"),
    (lambda: cr.explainer.build_network_for(cr.explainer.seed_article())[0], "seed"),
])
@pytest.mark.parametrize("batch_size", [1, 16])
def test_fused_step_trains_as_the_reference(rng, monkeypatch, make, targets, batch_size):
    """Every activation, output and loss: the fused step leaves the weights, the biases, the history and the step count of the
    product-then-update reference, bit for bit (the GEMM rounds x^T g once and subtracts once, as NumPy does)."""
    width = make().in_features
    X = rng.standard_normal((48, width))
    y = {"labels": rng.integers(0, 4, 48), "multilabel": rng.integers(0, 2, (48, 4)).astype(float),
         "values": rng.standard_normal((48, 4)), "seed": np.eye(2)[rng.integers(0, 2, 48)],
         "onehot": np.eye(4)[rng.integers(0, 4, 48)]}[targets]
    (fused, h1), (reference, h2) = _fit_both_ways(monkeypatch, make, X, y, epochs=3, batch_size=batch_size,
                                                  optimizer=cr.SGD(lr=0.05))
    for name, value in reference.named_parameters().items():
        np.testing.assert_array_equal(fused.named_parameters()[name], value, err_msg=name)
    assert {k: v for k, v in h1.history.items() if k != "seconds"} == {
        k: v for k, v in h2.history.items() if k != "seconds"}


@pytest.mark.parametrize("optimizer, fused", [
    (lambda: cr.SGD(lr=0.1), True), (lambda: cr.GradientDescent(0.1), True),
    (lambda: cr.SGD(lr=0.1, momentum=0.9), False), (lambda: cr.SGD(lr=0.1, weight_decay=1e-4), False),
    (lambda: cr.Adam(), False)])
def test_fused_step_only_for_plain_sgd_on_large_networks(optimizer, fused):
    big, small = cr.mlp([784, 128, 10]), cr.mlp([4, 3, 2])
    opt = optimizer()
    assert cr.training.fuses_step(big, opt, opt.loss_scale(), 128) is fused
    assert not cr.training.fuses_step(small, opt, opt.loss_scale(), 128)


def test_fused_step_counts_steps_and_keeps_the_divergence_guard(rng, monkeypatch):
    monkeypatch.setattr(cr.training, "FUSED_STEP_MIN_WEIGHTS", 0)
    X, y = rng.standard_normal((30, 5)), rng.integers(0, 3, 30)
    net = cr.mlp([5, 8, 3], seed=0)
    opt = cr.SGD(lr=0.1)
    net.fit(X, y, epochs=2, batch_size=10, optimizer=opt, verbose=0)
    assert opt.steps == 6
    start = {k: v.copy() for k, v in net.named_parameters().items()}
    with pytest.raises(cr.TrainingDiverged):
        net.fit(X * 1e30, y, epochs=1, batch_size=10, optimizer=cr.SGD(lr=1e6), verbose=0)
    for name, value in start.items():
        np.testing.assert_array_equal(net.named_parameters()[name], value, err_msg=name)


def test_fused_step_can_be_turned_off():
    code = "import numpy as np; from chainrule import blas; print(blas.available(np.float32))"
    for value, expected in (("0", "False"), ("off", "False"), ("1", "True")):
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                env={**os.environ, "CHAINRULE_FUSED_STEP": value})
        assert result.stdout.strip() == expected


def test_fused_step_only_where_it_rounds_as_the_reference(rng, monkeypatch):
    """A GEMM that subtracts a long batch block by block, (W - p1) - p2, rounds differently from W - (p1 + p2):
    the check at the start of fit sees it and training keeps the reference path, so the weights stay the same."""
    from chainrule import blas

    def by_blocks(weight, x, g):        # what OpenBLAS does past one block of its batch dimension
        weight -= x[:8].T @ g[:8]
        weight -= x[8:].T @ g[8:]
    monkeypatch.setattr(blas, "_checked", {})
    monkeypatch.setattr(blas, "subtract_product", by_blocks)
    assert blas.rounds_as_reference(30, 20, 8, np.float64)
    assert not blas.rounds_as_reference(30, 20, 40, np.float64)
    big, opt = cr.mlp([784, 128, 10]), cr.SGD(lr=0.1)
    assert cr.training.fuses_step(big, opt, opt.loss_scale(), 8)
    assert not cr.training.fuses_step(big, opt, opt.loss_scale(), 40)


def test_large_batches_train_as_the_reference(rng, monkeypatch):
    """Batches longer than OpenBLAS's blocks (here 700 rows): fused or not, the reference's weights, bit for bit."""
    X, y = rng.standard_normal((1400, 20)), rng.integers(0, 5, 1400)
    (fused, _), (reference, _) = _fit_both_ways(
        monkeypatch, lambda: cr.mlp([20, 64, 5], seed=3, dtype=np.float64), X, y, epochs=2, batch_size=700,
        optimizer=cr.SGD(lr=0.1))
    for name, value in reference.named_parameters().items():
        np.testing.assert_array_equal(fused.named_parameters()[name], value, err_msg=name)


def test_the_readme_states_the_stored_number_tolerance():
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert stored.RTOL == 1e-12 and "compared within 1e-12 relative" in readme
