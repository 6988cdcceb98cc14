"""Data loading: built-in sets, CSV, NumPy and IDX files, and clear errors for bad files."""

import gzip

import numpy as np
import pytest

from chainrule import datasets
from chainrule.errors import ChainruleError


@pytest.mark.parametrize("name, shape, classes", [("digits", (1797, 64), 10), ("iris", (150, 4), 3),
                                                  ("wine", (178, 13), 3), ("breast_cancer", (569, 30), 2)])
def test_builtin(name, shape, classes):
    data = datasets.load(name)
    assert data.X.shape == shape and len(data.class_names) == classes and set(data.y) == set(range(classes))


def test_stratified_split_keeps_class_shares():
    data = datasets.load("iris")
    X_train, X_test, y_train, y_test = datasets.train_test_split(data, 0.25, seed=0)
    assert len(X_test) == 38 and sorted(np.bincount(y_test)) == [12, 13, 13]


def test_a_split_that_would_hide_a_class_from_training_is_refused(tmp_path):
    """A class of one example cannot be stratified; where the test part would take it, training never sees it."""
    path = tmp_path / "three.csv"
    path.write_text("7,3.2,4.7,1.4,versicolor\n6.4,3.2,4.5,1.5,versicolor\n5.8,2.7,5.1,1.9,virginica\n")
    with pytest.raises(ChainruleError, match=r"--test-size 0.25: three.csv: the held-out part takes every example of "
                                             r'class "virginica" \(1 example\(s\)\), so training would never see it'):
        datasets.train_test_split(datasets.load(str(path)), 0.25, seed=0)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_with_header_and_string_labels(tmp_path):
    path = write(tmp_path, "flowers.csv", "petal,sepal,species\n1.0,2.0,rose\n3,4,tulip\n5,6,rose\n")
    data = datasets.load(str(path))
    np.testing.assert_array_equal(data.X, [[1, 2], [3, 4], [5, 6]])
    assert data.class_names == ["rose", "tulip"] and list(data.y) == [0, 1, 0]
    numeric = write(tmp_path, "numeric.csv", "petal,sepal,code\n1.0,2.0,7\n3,4,8\n")
    by_name = datasets.load(str(numeric), label="petal")
    assert by_name.feature_names == ["sepal", "code"] and by_name.class_names == ["1", "3"]
    np.testing.assert_array_equal(by_name.X, [[2, 7], [4, 8]])


def test_csv_without_header_label_by_index(tmp_path):
    path = write(tmp_path, "plain.csv", "0,1.5,2.5\n1,3.5,4.5\n")
    data = datasets.load(str(path), label="0")
    np.testing.assert_array_equal(data.X, [[1.5, 2.5], [3.5, 4.5]])
    assert list(data.y) == [0, 1]


@pytest.mark.parametrize("text, message", [
    ("a,b,label\n1,2,x\n3,4\n", "row 3 has 2 cells, expected 3"),
    ("a,b,label\n1,2,x\n3,oops,y\n", 'row 3, column "b": expected a number, found "oops"'),
    ("a,b,label\n1,nan,x\n", 'row 2, column "b": expected a finite number, found nan'),
    ("", "the file is empty"),
    ("a,b,label\n", "has a header and no data rows"),
])
def test_bad_csv(tmp_path, text, message):
    path = write(tmp_path, "bad.csv", text)
    with pytest.raises(ChainruleError, match=message):
        datasets.load(str(path))


def test_unknown_label_column_and_missing_file(tmp_path):
    path = write(tmp_path, "x.csv", "a,b\n1,2\n")
    with pytest.raises(ChainruleError, match="label column 'c': expected one of"):
        datasets.load(str(path), label="c")
    with pytest.raises(ChainruleError, match="no such file, and not a built-in data set"):
        datasets.load(str(tmp_path / "missing.csv"))


def test_npz_and_npy(tmp_path):
    X, y = np.arange(12.0).reshape(4, 3), np.array([2, 7, 2, 7])
    np.savez(tmp_path / "d.npz", X=X, y=y)
    data = datasets.load(str(tmp_path / "d.npz"))
    np.testing.assert_array_equal(data.X, X)
    assert data.class_names == ["2", "7"] and list(data.y) == [0, 1, 0, 1]
    np.save(tmp_path / "d.npy", np.column_stack([X, y]))
    np.testing.assert_array_equal(datasets.load(str(tmp_path / "d.npy")).X, X)
    np.savez(tmp_path / "wrong.npz", features=X)
    with pytest.raises(ChainruleError, match="expected arrays named X and y"):
        datasets.load(str(tmp_path / "wrong.npz"))


