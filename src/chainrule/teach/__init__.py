"""Teaching with chainrule: seeded exercises with answer keys, one variant per student of a class, and grading of
worked solutions with error carried forward. Built on ``chainrule.explain``: the spec reader, the recorded step and
the audit."""

from .exercise import Exercise, exercise_document, make_exercise
from .precision import Precision
from .roster import Student, read_roster
from .sheets import (answers_template, moodle_xml, question_html, question_latex, question_markdown,
                     write_exercise)
from .variants import variants, write_variants

__all__ = ["Exercise", "Precision", "Student", "answers_template", "exercise_document", "make_exercise",
           "moodle_xml", "question_html", "question_latex", "question_markdown", "read_roster", "variants",
           "write_exercise", "write_variants"]
