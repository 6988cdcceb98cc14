"""fit: learning, reproducibility, targets, divergence, validation, callbacks, schedules."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import ChainruleError


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    centers = rng.normal(scale=3, size=(3, 4))
    y = rng.integers(0, 3, 300)
    return (centers[y] + rng.normal(size=(300, 4))).astype(np.float32), y


def weights(net):
    return {k: v.copy() for k, v in net.named_parameters().items()}


def test_fit_learns_and_returns_history(blobs):
    X, y = blobs
    net = cr.mlp([4, 16, 3], seed=0)
    history = net.fit(X, y, epochs=5, batch_size=16, optimizer=cr.SGD(lr=0.1), verbose=0)
    assert history.epochs == 5 and set(history.history) == {"loss", "accuracy", "lr", "seconds"}
    assert history["loss"][-1] < history["loss"][0] / 3
    assert history["accuracy"][-1] > 0.95
    assert net.evaluate(X, y)["accuracy"] > 0.95


def test_same_seed_same_weights_bit_for_bit(blobs):
    X, y = blobs
    runs = []
    for _ in range(2):
        net = cr.mlp([4, 16, 3], seed=3, dropout=0.2)
        net.fit(X, y, epochs=3, batch_size=32, optimizer=cr.Adam(lr=1e-2), verbose=0, seed=7)
        runs.append(weights(net))
    for name in runs[0]:
        np.testing.assert_array_equal(runs[0][name], runs[1][name])
    other = cr.mlp([4, 16, 3], seed=3, dropout=0.2)
    other.fit(X, y, epochs=3, batch_size=32, optimizer=cr.Adam(lr=1e-2), verbose=0, seed=8)
    assert not np.array_equal(weights(other)["0.weight"], runs[0]["0.weight"])


def test_labels_and_one_hot_rows_train_identically(blobs):
    X, y = blobs
    a, b = cr.mlp([4, 8, 3], seed=0), cr.mlp([4, 8, 3], seed=0)
    a.fit(X, y, epochs=2, verbose=0)
    b.fit(X, np.eye(3)[y], epochs=2, verbose=0)
    for name, value in weights(a).items():
        np.testing.assert_array_equal(value, weights(b)[name])


def test_bad_labels_are_named(blobs):
    X, y = blobs
    net = cr.mlp([4, 8, 3], seed=0)
    bad = y.copy()
    bad[17] = 5
    with pytest.raises(ChainruleError, match=r"labels must be 0..2; found label 5 at row 17"):
        net.fit(X, bad, verbose=0)
    with pytest.raises(ChainruleError, match=r"expected one target per example \(300\), found 299"):
        net.fit(X, y[:-1], verbose=0)
    with pytest.raises(ChainruleError, match=r"X: expected 4 feature"):
        net.fit(X[:, :3], y, verbose=0)
    Xn = X.copy()
    Xn[5, 2] = np.nan
    with pytest.raises(ChainruleError, match=r"X: .*NaN at row 5, column 2"):
        net.fit(Xn, y, verbose=0)
    with pytest.raises(ChainruleError, match="epochs: expected a positive whole number"):
        net.fit(X, y, epochs=0, verbose=0)


def test_divergence_stops_with_a_clear_error_and_finite_weights(blobs):
    X, y = blobs
    net = cr.mlp([4, 64, 3], seed=0)
    with pytest.raises(cr.TrainingDiverged, match=r"epoch \d+, batch \d+.*smaller learning rate \(this run used 1e\+06\)"):
        net.fit(X * 1000, y, epochs=20, optimizer=cr.SGD(lr=1e6), verbose=0)
    assert all(np.all(np.isfinite(p)) for p in net.named_parameters().values())


def test_validation_split_and_data(blobs):
    X, y = blobs
    net = cr.mlp([4, 8, 3], seed=0)
    history = net.fit(X, y, epochs=2, validation_split=0.2, verbose=0)
    assert {"val_loss", "val_accuracy"} <= set(history.history)
    history = net.fit(X[:200], y[:200], epochs=2, validation_data=(X[200:], y[200:]), verbose=0)
    assert history["val_accuracy"][-1] == pytest.approx(net.evaluate(X[200:], y[200:])["accuracy"])
    with pytest.raises(ChainruleError, match="validation_split: expected a fraction"):
        net.fit(X, y, validation_split=1.5, verbose=0)


def test_standardisation_is_fitted_on_the_training_part_and_travels(blobs):
    X, y = blobs
    net = cr.mlp([4, 8, 3], seed=0)
    net.fit(X[:200] * 50 + 7, y[:200], epochs=1, standardize=True, verbose=0)
    np.testing.assert_allclose(net.standardizer.mean, (X[:200] * 50 + 7).mean(axis=0, dtype=np.float64), rtol=1e-5)
    manual = net.loss_fn.link(net.forward(((X[200:] * 50 + 7) - net.standardizer.mean) / net.standardizer.scale))
    np.testing.assert_allclose(net.predict_proba(X[200:] * 50 + 7), manual, rtol=1e-5)


def test_early_stopping_restores_the_best_weights(blobs):
    X, y = blobs
    net = cr.mlp([4, 32, 3], seed=0)
    stopper = cr.EarlyStopping(monitor="val_loss", patience=1)
    # a learning rate too large to settle: validation loss jumps around, so the best epoch is not the last
    history = net.fit(X[:240], y[:240], epochs=40, validation_data=(X[240:], y[240:]), batch_size=8,
                      optimizer=cr.SGD(lr=0.5, momentum=0.9), callbacks=[stopper], verbose=0)
    assert stopper.stopped_epoch is not None and history.epochs < 40
    best = min(history["val_loss"])
    assert net.evaluate(X[240:], y[240:])["loss"] == pytest.approx(best, rel=1e-5)
    with pytest.raises(ChainruleError, match="monitor 'val_loss' is not among"):
        net.fit(X, y, epochs=1, callbacks=[cr.EarlyStopping()], verbose=0)


def test_schedules_set_the_learning_rate_per_epoch(blobs):
    X, y = blobs
    net = cr.mlp([4, 8, 3], seed=0)
    history = net.fit(X, y, epochs=4, optimizer=cr.SGD(lr=0.1, schedule=cr.StepDecay(2, 0.5)), verbose=0)
    assert history["lr"] == pytest.approx([0.1, 0.1, 0.05, 0.05])
    cosine = cr.CosineDecay(4)
    assert [cosine(e) for e in range(5)] == pytest.approx([1, 0.5 + 0.5 * math.cos(math.pi / 4), 0.5,
                                                           0.5 - 0.5 * math.cos(math.pi / 4), 0])


def test_callbacks_see_batches_and_can_stop(blobs):
    X, y = blobs

    class StopAfterOne(cr.Callback):
        batches = 0

        def on_batch_end(self, trainer, epoch, batch, loss):
            self.batches += 1

        def on_epoch_end(self, trainer, epoch, logs):
            trainer.stop = True

    callback = StopAfterOne()
    history = cr.mlp([4, 8, 3], seed=0).fit(X, y, epochs=5, batch_size=100, callbacks=[callback], verbose=0)
    assert history.epochs == 1 and callback.batches == 3


def test_progress_bar_prints_figures(blobs, capsys):
    X, y = blobs
    cr.mlp([4, 8, 3], seed=0).fit(X, y, epochs=2, validation_split=0.2, verbose=1)
    err = capsys.readouterr().err
    assert "epoch 2/2" in err and "loss " in err and "val_acc " in err and "samples/s" in err


def test_training_does_not_copy_float32_data(blobs, monkeypatch):
    X, y = blobs
    seen = []
    original = cr.training.Batches.__init__

    def spy(self, X_, Y_, batch_size, **options):
        seen.append(X_)
        original(self, X_, Y_, batch_size, **options)
    monkeypatch.setattr(cr.training.Batches, "__init__", spy)
    cr.mlp([4, 8, 3], seed=0).fit(X, y, epochs=1, verbose=0)
    assert seen[0] is X or np.shares_memory(seen[0], X)


@pytest.mark.parametrize("output, loss, targets", [
    ("sigmoid", None, lambda y: np.stack([y == 0, y == 1], axis=1).astype(float)),
    ("identity", "mean_squared_error", lambda y: np.eye(3)[y] * 2.0),
])
def test_other_heads_train(blobs, output, loss, targets):
    X, y = blobs
    net = cr.mlp([4, 16, 2 if output == "sigmoid" else 3], output=output, loss=loss, seed=0)
    history = net.fit(X, targets(y), epochs=10, optimizer=cr.Adam(lr=1e-2), verbose=0)
    assert history["loss"][-1] < history["loss"][0] / 2


def test_plain_sgd_prescaled_step_matches_the_textbook_step(blobs):
    """fit asks plain SGD's backward for the gradient of lr * L and steps w <- w - g: the same update."""
    X, y = blobs

    class Textbook(cr.SGD):
        def loss_scale(self):
            return None

    results = []
    for optimizer in (cr.SGD(lr=0.1), Textbook(lr=0.1)):
        net = cr.mlp([4, 16, 3], seed=0, dtype=np.float64)
        net.fit(X, y, epochs=3, batch_size=16, optimizer=optimizer, verbose=0)
        results.append(weights(net))
    for name in results[0]:
        np.testing.assert_allclose(results[0][name], results[1][name], rtol=1e-12, atol=1e-14)
    assert cr.SGD(lr=0.1).loss_scale() == 0.1
    assert cr.SGD(lr=0.1, momentum=0.9).loss_scale() == 0.1
    assert cr.SGD(lr=0.1, weight_decay=0.01).loss_scale() is None and cr.Adam().loss_scale() is None


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_prescaled_step_matches_the_textbook_step(blobs, nesterov):
    """Momentum keeps its velocity in units of lr * dL/dw in fit; with a schedule the units follow the rate."""
    X, y = blobs

    class Textbook(cr.SGD):
        def loss_scale(self):
            return None

    results = []
    for kind in (cr.SGD, Textbook):
        optimizer = kind(lr=0.1, momentum=0.9, nesterov=nesterov, schedule=cr.StepDecay(1, gamma=0.5))
        net = cr.mlp([4, 16, 3], seed=0, dtype=np.float64)
        net.fit(X, y, epochs=3, batch_size=16, optimizer=optimizer, verbose=0)
        results.append(weights(net))
    for name in results[0]:
        np.testing.assert_allclose(results[0][name], results[1][name], rtol=1e-10, atol=1e-13)


