"""Reading the NumPy files users hand to chainrule: ``.npy`` arrays and ``.npz`` archives of them (data sets, model
files, checkpoints), never unpickled, every array's header checked against the bytes behind it first.

NumPy's own readers trust the header: a member whose header declares ``(400000, 400000)`` asks for 596 GiB before a
byte is read, a negative size or a member that is not an array surfaces as ``ValueError``, ``MemoryError`` or
``AttributeError`` in whatever reads it next, and a file that is not a zip archive is tried as a pickle. Here a file
is refused, by name and in words, when it is empty, of another format, truncated or damaged; an array when its
header cannot be read, holds Python objects, declares a negative size, more data than the file or member holds, or
more than the reader's limit. Only then is anything allocated or mapped.
"""

import io
import math
import sys
import warnings
import zipfile
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ChainruleError
from .textfiles import MiB

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")        # an archive with members; an empty archive
EXPECTED = {"npy": "a NumPy array (.npy) as numpy.save writes it",
            "npz": "a zip archive of NumPy arrays as numpy.savez writes it"}
MAX_HEADER = 10 + (1 << 16)              # magic, version and length, then a header NumPy reads (it stops at 10,000)
HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


@dataclass(frozen=True)
class Header:
    """What a ``.npy`` header declares, once checked; ``offset``: bytes from the array's start to its data."""
    shape: tuple[int, ...]
    fortran: bool
    dtype: np.dtype
    offset: int

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize        # Python integers: no overflow


def check_start(path: Path, what: str, kind: str) -> None:
    """Refuse a missing, empty or foreign file (``kind``: ``"npy"`` or ``"npz"``) before NumPy reads a byte."""
    if not path.exists():
        raise ChainruleError(f"{path}: no such {what}")
    if path.is_dir():
        raise ChainruleError(f"{path}: expected a {what}, found a folder")
    try:
        with open(path, "rb") as handle:
            start = handle.read(len(NPY_MAGIC))
    except OSError as exc:
        raise ChainruleError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None
    if not start:
        raise ChainruleError(f"{path}: the file is empty (0 bytes): expected {EXPECTED[kind]}")
    if (start != NPY_MAGIC) if kind == "npy" else (start[:4] not in ZIP_MAGIC):
        raise ChainruleError(f"{path}: not a readable {what}: expected {EXPECTED[kind]}, found other data "
                             f"(its first bytes are {start[:4].hex(' ')})")


def read_header(handle, end: int, where: str, limit: int | None) -> Header:
    """The header of the ``.npy`` array at ``handle``'s position, whose bytes end at position ``end``, checked: a
    readable header, numbers (not Python objects), sizes of 0 or more, data no larger than ``limit`` and present
    in full. ``where`` names the file (and member) in messages."""
    start = handle.read(len(NPY_MAGIC) + 2)
    if start[:len(NPY_MAGIC)] != NPY_MAGIC:
        raise ChainruleError(f"{where}: expected {EXPECTED['npy']}, found other data")
    if len(start) < len(NPY_MAGIC) + 2:
        raise ChainruleError(f"{where}: the array is truncated: it ends inside its header")
    version = (start[-2], start[-1])
    if version not in HEADER_READERS:
        raise ChainruleError(f"{where}: expected .npy format version 1.0 or 2.0, found {version[0]}.{version[1]}")
    try:
        with warnings.catch_warnings():           # NumPy warns about headers written by Python 2; they are read
            warnings.simplefilter("ignore")
            shape, fortran, dtype = HEADER_READERS[version](handle)
    except Exception as exc:                      # ValueError, and what parsing a damaged header as Python raises
        text = (str(exc).splitlines() or [""])[0][:120]
        if text.startswith("EOF"):
            raise ChainruleError(f"{where}: the array is truncated: it ends inside its header") from None
        detail = f" ({text})" if isinstance(exc, ValueError) and text else ""
        raise ChainruleError(f"{where}: the array's header is damaged: expected the descr, fortran_order and "
                             f"shape numpy.save writes{detail}") from None
    header = Header(tuple(shape), bool(fortran), dtype, handle.tell())
    if dtype.hasobject:
        raise ChainruleError(f"{where}: holds Python objects, which could only be read by unpickling them (chainrule "
                             f"never does): expected an array of numbers")
    if any(n < 0 for n in header.shape):
        raise ChainruleError(f"{where}: the header declares shape {header.shape}: expected sizes of 0 or more")
    if math.prod(max(n, 1) for n in header.shape) * max(dtype.itemsize, 1) > sys.maxsize:
        # an empty array whose other sizes are huge still overflows NumPy's shape arithmetic
        raise ChainruleError(f"{where}: the header declares shape {header.shape}: expected sizes whose product fits "
                             f"in memory addresses")
    if limit is not None and header.nbytes > limit:
        raise ChainruleError(f"{where}: the header declares shape {header.shape} of {dtype} ({header.nbytes:,} "
                             f"bytes): expected an array of at most {limit // MiB:,} MiB")
    available = end - header.offset
    if header.nbytes > available:
        raise ChainruleError(f"{where}: the header declares shape {header.shape} of {dtype}, {header.nbytes:,} bytes "
                             f"of data, found {max(available, 0):,}: the array is truncated or damaged")
    return header


