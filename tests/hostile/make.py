"""Makers of the hostile inputs that are binary, large or derived from a real saved model.

``cases.toml`` names a maker with ``make = "NAME"``; each maker writes its file(s) into the case's folder and returns
the path of the input. Text inputs small enough to read are committed in ``files/`` instead. Spec cases may also be
written as a patch of the shipped seed-article spec (``spec_set`` / ``spec_delete`` in ``cases.toml``).
"""

import copy
import gzip
import json
import os
import struct
import zipfile
from importlib import resources
from pathlib import Path

import numpy as np

DEEP = 100_000


def seed_spec() -> dict:
    text = resources.files("chainrule").joinpath("data/examples/seed_article.json").read_text(encoding="utf-8")
    return json.loads(text)


def patched_spec(set_fields: dict, delete: list) -> dict:
    """The seed article's spec with ``set_fields`` (dotted paths, list indices as numbers) set and ``delete`` gone."""
    spec = copy.deepcopy(seed_spec())
    for path, value in set_fields.items():
        *parents, last = steps(path)
        node = spec
        for step in parents:
            node = node[step]
        node[last] = value
    for path in delete:
        *parents, last = steps(path)
        node = spec
        for step in parents:
            node = node[step]
        del node[last]
    return spec


def steps(path: str) -> list:
    return [int(s) if s.isdigit() else s for s in path.split(".")]


# ---- spec files -------------------------------------------------------------------------------------------------

def _seed_text() -> str:
    return json.dumps(seed_spec(), ensure_ascii=False, indent=1)


def spec_latin1(folder: Path) -> Path:
    spec = seed_spec()
    spec["title"] = "Réseau de neurones, étape par étape"
    path = folder / "latin1.json"
    path.write_bytes(json.dumps(spec, ensure_ascii=False).encode("latin-1"))
    return path


def spec_utf16(folder: Path) -> Path:
    path = folder / "utf16.json"
    path.write_bytes(_seed_text().encode("utf-16"))
    return path


def spec_gzip(folder: Path) -> Path:
    path = folder / "gzipped.json"
    path.write_bytes(gzip.compress(_seed_text().encode("utf-8")))
    return path


def spec_invalid_bytes(folder: Path) -> Path:
    path = folder / "invalid-bytes.json"
    path.write_bytes(_seed_text().encode("utf-8").replace(b'"title": "', b'"title": "\xc3\x28\xff\xfe', 1))
    return path


def spec_top_level_list(folder: Path) -> Path:
    path = folder / "list.json"
    path.write_text(json.dumps([seed_spec()]))
    return path


def spec_json_duplicate_key(folder: Path) -> Path:
    path = folder / "duplicate-key.json"
    path.write_text(_seed_text().replace('"learning_rate": 0.1', '"learning_rate": 0.1, "learning_rate": 0.7', 1))
    return path


def spec_toml_latin1(folder: Path) -> Path:
    path = folder / "latin1.toml"
    text = resources.files("chainrule").joinpath("data/examples/relu_student.toml").read_text(encoding="utf-8")
    path.write_bytes(text.replace("A student's", "Étudiant's", 1).encode("latin-1"))
    return path


def spec_deep_json(folder: Path) -> Path:
    path = folder / "deep.json"
    path.write_text('{"inputs": ' + "[" * DEEP + "]" * DEEP + "}")
    return path


def spec_deep_toml(folder: Path) -> Path:
    path = folder / "deep.toml"
    path.write_text("inputs = " + "[" * DEEP + "]" * DEEP + "\n")
    return path


def spec_deep_inline_toml(folder: Path) -> Path:
    path = folder / "deep-tables.toml"
    path.write_text("inputs = " + "{a = " * DEEP + "1" + "}" * DEEP + "\n")
    return path


def spec_huge_int_toml(folder: Path) -> Path:
    path = folder / "huge-int.toml"
    text = resources.files("chainrule").joinpath("data/examples/relu_student.toml").read_text(encoding="utf-8")
    path.write_text(text.replace("learning_rate = 0.5", "learning_rate = 1" + "0" * 400, 1))
    return path


