"""Benchmarks leave nothing behind: the folders they write and the processes they start are removed when they end,
fail, or are stopped (Ctrl-C, SIGINT, SIGTERM, SIGHUP).

Python's default for SIGTERM ends the process at once, without running a ``finally`` or a ``with`` block: a
stopped benchmark would leave its files on disk and its child processes running. ``run(main)`` makes
SIGTERM and SIGHUP raise ``Stopped`` (SIGINT raises ``KeyboardInterrupt``, as usual), so stopping unwinds through
the same cleanup as a normal end, then exits with 128 + the signal's number. Against an abrupt end (SIGKILL, a
crash) children started with ``python()`` ask Linux to kill them when their parent dies (``PR_SET_PDEATHSIG``).
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

_held: list[int] = []      # signals that arrived while a folder was being made or removed
_holding = False


class Stopped(SystemExit):
    """SIGTERM or SIGHUP arrived: raised in the main thread, never caught by ``except Exception``."""

    def __init__(self, signum: int):
        super().__init__(128 + signum)
        self.signum = signum


def _stop(signum: int) -> BaseException:
    return KeyboardInterrupt() if signum == signal.SIGINT else Stopped(signum)


def _on_signal(signum, frame):
    if _holding:
        _held.append(signum)
        return
    raise _stop(signum)


@contextmanager
def _hold_signals():
    """Signals wait until the block ends (so that a folder is never made without being recorded, nor half
    removed); the first of them is then raised, unless the block itself raised."""
    global _holding
    outer, _holding = _holding, True
    try:
        yield
    finally:
        _holding = outer
        held = [] if outer else _held[:1]
        if not outer:
            _held.clear()
    if held:
        raise _stop(held[0])


def install():
    """SIGTERM (and SIGHUP, unless ignored, as under nohup) raise ``Stopped``; SIGINT raises ``KeyboardInterrupt``
    even where a shell started the benchmark with SIGINT ignored. Call from the main thread."""
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    if hasattr(signal, "SIGHUP") and signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:
        signal.signal(signal.SIGHUP, _on_signal)


def run(main):
    """``main()`` with the handlers of ``install``; a stop prints one line and exits with 128 + the signal."""
    install()
    try:
        return main()
    except KeyboardInterrupt:
        signum = signal.SIGINT
    except Stopped as stop:
        signum = stop.signum
    print(f"{Path(sys.argv[0]).name}: stopped by {signal.Signals(signum).name}; its temporary files and child "
          f"processes are removed", file=sys.stderr)
    raise SystemExit(128 + signum)


@contextmanager
def signals_held():
    """Signals wait until the block ends, then the first is raised: for a step that a stop must not cut in half,
    such as starting or closing a cluster, whose worker processes would otherwise go on writing into a folder after
    it was removed."""
    with _hold_signals():
        yield


@contextmanager
def temporary_folder(parent=None):
    """A new folder ``chainrule-bench-*`` in ``parent`` (default: tempfile's folder), removed with all it holds
    when the block ends, however it ends."""
    path = None
    try:
        with _hold_signals():
            path = Path(tempfile.mkdtemp(prefix="chainrule-bench-", dir=parent))
        yield path
    finally:
        if path is not None:
            _remove(path)


def _remove(path: Path) -> None:
    """``rmtree`` with signals held; a signal that lands before the hold begins (a few bytecodes' window) is kept
    and raised once the folder is gone."""
    pending = None
    for _ in range(3):
        try:
            with _hold_signals():
                shutil.rmtree(path, ignore_errors=True)
            break
        except (KeyboardInterrupt, Stopped) as stop:
            pending = pending or stop
    if pending is not None:
        raise pending


# Run first in every child: PR_SET_PDEATHSIG (option 1) has Linux kill the child when the thread that started it
# ends; the parent check covers a parent that ended before the child got that far.
DIE_WITH_PARENT = """import ctypes as _ctypes, os as _os, signal as _signal, sys as _sys
if _sys.platform.startswith("linux"):
    _ctypes.CDLL(None).prctl(1, _signal.SIGKILL)
    if _os.getppid() != {parent}:
        _os._exit(1)
"""


def python(code: str, *args) -> subprocess.CompletedProcess:
    """``python -c code args...`` in a child process, its output captured (text); raises CalledProcessError if it
    fails. Whatever stops the wait (a signal's exception included), ``subprocess.run`` kills and reaps the child
    before passing it on; if this process dies abruptly, Linux kills the child (``DIE_WITH_PARENT``)."""
    prelude = DIE_WITH_PARENT.format(parent=os.getpid())
    return subprocess.run([sys.executable, "-c", prelude + code, *map(str, args)], capture_output=True, text=True,
                          check=True)
