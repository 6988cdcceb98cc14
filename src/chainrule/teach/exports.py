"""The writers that put an exercise where a class already works, by name: each takes the exercise (or a class's
variants) and gives the files it adds to the teacher's folder. Moodle's files are always written; the others on
request (``chainrule exercise --numbas --canvas --gradescope --prairielearn``).

Which keep error carried forward: Numbas (adaptive marking, wired from the derivation), Gradescope and PrairieLearn
(chainrule's own grader runs there). Moodle's and Canvas's own questions mark each quantity alone.
"""

from . import canvas, gradescope, moodle, numbas, prairielearn

WRITERS = {"numbas": numbas, "canvas": canvas, "gradescope": gradescope, "prairielearn": prairielearn}


def export_files(ex, wanted, options: dict | None = None) -> dict[str, object]:
    """``teacher/``-relative path -> text or bytes for one exercise: Moodle's, then each writer ``wanted`` names."""
    options = options or {}
    files = dict(moodle.files(ex))
    for name in wanted:
        files |= WRITERS[name].files(ex, **options.get(name, {}))
    return files


def class_export_files(found, students, wanted, options: dict | None = None) -> dict[str, object]:
    """The same for a class: each writer's files for every student's variant (PrairieLearn draws its own variants
    per student, so a class gets the one question, from the first variant's options)."""
    options = options or {}
    files = dict(moodle.class_files(found, students))
    for name in wanted:
        writer = WRITERS[name]
        if hasattr(writer, "class_files"):
            kwargs = {k: v for k, v in options.get(name, {}).items() if k != "numbas"}
            files |= writer.class_files(found, students, **kwargs)
        else:
            files |= writer.files(next(iter(found.values())), **options.get(name, {}))
    return files
