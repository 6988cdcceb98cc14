"""What ``chainrule grade`` writes, rendered whole before any of it is written: the gradebook, the LMS grade files,
the class summary and each student's feedback. A failure while rendering leaves every existing file as it was; an
existing file is replaced only with ``force``; each file is written atomically, and a new feedback folder appears
whole (it is filled under a temporary name and renamed)."""

import hashlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..atomicfile import write_text_atomic
from ..errors import ChainruleError
from .grade import Result, Task

NAME_BYTES = 120          # a feedback file's name, in bytes: far from the file system's 255 with its suffix


@dataclass
class Outputs:
    files: dict[Path, str] = field(default_factory=dict)       # path -> text
    folder: Path | None = None                                  # the feedback folder
    feedback: dict[str, str] = field(default_factory=dict)      # file name in the folder -> text


def grade_outputs(results: list[Result], task: Task, args) -> Outputs:
    """Render every output the command line asked for (``args``: out, moodle_grades, canvas_grades, assignment,
    summary, feedback, feedback_format, feedback_answers)."""
    from . import gradebook

    out = Outputs()
    points = task.points or {m.name: m.points for r in results for m in r.marks}
    if args.out:
        out.files[Path(args.out)] = gradebook.gradebook_csv(results, points, task.students)
    if args.moodle_grades:
        out.files[Path(args.moodle_grades)] = gradebook.moodle_grades_csv(results, task.students, args.assignment)
    if args.canvas_grades:
        out.files[Path(args.canvas_grades)] = gradebook.canvas_grades_csv(results, task.students, args.assignment,
                                                                          sum(points.values()))
    if args.summary:
        from . import summary

        path = Path(args.summary)
        out.files[path] = summary.summary_html(results, points, f"Class summary: {Path(task.source).parent.name}")
        out.files[path.with_suffix(".csv")] = summary.summary_csv(results, points)
    if args.feedback:
        from .feedback import FEEDBACK

        render, suffix = FEEDBACK[args.feedback_format]
        out.folder = Path(args.feedback)
        for result in results:
            name = feedback_name(result.student, set(out.feedback), suffix)
            out.feedback[name] = render(result, answers=args.feedback_answers)
    return out


def feedback_name(student: str, used: set[str], suffix: str) -> str:
    """A file name for a student's feedback: the id, cut to ``NAME_BYTES`` with a hash of the whole where longer,
    and unique among ``used`` regardless of case (a case-insensitive file system would merge Ab and AB)."""
    stem = student
    if len(stem.encode("utf-8")) > NAME_BYTES:
        stem = stem.encode("utf-8")[:NAME_BYTES - 17].decode("utf-8", "ignore") + "~" + \
            hashlib.sha256(student.encode("utf-8")).hexdigest()[:16]
    name, number = stem + suffix, 1
    while name.lower() in {u.lower() for u in used}:
        number += 1
        name = f"{stem}-{number}{suffix}"
    return name


def write_outputs(out: Outputs, force: bool) -> None:
    """Write everything rendered, after checking that nothing would be replaced without ``force``."""
    targets = list(out.files) + ([out.folder / name for name in out.feedback] if out.folder else [])
    for path in targets:
        if path.is_symlink() or path.exists():
            if path.is_dir() and not path.is_symlink():
                raise ChainruleError(f"{path}: expected a file to write, found a folder")
            if not force:
                raise ChainruleError(f"{path} exists; give --force to replace it, or write elsewhere")
    for path in out.files:
        write_text_atomic(path, out.files[path])
    if out.folder is not None:
        _write_folder(out.folder, out.feedback)


def _write_folder(folder: Path, files: dict[str, str]) -> None:
    if folder.is_symlink():
        raise ChainruleError(f"--feedback {folder}: expected a folder, found a link (not followed)")
    if folder.exists() and not folder.is_dir():
        raise ChainruleError(f"--feedback {folder}: expected a folder, found a file")
    if folder.exists():
        for name, text in files.items():
            write_text_atomic(folder / name, text)
        return
    if not folder.parent.is_dir():
        raise ChainruleError(f"--feedback {folder}: cannot create the folder, {folder.parent} does not exist")
    staging = folder.with_name(f".{folder.name[:100]}.{os.getpid()}.tmp")
    try:
        staging.mkdir()
        for name, text in files.items():
            write_text_atomic(staging / name, text)
        os.rename(staging, folder)
    except OSError as exc:
        raise ChainruleError(f"--feedback {folder}: cannot write the folder ({exc.strerror or exc})") from None
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
