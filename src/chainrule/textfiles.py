"""Reading files users hand to chainrule: a size limit, a decoding guard and a clear message for each.

Every reader of user files (spec files, CSV data, prediction inputs, training histories) goes through here, so that
``/dev/zero``, a 2 GB file, gzip bytes, UTF-16 or Latin-1 text are refused with a message naming the file, not a
``MemoryError`` or ``UnicodeDecodeError``.
"""

import gzip
import zlib
from pathlib import Path

from .errors import ChainruleError

MiB = 1 << 20


def read_bytes(path, what: str, limit: int, gunzip: bool = False) -> bytes:
    """At most ``limit`` bytes of ``path`` (decompressed, with ``gunzip``); more is refused, naming the limit."""
    path = Path(path)
    if not path.exists():
        raise ChainruleError(f"{path}: no such {what}")
    if path.is_dir():
        raise ChainruleError(f"{path}: expected a {what}, found a folder")
    if path.is_fifo() or path.is_socket():          # opening a FIFO waits for a writer: forever
        raise ChainruleError(f"{path}: expected a {what}, found a named pipe or socket")
    try:
        opener = gzip.open if gunzip else open
        with opener(path, "rb") as handle:
            data = handle.read(limit + 1)
    except (OSError, EOFError, zlib.error) as exc:
        detail = "the compressed data is truncated or damaged" if gunzip else (getattr(exc, "strerror", None) or exc)
        raise ChainruleError(f"{path}: cannot read the {what} ({detail})") from None
    if len(data) > limit:
        raise ChainruleError(f"{path}: expected a {what} of at most {limit // MiB} MiB"
                             f"{' uncompressed' if gunzip else ''}, found a larger one")
    return data


def decode(data: bytes, path, what: str) -> str:
    """UTF-8 text (a leading byte-order mark dropped); anything else is named, with the byte where it fails."""
    if data[:2] == b"\x1f\x8b":
        raise ChainruleError(f"{path}: expected a {what} as UTF-8 text, found gzip-compressed bytes "
                             f"(decompress it, or name it with a .gz suffix where that is accepted)")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise ChainruleError(f"{path}: expected a {what} as UTF-8 text, found UTF-16 text; save it as UTF-8")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ChainruleError(f"{path}: expected a {what} as UTF-8 text, found a byte that is not UTF-8 "
                             f"(0x{data[exc.start]:02x} on line {line}, byte {exc.start}); save it as UTF-8") from None
    if "\x00" in text:
        line = text[:text.index("\x00")].count("\n") + 1
        raise ChainruleError(f"{path}: expected a {what} as text, found a NUL byte on line {line} (a binary file?)")
    return text


def read_text(path, what: str, limit: int = 4 * MiB, gunzip: bool = False) -> str:
    return decode(read_bytes(path, what, limit, gunzip), path, what)
