"""Teaching with chainrule: seeded exercises with answer keys, one variant per student of a class, and grading of
worked solutions with error carried forward. Built on ``chainrule.explainer``: the spec reader, the recorded step and
the audit."""

from .exercise import Exercise, exercise_document, make_exercise
from .precision import Precision
from .roster import Student, read_roster
from .publish import write_exercise, write_variants
from .moodle import moodle_xml
from .sheets import answers_template, question_html, question_latex, question_markdown
from .variants import variants

__all__ = ["Exercise", "Precision", "Student", "answers_template", "exercise_document", "make_exercise",
           "moodle_xml", "question_html", "question_latex", "question_markdown", "read_roster", "variants",
           "write_exercise", "write_variants"]
