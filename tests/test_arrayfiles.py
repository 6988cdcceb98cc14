""".npy and .npz files at the boundary: empty, foreign, truncated and tampered files, members that are not arrays
and headers that promise more than the file holds, each refused in words naming the file and the member, through
the data loaders (in memory and memory-mapped) and the model loader alike; nothing is allocated first."""

import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import arrayfiles, datasets
from chainrule.errors import ChainruleError

sys.path.insert(0, str(Path(__file__).parent / "hostile"))
from make import _npy_bytes as npy_bytes, _npz_members as npz  # noqa: E402  (the hostile corpus's own file makers)

sys.path.remove(str(Path(__file__).parent / "hostile"))

MiB = 1 << 20


LABELS = npy_bytes(np.repeat([0, 1], 10))

# file content -> the message, for a data file read into memory and mapped
NPZ_CASES = {
    "empty": (b"", "the file is empty (0 bytes): expected a zip archive of NumPy arrays as numpy.savez writes it"),
    "text": (b"X,y\n1,0\n", "not a readable .npz data file: expected a zip archive of NumPy arrays as numpy.savez "
                            "writes it, found other data (its first bytes are 58 2c 79 0a)"),
}
MEMBER_CASES = {   # X.npy's bytes -> the message after "member X.npy: "
    "not-an-array": (b"1,2,3\n4,5,6\n", "expected a NumPy array (.npy) as numpy.save writes it, found other data"),
    "beyond-the-file": (npy_bytes(shape=(1_000_000, 3), data=bytes(480)),
                        "the header declares shape (1000000, 3) of float64, 24,000,000 bytes of data, found 480: "
                        "the array is truncated or damaged"),
    "negative": (npy_bytes(shape=(-5, 3), data=bytes(480)),
                 "the header declares shape (-5, 3): expected sizes of 0 or more"),
    "header-cut": (npy_bytes(np.ones((20, 3)))[:40], "the array is truncated: it ends inside its header"),
    "header-damaged": (npy_bytes(np.ones((20, 3))).replace(b"'descr'", b"'dtype'"),
                       "the array's header is damaged: expected the descr, fortran_order and shape numpy.save writes"),
    "objects": (npy_bytes(shape=(20, 3), descr="|O", data=bytes(480)),
                "holds Python objects, which could only be read by unpickling them (chainrule never does)"),
    "version-3": (npy_bytes(np.ones((20, 3))).replace(b"NUMPY\x01\x00", b"NUMPY\x03\x00", 1),
                  "expected .npy format version 1.0 or 2.0, found 3.0"),
}


@pytest.mark.parametrize("mmap", [False, True], ids=["read", "mapped"])
@pytest.mark.parametrize("case", sorted(NPZ_CASES))
def test_an_npz_that_is_empty_or_not_a_zip_is_refused_in_words(tmp_path, case, mmap):
    content, message = NPZ_CASES[case]
    path = tmp_path / "d.npz"
    path.write_bytes(content)
    with pytest.raises(ChainruleError) as caught:
        datasets.load(str(path), mmap=mmap)
    assert str(caught.value) == f"{path}: {message}"


@pytest.mark.parametrize("mmap", [False, True], ids=["read", "mapped"])
@pytest.mark.parametrize("case", sorted(MEMBER_CASES))
def test_a_member_that_is_not_a_sound_array_is_refused_by_name(tmp_path, case, mmap):
    """A member whose header declares more rows than the file holds, or a negative count, is refused in words,
    read or mapped, as the same header in a bare .npy is."""
    blob, message = MEMBER_CASES[case]
    path = npz(tmp_path / "d.npz", {"X.npy": blob, "y.npy": LABELS})
    with pytest.raises(ChainruleError) as caught:
        datasets.load(str(path), mmap=mmap)
    assert str(caught.value).startswith(f"{path}: member X.npy: {message}")
    (tmp_path / "d.npy").write_bytes(blob)                            # a bare .npy: the same words
    if case not in ("not-an-array",):
        with pytest.raises(ChainruleError, match=f"^{tmp_path / 'd.npy'}: "):
            datasets.load(str(tmp_path / "d.npy"), mmap=mmap)


@pytest.mark.parametrize("mmap", [False, True], ids=["read", "mapped"])
def test_truncated_archives_and_members_not_named_npy(tmp_path, mmap):
    path = tmp_path / "cut.npz"
    np.savez(path, X=np.ones((20, 3)), y=np.repeat([0, 1], 10))
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(ChainruleError, match="cut.npz: not a readable .npz data file: the zip archive is truncated or "
                                             r"damaged \(its directory at the end is missing\)$"):
        datasets.load(str(path), mmap=mmap)
    csv = npz(tmp_path / "csv.npz", {"X.csv": b"1,2\n", "y.npy": LABELS})
    with pytest.raises(ChainruleError, match=r"csv.npz: (expected arrays named X and y|expected an array named X), "
                                             r"found X.csv, y$"):
        datasets.load(str(csv), mmap=mmap)