def spec_huge_int_toml_5001(folder: Path) -> Path:
    """A whole number past Python's own limit on converting digits (4300), which tomllib reaches first."""
    path = folder / "huge-int-5001.toml"
    text = resources.files("chainrule").joinpath("data/examples/relu_student.toml").read_text(encoding="utf-8")
    path.write_text(text.replace("learning_rate = 0.5", "learning_rate = 1" + "0" * 5000, 1))
    return path


def spec_huge_int_json(folder: Path) -> Path:
    path = folder / "huge-int.json"
    path.write_text(_seed_text().replace('"learning_rate": 0.1', '"learning_rate": 1' + "0" * 5000, 1))
    return path


# ---- data files -------------------------------------------------------------------------------------------------

def iris_rows(n=12, header=True, delimiter=",", label_first=False):
    from sklearn.datasets import load_iris
    bunch = load_iris()
    picks = np.r_[0:n // 3, 50:50 + n // 3, 100:100 + n - 2 * (n // 3)]
    lines = []
    names = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    if header:
        lines.append(delimiter.join(["species", *names] if label_first else [*names, "species"]))
    for i in picks:
        cells = [f"{v:g}" for v in bunch.data[i]]
        label = str(bunch.target_names[bunch.target[i]])
        lines.append(delimiter.join([label, *cells] if label_first else [*cells, label]))
    return lines


def digits_rows(n=3, bad=None) -> str:
    from sklearn.datasets import load_digits
    rows = [[f"{v:g}" for v in load_digits().data[i]] for i in range(n)]
    if bad is not None:
        rows[0][1] = bad
    return "\n".join(",".join(r) for r in rows) + "\n"


def csv_bom_no_header(folder: Path) -> Path:
    path = folder / "bom-no-header.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(iris_rows(header=False)).encode() + b"\n")
    return path


def csv_bom_header_label_first(folder: Path) -> Path:
    path = folder / "bom-header.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(iris_rows(label_first=True)).encode() + b"\n")
    return path


def csv_semicolons(folder: Path) -> Path:
    path = folder / "semicolons.csv"
    path.write_text("\n".join(iris_rows(delimiter=";")) + "\n")
    return path


def csv_huge_cell(folder: Path) -> Path:
    path = folder / "huge-cell.csv"
    lines = iris_rows()
    lines[3] = "1" * 200_000 + lines[3][lines[3].index(","):]
    path.write_text("\n".join(lines) + "\n")
    return path


def csv_gz_truncated(folder: Path) -> Path:
    path = folder / "truncated.csv.gz"
    blob = gzip.compress(("\n".join(iris_rows(n=150)) + "\n").encode())
    path.write_bytes(blob[: len(blob) // 2])
    return path


def zero_csv(folder: Path) -> Path:
    """An endless file named like a CSV: a reader needs a size limit."""
    (folder / "zero.csv").symlink_to("/dev/zero")
    return folder / "zero.csv"


def zero_json(folder: Path) -> Path:
    (folder / "zero.json").symlink_to("/dev/zero")
    return folder / "zero.json"


def zero_idx(folder: Path) -> Path:
    (folder / "zero-labels-idx1-ubyte").symlink_to("/dev/zero")
    (folder / "zero-images-idx3-ubyte").symlink_to("/dev/zero")
    return folder / "zero-images-idx3-ubyte"


def predict_one_bad_row(folder: Path) -> Path:
    path = folder / "one-bad-row.csv"
    path.write_text(digits_rows(1, bad="abc"))
    return path


def _npy(folder: Path, name: str, array) -> Path:
    path = folder / name
    np.save(path, array, allow_pickle=True)
    return path


def npy_table(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    table = np.column_stack([rng.normal(size=(20, 3)), np.repeat([0, 1], 10)])
    return _npy(folder, "table.npy", table)


def npy_complex(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    table = np.column_stack([rng.normal(size=(20, 3)) + 1j, np.repeat([0, 1], 10)])
    return _npy(folder, "complex.npy", table)


def npy_object(folder: Path) -> Path:
    table = np.empty((20, 3), dtype=object)
    table[:] = 1.0
    return _npy(folder, "objects.npy", table)


def npz_object(folder: Path) -> Path:
    path = folder / "objects.npz"
    X = np.empty((10, 2), dtype=object)
    X[:] = 0.5
    np.savez(path, X=X, y=np.arange(10) % 2)
    return path


def _npy_bytes(array=None, shape=None, descr="<f8", data=b"") -> bytes:
    """A .npy file's bytes: ``array`` saved, or a header declaring ``shape`` followed by ``data`` (a lie, as wanted)."""
    import io
    buffer = io.BytesIO()
    if array is not None:
        np.save(buffer, array)
    else:
        np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
        buffer.write(data)
    return buffer.getvalue()


def _npz_members(path: Path, members: dict, compression=zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, blob in members.items():
            archive.writestr(name, blob)
    return path


def _labels() -> bytes:
    return _npy_bytes(np.repeat([0, 1], 10))


def npz_empty(folder: Path) -> Path:
    path = folder / "empty.npz"
    path.write_bytes(b"")
    return path


def npy_empty(folder: Path) -> Path:
    path = folder / "empty.npy"
    path.write_bytes(b"")
    return path


def npz_truncated(folder: Path) -> Path:
    path = folder / "truncated.npz"
    np.savez(path, X=np.random.default_rng(0).normal(size=(20, 3)), y=np.repeat([0, 1], 10))
    path.write_bytes(path.read_bytes()[:-40])
    return path


def npz_not_a_zip(folder: Path) -> Path:
    path = folder / "not-a-zip.npz"
    path.write_text("X,y\n1,0\n2,1\n")
    return path


def npz_member_not_npy(folder: Path) -> Path:
    return _npz_members(folder / "text-member.npz", {"X.npy": b"1,2,3\n4,5,6\n", "y.npy": _labels()})


def npz_member_text_name(folder: Path) -> Path:
    return _npz_members(folder / "csv-member.npz", {"X.csv": b"1,2,3\n4,5,6\n", "y.npy": _labels()})


def npz_member_shape_beyond_file(folder: Path) -> Path:
    """X's header declares a million rows; 20 rows of data follow."""
    return _npz_members(folder / "long-header.npz",
                        {"X.npy": _npy_bytes(shape=(1_000_000, 3), data=bytes(480)), "y.npy": _labels()})


def npz_member_shape_negative(folder: Path) -> Path:
    return _npz_members(folder / "negative-shape.npz",
                        {"X.npy": _npy_bytes(shape=(-5, 3), data=bytes(480)), "y.npy": _labels()})


def npz_member_shape_2_to_62(folder: Path) -> Path:
    """A header whose size overflows int64 (2**62 x 2**62 rows of 8 bytes)."""
    return _npz_members(folder / "huge-shape.npz",
                        {"X.npy": _npy_bytes(shape=(2**62, 2**62), data=bytes(480)), "y.npy": _labels()})


def npz_member_header_damaged(folder: Path) -> Path:
    blob = _npy_bytes(np.ones((20, 3))).replace(b"'descr'", b"'dtype'", 1)
    return _npz_members(folder / "bad-header.npz", {"X.npy": blob, "y.npy": _labels()})


def npz_one_class(folder: Path) -> Path:
    path = folder / "one-class.npz"
    np.savez(path, X=np.random.default_rng(0).normal(size=(20, 3)), y=np.full(20, 7))
    return path


def npy_shape_beyond_file(folder: Path) -> Path:
    path = folder / "long-header.npy"
    path.write_bytes(_npy_bytes(shape=(1_000_000, 4), data=bytes(640)))
    return path


def _idx(path: Path, type_code: int, shape: tuple, data: bytes = b"") -> None:
    header = bytes([0, 0, type_code, len(shape)]) + b"".join(struct.pack(">I", s) for s in shape)
    path.write_bytes(header + data)


def idx_zero_dims(folder: Path) -> Path:
    _idx(folder / "zero-labels-idx1-ubyte", 0x08, ())
    _idx(folder / "zero-images-idx3-ubyte", 0x08, ())
    return folder / "zero-images-idx3-ubyte"


def idx_zero_images(folder: Path) -> Path:
    _idx(folder / "empty-labels-idx1-ubyte", 0x08, (0,))
    _idx(folder / "empty-images-idx3-ubyte", 0x08, (0, 28, 28))
    return folder / "empty-images-idx3-ubyte"


def idx_overflow(folder: Path) -> Path:
    # 65536**4 = 2**64: the product wraps to 0 in int64, so "0 bytes of data" looks right
    _idx(folder / "wrap-labels-idx1-ubyte", 0x08, (65536,))
    _idx(folder / "wrap-images-idx3-ubyte", 0x08, (65536, 65536, 65536, 65536))
    return folder / "wrap-images-idx3-ubyte"


def idx_labels_mismatch(folder: Path) -> Path:
    _idx(folder / "few-labels-idx1-ubyte", 0x08, (3,), bytes([0, 1, 2]))
    _idx(folder / "few-images-idx3-ubyte", 0x08, (5, 2, 2), bytes(20))
    return folder / "few-images-idx3-ubyte"


# ---- model files: a real saved model, tampered --------------------------------------------------------------------

def read_model(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def architecture_of(arrays: dict) -> dict:
    return json.loads(arrays["architecture"].tobytes().decode("utf-8"))


def with_architecture(arrays: dict, arch) -> dict:
    text = arch if isinstance(arch, str) else json.dumps(arch)
    return arrays | {"architecture": np.frombuffer(text.encode("utf-8"), dtype=np.uint8)}


def write_model(path: Path, arrays: dict, compressed=False) -> Path:
    (np.savez_compressed if compressed else np.savez)(path, **arrays)
    return path


def _arch_patch(change):
    def make(folder: Path, base: Path) -> Path:
        arrays = read_model(base)
        arch = architecture_of(arrays)
        change(arch)
        return write_model(folder / "tampered.npz", with_architecture(arrays, arch))
    return make


def _array_patch(change):
    def make(folder: Path, base: Path) -> Path:
        arrays = read_model(base)
        change(arrays)
        return write_model(folder / "tampered.npz", arrays)
    return make


def _set(path, value):
    def change(arch):
        *parents, last = steps(path)
        node = arch
        for step in parents:
            node = node[step]
        node[last] = value
    return change


def model_zip_method(folder: Path, base: Path) -> Path:
    """Every member's compression method set to 99, which no zip reader knows."""
    path = write_model(folder / "tampered.npz", read_model(base))
    blob = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        start = 0
        while (at := blob.find(signature, start)) >= 0:
            blob[at + offset: at + offset + 2] = struct.pack("<H", 99)
            start = at + 4
    path.write_bytes(bytes(blob))
    return path


def model_corrupt_deflate(folder: Path, base: Path) -> Path:
    """A compressed model whose first weight matrix's deflate stream is overwritten in the middle."""
    path = write_model(folder / "tampered.npz", read_model(base), compressed=True)
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("param/0.weight.npy")
    blob = bytearray(path.read_bytes())
    name_len, extra_len = struct.unpack("<HH", blob[info.header_offset + 26: info.header_offset + 30])
    data_start = info.header_offset + 30 + name_len + extra_len
    middle = data_start + info.compress_size // 3
    blob[middle: middle + 64] = b"\xff" * 64
    path.write_bytes(bytes(blob))
    return path


def model_truncated(folder: Path, base: Path) -> Path:
    path = folder / "tampered.npz"
    path.write_bytes(base.read_bytes()[:3000])
    return path


def model_deep_architecture(folder: Path, base: Path) -> Path:
    arrays = read_model(base)
    text = json.dumps(architecture_of(arrays))
    deep = text[:-1] + ', "info": ' + "[" * DEEP + "]" * DEEP + "}"
    return write_model(folder / "tampered.npz", with_architecture(arrays, deep))


def model_not_utf8_architecture(folder: Path, base: Path) -> Path:
    arrays = read_model(base)
    arch = json.dumps(architecture_of(arrays)).encode("utf-8").replace(b'"format"', b'"\xff\xfeformat"')
    return write_model(folder / "tampered.npz", arrays | {"architecture": np.frombuffer(arch, dtype=np.uint8)})


def model_pickled_architecture(folder: Path, base: Path) -> Path:
    arrays = read_model(base)
    record = np.empty((), dtype=object)
    record[()] = architecture_of(arrays)
    return write_model(folder / "tampered.npz", arrays | {"architecture": record})


def _member_patch(member: str, change):
    """A model whose archive member ``member`` (its .npy bytes) is replaced by ``change(bytes)``."""
    def make(folder: Path, base: Path) -> Path:
        path = folder / "tampered.npz"
        with zipfile.ZipFile(base) as source:
            members = {info.filename: source.read(info) for info in source.infolist()}
        members[member] = change(members[member])
        return _npz_members(path, members)
    return make


def _declare_shape(shape):
    def change(blob: bytes) -> bytes:
        header_end = blob.index(b"\n") + 1
        array = np.lib.format.read_array(__import__("io").BytesIO(blob))
        return _npy_bytes(shape=shape, descr=np.lib.format.dtype_to_descr(array.dtype), data=blob[header_end:])
    return change


def _huge_layer(arch):
    arch["in_features"] = 1_000_000
    arch["layers"][0]["in"] = 1_000_000
    arch["layers"][0]["out"] = 1_000_000
    arch["layers"][2]["in"] = 1_000_000


def _drop_standardizer(arrays):
    del arrays["standardizer/mean"], arrays["standardizer/scale"]


def _weights(transform):
    def change(arrays):
        arrays["param/0.weight"] = transform(arrays["param/0.weight"])
    return change


def _scale(value):
    def change(arrays):
        arrays["standardizer/scale"] = np.full_like(arrays["standardizer/scale"], value)
    return change


def _poison(value):
    def transform(w):
        w = w.copy()
        w[1, 2] = value
        return w
    return transform


def _object_weights(w):
    out = np.empty(w.shape, dtype=object)
    out[...] = w
    return out


def _classes(value):
    return _set("classes", value)


MODEL_MAKERS = {
    "model_zip_method": model_zip_method,
    "model_corrupt_deflate": model_corrupt_deflate,
    "model_truncated": model_truncated,
    "model_deep_architecture": model_deep_architecture,
    "model_not_utf8_architecture": model_not_utf8_architecture,
    "model_pickled_architecture": model_pickled_architecture,
    "model_huge_layer": _arch_patch(_huge_layer),
    "model_negative_layer": _arch_patch(_set("layers.0.out", -8)),
    "model_layers_not_list": _arch_patch(_set("layers", "dense")),
    "model_layer_type_unknown": _arch_patch(_set("layers.1.type", "gelu")),
    "model_dtype_object": _arch_patch(_set("dtype", "object")),
    "model_loss_unknown": _arch_patch(_set("loss", {"name": "hinge", "output": "softmax"})),
    "model_standardized_no_arrays": _array_patch(_drop_standardizer),
    "model_mean_wrong_shape": _array_patch(lambda a: a.__setitem__("standardizer/mean", np.zeros(3))),
    "model_mean_shape_1": _array_patch(lambda a: a.__setitem__("standardizer/mean", np.zeros(1))),
    "model_scale_zero": _array_patch(_scale(0.0)),
    "model_scale_nan": _array_patch(_scale(np.nan)),
    "model_classes_short": _arch_patch(_classes([str(k) for k in range(9)])),
    "model_classes_long": _arch_patch(_classes([str(k) for k in range(12)])),
    "model_classes_one": _arch_patch(_classes(["0"])),
    "model_classes_string": _arch_patch(_classes("0123456789")),
    "model_classes_duplicate": _arch_patch(_classes(["0"] * 10)),
    "model_weights_object": _array_patch(_weights(_object_weights)),
    "model_weights_string": _array_patch(_weights(lambda w: w.astype(str))),
    "model_weights_int8": _array_patch(_weights(lambda w: (w * 100).astype(np.int8))),
    "model_weights_complex": _array_patch(_weights(lambda w: w.astype(np.complex64) + 1j)),
    "model_weights_nan": _array_patch(_weights(_poison(np.nan))),
    "model_weights_inf": _array_patch(_weights(_poison(np.inf))),
    "model_weights_3e38": _array_patch(_weights(lambda w: np.full_like(w, 3e38))),
    "model_info_string": _arch_patch(_set("info", "digits")),
    "model_info_test_size": _arch_patch(_set("info", {"data": "digits", "test_size": "a quarter", "seed": "x"})),
    "model_info_seed_huge": _arch_patch(_set("info", {"data": "digits", "test_size": 0.25, "seed": 2 ** 70})),
    "model_member_not_npy": _member_patch("param/0.weight.npy", lambda blob: b"not an array"),
    "model_member_shape_400000_squared": _member_patch("param/0.weight.npy", _declare_shape((400_000, 400_000))),
    "model_member_shape_negative": _member_patch("param/0.weight.npy", _declare_shape((-64, 8))),
    "model_member_truncated": _member_patch("param/0.weight.npy", lambda blob: blob[:len(blob) // 2]),
    "model_empty": lambda folder, base: npz_empty(folder),
}


# ---- checkpoints and the rest -------------------------------------------------------------------------------------

def checkpoint_is_a_model(folder: Path, base: Path) -> Path:
    """A checkpoint folder holding a plain model file under the checkpoint's name."""
    (folder / "ckpt").mkdir()
    (folder / "ckpt" / "checkpoint.npz").write_bytes(base.read_bytes())
    return folder / "ckpt"


def stale_temporary(folder: Path) -> Path:
    """What a save killed part-way leaves beside its target."""
    path = folder / ".model.npz.99999999.tmp"
    path.write_bytes(b"PK\x03\x04 half a model")
    return path


# ---- spec claims beyond any float (their text kept: JSON's own reader would turn them into 0.0 or inf) ---------------

def _claim_as_written(value: str, suffix: str = "json"):
    def make(folder: Path) -> Path:
        text = _seed_text()
        at = text.index('"claims"')
        path = folder / f"claim.{suffix}"
        claimed = text[:at] + text[at:].replace('"z1": -0.3', f'"z1": {value}', 1)
        if suffix == "toml":
            spec = seed_spec()
            claims = spec.pop("claims")
            lines = [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in spec.items()]
            lines += ["[claims]"] + [f'{json.dumps(k)} = {value if k == "z1" else v}' for k, v in claims.items()]
            claimed = "\n".join(lines) + "\n"
        path.write_text(claimed, encoding="utf-8")
        return path
    return make


def _toml_value(value) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(value)


spec_claim_exponent_tiny = _claim_as_written("1e-999999999")
spec_claim_exponent_huge = _claim_as_written("1e999999999")
spec_claim_negative_zero_tiny = _claim_as_written("-0e-999999999")
spec_claim_zero_huge_exponent = _claim_as_written("0e999999999")
spec_claim_exponent_tiny_toml = _claim_as_written("1e-999999999", "toml")
spec_claim_negative_zero_toml = _claim_as_written("-0e-999999999", "toml")


# ---- chainrule grade: an exercise and a class folder holding one hostile submission or file -----------------------

_EXERCISE: list = []


def _exercise():
    """Seed 7's 2-2-2 exercise (39 questions), made once."""
    if not _EXERCISE:
        from chainrule.teach import make_exercise
        _EXERCISE.append(make_exercise((2, 2, 2), "sigmoid", "softmax", seed=7))
    return _EXERCISE[0]


def class_folder(folder: Path) -> Path:
    """``exercise.json`` and ``subs/`` holding alice's right answers; returns ``subs``."""
    from chainrule.teach import exercise_document
    ex = _exercise()
    (folder / "exercise.json").write_text(json.dumps(exercise_document(ex)), encoding="utf-8")
    subs = folder / "subs"
    subs.mkdir()
    (subs / "alice.txt").write_text("id = alice\n" + "".join(f"{n} = {ex.answer_text(n)}\n" for n in ex.asked))
    return subs


def _submitted(name: str, content: str | bytes, give: str = "folder"):
    """A maker: the class folder with ``subs/NAME`` holding ``content``; the input is ``subs`` (``give = "folder"``,
    so that alice's good answers are graded beside it) or the file itself (``"file"``)."""
    def make(folder: Path) -> Path:
        subs = class_folder(folder)
        path = subs / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path if give == "file" else subs
    return make


def _deep(kind: str) -> str:
    return ('{"z1": ' + "[" * DEEP + "]" * DEEP + "}") if kind == "json" else "z1 = " + "[" * DEEP + "]" * DEEP + "\n"


grade_txt_exponent_tiny = _submitted("bob.txt", "id = bob\nz1 = 1e-999999999\nz2 = 1.020\n")
grade_txt_exponent_huge = _submitted("bob.txt", "id = bob\nz1 = 1e999999999\nz2 = 1.020\n")
grade_txt_times_ten_superscript = _submitted("bob.txt", "id = bob\nz1 = 1×10⁻⁹⁹⁹⁹⁹⁹⁹⁹⁹\nz2 = 1.020\n")
grade_md_negative_zero = _submitted("bob.md", "# Answers\n\n- id: bob\n- z1 = -0e-999999999\n- z2 = 1.020\n")
grade_csv_exponent_huge = _submitted("bob.csv", "id,bob\nz1,1e999999999\nz2,1.020\n")
grade_toml_exponent_tiny = _submitted("bob.toml", 'id = "bob"\nz1 = 1e-999999999\nz2 = 1.020\n')
grade_toml_negative_zero = _submitted("bob.toml", 'id = "bob"\nz1 = -0e-999999999\nz2 = 1.020\n')
grade_json_exponent_huge = _submitted("bob.json", '{"id": "bob", "z1": 1e999999999, "z2": 1.020}')
grade_json_zero_huge_exponent = _submitted("bob.json", '{"id": "bob", "z1": 0e999999999, "z2": 1.020}')
grade_toml_id_exponent = _submitted("carol.toml", "id = 1e999999999\nz1 = 0.8200\n")
grade_json_id_exponent = _submitted("carol.json", '{"id": 1e999999999, "z1": 0.8200}')
grade_json_id_huge_integer = _submitted("carol.json", '{"id": 1' + "0" * 100_000 + ', "z1": 0.8200}')
grade_toml_id_huge_integer = _submitted("carol.toml", "id = 1" + "0" * 100_000 + "\nz1 = 0.8200\n")
grade_json_nested = _submitted("deep.json", _deep("json"))
grade_toml_nested = _submitted("deep.toml", _deep("toml"))
grade_name_250_characters = _submitted("d" * 246 + ".txt", "z1 = 0.8200\n")
grade_two_mib = _submitted("big.txt", "z1 = 0.8200\n" * (2 * 1024 * 1024 // 12 + 10))
grade_binary = _submitted("binary.txt", bytes(range(256)) * 64)
grade_utf16_without_bom = _submitted("paul.txt", "id = paul\nz1 = 0.8200\n".encode("utf-16-le"))
grade_nul_byte = _submitted("nul.txt", b"id = nul\nz1 = 0.82\x0000\n")
grade_formula_name = _submitted("gina.txt", "id = gina\nname = =HYPERLINK(\"http://x\",\"y\")\nz1 = 0.8200\n")


def grade_rubric_json_nested(folder: Path) -> Path:
    class_folder(folder)
    (folder / "rubric.json").write_text(_deep("json"))
    return folder / "rubric.json"


def grade_rubric_toml_nested(folder: Path) -> Path:
    class_folder(folder)
    (folder / "rubric.toml").write_text(_deep("toml"))
    return folder / "rubric.toml"


def grade_exercise_json_nested(folder: Path) -> Path:
    class_folder(folder)
    (folder / "deep-exercise.json").write_text('{"format": "chainrule-exercise", "spec": ' + "[" * DEEP + "]" * DEEP
                                               + "}")
    return folder / "deep-exercise.json"


def grade_exercise_toml_nested(folder: Path) -> Path:
    class_folder(folder)
    (folder / "deep-exercise.toml").write_text(_deep("toml"))
    return folder / "deep-exercise.toml"


def grade_links(folder: Path) -> Path:
    """Links in the class folder: to /etc/passwd, to a file and a folder outside, dangling, inside a student's
    folder."""
    subs = class_folder(folder)
    outside = folder / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("id = mallory\nsecret-token-3141 = 1\n")
    (subs / "judy.txt").symlink_to("/etc/passwd")
    (subs / "ivan.txt").symlink_to(outside / "secret.txt")
    (subs / "mallory").symlink_to(outside)
    (subs / "dangling.txt").symlink_to(folder / "nothing")
    (subs / "ken").mkdir()
    (subs / "ken" / "answers.txt").symlink_to("/etc/passwd")
    return subs


def grade_link_named(folder: Path) -> Path:
    class_folder(folder)
    (folder / "judy.txt").symlink_to("/etc/passwd")
    return folder / "judy.txt"


def grade_fifo_named(folder: Path) -> Path:
    class_folder(folder)
    os.mkfifo(folder / "pipe.txt")
    return folder / "pipe.txt"


def grade_fifo_in_folder(folder: Path) -> Path:
    subs = class_folder(folder)
    os.mkfifo(subs / "pipe.txt")
    (subs / "olga").mkdir()
    os.mkfifo(subs / "olga" / "answers.txt")
    return subs


def grade_fifo_roster(folder: Path) -> Path:
    class_folder(folder)
    os.mkfifo(folder / "roster.csv")
    return folder / "roster.csv"


def grade_roster_field_over_128_kib(folder: Path) -> Path:
    class_folder(folder)
    (folder / "roster.csv").write_text("id,name\nalice," + "A" * (129 * 1024) + "\n")
    return folder / "roster.csv"


def grade_folder_of_10001(folder: Path) -> Path:
    subs = class_folder(folder)
    for k in range(10_001):
        (subs / f"s{k:05d}.txt").write_text("z1 = 0.8200\n")
    return subs


def grade_feedback_folder_link(folder: Path) -> Path:
    """The feedback folder planted as a link to a folder outside holding alice.md: it must not be written through."""
    subs = class_folder(folder)
    (folder / "outside").mkdir()
    (folder / "outside" / "alice.md").write_text("saved outside the class folder\n")
    (folder / "feedback").symlink_to(folder / "outside")
    return subs


MAKERS = {name: fn for name, fn in globals().items()
          if callable(fn) and name.startswith(("spec_", "csv_", "npy_", "npz_", "idx_", "predict_", "zero_",
                                               "grade_"))}
MAKERS |= MODEL_MAKERS | {"checkpoint_is_a_model": checkpoint_is_a_model, "stale_temporary": stale_temporary,
                           "class_folder": class_folder}
NEEDS_MODEL = set(MODEL_MAKERS) | {"checkpoint_is_a_model"}

__all__ = ["MAKERS", "NEEDS_MODEL", "architecture_of", "class_folder", "digits_rows", "iris_rows", "patched_spec", "read_model",
           "seed_spec", "steps", "with_architecture", "write_model"]
