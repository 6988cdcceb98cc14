"""Data sets: scikit-learn's bundled ones, CSV files, NumPy files and MNIST-format IDX files, as ``Dataset``.

Everything is read into ``X: (N, D)`` float64 and ``y: (N,)`` class indices 0..K-1 with the original labels kept
in ``class_names``. Bad files get errors that name the file, the row and the column.
"""

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .arrayfiles import NpzArchive, map_npy, read_npy
from .errors import ChainruleError
from .extras import require
from .textfiles import MiB, decode, read_bytes

MAX_DATA_BYTES = 2048 * MiB      # a text or IDX data file, uncompressed
MAX_CELL = 1 << 20               # characters in one CSV cell
MAX_EXACT_LABEL = 2 ** 53        # larger numeric labels are not exact integers in float64

BUILTIN = ("digits", "iris", "wine", "breast_cancer")
PLANE = ("moons", "spiral", "circles")     # 2-D problems, made by a fixed seed, for decision-region plots
NAMES = BUILTIN + PLANE


@dataclass
class Dataset:
    X: np.ndarray                  # (N, D)
    y: np.ndarray                  # (N,) class indices
    class_names: list[str]
    feature_names: list[str]
    name: str

    def __len__(self):
        return len(self.X)

    def __repr__(self):
        classes = ", ".join(self.class_names[:10]) + (", …" if len(self.class_names) > 10 else "")
        return f"Dataset({self.name!r}: {len(self.X)} examples × {self.X.shape[1]} features, " \
               f"{len(self.class_names)} classes [{classes}])"


def load(source: str, label=None, labels_path=None, mmap: bool = False) -> Dataset:
    """A built-in name (digits, iris, wine, breast_cancer) or a file: ``.csv``/``.tsv``/``.txt``, ``.npz``, ``.npy``,
    or IDX (``*-idx3-ubyte`` or ``.idx``, optionally ``.gz``; the labels file beside it or ``labels_path``).

    ``mmap=True`` (``.npy``, or ``.npz`` stored uncompressed) maps the file instead of reading it: ``X`` is a
    read-only view of the file in its own dtype, and training gathers each batch from it (see ``load_mapped``)."""
    if source in NAMES and (label is not None or labels_path is not None):
        raise ChainruleError(f"{source}: a built-in data set has its own labels; --label and --labels are for "
                             f"CSV and IDX files")
    if mmap:
        return load_mapped(source, label)
    if source in BUILTIN:
        return load_builtin(source)
    if source in PLANE:
        return load_plane(source)
    path = Path(source)
    if not path.exists():
        raise ChainruleError(f"{source}: no such file, and not a built-in data set ({', '.join(NAMES)})")
    if path.is_dir():
        raise ChainruleError(f"{source}: expected a data file, found a folder")
    name = path.name.lower().removesuffix(".gz")
    if name.endswith((".csv", ".tsv", ".txt")):
        return load_csv(path, label)
    if name.endswith(".npz"):
        return load_npz(path)
    if name.endswith(".npy"):
        return load_npy(path, label)
    if "idx" in name or name.endswith("ubyte"):
        return load_idx(path, labels_path)
    raise ChainruleError(f"{source}: unknown data format; expected .csv, .tsv, .txt, .npz, .npy or an IDX file")


def load_builtin(name: str) -> Dataset:
    datasets = require("sklearn.datasets", "train", f"The built-in data set {name!r}")
    bunch = getattr(datasets, f"load_{name}")()
    return Dataset(bunch.data.astype(np.float64), bunch.target.astype(np.int64),
                   [str(t) for t in bunch.target_names], [str(f) for f in getattr(bunch, "feature_names",
                   [f"pixel{i}" for i in range(bunch.data.shape[1])])], name)


