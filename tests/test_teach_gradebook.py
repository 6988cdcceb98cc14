"""The gradebook and the LMS grade files: a small class with known verdicts, every number counted again here; a
student without a submission gets blanks (never 0); hostile names and ids cannot become spreadsheet formulas;
percents round halves up; the Moodle and Canvas files read back with csv have the fields their importers read."""

import csv
import io
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest

from chainrule.errors import ChainruleError
from chainrule.teach.grade import Mark, Result
from chainrule.teach.gradebook import (canvas_grades_csv, gradebook_csv, left_out, moodle_grades_csv, number_text,
                                       percent_text, spreadsheet_cell)
from chainrule.teach.roster import Student

POINTS = {"z1": 1.0, "a1": 1.0, "L": 2.0, "w5'": 0.5}
# what each verdict earns here (the partial policy: half for an imprecise number that agrees)
SHARE = {"agrees": 1, "carried": 1, "imprecise": Fraction(1, 2), "slip": 0, "missing": 0, "degenerate": 0}
VERDICTS = {                                   # id -> verdict per question, in POINTS's order
    "s1": ("agrees", "agrees", "agrees", "agrees"),
    "s2": ("slip", "carried", "carried", "agrees"),
    "s3": ("agrees", "missing", "slip", "imprecise"),
    "zz9": ("agrees", "agrees", "slip", "degenerate"),
}
HOSTILE = "=cmd|' /C calc'!A0"
ROSTER = [Student("s1", HOSTILE, "s1@uni.example"), Student("s2", "\tfoo", "s2@uni.example"),
          Student("s4", "<script>alert(1)</script>", "s4@uni.example"), Student("s3", "Cy"),
          Student("s5", "Ed", "s5@uni.example")]


def result(student, verdicts, name="", flags=()):
    marks = [Mark(q, p, float(p * SHARE[v]), v) for (q, p), v in zip(POINTS.items(), verdicts, strict=True)]
    return Result(student, f"subs/{student}.txt", marks, name=name, flags=list(flags))


def the_class():
    results = [result(s, v) for s, v in VERDICTS.items()]
    results[3].name = "Zed"
    results.append(Result("s5", "subs/s5.toml", problem="subs/s5.toml: not valid TOML (line 2)"))
    return results


def rows(text):
    return list(csv.reader(io.StringIO(text)))


def expected_total(student):
    """Counted here from the verdict table, in exact fractions."""
    return sum(Fraction(p) * SHARE[v] for p, v in zip(POINTS.values(), VERDICTS[student], strict=True))


