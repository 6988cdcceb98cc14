"""Model files: round trip, atomic writes, and clear refusals of truncated, foreign, future and pickled files."""

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import ChainruleError
from chainrule.io import json_array


@pytest.fixture
def trained(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 5)) * 10 + 3, rng.integers(0, 3, 60)
    net = cr.mlp([5, 8, 3], activation="tanh", dropout=0.1, seed=0)
    net.fit(X, y, epochs=2, standardize=True, verbose=0)
    net.classes = np.array(["ant", "bee", "cat"])
    return net, X


def test_round_trip_keeps_predictions_standardisation_and_classes(trained, tmp_path):
    net, X = trained
    path = tmp_path / "model.npz"
    net.save(path)
    loaded = cr.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), net.predict_proba(X))
    assert list(loaded.classes) == ["ant", "bee", "cat"] and loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded.standardizer.mean, net.standardizer.mean)
    with np.load(path, allow_pickle=False) as data:     # plain arrays only: loads with pickles refused
        assert "architecture" in data.files


def test_every_head_round_trips(tmp_path):
    for output, loss in [("sigmoid", None), ("identity", "half_squared_error"), ("softmax", "mean_squared_error")]:
        net = cr.mlp([3, 4, 2], output=output, loss=loss, seed=1)
        net.save(tmp_path / "m.npz")
        loaded = cr.load(tmp_path / "m.npz")
        assert type(loaded.loss_fn) is type(net.loss_fn)
        x = np.ones((2, 3))
        np.testing.assert_array_equal(loaded.predict_proba(x), net.predict_proba(x))


def test_missing_truncated_and_foreign_files(trained, tmp_path):
    net, _ = trained
    with pytest.raises(ChainruleError, match="no such model file"):
        cr.load(tmp_path / "absent.npz")
    path = tmp_path / "model.npz"
    net.save(path)
    data = path.read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ChainruleError, match="not a readable .npz model file"):
        cr.load(tmp_path / "cut.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ChainruleError, match="not a readable .npz model file"):
        cr.load(tmp_path / "text.npz")
    np.savez(tmp_path / "foreign.npz", weights=np.ones(3))
    with pytest.raises(ChainruleError, match="not a chainrule model: it has no architecture record"):
        cr.load(tmp_path / "foreign.npz")


def test_future_version_and_damaged_records(trained, tmp_path):
    net, _ = trained
    arrays = cr.io.model_arrays(net)
    record = json.loads(arrays["architecture"].tobytes())
    np.savez(tmp_path / "future.npz", **(arrays | {"architecture": json_array(record | {"version": 99})}))
    with pytest.raises(ChainruleError, match="model format version 99, newer than this chainrule reads"):
        cr.load(tmp_path / "future.npz")
    np.savez(tmp_path / "bad.npz", **(arrays | {"param/0.weight": np.ones((2, 2))}))
    with pytest.raises(ChainruleError, match=r"array param/0.weight: expected shape \(5, 8\), found shape \(2, 2\)"):
        cr.load(tmp_path / "bad.npz")


def test_pickled_arrays_are_never_loaded(tmp_path):
    class Boom:
        def __reduce__(self):
            return (print, ("executed!",))
    np.savez(tmp_path / "evil.npz", architecture=np.array([Boom()], dtype=object))
    with pytest.raises(ChainruleError, match="never does"):
        cr.load(tmp_path / "evil.npz")


def test_a_failed_save_leaves_the_old_file_whole(trained, tmp_path, monkeypatch):
    net, X = trained
    path = tmp_path / "model.npz"
    net.save(path)
    before = path.read_bytes()

    def crash(handle, **arrays):
        handle.write(b"partial")
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(ChainruleError, match="cannot write"):
        net.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]     # no temporary file left behind


def test_save_into_a_missing_folder(trained, tmp_path):
    net, _ = trained
    with pytest.raises(ChainruleError, match="does not exist"):
        net.save(tmp_path / "nowhere" / "model.npz")
