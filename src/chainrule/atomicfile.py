"""Writing a file whole or not at all: every file chainrule writes (models, checkpoints, explanations, sheets,
plots, gradebooks) goes to a temporary file beside its target, is flushed to disk and renamed over it, so a crash
or a full disk leaves the old file or the new one, never half of one."""

import os
from pathlib import Path

from .errors import ChainruleError


def write_atomic(path, write) -> None:
    """Call ``write(handle)`` on a temporary file beside ``path``, flush it to disk and rename it over ``path``:
    a crash leaves the old file or the new one, never half of one. Leftover temporary files of killed writers
    (``.NAME.PID.tmp`` whose process is gone) are removed first."""
    path = Path(path)
    if not str(path) or path.name in ("", ".", ".."):
        raise ChainruleError(f"{str(path)!r}: expected a file name to write, found an empty or folder-like name")
    if path.is_dir():
        raise ChainruleError(f"{path}: cannot write, it is a folder")
    if not path.parent.exists():
        raise ChainruleError(f"{path}: cannot write, the folder {path.parent} does not exist")
    remove_stale_temporaries(path)
    temporary = path.with_name(temporary_name(path.name, os.getpid()))
    try:
        with open(temporary, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        raise ChainruleError(f"{path}: cannot write ({exc.strerror or exc})") from None
    finally:
        if temporary.exists():
            temporary.unlink()


def write_text_atomic(path, text: str) -> None:
    write_atomic(path, lambda handle: handle.write(text.encode("utf-8")))


NAME_BYTES = 255        # the longest file name most file systems take, in bytes


def temporary_name(name: str, pid: int) -> str:
    """``.NAME.PID.tmp``; for a name too long to take the extra characters, its first part and a hash of the whole
    (``.NAME-START~HASH.PID.tmp``), so a long name that can be written can be written atomically too."""
    whole = f".{name}.{pid}.tmp"
    if len(whole.encode("utf-8")) <= NAME_BYTES:
        return whole
    return f".{_stem_for(name)}.{pid}.tmp"


def _stem_for(name: str) -> str:
    import hashlib

    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    start = name.encode("utf-8", "surrogatepass")[:160].decode("utf-8", "ignore")
    return f"{start}~{digest}"


def remove_stale_temporaries(path: Path) -> None:
    """Delete ``.NAME.PID.tmp`` files beside ``path`` left by writers that were killed (their PID is gone)."""
    stem = path.name if len(temporary_name(path.name, 0)) == len(path.name) + 7 else _stem_for(path.name)
    for leftover in path.parent.glob(f".{glob_escape(stem)}.*.tmp"):
        pid = leftover.name[len(stem) + 2:-len(".tmp")]
        if pid.isdigit() and not running(int(pid)):
            try:
                leftover.unlink()
            except OSError:
                pass


def glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def running(pid: int) -> bool:
    """Whether process ``pid`` is alive (a leftover temporary of a live writer is not stale)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True