def test_momentum_resumes_bit_for_bit(blobs, tmp_path):
    """The velocity's units travel with the checkpoint: stopping after an epoch and resuming changes no bit."""
    X, y = blobs

    def run(epochs, directory, resume=False):
        net = cr.mlp([4, 16, 3], seed=0)
        optimizer = cr.SGD(lr=0.1, momentum=0.9, nesterov=True, schedule=cr.StepDecay(1, gamma=0.5))
        net.fit(X, y, epochs=epochs, batch_size=16, optimizer=optimizer, verbose=0, checkpoint=directory,
                resume=resume)
        return weights(net)

    straight = run(3, tmp_path / "a")
    run(1, tmp_path / "b")
    resumed = run(3, tmp_path / "b", resume=True)
    for name in straight:
        np.testing.assert_array_equal(resumed[name], straight[name], err_msg=name)


# --- sample weights -----------------------------------------------------------------------------------------------
def test_sample_weight_two_equals_the_example_twice(blobs):
    """Full batches, float64: weighting rows by 2 trains the same network as repeating them (up to the order of
    the sums; 1e-10 relative after 20 steps)."""
    X, y = blobs[0][:60].astype(np.float64), blobs[1][:60]
    w = np.ones(60)
    w[::3] = 2.0
    w[1::7] = 0.0
    repeat = np.repeat(np.arange(60), w.astype(int))
    for optimizer in (lambda: cr.SGD(lr=0.1, momentum=0.9), lambda: cr.Adam(lr=1e-2)):
        weighted, repeated = (cr.mlp([4, 8, 3], seed=0, dtype=np.float64) for _ in range(2))
        h1 = weighted.fit(X, y, sample_weight=w, epochs=20, batch_size=60, shuffle=False, optimizer=optimizer(),
                          verbose=0)
        h2 = repeated.fit(X[repeat], y[repeat], epochs=20, batch_size=len(repeat), shuffle=False,
                          optimizer=optimizer(), verbose=0)
        for name, value in weights(weighted).items():
            np.testing.assert_allclose(value, weights(repeated)[name], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(h1["loss"], h2["loss"], rtol=1e-10)


def test_sample_weight_changes_what_is_learnt(blobs):
    X, y = blobs
    w = np.where(y == 0, 20.0, 1.0)
    plain, weighted = cr.mlp([4, 3], seed=0), cr.mlp([4, 3], seed=0)
    plain.fit(X, y, epochs=1, batch_size=300, optimizer=cr.SGD(lr=0.01), verbose=0)
    weighted.fit(X, y, epochs=1, batch_size=300, optimizer=cr.SGD(lr=0.01), verbose=0, sample_weight=w)
    # class 0 weighs most, so its output's bias moves further than without weights
    assert abs(weights(weighted)["0.bias"][0]) > abs(weights(plain)["0.bias"][0])


def test_weights_of_one_train_bit_for_bit_as_none(blobs):
    X, y = blobs
    a, b = cr.mlp([4, 8, 3], seed=0, dropout=0.1), cr.mlp([4, 8, 3], seed=0, dropout=0.1)
    a.fit(X, y, epochs=2, batch_size=32, optimizer=cr.Adam(lr=1e-2), verbose=0, validation_split=0.2)
    h = b.fit(X, y, epochs=2, batch_size=32, optimizer=cr.Adam(lr=1e-2), verbose=0, validation_split=0.2,
              sample_weight=np.ones(len(X)))
    for name, value in weights(a).items():
        np.testing.assert_array_equal(value, weights(b)[name])
    assert b.loss_fn.name == "cross_entropy" and type(b.loss_fn).__name__ == "SoftmaxCrossEntropy"
    assert set(h.history) >= {"val_loss", "val_accuracy", "accuracy"}


@pytest.mark.parametrize("bad, message", [
    (np.ones(299), r"shape \(300,\); found shape \(299,\)"),
    (np.ones((300, 1)), r"found shape \(300, 1\)"),
    (np.r_[np.ones(10), -1.0, np.ones(289)], "finite weights >= 0, found -1.0 at row 10"),
    (np.r_[np.ones(4), np.nan, np.ones(295)], "found nan at row 4"),
    (np.zeros(300), "every weight is zero"),
    (["a"] * 300, "expected one number per example"),
])
def test_bad_sample_weights_are_named(blobs, bad, message):
    X, y = blobs
    with pytest.raises(ChainruleError, match=message):
        cr.mlp([4, 3], seed=0).fit(X, y, epochs=1, verbose=0, sample_weight=bad)


# --- streams of (X_batch, y_batch) chunks -------------------------------------------------------------------------
def test_a_stream_of_one_chunk_trains_as_the_array(blobs):
    """The same batches in the same order. Not bit for bit: the stream gathers its batches into other buffers, and
    OpenBLAS's generic kernel (Prescott) rounds a product of them differently in the last bit of float32."""
    X, y = blobs
    a, b = cr.mlp([4, 8, 3], seed=0), cr.mlp([4, 8, 3], seed=0)
    ha = a.fit(X, y, epochs=3, batch_size=32, optimizer=cr.Adam(lr=1e-2), verbose=0, seed=5)
    hb = cr.fit(b, [(X, y)], epochs=3, batch_size=32, optimizer=cr.Adam(lr=1e-2), verbose=0, seed=5)
    for name, value in weights(a).items():
        np.testing.assert_allclose(value, weights(b)[name], rtol=1e-5, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(ha["loss"], hb["loss"], rtol=1e-6)
    assert ha["accuracy"] == hb["accuracy"]


def test_a_generator_of_chunks_trains_with_callbacks_progress_and_checkpoints(blobs, tmp_path, capsys):
    X, y = blobs

    def made_on_the_fly():
        for start in range(0, 300, 70):                   # uneven chunks, the last one short
            yield X[start:start + 70], y[start:start + 70]

    seen = []

    class Count(cr.Callback):
        def on_batch_end(self, trainer, epoch, batch, loss):
            seen.append(batch)

    net = cr.mlp([4, 16, 3], seed=0)
    history = cr.fit(net, made_on_the_fly(), epochs=1, batch_size=16, optimizer=cr.Adam(lr=3e-2), verbose=1,
                     callbacks=[Count()], checkpoint=tmp_path / "ck", validation_data=(X, y))
    assert seen == list(range(len(seen))) and len(seen) == 4 * 5 + 2      # 70 rows: 5 batches; 20 rows: 2
    assert history.epochs == 1 and set(history.history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert (tmp_path / "ck" / "checkpoint.npz").exists()
    assert "epoch 1/1  loss " in capsys.readouterr().err                     # the progress bar's line
    again = [(X[i:i + 100], y[i:i + 100]) for i in range(0, 300, 100)]   # a list can be read again
    history = cr.fit(net, again, epochs=5, batch_size=16, optimizer=cr.Adam(lr=3e-2), verbose=0)
    assert history["accuracy"][-1] > 0.95


def test_bad_streams_are_named(blobs):
    X, y = blobs
    net = cr.mlp([4, 3], seed=0)
    with pytest.raises(ChainruleError, match="epochs=2 needs a stream that can be read again"):
        cr.fit(net, ((X, y) for _ in range(2)), epochs=2, verbose=0)
    with pytest.raises(ChainruleError, match="chunk 1 of the stream: expected a pair"):
        cr.fit(net, [(X, y), X], epochs=1, verbose=0)
    with pytest.raises(ChainruleError, match="X of chunk 0: expected 4 feature"):
        cr.fit(net, [(X[:, :3], y)], epochs=1, verbose=0)
    with pytest.raises(ChainruleError, match="the stream gave no examples"):
        cr.fit(net, [], epochs=1, verbose=0)
    with pytest.raises(ChainruleError, match="validation_split, standardize and sample_weight"):
        cr.fit(net, [(X, y)], validation_split=0.1, verbose=0)


def test_a_diverging_stream_stops_with_finite_weights(blobs):
    X, y = blobs
    net = cr.mlp([4, 16, 3], seed=0)
    with pytest.raises(cr.TrainingDiverged, match="chunk 0"):
        cr.fit(net, [(X * 1e4, y)], epochs=1, optimizer=cr.SGD(lr=1e6), verbose=0)
    assert all(np.isfinite(p).all() for p in net.named_parameters().values())


def test_one_example_batches_are_views_and_train_as_gathered_rows(blobs):
    """Batch size 1 reads one-row views of the data instead of gathering: the same weights, bit for bit, and the
    data left untouched, also with a first layer that works in place (which gets gathered rows)."""
    X, y = blobs
    X = X[:40].astype(np.float64)
    kept = X.copy()
    nets = [cr.mlp([4, 6, 3], seed=1, dtype=np.float64) for _ in range(2)]
    nets[0].fit(X, y[:40], epochs=2, batch_size=1, verbose=0, seed=3)
    original = cr.training.Batches.__init__
    try:
        cr.training.Batches.__init__ = lambda self, X_, Y_, b, **_: original(self, X_, Y_, b, views=False)
        nets[1].fit(X, y[:40], epochs=2, batch_size=1, verbose=0, seed=3)
    finally:
        cr.training.Batches.__init__ = original
    for a, b in zip(nets[0].named_parameters().values(), nets[1].named_parameters().values()):
        np.testing.assert_array_equal(a, b)
    relu_first = cr.Network([cr.activations.ReLU(), cr.Dense(4, 3, rng=np.random.default_rng(0), dtype=np.float64)],
                            cr.losses.SoftmaxCrossEntropy(), in_features=4)
    shifted = X - 1.0
    relu_first.fit(shifted, y[:40], epochs=1, batch_size=1, verbose=0)
    np.testing.assert_array_equal(shifted, kept - 1.0)
    np.testing.assert_array_equal(X, kept)


def test_labels_of_one_class_are_refused_and_target_rows_taken_as_given():
    """A softmax classifier learns to tell classes apart: labels all of one class (a wrong column, most often) are
    refused before any step; targets given as rows, as partial_fit's one-class chunks come, train as before."""
    X = np.random.default_rng(0).normal(size=(12, 3))
    net = cr.mlp([3, 4, 2], seed=0)
    before = weights(net)
    for labels in (np.zeros(12, int), np.full(12, 1.0), [1] * 12):
        with pytest.raises(ChainruleError, match=r"^y: every example is of one class \(\d\): expected labels of at "
                                                 r"least 2 classes"):
            net.fit(X, labels, epochs=1, verbose=0)
    assert all(np.array_equal(v, before[k]) for k, v in net.named_parameters().items())
    rows = cr.mlp([3, 4, 2], seed=0)
    rows.fit(X, np.eye(2)[np.ones(12, int)], epochs=2, verbose=0)
    labels = cr.mlp([3, 4, 2], seed=0)
    labels.fit(X, np.arange(12) % 2, epochs=2, verbose=0)        # two classes: fit as ever
    regression = cr.mlp([3, 4, 1], output="identity", loss="half_squared_error", seed=0)
    regression.fit(X, np.zeros(12), epochs=1, verbose=0)          # not a classifier: one value is fine