def test_a_member_beyond_the_limit_is_refused_before_it_is_allocated(tmp_path):
    """A zip directory may promise any size; the header is checked against the limit first (no MemoryError)."""
    path = npz(tmp_path / "big.npz", {"X.npy": npy_bytes(shape=(400_000, 400_000), data=bytes(64)),
                                      "y.npy": LABELS})
    with pytest.raises(ChainruleError, match=r"member X.npy: the header declares shape \(400000, 400000\) of float64 "
                                             r"\(1,280,000,000,000 bytes\): expected an array of at most 2,048 MiB"):
        datasets.load(str(path))
    with pytest.raises(ChainruleError, match="expected an array of at most 1 MiB"):
        arrayfiles.read_npz(npz(tmp_path / "two.npz", {"a.npy": npy_bytes(np.ones(2 * MiB // 8))}), "f", MiB)


def test_sound_files_read_and_map_as_numpy_writes_them(tmp_path):
    X = np.asfortranarray(np.arange(12.0).reshape(4, 3))
    np.savez(tmp_path / "d.npz", X=X, y=np.array([2, 7, 2, 7]))
    np.savez_compressed(tmp_path / "c.npz", X=X, y=np.array([2, 7, 2, 7]))
    for name in ("d.npz", "c.npz"):
        arrays = arrayfiles.read_npz(tmp_path / name, ".npz file", MiB)
        np.testing.assert_array_equal(arrays["X"], X)
    with arrayfiles.NpzArchive(tmp_path / "d.npz", ".npz file", MiB) as archive:
        mapped = archive.map("X")
        assert archive.names == ["X", "y"] and not mapped.flags.writeable
        np.testing.assert_array_equal(mapped, X)
    np.save(tmp_path / "e.npy", np.zeros((0, 3)))
    assert arrayfiles.map_npy(tmp_path / "e.npy", ".npy file").shape == (0, 3)
    np.save(tmp_path / "big-endian.npy", np.arange(6, dtype=">i4").reshape(2, 3))
    np.testing.assert_array_equal(arrayfiles.read_npy(tmp_path / "big-endian.npy", ".npy file", MiB),
                                  np.arange(6).reshape(2, 3))


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.npz"
    cr.mlp([3, 4, 2], seed=0).save(path)
    return path


def tampered(model, folder, member, change):
    with zipfile.ZipFile(model) as source:
        members = {info.filename: source.read(info) for info in source.infolist()}
    members[member] = change(members[member])
    return npz(folder / "tampered.npz", members)


@pytest.mark.parametrize("change, words", [
    (lambda blob: b"not an array", "member param/0.weight.npy: expected a NumPy array (.npy)"),
    (lambda blob: npy_bytes(shape=(400_000, 400_000), descr="<f4", data=blob[-48:]),
     "member param/0.weight.npy: the header declares shape (400000, 400000) of float32 (640,000,000,000 bytes)"),
    (lambda blob: npy_bytes(shape=(-3, 4), descr="<f4", data=blob[-48:]),
     "member param/0.weight.npy: the header declares shape (-3, 4): expected sizes of 0 or more"),
    (lambda blob: blob[:len(blob) - 8], "member param/0.weight.npy: the header declares shape (3, 4) of float32, "
                                        "48 bytes of data, found 40"),
])
def test_model_files_with_tampered_members_are_refused(model, tmp_path, change, words):
    """A model file's damaged members are refused in words: never a traceback, never a word of unpickling."""
    path = tampered(model, tmp_path, "param/0.weight.npy", change)
    with pytest.raises(ChainruleError) as caught:
        cr.load(path)
    assert str(caught.value).startswith(f"{path}: {words}")


def test_an_empty_model_file_says_so(tmp_path):
    (tmp_path / "m.npz").write_bytes(b"")
    with pytest.raises(ChainruleError, match="m.npz: the file is empty \\(0 bytes\\): expected a zip archive"):
        cr.load(tmp_path / "m.npz")


@pytest.mark.parametrize("shape", [(2**64, 0), (2**62, 2**62, 0), (0, 2**63)])
@pytest.mark.parametrize("mmap", [False, True])
def test_an_empty_array_of_huge_sizes_is_refused(tmp_path, shape, mmap):
    """No bytes of data, yet sizes whose product overflows NumPy's shape arithmetic: refused from the header."""
    npy_path, npz_path = tmp_path / "h.npy", tmp_path / "h.npz"
    npy_path.write_bytes(npy_bytes(shape=shape))
    npz(npz_path, {"X.npy": npy_bytes(shape=shape), "y.npy": npy_bytes(np.zeros(0))})
    for path, where in ((npy_path, f"{npy_path}: "), (npz_path, f"{npz_path}: member X.npy: ")):
        with pytest.raises(ChainruleError) as caught:
            datasets.load(str(path), mmap=mmap)
        assert str(caught.value).startswith(f"{where}the header declares shape {shape}: expected sizes whose "
                                            f"product fits in memory addresses"), caught.value


def test_a_data_file_reads_only_its_X_and_y(tmp_path):
    """Other members are never decompressed: an archive cannot grow a load past the limits of X and y."""
    path = npz(tmp_path / "extra.npz", {"X.npy": npy_bytes(np.ones((20, 3))), "y.npy": LABELS,
                                        "huge.npy": npy_bytes(shape=(400_000, 400_000), data=bytes(64))},
               zipfile.ZIP_DEFLATED)
    data = datasets.load(str(path))
    assert data.X.shape == (20, 3) and len(data.y) == 20
