"""Data sets: scikit-learn's bundled ones, CSV files, NumPy files and MNIST-format IDX files, as ``Dataset``.

Everything is read into ``X: (N, D)`` float64 and ``y: (N,)`` class indices 0..K-1 with the original labels kept
in ``class_names``. Bad files get errors that name the file, the row and the column.
"""

import csv
import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ChainruleError
from .extras import require

BUILTIN = ("digits", "iris", "wine", "breast_cancer")
PLANE = ("moons", "spiral")     # 2-D problems, made by a fixed seed, for decision-region plots


@dataclass
class Dataset:
    X: np.ndarray                  # (N, D)
    y: np.ndarray                  # (N,) class indices
    class_names: list[str]
    feature_names: list[str]
    name: str

    def __len__(self):
        return len(self.X)


def load(source: str, label=None, labels_path=None, mmap: bool = False) -> Dataset:
    """A built-in name (digits, iris, wine, breast_cancer) or a file: ``.csv``/``.tsv``/``.txt``, ``.npz``, ``.npy``,
    or IDX (``*-idx3-ubyte`` or ``.idx``, optionally ``.gz``; the labels file beside it or ``labels_path``).

    ``mmap=True`` (``.npy``, or ``.npz`` stored uncompressed) maps the file instead of reading it: ``X`` is a
    read-only view of the file in its own dtype, and training gathers each batch from it (see ``load_mapped``)."""
    if mmap:
        return load_mapped(source, label)
    if source in BUILTIN:
        return load_builtin(source)
    if source in PLANE:
        return load_plane(source)
    path = Path(source)
    if not path.exists():
        raise ChainruleError(f"{source}: no such file, and not a built-in data set ({', '.join(BUILTIN)})")
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
    """Two interleaved half-moons (scikit-learn's make_moons) or a two-armed spiral, with noise."""
    rng = np.random.default_rng(seed)
    if name == "moons":
        make_moons = require("sklearn.datasets", "train", "The moons data set").make_moons
        X, y = make_moons(n_samples=n, noise=0.2, random_state=seed)
    else:
        t = np.sqrt(rng.uniform(0, 1, n // 2)) * 3 * np.pi
        arm = np.column_stack([t * np.cos(t), t * np.sin(t)]) / 3
        X = np.vstack([arm, -arm]) + rng.normal(scale=0.15, size=(2 * (n // 2), 2))
        y = np.repeat([0, 1], n // 2)
    return Dataset(X.astype(np.float64), y.astype(np.int64), ["0", "1"], ["x", "y"], name)


def encode_labels(raw, source: str) -> tuple[np.ndarray, list[str]]:
    """Class indices 0..K-1 and the sorted original labels (numbers sort as numbers)."""
    raw = np.asarray(raw)
    if raw.dtype.kind in "fc":
        if not np.all(np.isfinite(raw)):
            raise ChainruleError(f"{source}: labels: expected class labels, found NaN or infinite values")
        if np.all(raw == np.round(raw)):
            raw = raw.astype(np.int64)
    classes, y = np.unique(raw, return_inverse=True)
    return y.astype(np.int64), [str(c) for c in classes]


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def load_csv(path: Path, label=None) -> Dataset:
    """Rows of numbers with one label column: chosen by name or index (default: the last). A first row with any
    cell that is not a number is the header."""
    opener = gzip.open if path.name.endswith(".gz") else open
    delimiter = "\t" if ".tsv" in path.name else ","
    try:
        with opener(path, "rt", newline="", encoding="utf-8") as handle:
            rows = [row for row in csv.reader(handle, delimiter=delimiter) if row and any(c.strip() for c in row)]
    except (OSError, UnicodeDecodeError) as exc:
        raise ChainruleError(f"{path}: cannot read it as text ({exc})") from None
    if not rows:
        raise ChainruleError(f"{path}: the file is empty: expected rows of numbers")
    header = not all(_is_number(cell) for cell in rows[0])
    names = [c.strip() for c in rows[0]] if header else [f"column{i}" for i in range(len(rows[0]))]
    body, first_line = (rows[1:], 2) if header else (rows, 1)
    if not body:
        raise ChainruleError(f"{path}: the file has a header and no data rows")
    width = len(names)
    for offset, row in enumerate(body):
        if len(row) != width:
            raise ChainruleError(f"{path}: row {offset + first_line} has {len(row)} cells, expected {width} "
                                 f"like the first row")
    column = _label_column(label, names, path)
    cells = np.array(body, dtype=object)
    labels = [c.strip() for c in cells[:, column]]
    feature_columns = [i for i in range(width) if i != column]
    X = np.empty((len(body), len(feature_columns)))
    for j, i in enumerate(feature_columns):
        try:
            X[:, j] = np.array(cells[:, i], dtype=np.float64)
        except ValueError:
            row = next(r for r, c in enumerate(cells[:, i]) if not _is_number(c))
            raise ChainruleError(f"{path}: row {row + first_line}, column {names[i]!r}: expected a number, "
                                 f"found {cells[row, i]!r}") from None
    _check_features(X, path, lambda j: names[feature_columns[j]], first_line)
    numeric = all(_is_number(v) for v in labels)
    y, class_names = encode_labels(np.array(labels, dtype=np.float64) if numeric else np.array(labels), str(path))
    return Dataset(X, y, class_names, [names[i] for i in feature_columns], path.name)


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


def _check_features(X, path, name_of, first_line=0) -> None:
    bad = ~np.isfinite(X)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ChainruleError(f"{path}: row {row + first_line}, column {name_of(col)!r}: expected a finite number, "
                             f"found {X[row, col]}")


def load_npz(path: Path) -> Dataset:
    """Arrays ``X`` (or ``x``, ``data``, ``features``) and ``y`` (or ``labels``, ``target``, ``targets``)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except Exception as exc:   # zip, pickle and format errors alike: report, never unpickle
        raise ChainruleError(f"{path}: not a readable .npz file ({exc})") from None
    x_key = next((k for k in ("X", "x", "data", "features") if k in arrays), None)
    y_key = next((k for k in ("y", "labels", "target", "targets") if k in arrays), None)
    if x_key is None or y_key is None:
        raise ChainruleError(f"{path}: expected arrays named X and y, found {sorted(arrays)}")
    return _from_arrays(arrays[x_key], arrays[y_key], path)


def load_npy(path: Path, label=None) -> Dataset:
    """One 2-D array whose label column is the last (or ``label``, an index)."""
    try:
        array = np.load(path, allow_pickle=False)
    except Exception as exc:
        raise ChainruleError(f"{path}: not a readable .npy file ({exc})") from None
    if array.ndim != 2 or array.shape[1] < 2:
        raise ChainruleError(f"{path}: expected a 2-D array with feature columns and a label column, "
                             f"found shape {array.shape}")
    column = -1 if label is None else int(label)
    return _from_arrays(np.delete(array, column, axis=1), array[:, column], path)


def _from_arrays(X, labels, path) -> Dataset:
    X = np.asarray(X)
    if X.ndim > 2:
        X = X.reshape(len(X), -1)
    if X.ndim != 2 or len(X) == 0:
        raise ChainruleError(f"{path}: expected features of shape (N, D) with N > 0, found {X.shape}")
    labels = np.asarray(labels).reshape(-1)
    if len(labels) != len(X):
        raise ChainruleError(f"{path}: {len(X)} examples but {len(labels)} labels")
    try:
        X = X.astype(np.float64)
    except (TypeError, ValueError):
        raise ChainruleError(f"{path}: features: expected numbers, found {X.dtype}") from None
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
        try:
            array = np.load(path, mmap_mode="r", allow_pickle=False)
        except Exception as exc:
            raise ChainruleError(f"{path}: not a readable .npy file ({exc})") from None
        if array.ndim != 2 or array.shape[1] < 2:
            raise ChainruleError(f"{path}: expected a 2-D array with feature columns and a label column, "
                                 f"found shape {array.shape}")
        column = -1 if label is None else int(label)
        if column not in (0, -1, array.shape[1] - 1):
            raise ChainruleError(f"{path}: with mmap=True the label column must be the first or the last (so that "
                                 f"the features are one view of the file), found column {column}")
        X, labels = (array[:, 1:], array[:, 0]) if column == 0 else (array[:, :-1], array[:, -1])
    elif name.endswith(".npz"):
        X = _map_npz_member(path, ("X", "x", "data", "features"))
        try:
            with np.load(path, allow_pickle=False) as data:
                y_key = next((k for k in ("y", "labels", "target", "targets") if k in data.files), None)
                if y_key is None:
                    raise ChainruleError(f"{path}: expected an array named y beside X, found {sorted(data.files)}")
                labels = data[y_key]
        except ChainruleError:
            raise
        except Exception as exc:
            raise ChainruleError(f"{path}: not a readable .npz file ({exc})") from None
    else:
        raise ChainruleError(f"{path}: mmap=True maps .npy files and uncompressed .npz files; found {path.suffix!r}")
    if X.ndim != 2 or len(X) == 0 or X.dtype.kind not in "fiu":
        raise ChainruleError(f"{path}: expected numeric features of shape (N, D) with N > 0, found {X.dtype} "
                             f"{X.shape}")
    labels = np.asarray(labels).reshape(-1)
    if len(labels) != len(X):
        raise ChainruleError(f"{path}: {len(X)} examples but {len(labels)} labels")
    rows = max(1, 2**22 // (8 * X.shape[1]))                   # 4 MB blocks: page cache, never a copy of X
    for start in range(0, len(X), rows):
        _check_features(np.asarray(X[start:start + rows], dtype=np.float64), path, int, start)
    y, class_names = encode_labels(labels, str(path))
    return Dataset(X, y, class_names, [f"feature{j}" for j in range(X.shape[1])], path.name)


def _map_npz_member(path: Path, names) -> np.memmap:
    """A memory map of one array inside a ``.npz`` (a zip of ``.npy`` files), which must be stored uncompressed."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            members = {info.filename.removesuffix(".npy"): info for info in archive.infolist()}
            key = next((k for k in names if k in members), None)
            if key is None:
                raise ChainruleError(f"{path}: expected an array named X, found {sorted(members)}")
            info = members[key]
            if info.compress_type != zipfile.ZIP_STORED:
                raise ChainruleError(f"{path}: mmap=True needs the arrays stored uncompressed, and {key} is "
                                     f"compressed: a compressed array cannot be mapped, only decompressed into "
                                     f"memory. Save with numpy.savez, not numpy.savez_compressed (or load without "
                                     f"mmap)")
        with open(path, "rb") as handle:                      # the member's data follows its local header
            handle.seek(info.header_offset)
            local = handle.read(30)
            handle.seek(info.header_offset + 30 + int.from_bytes(local[26:28], "little")
                        + int.from_bytes(local[28:30], "little"))
            read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                           (2, 0): np.lib.format.read_array_header_2_0}[np.lib.format.read_magic(handle)]
            shape, fortran, dtype = read_header(handle)
            offset = handle.tell()
    except ChainruleError:
        raise
    except Exception as exc:
        raise ChainruleError(f"{path}: not a readable .npz file ({exc})") from None
    if dtype.hasobject:
        raise ChainruleError(f"{path}: {key} holds Python objects; expected numbers")
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape, order="F" if fortran else "C")


def load_features(path, width: int) -> np.ndarray:
    """Inputs to predict on: a CSV of numbers (a header row is allowed) or a 2-D ``.npy``, ``width`` columns."""
    path = Path(path)
    if not path.exists():
        raise ChainruleError(f"{path}: no such file")
    if path.name.lower().endswith(".npy"):
        try:
            X = np.load(path, allow_pickle=False)
        except Exception as exc:
            raise ChainruleError(f"{path}: not a readable .npy file ({exc})") from None
        X = X.reshape(len(X), -1) if X.ndim > 2 else X
        names, first_line = None, 0
    else:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = [row for row in csv.reader(handle) if row and any(c.strip() for c in row)]
        if not rows:
            raise ChainruleError(f"{path}: the file is empty: expected rows of {width} numbers")
        header = not all(_is_number(c) for c in rows[0])
        names = rows[0] if header else None
        body, first_line = (rows[1:], 2) if header else (rows, 1)
        X = np.empty((len(body), width))
        for r, row in enumerate(body):
            if len(row) != width:
                raise ChainruleError(f"{path}: row {r + first_line} has {len(row)} values, expected {width} "
                                     f"(one per model input)")
            for c, cell in enumerate(row):
                if not _is_number(cell):
                    raise ChainruleError(f"{path}: row {r + first_line}, column {names[c] if names else c}: "
                                         f"expected a number, found {cell!r}")
                X[r, c] = float(cell)
    if X.ndim != 2 or X.shape[1] != width:
        raise ChainruleError(f"{path}: expected {width} values per row (one per model input), found shape {X.shape}")
    _check_features(X.astype(np.float64), path, lambda j: names[j] if names else j, first_line)
    return X.astype(np.float64)


IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    """An IDX array (the MNIST format: two zero bytes, a type code, the number of dimensions, big-endian sizes)."""
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError) as exc:
        raise ChainruleError(f"{path}: cannot read the IDX file ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_TYPES:
        raise ChainruleError(f"{path}: not an IDX file: expected the magic bytes 00 00 <type> <dims>, "
                             f"found {raw[:4].hex(' ') or 'an empty file'}")
    dtype, ndim = np.dtype(IDX_TYPES[raw[2]]), raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ChainruleError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ChainruleError(f"{path}: the header promises shape {shape} ({expected} bytes of data), "
                             f"found {len(raw) - header} bytes")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)


def load_idx(images_path: Path, labels_path=None) -> Dataset:
    if labels_path is None:
        guess = images_path.name.replace("images-idx3", "labels-idx1").replace("images", "labels")
        labels_path = images_path.with_name(guess)
        if guess == images_path.name or not labels_path.exists():
            raise ChainruleError(f"{images_path}: no labels file found beside it ({guess}); give one with --labels")
    images = read_idx(images_path)
    labels = read_idx(Path(labels_path))
    return _from_arrays(images.reshape(len(images), -1), labels, images_path)


def train_test_split(data: Dataset, test_size: float = 0.25, seed: int = 0):
    """A stratified split: ``(X_train, X_test, y_train, y_test)``; every class keeps its share in both parts."""
    split = require("sklearn.model_selection", "train", "The stratified split").train_test_split

    if not 0 < test_size < 1:
        raise ChainruleError(f"test_size: expected a fraction between 0 and 1, found {test_size}")
    counts = np.bincount(data.y)
    stratify = data.y if counts.min() >= 2 else None
    return split(data.X, data.y, test_size=test_size, random_state=seed, stratify=stratify)


__all__ = ["BUILTIN", "PLANE", "Dataset", "load", "load_builtin", "load_csv", "load_features", "load_idx",
           "load_mapped", "load_npy", "load_npz", "load_plane", "read_idx", "train_test_split"]