def _map(path: Path, header: Header, start: int) -> np.ndarray:
    """A read-only memory map of the checked array whose data begins ``start`` bytes into ``path``."""
    if header.nbytes == 0:                        # nothing to map: an empty array (refused later by its shape)
        return np.zeros(header.shape, header.dtype)
    return np.memmap(path, dtype=header.dtype, mode="r", offset=start, shape=header.shape,
                     order="F" if header.fortran else "C")


def read_npy(path, what: str, limit: int) -> np.ndarray:
    """The array of a ``.npy`` file, after ``check_start`` and ``read_header``."""
    path = Path(path)
    check_start(path, what, "npy")
    with _errors(path, what), open(path, "rb") as handle:
        read_header(handle, path.stat().st_size, str(path), limit)
        handle.seek(0)
        return np.lib.format.read_array(handle, allow_pickle=False)


def map_npy(path, what: str) -> np.ndarray:
    """A read-only memory map of a ``.npy`` file's array (no size limit: the operating system pages it in)."""
    path = Path(path)
    check_start(path, what, "npy")
    with _errors(path, what):
        with open(path, "rb") as handle:
            header = read_header(handle, path.stat().st_size, str(path), None)
        return _map(path, header, header.offset)


class NpzArchive:
    """An ``.npz`` opened for reading: ``names`` of its arrays (member names without ``.npy``), ``read(name)`` one
    array, ``map(name)`` a memory map of one stored uncompressed. Every member must be a ``.npy`` array; every
    problem is a ``ChainruleError`` naming the file and the member."""

    def __init__(self, path, what: str, limit: int):
        self.path, self.what, self.limit = Path(path), what, limit
        check_start(self.path, what, "npz")
        with _errors(self.path, what):
            self.archive = zipfile.ZipFile(self.path)
            self.members = {info.filename.removesuffix(".npy"): info for info in self.archive.infolist()
                            if not info.is_dir()}

    @property
    def names(self) -> list[str]:
        return list(self.members)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.archive.close()

    def read(self, name: str) -> np.ndarray:
        info = self.members[name]
        where = f"{self.path}: member {info.filename}"
        with _errors(self.path, self.what, info.filename):
            with self.archive.open(info) as member:
                read_header(member, info.file_size, where, self.limit)
            with self.archive.open(info) as member:
                return np.lib.format.read_array(member, allow_pickle=False)

    def map(self, name: str) -> np.ndarray:
        info = self.members[name]
        where = f"{self.path}: member {info.filename}"
        if info.compress_type != zipfile.ZIP_STORED:
            raise ChainruleError(f"{self.path}: mmap=True needs the arrays stored uncompressed, and {name} is "
                                 f"compressed: a compressed array cannot be mapped, only decompressed into memory. "
                                 f"Save with numpy.savez, not numpy.savez_compressed (or load without mmap)")
        with _errors(self.path, self.what, info.filename), open(self.path, "rb") as handle:
            handle.seek(info.header_offset)                # the member's data follows its local header
            local = handle.read(30)
            if len(local) < 30 or local[:4] != ZIP_MAGIC[0]:
                raise ChainruleError(f"{where}: the zip archive is damaged (no member header where its directory "
                                     f"says)")
            start = info.header_offset + 30 + int.from_bytes(local[26:28], "little") \
                + int.from_bytes(local[28:30], "little")
            handle.seek(start)
            size = min(info.file_size, self.path.stat().st_size - start)   # a directory may promise more
            within = io.BytesIO(handle.read(min(size, MAX_HEADER)))         # the header ends inside the member
            header = read_header(within, size, where, None)
            return _map(self.path, header, start + header.offset)


def read_npz(path, what: str, limit: int) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file, each checked before it is read (see ``NpzArchive``)."""
    with NpzArchive(path, what, limit) as archive:
        return {name: archive.read(name) for name in archive.names}


@contextmanager
def _errors(path: Path, what: str, member: str | None = None):
    """The zip and I/O errors of reading ``path`` as one message each, in words."""
    inside = f" (member {member})" if member else ""
    try:
        yield
    except ChainruleError:
        raise
    except zipfile.BadZipFile as exc:
        text = str(exc)
        detail = ("its directory at the end is missing" if "not a zip file" in text else
                  "the data does not match its checksum" if "CRC" in text else "its structure is damaged")
        raise ChainruleError(f"{path}: not a readable {what}: the zip archive is truncated or damaged{inside} "
                             f"({detail})") from None
    except (EOFError, zlib.error):
        raise ChainruleError(f"{path}: not a readable {what}: the compressed data{inside} is truncated or "
                             f"damaged") from None
    except NotImplementedError:
        raise ChainruleError(f"{path}: not a readable {what}: a member{inside} is compressed with a method chainrule "
                             f"cannot read (expected stored or deflated, as numpy.savez writes)") from None
    except RuntimeError:              # an encrypted member
        raise ChainruleError(f"{path}: not a readable {what}: a member{inside} is encrypted") from None
    except zipfile.LargeZipFile:
        raise ChainruleError(f"{path}: not a readable {what}: the zip archive needs ZIP64 support") from None
    except OSError as exc:
        raise ChainruleError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None
    except (ValueError, OverflowError, MemoryError) as exc:   # what NumPy still finds wrong past the header
        text = (str(exc).splitlines() or ["its array cannot be read"])[0][:160]
        raise ChainruleError(f"{path}: not a readable {what}{inside}: {text}") from None