def idx_bytes(array: np.ndarray, code: int) -> bytes:
    header = bytes([0, 0, code, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


@pytest.mark.parametrize("compress", [False, True])
def test_idx_images_and_labels(tmp_path, compress):
    images = np.random.default_rng(0).integers(0, 256, (5, 4, 4)).astype(np.uint8)
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    suffix, opener = (".gz", gzip.open) if compress else ("", open)
    with opener(tmp_path / f"train-images-idx3-ubyte{suffix}", "wb") as handle:
        handle.write(idx_bytes(images, 0x08))
    with opener(tmp_path / f"train-labels-idx1-ubyte{suffix}", "wb") as handle:
        handle.write(idx_bytes(labels, 0x08))
    data = datasets.load(str(tmp_path / f"train-images-idx3-ubyte{suffix}"))
    np.testing.assert_array_equal(data.X, images.reshape(5, 16))
    assert data.class_names == ["1", "3", "4", "5"]


def test_idx_errors(tmp_path):
    (tmp_path / "a-images-idx3-ubyte").write_bytes(b"\x08\x03\x00\x00")
    with pytest.raises(ChainruleError, match="not an IDX file"):
        datasets.read_idx(tmp_path / "a-images-idx3-ubyte")
    (tmp_path / "b.idx").write_bytes(idx_bytes(np.zeros((3, 2), np.uint8), 0x08)[:-2])
    with pytest.raises(ChainruleError, match=r"promises shape \(3, 2\)"):
        datasets.read_idx(tmp_path / "b.idx")
    (tmp_path / "c-images-idx3-ubyte").write_bytes(idx_bytes(np.zeros((3, 2, 2), np.uint8), 0x08))
    with pytest.raises(ChainruleError, match="no labels file found beside it"):
        datasets.load(str(tmp_path / "c-images-idx3-ubyte"))


def test_features_for_prediction(tmp_path):
    path = write(tmp_path, "in.csv", "a,b\n1,2\n3,4\n")
    np.testing.assert_array_equal(datasets.load_features(path, 2), [[1, 2], [3, 4]])
    with pytest.raises(ChainruleError, match="row 2 has 2 values, expected 3"):
        datasets.load_features(path, 3)


def test_one_class_is_refused_for_training_by_file_and_class(tmp_path):
    path = write(tmp_path, "one.csv", "a,b,species\n1,2,setosa\n3,4,setosa\n")
    data = datasets.load(str(path))                     # reading it is fine (evaluate a model on it, say) ...
    with pytest.raises(ChainruleError, match=f'^{path}: every example is of one class, "setosa": expected at least 2 '
                                             f'classes to train a classifier'):
        datasets.check_two_classes(data, str(path))     # ... training on it is not
    datasets.check_two_classes(datasets.load("iris"), "iris")


def test_a_mapped_npy_label_that_is_not_an_index_is_refused(tmp_path):
    np.save(tmp_path / "d.npy", np.column_stack([np.ones((4, 2)), [0, 1, 0, 1]]))
    for label in ("abc", "1.5"):
        with pytest.raises(ChainruleError, match=f'--label: an .npy file has no column names: expected the column '
                                                 f'index 0 \\(the first\\) or 2 \\(the last\\), found "{label}"'):
            datasets.load(str(tmp_path / "d.npy"), label=label, mmap=True)


def test_features_of_zero_columns_are_refused_not_divided_by(tmp_path):
    np.savez(tmp_path / "flat.npz", X=np.ones((4, 0)), y=np.arange(4) % 2)
    np.savez(tmp_path / "deep.npz", X=np.ones((0, 3, 0)), y=np.arange(0))
    for name in ("flat.npz", "deep.npz"):
        for mmap in (False, True):
            with pytest.raises(ChainruleError, match=f"{name}: expected .*features of shape \\(N, D\\) with N > 0"):
                datasets.load(str(tmp_path / name), mmap=mmap)
