"""What ``chainrule grade`` writes, rendered whole before any of it is written: the gradebook, the LMS grade files,
the class summary and each student's feedback.

Nothing is written until every output is rendered and every target checked: no two outputs on one file, none over a
file the grading reads, none replacing an existing file without ``force``, no feedback folder that is a link, every
folder there. Each file is then written whole under a temporary name beside its target (a new feedback folder whole
under a temporary name beside it), and only when all of them are written are they renamed into place: a failure on
the way leaves every existing file as it was and no new one. A link planted at a target is replaced, never written
through.
"""

import hashlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..atomicfile import temporary_name, write_text_atomic
from ..errors import ChainruleError
from .grade import Result, Task
from .submission import shown

NAME_BYTES = 120          # a feedback file's name, in bytes: far from the file system's 255 with its suffix


@dataclass
class Outputs:
    files: dict[Path, str] = field(default_factory=dict)       # path -> text
    folder: Path | None = None                                  # the feedback folder
    feedback: dict[str, str] = field(default_factory=dict)      # file name in the folder -> text
    flags: dict[Path, str] = field(default_factory=dict)       # path -> the flag that named it, for messages
    inputs: set[Path] = field(default_factory=set)             # files the grading read: never written over

    def add(self, path, flag: str, text: str) -> None:
        """One more file to write; a second output on the same file (``--summary book.html`` also writes
        ``book.csv``) is refused, whatever ``force`` says."""
        path = Path(path)
        for other, other_flag in self.flags.items():
            if same_file(path, other):
                raise ChainruleError(f"{flag} {shown(path)}: the same file as {other_flag} {shown(other)}; give each "
                                     f"output its own name")
        self.files[path], self.flags[path] = text, flag


def grade_outputs(results: list[Result], task: Task, args) -> Outputs:
    """Render every output the command line asked for (``args``: out, moodle_grades, canvas_grades, assignment,
    summary, feedback, feedback_format, feedback_answers)."""
    from . import gradebook

    out = Outputs(inputs={Path(task.source)} | {Path(r.source) for r in results}
                  | {Path(p) for p in (getattr(args, "rubric", None), getattr(args, "roster", None)) if p})
    points = task.points or {m.name: m.points for r in results for m in r.marks}
    if args.out:
        out.add(args.out, "--out", gradebook.gradebook_csv(results, points, task.students))
    if args.moodle_grades:
        out.add(args.moodle_grades, "--moodle-grades", gradebook.moodle_grades_csv(
            results, task.students, args.assignment, getattr(args, "moodle_match", "id")))
    if args.canvas_grades:
        out.add(args.canvas_grades, "--canvas-grades", gradebook.canvas_grades_csv(
            results, task.students, args.assignment, sum(points.values())))
    if args.summary:
        from . import summary

        path = Path(args.summary)
        out.add(path, "--summary", summary.summary_html(results, points,
                                                        f"Class summary: {Path(task.source).parent.name}"))
        out.add(path.with_suffix(".csv"), "--summary (its table)", summary.summary_csv(results, points))
    if args.feedback:
        from .feedback import FEEDBACK

        render, suffix = FEEDBACK[args.feedback_format]
        out.folder = Path(args.feedback)
        used: set[str] = set()
        for result in results:
            name = feedback_name(result.student or "no-id", used, suffix)     # never a hidden ".md"
            used.add(name.lower())
            out.feedback[name] = render(result, answers=args.feedback_answers)
    return out


def feedback_name(student: str, used: set[str], suffix: str) -> str:
    """A file name for a student's feedback: the id, cut to ``NAME_BYTES`` with a hash of the whole where longer,
    and unique regardless of case among ``used``, the names given so far, lowercased (a case-insensitive file system
    would merge Ab and AB)."""
    stem = student
    if len(stem.encode("utf-8")) > NAME_BYTES:
        stem = stem.encode("utf-8")[:NAME_BYTES - 17].decode("utf-8", "ignore") + "~" + \
            hashlib.sha256(student.encode("utf-8")).hexdigest()[:16]
    name, number = stem + suffix, 1
    while name.lower() in used:
        number += 1
        name = f"{stem}-{number}{suffix}"
    return name


def same_file(one: Path, other: Path) -> bool:
    """Whether two paths name one file: their folders resolved (``./a`` and ``a``, a folder reached through a link),
    their own names compared as given (a link at the target itself is a file of its own)."""
    return _key(one) == _key(other)


