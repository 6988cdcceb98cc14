"""Memory-mapped data sets: loading .npy and uncompressed .npz as maps, training from them in a fresh process
with the process's own memory (RssAnon) a small fraction of the file, and the errors for files that cannot map."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import ChainruleError

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
from beyond_memory import train_in_fresh_process  # noqa: E402   (one fresh-process probe for both)

ROWS, FEATURES = 64_000, 784           # MNIST-shaped, float32: 201 MB with the label column


def write_big_npy(path, rows=ROWS, features=FEATURES):
    """Written a block at a time through a map, so that the test itself never holds the data set."""
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, features + 1))
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(10, features)).astype(np.float32)
    for start in range(0, rows, 8_000):
        labels = rng.integers(0, 10, 8_000)
        out[start:start + 8_000, :-1] = centers[labels] + rng.normal(size=(8_000, features)).astype(np.float32)
        out[start:start + 8_000, -1] = labels
    out.flush()
    del out


def test_training_from_a_map_keeps_the_process_memory_a_small_fraction_of_the_file(tmp_path):
    path = tmp_path / "big.npy"
    write_big_npy(path)
    size = path.stat().st_size
    mapped = train_in_fresh_process(path, "mmap")
    grown = mapped["peak"] - mapped["before"]
    print(f"\nfile {size / 1e6:.0f} MB; RssAnon grew {grown / 1e6:.1f} MB training from the map "
          f"({grown / size:.1%} of the file), one epoch in {mapped['seconds']:.2f} s")
    assert mapped["mapped"] and mapped["accuracy"] > 0.9
    assert grown < 0.10 * size, (grown, size)


def test_mapped_npy_and_npz_train_like_the_arrays_in_memory(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    np.save(tmp_path / "d.npy", np.column_stack([X, y]).astype(np.float32))
    np.save(tmp_path / "first.npy", np.column_stack([y, X]).astype(np.float32))
    np.savez(tmp_path / "d.npz", X=X, y=y)
    results = []
    for name, label in (("d.npy", None), ("first.npy", 0), ("d.npz", None)):
        data = cr.datasets.load(str(tmp_path / name), label=label, mmap=True)
        assert isinstance(data.X, np.memmap) and not data.X.flags.writeable
        np.testing.assert_array_equal(data.X, X)
        np.testing.assert_array_equal(data.y, y)
        net = cr.mlp([5, 8, 2], seed=0)
        net.fit(data.X, data.y, epochs=2, batch_size=16, verbose=0)
        results.append(net.named_parameters()["0.weight"].copy())
    in_memory = cr.mlp([5, 8, 2], seed=0)
    in_memory.fit(X, y, epochs=2, batch_size=16, verbose=0)
    for weights in results:        # bit for bit: the batches gathered from the map are the same numbers
        np.testing.assert_array_equal(weights, in_memory.named_parameters()["0.weight"])


def test_a_float64_map_trains_a_float32_network_batch_by_batch(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = (X[:, 1] > 0).astype(int)
    np.save(tmp_path / "d.npy", np.column_stack([X, y]))
    data = cr.datasets.load(str(tmp_path / "d.npy"), mmap=True)
    assert data.X.dtype == np.float64
    net = cr.mlp([3, 8, 2], seed=0)
    net.fit(data.X, data.y, epochs=2, batch_size=20, verbose=0)
    reference = cr.mlp([3, 8, 2], seed=0)
    reference.fit(X.astype(np.float32), y, epochs=2, batch_size=20, verbose=0)
    np.testing.assert_array_equal(net.named_parameters()["0.weight"], reference.named_parameters()["0.weight"])


def test_files_that_cannot_be_mapped_say_why(tmp_path):
    X, y = np.ones((10, 3), np.float32), np.arange(10) % 2
    np.savez_compressed(tmp_path / "c.npz", X=X, y=y)
    with pytest.raises(ChainruleError, match="c.npz: mmap=True needs the arrays stored uncompressed, and X is "
                                             "compressed.*numpy.savez, not numpy.savez_compressed"):
        cr.datasets.load(str(tmp_path / "c.npz"), mmap=True)
    (tmp_path / "d.csv").write_text("1,2,0\n3,4,1\n")
    with pytest.raises(ChainruleError, match="mmap=True maps .npy files and uncompressed .npz files; found '.csv'"):
        cr.datasets.load(str(tmp_path / "d.csv"), mmap=True)
    np.save(tmp_path / "mid.npy", np.column_stack([X, y]))
    with pytest.raises(ChainruleError, match="label column must be the first or the last"):
        cr.datasets.load(str(tmp_path / "mid.npy"), label=1, mmap=True)
    bad = np.column_stack([X, y]).astype(np.float32)
    bad[7, 2] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    with pytest.raises(ChainruleError, match='nan.npy: row 7, column "2": expected a finite number'):
        cr.datasets.load(str(tmp_path / "nan.npy"), mmap=True)
    np.savez(tmp_path / "noy.npz", X=X)
    with pytest.raises(ChainruleError, match="expected an array named y"):
        cr.datasets.load(str(tmp_path / "noy.npz"), mmap=True)
    data = cr.datasets.load(str(tmp_path / "mid.npy"), mmap=True)
    with pytest.raises(ChainruleError, match="standardize: it would copy the memory-mapped X"):
        cr.mlp([3, 2], seed=0).fit(data.X, data.y, standardize=True, verbose=0)
    with pytest.raises(ChainruleError, match="validation_split: it would copy"):
        cr.mlp([3, 2], seed=0).fit(data.X, data.y, validation_split=0.2, verbose=0)


def chainrule(*args, cwd):
    return subprocess.run([sys.executable, "-m", "chainrule", *args], capture_output=True, text=True, cwd=cwd)


def test_train_mmap_on_the_command_line(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 6)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.float32)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    done = chainrule("train", "--data", "d.npz", "--mmap", "--epochs", "5", "--hidden", "8", "--validation-split",
                     "0.1", "--quiet", "--out", "m.npz", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    # 600 rows: the last 150 test, the 45 before them validation, 405 train
    assert "on 405 examples" in done.stdout and "45 more held out" in done.stdout and (tmp_path / "m.npz").exists()
    np.savez_compressed(tmp_path / "c.npz", X=X, y=y)
    refused = chainrule("train", "--data", "c.npz", "--mmap", "--quiet", "--out", "m2.npz", cwd=tmp_path)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "needs the arrays stored uncompressed" in refused.stderr


def test_beyond_memory_benchmark_runs_in_small(tmp_path):
    """The benchmark's three parts end to end on small sizes (no timing is checked: only that each prints), its
    files removed at the end."""
    script = Path(__file__).parent.parent / "benchmarks" / "beyond_memory.py"
    done = subprocess.run([sys.executable, str(script), "--quick", "--rounds", "1", "--dir", str(tmp_path),
                           "--beyond-memory", "4M"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    for line in ("sample_weight", "memory map", "RssAnon grew"):
        assert line in done.stdout
    assert list(tmp_path.iterdir()) == []


def test_a_mapped_split_that_leaves_a_class_out_of_training_is_refused(tmp_path):
    """A mapped file is split by position: a class kept in its last rows would never be trained on."""
    import subprocess
    import sys
    rows = np.column_stack([np.random.default_rng(0).normal(size=(20, 3)), np.repeat([0, 1, 2], [8, 8, 4])])
    path = tmp_path / "sorted.npy"
    np.save(path, rows.astype(np.float32))
    done = subprocess.run([sys.executable, "-m", "chainrule", "train", "--data", str(path), "--mmap", "--test-size",
                           "0.2", "--quiet", "--out", str(tmp_path / "m.npz")], capture_output=True, text=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "--mmap --test-size 0.2 --validation-split 0.0: sorted.npy: the held-out part takes every example of " \
           'class "2" (4 example(s))' in done.stderr, done.stderr
    assert not (tmp_path / "m.npz").exists()
