"""Teaching with chainrule: seeded exercises with answer keys, and grading of worked solutions with error carried
forward. Built on ``chainrule.explain``: the spec reader, the recorded step and the audit."""

from .exercise import Exercise, exercise_document, make_exercise, student_seed
from .sheets import moodle_xml, question_html, question_latex, question_markdown, write_exercise

__all__ = ["Exercise", "exercise_document", "make_exercise", "moodle_xml", "question_html", "question_latex",
           "question_markdown", "student_seed", "write_exercise"]