def _key(path: Path) -> tuple[str, str]:
    return os.path.realpath(path.parent), path.name


def write_outputs(out: Outputs, force: bool) -> None:
    """Check every target, write every file under a temporary name beside it, then rename them all into place."""
    targets = _checked(out, force)
    staged: list[tuple[Path, Path]] = []            # (temporary, target)
    staging = None                                  # the feedback's temporary folder
    try:
        for path, text in out.files.items():
            staged.append((_staged(path, text), path))
        if out.folder is not None:
            staging, moves = _staged_feedback(out.folder, out.feedback)
            staged += moves
        for temporary, path in staged:
            try:
                os.replace(temporary, path)
            except OSError as exc:
                raise ChainruleError(f"{targets.get(path, '--feedback')} {shown(path)}: cannot write "
                                     f"({exc.strerror or exc})") from None
    finally:
        for temporary in [t for t, _ in staged] + ([staging] if staging is not None else []):
            _remove(temporary)


def _checked(out: Outputs, force: bool) -> dict[Path, str]:
    """Every target and the flag that named it, after refusing what cannot or may not be written (see the module's
    docstring); nothing is written here."""
    targets = dict(out.flags)
    keys = {_key(path): (flag, path) for path, flag in out.flags.items()}
    if out.folder is not None:
        folder = out.folder
        if folder.is_symlink():
            raise ChainruleError(f"--feedback {shown(folder)}: expected a folder, found a link (not followed)")
        if folder.exists() and not folder.is_dir():
            raise ChainruleError(f"--feedback {shown(folder)}: expected a folder, found a file")
        if not folder.exists() and not folder.parent.is_dir():
            raise ChainruleError(f"--feedback {shown(folder)}: cannot create the folder, {shown(folder.parent)} "
                                 f"does not exist")
        if _key(folder) in keys:
            flag, path = keys[_key(folder)]
            raise ChainruleError(f"{flag} {shown(path)}: the same path as the feedback folder; write it elsewhere")
        inside = os.path.realpath(folder)
        for name in out.feedback:
            if (inside, name) in keys:
                flag, path = keys[inside, name]
                raise ChainruleError(f"{flag} {shown(path)}: the same file as a student's feedback; write it "
                                     f"elsewhere")
            targets[folder / name] = "--feedback"
    read = {_key(path) for path in out.inputs}
    for path, flag in targets.items():
        where = f"{flag} {shown(path)}"
        if _key(path) in read:
            raise ChainruleError(f"{where}: a file this grading reads; write the output elsewhere")
        if flag != "--feedback" and not path.parent.is_dir():
            raise ChainruleError(f"{where}: the folder {shown(path.parent)} does not exist")
        if path.is_symlink() or path.exists():
            if path.is_dir() and not path.is_symlink():
                raise ChainruleError(f"{where}: expected a file to write, found a folder")
            if not force:
                raise ChainruleError(f"{where}: {shown(path.name)} exists; give --force to replace it, or write "
                                     f"elsewhere")
    return targets


def _temporary(path: Path) -> Path:
    return path.with_name(temporary_name(path.name, os.getpid()))


def _staged(path: Path, text: str) -> Path:
    """``text`` written whole (and flushed to disk) under a temporary name beside ``path``."""
    temporary = _temporary(path)
    write_text_atomic(temporary, text)
    return temporary


def _staged_feedback(folder: Path, files: dict[str, str]) -> tuple[Path, list[tuple[Path, Path]]]:
    """Every feedback file written in a new temporary folder beside ``folder``, and what to rename: the whole
    folder where ``folder`` is new, else each file into it."""
    staging = _temporary(folder)
    try:
        staging.mkdir()
    except OSError as exc:
        raise ChainruleError(f"--feedback {shown(folder)}: cannot create the folder ({exc.strerror or exc})") \
            from None
    try:
        for name, text in files.items():
            write_text_atomic(staging / name, text)
    except ChainruleError:
        _remove(staging)
        raise
    if folder.exists():
        return staging, [(staging / name, folder / name) for name in files]
    return staging, [(staging, folder)]


def _remove(temporary: Path) -> None:
    """A staged file or folder that was not renamed into place (nothing, once it was)."""
    try:
        if temporary.is_dir() and not temporary.is_symlink():
            shutil.rmtree(temporary, ignore_errors=True)
        elif temporary.is_symlink() or temporary.exists():
            temporary.unlink()
    except OSError:
        pass