def load_plane(name: str, n: int = 400, seed: int = 0) -> Dataset:
    """Two interleaved half-moons or two circles (scikit-learn's make_moons, make_circles) or a two-armed spiral,
    with noise."""
    rng = np.random.default_rng(seed)
    if name == "moons":
        make_moons = require("sklearn.datasets", "train", "The moons data set").make_moons
        X, y = make_moons(n_samples=n, noise=0.2, random_state=seed)
    elif name == "circles":
        make_circles = require("sklearn.datasets", "train", "The circles data set").make_circles
        X, y = make_circles(n_samples=n, noise=0.1, factor=0.5, random_state=seed)
    else:
        t = np.sqrt(rng.uniform(0, 1, n // 2)) * 3 * np.pi
        arm = np.column_stack([t * np.cos(t), t * np.sin(t)]) / 3
        X = np.vstack([arm, -arm]) + rng.normal(scale=0.15, size=(2 * (n // 2), 2))
        y = np.repeat([0, 1], n // 2)
    return Dataset(X.astype(np.float64), y.astype(np.int64), ["0", "1"], ["x", "y"], name)


def encode_labels(raw, source: str) -> tuple[np.ndarray, list[str]]:
    """Class indices 0..K-1 and the sorted original labels (numbers sort as numbers)."""
    raw = np.asarray(raw)
    if raw.dtype.kind == "c":
        raise ChainruleError(f"{source}: labels: expected real class labels, found complex numbers")
    if raw.dtype.kind not in "biufUS":
        raise ChainruleError(f"{source}: labels: expected numbers or strings, found dtype {raw.dtype}")
    if raw.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(raw))
        if bad.size:
            raise ChainruleError(f"{source}: labels: expected class labels, found {raw[bad[0]]} at row {bad[0]}")
        if np.all(raw == np.round(raw)) and np.abs(raw).max(initial=0) <= MAX_EXACT_LABEL:
            raw = raw.astype(np.int64)
    classes, y = np.unique(raw, return_inverse=True)
    return y.astype(np.int64), [str(c) for c in classes]


def _is_number(text: str) -> bool:
    try:
        _real(text)
        return True
    except ValueError:
        return False


def read_rows(path: Path, what: str) -> list[list[str]]:
    """The non-blank rows of a CSV/TSV file (``.gz`` allowed), decoded, size-limited, byte-order mark dropped."""
    text = decode(read_bytes(path, what, MAX_DATA_BYTES, gunzip=path.name.endswith(".gz")), path, what)
    delimiter = "\t" if ".tsv" in path.name else ","
    rows, limit = [], csv.field_size_limit()
    try:
        csv.field_size_limit(MAX_CELL)
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        for row in reader:
            if row and any(c.strip() for c in row):
                rows.append((reader.line_num, row))
    except csv.Error as exc:
        raise ChainruleError(f"{path}: line {reader.line_num}: expected CSV cells of at most {MAX_CELL:,} "
                             f"characters with balanced quotes, found {exc}") from None
    finally:
        csv.field_size_limit(limit)
    if not rows:
        raise ChainruleError(f"{path}: the file is empty: expected rows of numbers")
    width = len(rows[0][1])
    if width == 1 and delimiter == "," and (";" in rows[0][1][0] or "\t" in rows[0][1][0]):
        sep = "semicolons" if ";" in rows[0][1][0] else "tabs"
        raise ChainruleError(f"{path}: line {rows[0][0]}: expected cells separated by commas, found one cell "
                             f"separated by {sep}; save it with commas (or as .tsv for tabs)")
    return rows


def has_header(rows) -> bool:
    """A first row is a header when none of its cells is a number while some later row has numbers there
    (a single row is a header only when no cell of it is a number)."""
    first = rows[0][1]
    if any(_is_number(cell) for cell in first):
        return False
    if len(rows) == 1:
        return True
    return any(_is_number(cell) for _, row in rows[1:2] for cell in row)


def load_csv(path: Path, label=None) -> Dataset:
    """Rows of numbers with one label column: chosen by name or index (default: the last). A first row none of
    whose cells is a number is the header. Row numbers in messages are the file's line numbers."""
    rows = read_rows(path, "CSV data file")
    header = has_header(rows)
    names = [c.strip() for c in rows[0][1]] if header else [f"column{i}" for i in range(len(rows[0][1]))]
    body = rows[1:] if header else rows
    if not body:
        raise ChainruleError(f"{path}: the file has a header and no data rows")
    width = len(names)
    if width < 2:
        raise ChainruleError(f"{path}: expected feature columns and a label column, found {width} column")
    for line, row in body:
        if len(row) != width:
            raise ChainruleError(f"{path}: row {line} has {len(row)} cells, expected {width} like the first row")
    column = _label_column(label, names, path)
    lines = [line for line, _ in body]
    cells = np.array([row for _, row in body], dtype=object)
    labels = [c.strip() for c in cells[:, column]]
    empty = next((k for k, v in enumerate(labels) if not v), None)
    if empty is not None:
        raise ChainruleError(f"{path}: row {lines[empty]}, column \"{names[column]}\": expected a class label, "
                             f"found an empty cell")
    feature_columns = [i for i in range(width) if i != column]
    X = np.empty((len(body), len(feature_columns)))
    for j, i in enumerate(feature_columns):
        for r, cell in enumerate(cells[:, i]):
            try:
                X[r, j] = _real(cell)
            except ValueError:
                raise ChainruleError(f"{path}: row {lines[r]}, column \"{names[i]}\": expected a number, "
                                     f"found \"{cell[:40]}\"") from None
    _check_features(X, path, lambda j: names[feature_columns[j]], lines)
    numeric = all(_is_number(v) for v in labels)
    y, class_names = encode_labels(np.array([_real(v) for v in labels]) if numeric else np.array(labels), str(path))
    return Dataset(X, y, class_names, [names[i] for i in feature_columns], path.name)


def _real(cell: str) -> float:
    """A CSV cell as a float; complex numbers and Python-only spellings (``1_000``) are not numbers here."""
    text = cell.strip()
    if "_" in text or "j" in text.lower():
        raise ValueError(text)
    return float(text)


def _label_column(label, names, path) -> int:
    if label is None:
        return len(names) - 1
    if isinstance(label, int) or (isinstance(label, str) and label.lstrip("-").isdigit() and label not in names):
        index = int(label)
        if not -len(names) <= index < len(names):
            raise ChainruleError(f"{path}: label column {index}: expected an index below {len(names)}")
        return index % len(names)
    if label not in names:
        raise ChainruleError(f"{path}: label column {label!r}: expected one of the header's names {names}")
    return names.index(label)


def _check_features(X, path, name_of, lines=None) -> None:
    """Every feature finite; ``lines[r]`` is row r's line in the file (for text files), else rows count from 0."""
    bad = ~np.isfinite(X)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        where = f"row {lines[row]}" if lines is not None else f"row {row}"
        raise ChainruleError(f"{path}: {where}, column \"{name_of(col)}\": expected a finite number, "
                             f"found {X[row, col]}")


def load_npz(path: Path) -> Dataset:
    """Arrays ``X`` (or ``x``, ``data``, ``features``) and ``y`` (or ``labels``, ``target``, ``targets``)."""
    with NpzArchive(path, ".npz data file", MAX_DATA_BYTES) as archive:    # only X and y are read (each limited)
        names = archive.names
        x_key = next((k for k in ("X", "x", "data", "features") if k in names), None)
        y_key = next((k for k in ("y", "labels", "target", "targets") if k in names), None)
        if x_key is None or y_key is None:
            raise ChainruleError(f"{path}: expected arrays named X and y, found {', '.join(sorted(names)) or 'none'}")
        X, y = archive.read(x_key), archive.read(y_key)
    return _from_arrays(X, y, path)


def load_npy(path: Path, label=None) -> Dataset:
    """One 2-D array whose label column is the last (or ``label``, an index)."""
    array = read_npy(path, ".npy data file", MAX_DATA_BYTES)
    if array.ndim != 2 or array.shape[1] < 2:
        raise ChainruleError(f"{path}: expected a 2-D array with feature columns and a label column, "
                             f"found shape {array.shape}")
    if label is None:
        column = array.shape[1] - 1
    else:
        try:
            column = int(label)
        except (TypeError, ValueError):
            raise ChainruleError(f"--label: an .npy file has no column names: expected a column index from 0 to "
                                 f"{array.shape[1] - 1}, found \"{label}\"") from None
        if not -array.shape[1] <= column < array.shape[1]:
            raise ChainruleError(f"--label: expected a column index of {path} from 0 to {array.shape[1] - 1}, "
                                 f"found {column}")
    return _from_arrays(np.delete(array, column, axis=1), array[:, column], path)


def _from_arrays(X, labels, path) -> Dataset:
    X = np.asarray(X)
    if X.dtype.kind not in "biuf":
        what = "complex numbers" if X.dtype.kind == "c" else f"dtype {X.dtype}"
        raise ChainruleError(f"{path}: features: expected real numbers, found {what}")
    if X.ndim > 2:
        X = X.reshape(len(X), math.prod(X.shape[1:]))
    if X.ndim != 2 or len(X) == 0 or X.shape[1] == 0:
        raise ChainruleError(f"{path}: expected features of shape (N, D) with N > 0 and D > 0, found {X.shape}")
    labels = np.asarray(labels).reshape(-1)
    if len(labels) != len(X):
        raise ChainruleError(f"{path}: {len(X)} examples but {len(labels)} labels")
    X = X.astype(np.float64)
    _check_features(X, path, lambda j: j)
    y, class_names = encode_labels(labels, str(path))
    return Dataset(X, y, class_names, [f"feature{j}" for j in range(X.shape[1])], Path(path).name)


def load_mapped(source, label=None) -> Dataset:
    """``X`` memory-mapped from a ``.npy`` file (one 2-D array; the label column first or last, ``label`` 0 or -1)
    or an uncompressed ``.npz`` (arrays ``X`` and ``y``); only the labels are read into memory.

    The operating system pages the file in as batches touch it; those pages belong to the page cache, which it can
    drop, so data sets larger than memory train. Finiteness is checked block by block, never on a copy."""
    path = Path(source)
    if not path.exists():
        raise ChainruleError(f"{source}: no such file")
    name = path.name.lower()
    if name.endswith(".npy"):
        array = map_npy(path, ".npy data file")
        if array.ndim != 2 or array.shape[1] < 2:
            raise ChainruleError(f"{path}: expected a 2-D array with feature columns and a label column, "
                                 f"found shape {array.shape}")
        column = _mapped_label_column(label, array.shape[1], path)
        X, labels = (array[:, 1:], array[:, 0]) if column == 0 else (array[:, :-1], array[:, -1])
    elif name.endswith(".npz"):
        with NpzArchive(path, ".npz data file", MAX_DATA_BYTES) as archive:
            x_key = next((k for k in ("X", "x", "data", "features") if k in archive.names), None)
            y_key = next((k for k in ("y", "labels", "target", "targets") if k in archive.names), None)
            if x_key is None:
                raise ChainruleError(f"{path}: expected an array named X, found {', '.join(archive.names) or 'none'}")
            if y_key is None:
                raise ChainruleError(f"{path}: expected an array named y beside X, found "
                                     f"{', '.join(archive.names)}")
            X, labels = archive.map(x_key), archive.read(y_key)
    else:
        raise ChainruleError(f"{path}: mmap=True maps .npy files and uncompressed .npz files; found {path.suffix!r}")
    if X.ndim != 2 or len(X) == 0 or X.shape[1] == 0 or X.dtype.kind not in "fiu":
        raise ChainruleError(f"{path}: expected numeric features of shape (N, D) with N > 0 and D > 0, found "
                             f"{X.dtype} {X.shape}")
    labels = np.asarray(labels).reshape(-1)
    if len(labels) != len(X):
        raise ChainruleError(f"{path}: {len(X)} examples but {len(labels)} labels")
    rows = max(1, 2**22 // (8 * X.shape[1]))                   # 4 MB blocks: page cache, never a copy of X
    for start in range(0, len(X), rows):
        block = np.asarray(X[start:start + rows], dtype=np.float64)
        _check_features(block, path, int, range(start, start + len(block)))
    y, class_names = encode_labels(labels, str(path))
    return Dataset(X, y, class_names, [f"feature{j}" for j in range(X.shape[1])], path.name)


def _mapped_label_column(label, width: int, path: Path) -> int:
    """With a map the label column is the first or the last, so that the features are one view of the file."""
    try:
        column = -1 if label is None else int(label)
    except (TypeError, ValueError):
        raise ChainruleError(f"--label: an .npy file has no column names: expected the column index 0 (the first) "
                             f"or {width - 1} (the last), found \"{label}\"") from None
    if column not in (0, -1, width - 1):
        raise ChainruleError(f"{path}: with mmap=True the label column must be the first or the last (so that "
                             f"the features are one view of the file), found column {column}")
    return column


def load_features(path, width: int) -> np.ndarray:
    """Inputs to predict on: a CSV of numbers (a header row is allowed) or a 2-D ``.npy``, ``width`` columns."""
    path = Path(path)
    if not path.exists():
        raise ChainruleError(f"{path}: no such file")
    if path.name.lower().endswith(".npy"):
        X = read_npy(path, ".npy input file", MAX_DATA_BYTES)
        if X.dtype.kind not in "biuf":
            raise ChainruleError(f"{path}: expected real numbers, found dtype {X.dtype}")
        X = X.reshape(len(X), math.prod(X.shape[1:])) if X.ndim > 2 else X
        if X.ndim != 2 or X.shape[1] != width or len(X) == 0:
            raise ChainruleError(f"{path}: expected rows of {width} values (one per model input), found shape "
                                 f"{X.shape}")
        X = X.astype(np.float64)
        _check_features(X, path, lambda j: j)
        return X
    rows = read_rows(path, "input file")
    header = has_header(rows)
    names = [c.strip() for c in rows[0][1]] if header else None
    body = rows[1:] if header else rows
    if not body:
        raise ChainruleError(f"{path}: the file has a header and no data rows: expected rows of {width} numbers")
    X = np.empty((len(body), width))
    for r, (line, row) in enumerate(body):
        if len(row) != width:
            raise ChainruleError(f"{path}: row {line} has {len(row)} values, expected {width} (one per model input)")
        for c, cell in enumerate(row):
            try:
                X[r, c] = _real(cell)
            except ValueError:
                column = f'"{names[c]}"' if names else str(c)
                raise ChainruleError(f"{path}: row {line}, column {column}: expected a number, found "
                                     f"\"{cell[:40]}\"") from None
    _check_features(X, path, lambda j: names[j] if names else j, [line for line, _ in body])
    return X


IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path, min_dims: int = 1) -> np.ndarray:
    """An IDX array (the MNIST format: two zero bytes, a type code, the number of dimensions, big-endian sizes)."""
    raw = read_bytes(path, "IDX file", MAX_DATA_BYTES, gunzip=path.name.endswith(".gz"))
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_TYPES:
        raise ChainruleError(f"{path}: not an IDX file: expected the magic bytes 00 00 <type> <dims>, "
                             f"found {raw[:4].hex(' ') or 'an empty file'}")
    dtype, ndim = np.dtype(IDX_TYPES[raw[2]]), raw[3]
    if ndim < min_dims:
        raise ChainruleError(f"{path}: expected an IDX array of at least {min_dims} dimension(s), found {ndim}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ChainruleError(f"{path}: truncated IDX header: {ndim} dimensions need {header} bytes, found {len(raw)}")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = math.prod(shape) * dtype.itemsize          # Python integers: no overflow
    if len(raw) - header != expected:
        raise ChainruleError(f"{path}: the header promises shape {shape} ({expected} bytes of data), "
                             f"found {len(raw) - header} bytes")
    if shape[0] == 0:
        raise ChainruleError(f"{path}: expected at least one example, found shape {shape}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)


def load_idx(images_path: Path, labels_path=None) -> Dataset:
    if labels_path is None:
        guess = images_path.name.replace("images-idx3", "labels-idx1").replace("images", "labels")
        labels_path = images_path.with_name(guess)
        if guess == images_path.name or not labels_path.exists():
            raise ChainruleError(f"{images_path}: no labels file found beside it ({guess}); give one with --labels")
    images = read_idx(images_path, min_dims=2)
    labels = read_idx(Path(labels_path))
    return _from_arrays(images.reshape(len(images), -1), labels, images_path)


def check_two_classes(data: Dataset, source) -> None:
    """Training a classifier needs examples of two classes at least; a data set of one (a wrong label column, or a
    file cut from a bigger one) is refused, naming the file and the class."""
    if len(data.class_names) < 2:
        raise ChainruleError(f"{source}: every example is of one class, \"{data.class_names[0][:40]}\": expected "
                             f"at least 2 classes to train a classifier (is the label column the right one?)")


def train_test_split(data: Dataset, test_size: float = 0.25, seed: int = 0):
    """A stratified split: ``(X_train, X_test, y_train, y_test)``; every class keeps its share in both parts."""
    split = require("sklearn.model_selection", "train", "The stratified split").train_test_split

    if not 0 < test_size < 1:
        raise ChainruleError(f"--test-size: expected a fraction between 0 and 1, found {test_size}")
    n, k = len(data.y), len(data.class_names)
    n_test = math.ceil(test_size * n)
    if n_test < 1 or n - n_test < k:
        raise ChainruleError(f"--test-size {test_size}: {data.name} has {n} example(s), which cannot be split into "
                             f"a test part and a training part with at least one example per class ({k}); expected "
                             f"a smaller fraction or more data")
    counts = np.bincount(data.y, minlength=k)
    stratify = data.y if counts.min() >= 2 and min(n_test, n - n_test) >= k else None
    X_train, X_test, y_train, y_test = split(data.X, data.y, test_size=test_size, random_state=seed,
                                             stratify=stratify)
    check_every_class_trains(data, y_train, f"--test-size {test_size}")
    return X_train, X_test, y_train, y_test


def check_every_class_trains(data: Dataset, y_train: np.ndarray, flags: str) -> None:
    """The training part must hold every class of the data set: a class too small to stratify, or one the file
    keeps in its last rows (a mapped file is split by position), would otherwise go wholly to the held-out parts
    and never be learned. ``flags`` names the options that made the split."""
    counts = np.bincount(np.asarray(data.y), minlength=len(data.class_names))
    lost = sorted(set(range(len(data.class_names))) - set(np.unique(np.asarray(y_train)).tolist()))
    if lost:
        names = ", ".join(f'"{str(data.class_names[c])[:40]}" ({counts[c]} example(s))' for c in lost[:5])
        raise ChainruleError(f"{flags}: {data.name}: the held-out part takes every example of class {names}, so "
                             f"training would never see it; expected examples of every class in the training part "
                             f"(shuffle the file's rows, or hold out less)")


__all__ = ["BUILTIN", "NAMES", "PLANE", "Dataset", "check_every_class_trains", "check_two_classes", "load", "load_builtin", "load_csv",
           "load_features", "load_idx", "load_mapped", "load_npy", "load_npz", "load_plane", "read_idx",
           "train_test_split"]
