"""Writing an exercise's folder whole or not at all.

An exercise is several folders of files (what students receive, what the teacher keeps), and a class is thousands.
Every file is first written into a fresh hidden folder inside ``--out`` (made with ``mkdtemp``, so nothing planted
there can redirect it); only when every file is written are the finished folders renamed into place. A failure
while rendering or writing leaves ``--out`` as it was. Each of chainrule's folders (``student``, ``teacher``,
``students``) is replaced whole with ``force``: moved aside, the new one renamed in, the old one deleted. A
symbolic link in their place is refused, never written through.
"""

import os
import shutil
import tempfile
from pathlib import Path

from ..atomicfile import running, write_atomic, write_text_atomic
from ..errors import ChainruleError

WORK_PREFIX = ".chainrule-"


def write_folder(folder, files: dict[str, object], force: bool = False) -> list[Path]:
    """Write ``files`` (a path inside ``folder`` such as ``teacher/key.md`` -> its text or bytes, or a function giving it,
    called once, in order) into ``folder``. Returns the paths written, as they lie once in place."""
    folder = Path(folder)
    tops = list(dict.fromkeys(Path(name).parts[0] for name in files))
    _check(folder, tops, force)
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _remove_stale(folder)
        work = Path(tempfile.mkdtemp(prefix=f"{WORK_PREFIX}{os.getpid()}-", dir=folder))
    except OSError as exc:
        raise ChainruleError(f"--out {folder}: cannot create the folder ({exc.strerror or exc})") from None
    try:
        for name, text in files.items():
            target = work / name
            target.parent.mkdir(parents=True, exist_ok=True)
            data = text() if callable(text) else text
            if isinstance(data, bytes):             # a package (zip) beside the text files
                write_atomic(target, lambda handle, data=data: handle.write(data))
            else:
                write_text_atomic(target, data)
        _check(folder, tops, force)          # again: something may have appeared while the files were rendered
        for top in tops:
            _swap(folder / top, work / top, work / f"{top}.replaced")
    except BaseException as exc:
        shutil.rmtree(work, ignore_errors=True)
        if created:                          # the folder this call made, now empty again
            try:
                folder.rmdir()
            except OSError:
                pass
        if isinstance(exc, OSError):
            raise ChainruleError(f"--out {folder}: cannot write ({exc.strerror or exc})") from None
        raise
    shutil.rmtree(work, ignore_errors=True)
    return [folder / name for name in files]


def _swap(target: Path, new: Path, aside: Path) -> None:
    """Rename ``new`` to ``target``, moving an old ``target`` aside first (and back, if the rename fails)."""
    old = target.exists()
    if old:
        os.rename(target, aside)
    try:
        os.rename(new, target)
    except OSError:
        if old:
            os.rename(aside, target)
        raise


def _remove_stale(folder: Path) -> None:
    """Delete the work folders of runs that were killed (``.chainrule-PID-...`` whose process is gone): they may
    hold a key."""
    for leftover in folder.glob(f"{WORK_PREFIX}*-*"):
        pid = leftover.name[len(WORK_PREFIX):].split("-", 1)[0]
        if leftover.is_dir() and not leftover.is_symlink() and pid.isdigit() and not running(int(pid)):
            shutil.rmtree(leftover, ignore_errors=True)


def _check(folder: Path, tops: list[str], force: bool) -> None:
    """Refuse a ``--out`` that is a file, a link in place of one of chainrule's folders, or (without ``force``) an
    exercise already there."""
    if folder.exists() and not folder.is_dir():
        raise ChainruleError(f"--out {folder}: expected a folder, found a file")
    for top in tops:
        path = folder / top
        if path.is_symlink():
            raise ChainruleError(f"--out {folder}: {path} is a symbolic link; expected chainrule's own folder there "
                                 f"or nothing (remove the link, or give another --out)")
        if path.exists() and not path.is_dir():
            raise ChainruleError(f"--out {folder}: {path} is a file; expected chainrule's own folder there or nothing")
        if path.exists() and not force:
            raise ChainruleError(f"--out {folder}: {path} exists; give --force to replace the exercise's folders "
                                 f"({', '.join(tops)}), or another --out")