def half_up(value: Fraction) -> str:
    return str((Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.1"), ROUND_HALF_UP))


def test_the_gradebook_has_a_row_per_roster_student_in_order_then_the_graded_ids_not_on_it():
    table = rows(gradebook_csv(the_class(), POINTS, ROSTER))
    assert table[0] == ["id", "name", "total", "possible", "percent", "slips", "carried", "missing", "z1", "a1", "L",
                        "w5'", "file", "problem"]
    assert [row[0] for row in table[1:]] == ["s1", "s2", "s4", "s3", "s5", "zz9"]
    by_id = {row[0]: dict(zip(table[0], row, strict=True)) for row in table[1:]}
    for student, verdicts in VERDICTS.items():
        row = by_id[student]
        total = expected_total(student)
        assert Fraction(row["total"]) == total and row["possible"] == "4.5"
        assert row["percent"] == half_up(total * 100 / Fraction(9, 2))
        assert [int(row[k]) for k in ("slips", "carried", "missing")] == \
            [verdicts.count("slip"), verdicts.count("carried"), verdicts.count("missing")]
        for (question, points), verdict in zip(POINTS.items(), verdicts, strict=True):
            assert Fraction(row[question]) == Fraction(points) * SHARE[verdict]
        assert row["file"] == f"subs/{student}.txt"
    # the same numbers worked out by hand
    assert [(by_id[s]["total"], by_id[s]["percent"]) for s in ("s1", "s2", "s3", "zz9")] == \
        [("4.5", "100.0"), ("3.5", "77.8"), ("1.25", "27.8"), ("2", "44.4")]
    assert by_id["s3"]["w5'"] == "0.25" and by_id["s3"]["a1"] == "0" and by_id["s2"]["z1"] == "0"
    assert by_id["zz9"]["problem"] == "not on the roster" and by_id["zz9"]["name"] == "Zed"
    assert by_id["s1"]["problem"] == "" and by_id["s3"]["name"] == "Cy"


def test_a_student_without_a_submission_gets_blanks_not_zeros_and_an_ungradable_one_its_problem():
    table = rows(gradebook_csv(the_class(), POINTS, ROSTER))
    by_id = {row[0]: dict(zip(table[0], row, strict=True)) for row in table[1:]}
    absent, broken = by_id["s4"], by_id["s5"]
    for row in (absent, broken):
        assert row["total"] == row["percent"] == row["slips"] == row["carried"] == row["missing"] == ""
        assert all(row[q] == "" for q in POINTS) and row["possible"] == "4.5"
    assert absent["problem"] == "no submission" and absent["file"] == ""
    assert broken["problem"] == "subs/s5.toml: not valid TOML (line 2)" and broken["file"] == "subs/s5.toml"


def test_without_a_roster_one_row_per_result_sorted_by_id():
    results = the_class()[::-1]
    table = rows(gradebook_csv(results, POINTS, []))
    assert [row[0] for row in table[1:]] == ["s1", "s2", "s3", "s5", "zz9"]
    assert all(row[-1] in ("", "subs/s5.toml: not valid TOML (line 2)") for row in table[1:])


def test_teacher_flags_follow_the_problem_and_questions_not_graded_are_blank():
    flagged = result("s1", VERDICTS["s1"], flags=["w5': degenerate carried value", "replaced subs/old.txt"])
    flagged.marks = flagged.marks[:3]                          # w5' not graded for this one
    row = rows(gradebook_csv([flagged], POINTS, []))[1]
    assert row[11] == "" and row[10] == "2"
    assert row[-1] == "w5': degenerate carried value; replaced subs/old.txt"


def test_hostile_names_ids_and_files_cannot_become_formulas():
    nasty = Result("@SUM(1+1)", "=HYPERLINK(\"http://x\")", [Mark("z1", 1.0, 1.0, "agrees")], name="+1-2",
                   flags=["-3"])
    text = gradebook_csv([nasty] + the_class()[:1], {"z1": 1.0, "-z": 1.0}, [Student("s1", HOSTILE),
                                                                             Student("@SUM(1+1)", "\rbar")])
    table = rows(text)
    assert table[0][9] == "'-z"
    assert table[1][1] == "'" + HOSTILE
    assert table[2][:2] == ["'@SUM(1+1)", "'\rbar"]
    assert table[2][-2:] == ["'=HYPERLINK(\"http://x\")", "'-3"]
    for row in table:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    tabbed = rows(gradebook_csv(the_class(), POINTS, ROSTER))
    assert tabbed[2][1] == "'\tfoo" and tabbed[3][1] == "<script>alert(1)</script>"


def test_spreadsheet_cells_and_numbers():
    assert [spreadsheet_cell(t) for t in ("=1", "+1", "-1", "@a", "\tx", "\rx", "a=1", "", "'")] == \
        ["'=1", "'+1", "'-1", "'@a", "'\tx", "'\rx", "a=1", "", "'"]
    assert [number_text(v) for v in (0.0, -0.0, 8.0, 7.5, 0.1 + 0.2, 1.25, 2 / 3)] == \
        ["0", "0", "8", "7.5", "0.3", "1.25", "0.6667"]


@pytest.mark.parametrize("part, whole, text", [
    (0.5, 8, "6.3"),                 # 6.25: the float's own rounding gives 6.2
    (1, 8, "12.5"), (1, 3, "33.3"), (2, 3, "66.7"), (0.1, 0.3, "33.3"), (0.05, 1, "5.0"), (0.0005, 1, "0.1"),
    (0.00049, 1, "0.0"), (9.995, 10, "100.0"), (0, 4.5, "0.0"), (4.5, 4.5, "100.0"), (1, 0, "")])
def test_percent_rounds_halves_up_to_one_decimal(part, whole, text):
    assert percent_text(part, whole) == text


def test_percent_in_the_gradebook_rounds_halves_up():
    half = Result("h", "h.txt", [Mark("q", 8.0, 0.5, "imprecise")])
    assert format(100 * 0.5 / 8, ".1f") == "6.2"
    assert rows(gradebook_csv([half], {"q": 8.0}, []))[1][4] == "6.3"


def test_one_result_per_id_is_asserted():
    twice = [result("s1", VERDICTS["s1"]), result("s1", VERDICTS["s2"])]
    with pytest.raises(AssertionError):
        gradebook_csv(twice, POINTS, [])
    with pytest.raises(AssertionError):
        moodle_grades_csv(twice, [], "Quiz")


def test_moodle_file_by_id_number_carries_graded_roster_students_only():
    text = moodle_grades_csv(the_class(), ROSTER, "Backprop 1")
    table = rows(text)
    assert table[0] == ["ID number", "Backprop 1"]
    assert {row[0]: row[1] for row in table[1:]} == {"s1": "4.5", "s2": "3.5", "s3": "1.25"}
    for student, grade in table[1:]:
        assert Fraction(grade) == expected_total(student) and "," not in grade
    assert left_out(the_class(), ROSTER) == ["s4: no submission", "s5: not graded (subs/s5.toml: not valid TOML "
                                             "(line 2))", "zz9: not on the roster"]
    without_roster = rows(moodle_grades_csv(the_class(), [], "Backprop 1"))
    assert [row[0] for row in without_roster[1:]] == ["s1", "s2", "s3", "zz9"]


def test_moodle_file_by_email_address_leaves_out_students_without_one():
    table = rows(moodle_grades_csv(the_class(), ROSTER, "Backprop 1", match="email"))
    assert table[0] == ["Email address", "Backprop 1"]
    assert table[1:] == [["s1@uni.example", "4.5"], ["s2@uni.example", "3.5"]]
    assert "s3: no email address in the roster" in left_out(the_class(), ROSTER, "moodle", "email")
    with pytest.raises(ChainruleError, match="roster giving each student's email"):
        moodle_grades_csv(the_class(), [], "Backprop 1", match="email")
    twins = [Student("s1", "A", "same@uni.example"), Student("s2", "B", "same@uni.example")]
    with pytest.raises(ChainruleError, match="s1 and s2"):
        moodle_grades_csv(the_class(), twins, "Backprop 1", match="email")


def test_lms_files_refuse_a_bad_match_or_assignment_and_neutralise_the_assignment():
    with pytest.raises(ChainruleError, match="match: expected one of id, email"):
        moodle_grades_csv(the_class(), ROSTER, "Quiz", match="username")
    with pytest.raises(ChainruleError, match="match: expected one of sis, canvas"):
        canvas_grades_csv(the_class(), ROSTER, "Quiz", 4.5, match="email")
    for bad in ("", "   ", "two\nlines", "x" * 256):
        with pytest.raises(ChainruleError, match="assignment: expected"):
            moodle_grades_csv(the_class(), ROSTER, bad)
    assert rows(moodle_grades_csv(the_class(), ROSTER, "=1+1"))[0] == ["ID number", "'=1+1"]
    assert rows(canvas_grades_csv(the_class(), ROSTER, "@Quiz", 4.5))[0][5] == "'@Quiz"


def test_canvas_file_has_the_header_points_possible_and_sis_user_ids():
    table = rows(canvas_grades_csv(the_class(), ROSTER, "Backprop 1", 4.5))
    # the importer: row 0 starts Student, ID; SIS User ID and SIS Login ID follow; Section ends the student columns
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Backprop 1"]
    assert table[1] == ["Points Possible", "", "", "", "", "4.5"]
    students = table[2:]
    assert [row[2] for row in students] == ["s1", "s2", "s3"]
    assert all(row[1] == "" and row[4] == "" for row in students)      # no Canvas ids: match by SIS User ID
    assert [row[0] for row in students] == ["'" + HOSTILE, "'\tfoo", "Cy"]
    assert [row[3] for row in students] == ["s1@uni.example", "s2@uni.example", ""]
    for row in students:
        assert Fraction(row[5]) == expected_total(row[2])


def test_canvas_file_by_canvas_id_needs_numeric_ids():
    numeric = [result("1001", VERDICTS["s1"]), result("1002", VERDICTS["s2"])]
    table = rows(canvas_grades_csv(numeric, [], "Backprop 1", 4.5, match="canvas"))
    assert [(row[1], row[2], row[5]) for row in table[2:]] == [("1001", "", "4.5"), ("1002", "", "3.5")]
    with pytest.raises(ChainruleError, match="'s1': expected Canvas's numeric user id"):
        canvas_grades_csv(the_class(), [], "Backprop 1", 4.5, match="canvas")


@pytest.mark.parametrize("title", ["Final Grade", "Quiz Current Score", "Section", "Points Possible"])
def test_canvas_refuses_an_assignment_name_its_importer_would_skip(title):
    with pytest.raises(ChainruleError, match="Canvas reads as an assignment"):
        canvas_grades_csv(the_class(), ROSTER, title, 4.5)


@pytest.mark.parametrize("points", [0, -1, float("nan"), float("inf"), "4.5", True])
def test_canvas_refuses_points_possible_that_are_not_a_positive_number(points):
    with pytest.raises(ChainruleError, match="points possible: expected a positive number"):
        canvas_grades_csv(the_class(), ROSTER, "Quiz", points)


def test_left_out_names_the_platform_and_match():
    assert left_out(the_class(), ROSTER, "canvas", "sis") == left_out(the_class(), ROSTER)
    with pytest.raises(ChainruleError, match="platform: expected moodle or canvas"):
        left_out(the_class(), ROSTER, "blackboard")
