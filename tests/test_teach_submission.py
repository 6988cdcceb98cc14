"""Submissions read as students write them: every notation the sheet prints, numbers as people type them, each
format, ids, and hostile files (links, FIFOs, nesting bombs, huge exponents, control characters) that must come back
as a reason, quickly, and never stop the batch."""

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.errors import ChainruleError
from chainrule.explainer.latex import latex_name
from chainrule.explainer.notation import unicode_name
from chainrule.teach import submission as sub
from chainrule.teach.submission import (FOLDER_ID, STUDENT_ID, Names, fold, read_number, read_submission,
                                        submissions_in)

# A 2-2-2 network: inputs x1 x2, weights w1..w8, biases b1..b4, targets t1 t2, hidden z1 z2 -> a1 a2, outputs
# z3 z4 -> yhat1 yhat2, loss L, its gradients, and each parameter after the step (w5') and its change (Delta_w5).
PARAMETERS = [f"w{i}" for i in range(1, 9)] + [f"b{i}" for i in range(1, 5)]
GIVEN = {"x1", "x2", "t1", "t2", "eta", *PARAMETERS}
KNOWN = (GIVEN | {f"z{i}" for i in range(1, 5)} | {"a1", "a2", "yhat1", "yhat2", "L", "dL/dyhat1", "dL/dyhat2"}
         | {f"dL/dz{i}" for i in range(1, 5)} | {f"dL/d{p}" for p in PARAMETERS} | {f"{p}'" for p in PARAMETERS}
         | {f"Delta_{p}" for p in PARAMETERS} | {"da1/dz1", "da2/dz2", "dL/da1_via_z3", "dL/da1_via_z4"})
ASKED = ["z1", "a1", "yhat1", "yhat2", "L", "dL/dyhat1", "dL/dz3", "dL/dw1", "dL/dw5", "w1'", "w5'", "Delta_w5"]
NAMES = Names(list(ASKED), set(GIVEN), set(KNOWN))
SUPERSCRIPT = Names(list(ASKED), set(GIVEN), set(KNOWN), superscript=["z", "a"])


def write(folder: Path, name: str, text) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def read(folder, name, text, hint=None, names=NAMES):
    return read_submission(write(folder, name, text), names, hint)


def in_subprocess(code: str, timeout: float = 20):
    """Run a read in a child process so that a regression that blocks fails the test instead of hanging it."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return done.stdout


# ---- names ----

@pytest.mark.parametrize("written, name", [
    ("ŷ1", "yhat1"), ("yhat1", "yhat1"), ("ŷ₁", "yhat1"), ("y_hat_1", "yhat1"), ("Ŷ1", "yhat1"),
    ("∂L/∂w5", "dL/dw5"), ("dL/dw5", "dL/dw5"), ("∂L/∂w₅", "dL/dw5"), ("dL / dw5", "dL/dw5"),
    (" dL/d w5 ", "dL/dw5"), ("dl/dw5", "dL/dw5"), ("∂L∕∂w₅", "dL/dw5"), ("𝜕L/𝜕w5", "dL/dw5"), ("∂L/∂ŷ₁", "dL/dyhat1"),
    ("w5′", "w5'"), ("w5'", "w5'"), ("w5’", "w5'"), ("w5‘", "w5'"), ("w5`", "w5'"), ("w5+", "w5'"),
    ("w₅′", "w5'"), ("w5´", "w5'"), ("w5^+", "w5'"), ("w₅⁺", "w5'"), ("w_5'", "w5'"),
    ("Δw5", "Delta_w5"), ("Delta_w5", "Delta_w5"), ("Δw₅", "Delta_w5"), ("∆w5", "Delta_w5"),
    ("delta w5", "Delta_w5"),
    ("η", "eta"), ("eta", "eta"), ("z⁽¹⁾", "z1"), ("z^(1)", "z1"), ("z_1", "z1"), ("z₁", "z1"),
    ("∂a₁/∂z₁", "da1/dz1"), ("∂L/∂a₁ (via z₃)", "dL/da1_via_z3"),
    (r"\frac{\partial L}{\partial w_{5}}", "dL/dw5"), (r"\partial L/\partial w_5", "dL/dw5"),
    (r"\hat{y}_{1}", "yhat1"), (r"{w_{5}}'", "w5'"), (r"\Delta w_{5}", "Delta_w5"), (r"\eta", "eta"),
])
def test_every_printed_notation_reaches_the_canonical_name(written, name):
    assert NAMES.lookup.resolve(written) == (name, "")


def test_a_name_not_of_the_exercise_is_unknown_with_the_nearest_one():
    assert NAMES.lookup.resolve("z9")[1].startswith('; did you mean "z')
    assert NAMES.lookup.resolve("dL/dv5") == (None, '; did you mean "dL/dw5"?')
    assert NAMES.lookup.resolve("x" * 500)[0] is None


def test_case_is_ignored_only_where_it_leaves_one_name():
    names = Names(["L", "l"], set(), {"L", "l", "z1"})
    assert names.lookup.resolve("L") == ("L", "") and names.lookup.resolve("l") == ("l", "")
    assert names.lookup.resolve("Z1") == ("z1", "")


PRIMES = ["'", "′", "’", "‘", "`", "+"]
SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(sorted(KNOWN)), form=st.sampled_from(["plain", "unicode", "latex"]),
       prime=st.sampled_from(PRIMES), spaces=st.lists(st.integers(0, 40), max_size=4),
       superscript=st.booleans(), subscripts=st.booleans())
def test_any_folded_notation_of_any_known_name_maps_back_to_it(name, form, prime, spaces, superscript, subscripts):
    names = SUPERSCRIPT if superscript else NAMES
    text = {"plain": name, "unicode": unicode_name(name, names.superscript),
            "latex": latex_name(name, names.superscript)}[form]
    if form != "latex":
        text = text[:-1] + prime if text.endswith(("'", "′")) else text
        text = text.translate(SUBSCRIPTS) if subscripts else text
        for at in spaces:
            text = text[:at] + " " + text[at:]
    assert names.lookup.resolve(text) == (name, "")


# ---- numbers ----

@pytest.mark.parametrize("text, number", [
    ("0.43", "0.43"), ("0,43", "0.43"), ("-1,2e-3", "-1.2e-3"), ("+0.5", "0.5"), ("  0.430  ", "0.430"),
    ("−0.43", "-0.43"), ("–0.43", "-0.43"), ("4.3×10^-3", "4.3e-3"), ("4.3 × 10⁻³", "4.3e-3"),
    ("4.3x10^(-3)", "4.3e-3"), ("4.30E-3", "4.30e-3"), (".5", "0.5"), ("5.", "5"), ("０.４３", "0.43"),
    ("**0.43**", "0.43"), ("`0.43`", "0.43"),
    ("1e300", "1e300"), ("-0", "-0"),
])
def test_numbers_as_people_type_them_keep_their_digits(text, number):
    value, why = read_number(text)
    assert why == "" and value == Decimal(number)
    assert value.as_tuple().digits == Decimal(number).as_tuple().digits      # precision is judged from these


@pytest.mark.parametrize("text, why", [
    ("0.4.3", "'0.4.3' is not a number"), ("1,234.5", "is not a number"), ("nan", "is not a number"),
    ("NaN", "is not a number"), ("Infinity", "is not a number"), ("-inf", "is not a number"),
    ("1e-999999999", "out of range"), ("1e999999", "out of range"), ("1e301", "out of range"),
    ("1" * 41, "more than 40 digits"), ("0 43", "a space between digits"), ("0x1F", "is not a number"),
    ("0.43 (rounded)", "is not a number"), ("9" * 5000, "is not a number"), ("1/3", "is not a number"),
])
def test_what_is_not_a_number_says_why(text, why):
    value, reason = read_number(text)
    assert value is None and why in reason


@pytest.mark.parametrize("text", ["", "   ", "?", "...", "-", "—", "___"])
def test_blank_answers(text):
    assert read_number(text) == (None, "blank")


def test_extreme_numbers_are_refused_never_converted():
    for text in ["1e-999999999", "1e999999999999999999", "9" * 100_000, "1" * 40 + "e" + "9" * 50]:
        assert read_number(text)[0] is None


@settings(max_examples=200, deadline=None)
@given(st.decimals(allow_nan=False, allow_infinity=False).filter(
    lambda d: len(d.as_tuple().digits) <= 40 and (not d or -300 <= d.adjusted() <= 300)))
def test_a_decimal_written_with_a_comma_reads_back_exactly(value):
    plain = format(value, "f")
    text = (plain if sum(c.isdigit() for c in plain) <= 40 else format(value, "e")).replace(".", ",")
    number, why = read_number(text)
    assert why == "" and number == value


# ---- one file: every line graded ----

def test_each_line_is_graded_and_each_ignored_line_is_named(tmp_path):
    s = read(tmp_path, "alice.txt", "\n".join([
        "# my answers",                 # 1
        "id = alice",                   # 2
        "name: Alice Smith",            # 3
        "ŷ1 = 0,2928",                  # 4
        "x1 = 0.4",                     # 5  restated given
        "w1 = 0.3",                     # 6  restated given
        "dL/dw5 =",                     # 7  blank
        "L = 0.4.3",                    # 8  unreadable
        "z9 = 1.0",                     # 9  unknown
        "z2 = 0.5",                     # 10 known, not asked
        "yhat1 = 0.3",                  # 11 second answer
        "η = 0.5",                      # 12 restated given
        "w5' = 0.41  # after the step",  # 13
        "yhat2: -0.07",                 # 14
        "what is this",                 # 15 not a line
    ]))
    assert s.problem == "" and s.student == "alice" and s.name == "Alice Smith"
    assert s.values == {"yhat1": Decimal("0.2928"), "w5'": Decimal("0.41"), "yhat2": Decimal("-0.07")}
    assert s.written == {"yhat1": "0,2928", "w5'": "0.41", "yhat2": "-0.07"}
    assert s.missing["dL/dw5"] == "left blank on line 7"
    assert s.missing["L"] == "line 8: '0.4.3' is not a number"
    assert s.missing["z1"] == "not in the file"
    assert set(s.missing) == set(ASKED) - set(s.values)
    notes = "\n".join(s.notes)
    assert "line 9: 'z9' is not a quantity of this exercise; ignored" in notes
    assert "given on the sheet, so ignored: x1 (line 5), w1 (line 6), eta (line 12)" in notes
    assert "not asked for, so not marked: z2 (line 10)" in notes and s.extra == {"z2": Decimal("0.5")}
    assert "line 11: yhat1 again ('0.3'); the first answer, 0,2928 on line 4, is kept" in notes
    assert "line 15: expected name = value, found 'what is this'; ignored" in notes


def test_a_later_number_fills_an_earlier_blank_line(tmp_path):
    s = read(tmp_path, "bob.txt", "z1 =\nz1 = 0.5\nL = ?\n")
    assert s.values["z1"] == Decimal("0.5") and "z1" not in s.missing and s.missing["L"] == "left blank on line 3"


def test_working_shown_on_the_line_counts_the_last_number(tmp_path):
    s = read(tmp_path, "carol.txt", "z1 = 0.3·0.4 + 0.2·0.5 + 0.1 = 0.32\nz1:=0.5\n")
    assert s.values["z1"] == Decimal("0.32")


def test_a_name_then_a_number_without_a_sign(tmp_path):
    s = read(tmp_path, "dan.txt", "dL / dw5 0,012\nhello there\n")
    assert s.values == {"dL/dw5": Decimal("0.012")}


def test_a_filled_in_markdown_sheet_is_read_and_its_prose_is_not_noted(tmp_path):
    text = "\n".join(["# Exercise", "", "- Network: 2-2-2, sigmoid.", "", "## Given", "", "| quantity | value |",
                      "|---|---|", "| $x_{1}$ | 0.4 |", "", "## Questions", "",
                      r"1. $\frac{\partial L}{\partial w_{5}}$ = 0.0123",
                      r"2. $\hat{y}_{1}$ = **0.2928**", r"3. ${w_{5}}'$ = ?", "4. $z_{9}$ = 3"])
    s = read(tmp_path, "erin.md", text)
    assert s.values == {"dL/dw5": Decimal("0.0123"), "yhat1": Decimal("0.2928")}
    assert s.missing["w5'"] == "left blank on line 15"
    assert s.notes == ["line 16: 'z_{9}' is not a quantity of this exercise; ignored",
                       "given on the sheet, so ignored: x1 (line 9)"]


def test_long_lines_are_quoted_cut_and_escaped(tmp_path):
    s = read(tmp_path, "fay.txt", "z1 = " + "9" * 200 + "\x1b[31m\n" + "\x1b]0;owned\x07" + "y" * 100 + " = 1\n")
    assert s.missing["z1"].startswith("line 1: '999") and "..." in s.missing["z1"]
    assert len(s.missing["z1"]) < 120
    assert all("\x1b" not in n and "\x07" not in n for n in s.notes)
    assert "\\x1b]0;owned\\x07" in s.notes[0]


def test_notes_are_capped(tmp_path):
    s = read(tmp_path, "gus.txt", "".join(f"q{i} = 1\nx1 = 1\n" for i in range(5000)))
    assert len(s.notes) <= sub.MAX_NOTES and s.notes[-2] == f"... and {5000 - sub.MAX_NOTES + 3} more lines ignored"
    assert s.notes[-1].startswith("given on the sheet, so ignored: x1 (line 2), x1 (line 4)")
    assert s.notes[-1].endswith("and 4980 more")


# ---- formats ----

def test_csv_rows_with_header_decimal_commas_and_semicolons(tmp_path):
    s = read(tmp_path, "hal.csv", "quantity,answer\nid,hal\nz1,0,43\ndL/dw5,\n\"∂L/∂w₁\",-1.5e-2\nw5',0.4,\n")
    assert s.student == "hal" and s.values == {"z1": Decimal("0.43"), "dL/dw1": Decimal("-0.015"),
                                               "w5'": Decimal("0.4")}
    assert s.missing["dL/dw5"] == "left blank on line 4"
    s = read(tmp_path, "ida.csv", "name;value\nz1;0,43\nL;1,2\n")
    assert s.values == {"z1": Decimal("0.43"), "L": Decimal("1.2")}
    s = read(tmp_path, "jo.tsv", "z1\t0,43\n")
    assert s.values == {"z1": Decimal("0.43")}
    s = read(tmp_path, "kim.csv", "name,Kim Lee\nz1,0.5\n")
    assert s.name == "Kim Lee" and s.values == {"z1": Decimal("0.5")}


def test_toml_table(tmp_path):
    s = read(tmp_path, "lee.toml", 'id = 12345\nname = "Lee"\n"dL/dw5" = 0.0120\n"ŷ₁" = "0,29"\nz1 = 1e-999999999\n'
                                   'L = nan\na1 = true\n')
    assert s.problem == "" and s.student == "12345" and s.name == "Lee"
    assert s.values == {"dL/dw5": Decimal("0.0120"), "yhat1": Decimal("0.29")}
    assert s.written["dL/dw5"] == "0.0120"
    assert "out of range" in s.missing["z1"] and s.missing["z1"].startswith("line 5: ")
    assert "is not a number" in s.missing["L"] and s.missing["a1"] == "line 7: true is not a number"


def test_toml_that_does_not_parse_names_the_line_and_how_to_quote(tmp_path):
    s = read(tmp_path, "max.toml", "id = 'max'\ndL/dw5 = 0.1\n")
    assert s.problem.startswith(f"{tmp_path / 'max.toml'}: line 2: not valid TOML")
    assert "'dL/dw5 = 0.1'" in s.problem and '"dL/dw5" = 0.1' in s.problem
    assert s.values == {} and s.student == "max"


def test_json_table(tmp_path):
    s = read(tmp_path, "ned.json", '{"id": "ned", "z1": 0.430, "w5\'": "0,4", "L": null, "a1": NaN, '
                                   '"z1": 0.5, "x1": 0.4}')
    assert s.values == {"z1": Decimal("0.430"), "w5'": Decimal("0.4")} and s.written["z1"] == "0.430"
    assert s.missing["L"] == "left blank on line 1" and "is not a number" in s.missing["a1"]
    assert any("z1 again" in n for n in s.notes) and any("x1 (line 1)" in n for n in s.notes)


def test_json_keys_are_placed_on_their_lines(tmp_path):
    s = read(tmp_path, "oli.json", json.dumps({"z1": 1, "zz": 2, "L": ""}, indent=1))
    assert s.notes[0].startswith("line 3: 'zz'") and s.missing["L"] == "left blank on line 4"


@pytest.mark.parametrize("name, text, found", [
    ("a.json", '{"z1": [0.4]}', "line 1: expected a flat table of name = value, found a list inside it"),
    ("b.json", '{"z1": {"v": 1}}', "found a table inside it"),
    ("c.json", "[1, 2]", "expected a table of name = value, found a list"),
    ("d.json", '"z1"', "found text"),
    ("e.json", '{"z1": 0.4,\n "L" 1}', "line 2: not valid JSON (Expecting ':' delimiter): '\"L\" 1}'"),
    ("f.toml", "[answers]\nz1 = 0.4\n", "line 1: expected a flat table of name = value, found a list or a [section]"),
    ("g.toml", "id = 'x'\nz1 = [0.4]\n", "line 2: expected a flat table of name = value, found a list or a [section] "
                                       "('z1 = [0.4]')"),
    ("h.toml", 'z1 = { v = 1 }\n', "found an inline table"),
    ("i.toml", "z1 = 1\nz1 = 2\n", "line 2: not valid TOML"),
])
def test_tables_that_are_not_flat_or_do_not_parse(tmp_path, name, text, found):
    s = read(tmp_path, name, text)
    assert s.problem.startswith(str(tmp_path / name) + ": ") and found in s.problem and s.values == {}


@pytest.mark.parametrize("name, bomb", [
    ("deep.json", "[" * 100_000 + "]" * 100_000), ("deep2.json", '{"a":' * 100_000 + "1" + "}" * 100_000),
    ("deep.toml", "a = " + "[" * 100_000 + "]" * 100_000), ("deep2.toml", "a = " + "{b=" * 50_000 + "1" + "}" * 50_000),
])
def test_nesting_bombs_are_refused_before_the_parser(tmp_path, name, bomb):
    s = read(tmp_path, name, bomb)
    assert "expected a" in s.problem


def test_brackets_inside_strings_are_not_nesting(tmp_path):
    s = read(tmp_path, "pam.toml", '"z1" = "0.4"  # [not a table]\nname = "[{pam}]"\n')
    assert s.problem == "" and s.values == {"z1": Decimal("0.4")}


# ---- ids ----

@pytest.mark.parametrize("line, student", [
    ("id = alice", "alice"), ("id: 12345", "12345"), ("ID = zoë", "zoë"), ("id = zoe\u0308", "zoë"),
    ("id = 渡辺", "渡辺"), ("student id: s.smith@uni.edu", "s.smith@uni.edu"), ("id = 007", "007"),
])
def test_ids_of_any_script(tmp_path, line, student):
    assert read(tmp_path, "x.txt", f"{line}\nz1 = 1\n").student == student


@pytest.mark.parametrize("name, text, found", [
    ("a.json", '{"id": 1e999999999, "z1": 1}', "found the number '1e999999999'"),
    ("b.json", '{"id": ' + "9" * 65 + "}", "found the number '" + "9" * 50),
    ("c.toml", "id = 1e999999999\n", "found the number '1e999999999'"),
    ("d.toml", "id = -5\n", "found -5"),
    ("e.json", '{"id": true}', "found true"),
    ("f.txt", "id = ../../etc/passwd\n", "found '../../etc/passwd'"),
    ("g.txt", "id = bad\x1b[2Jid\n", "found 'bad\\x1b[2Jid'"),
    ("h.txt", "id = " + "a" * 65 + "\n", "found 'aaaa"),
    ("i.txt", "id = two words\n", "found 'two words'"),
])
def test_an_invalid_id_is_a_problem_naming_the_file_and_what_was_found(tmp_path, name, text, found):
    s = read(tmp_path, name, text)
    assert s.problem.startswith(f"{tmp_path / name}: id (line 1): expected a student id") and found in s.problem
    assert "\x1b" not in s.problem and s.values == {}


def test_a_64_digit_number_is_an_id(tmp_path):
    assert read(tmp_path, "n.json", '{"id": ' + "9" * 64 + "}").student == "9" * 64


def test_without_an_id_line_the_folder_then_the_file_name(tmp_path):
    assert read(tmp_path, "answers.txt", "z1 = 1\n", hint="Anna Maria O'Neil").student == "Anna Maria O'Neil"
    assert read(tmp_path, "bea.txt", "z1 = 1\n").student == "bea"
    assert read(tmp_path, "cy.txt", "id = cyrus\n", hint="folder").student == "cyrus"
    s = read(tmp_path, "my answers.txt", "z1 = 1\n")
    assert s.student == "" and "the file's name 'my answers' is not a student id" in s.problem
    s = read(tmp_path, "answers2.txt", "z1 = 1\n", hint="a/b")
    assert s.student == "" and "its folder suggests 'a/b'" in s.problem


def test_a_second_id_is_noted_and_a_blank_id_is_ignored(tmp_path):
    s = read(tmp_path, "dee.txt", "id =\nid = dee\nid = other\n")
    assert s.student == "dee" and any("a second id ('other')" in n for n in s.notes)
    assert s.notes[0] == "line 1: 'id' is blank; ignored"
    s = read(tmp_path, "eve.json", '{"id": null, "z1": 1}')
    assert s.student == "eve" and s.notes == ["line 1: 'id' is blank; ignored"]


# ---- whole files ----

def test_symlinks_are_not_followed(tmp_path):
    target = write(tmp_path, "real.txt", "id = real\nz1 = 1\n")
    (tmp_path / "link.txt").symlink_to(target)
    s = read_submission(tmp_path / "link.txt", NAMES)
    assert "a symbolic link, not followed" in s.problem and s.values == {} and s.student == "link"


def test_a_fifo_is_never_opened(tmp_path):
    os.mkfifo(tmp_path / "pipe.txt")
    (tmp_path / "alice").mkdir()
    os.mkfifo(tmp_path / "alice" / "answers.txt")
    write(tmp_path, "ok.txt", "z1 = 1\n")
    out = in_subprocess(f"""
from chainrule.teach.submission import Names, read_submission, submissions_in
print(read_submission({str(tmp_path / "pipe.txt")!r}, Names(["z1"], set(), {{"z1"}})).problem)
found, notes = submissions_in([{str(tmp_path)!r}, {str(tmp_path / "pipe.txt")!r}])
print([p.name for p, _ in found])
print(*notes, sep="\\n")
""")
    assert "pipe.txt: expected a regular file, found a FIFO (named pipe)" in out
    assert "['ok.txt']" in out
    assert "pipe.txt: skipped: a FIFO (named pipe), not read" in out
    assert "alice/answers.txt: skipped: a FIFO (named pipe), not read" in out


def test_devices_and_folders_are_not_read():
    assert "found a character device" in read_submission("/dev/zero", NAMES).problem
    assert "found a folder" in read_submission("/tmp", NAMES).problem
    assert "cannot read the submission (No such file or directory)" in read_submission("/nope.txt", NAMES).problem


def test_the_size_limit(tmp_path):
    at_limit = "z1 = 1\n" + "#" * (sub.MAX_SUBMISSION_BYTES - 8) + "\n"
    assert read(tmp_path, "big.txt", at_limit).values == {"z1": Decimal(1)}
    s = read(tmp_path, "bigger.txt", at_limit + "x")
    assert s.problem == f"{tmp_path / 'bigger.txt'}: expected a submission of at most 1 MiB, found 1.0 MiB"


def test_encodings(tmp_path):
    assert read(tmp_path, "bom.txt", b"\xef\xbb\xbfz1 = 0,5\n").values == {"z1": Decimal("0.5")}
    assert read(tmp_path, "u16.txt", "z1 = 0,5\n".encode("utf-16")).values == {"z1": Decimal("0.5")}
    s = read(tmp_path, "latin.txt", "z1 = 0,5 \xb5\n".encode("latin-1"))
    assert "not UTF-8 (0xb5 on line 1" in s.problem
    assert "NUL byte" in read(tmp_path, "bin.txt", b"z1 = 1\n\x00\x01").problem
    assert "found bytes that are neither (starting ff fe 00 7a)" in read(tmp_path, "b.txt", b"\xff\xfe\x00z").problem
    assert "neither" in read(tmp_path, "odd.txt", b"\xff\xfez\x00z").problem


def test_control_characters_in_a_file_name_are_escaped(tmp_path):
    s = read(tmp_path, "evil\x1b[2J.txt", "\xff")
    assert "\x1b" not in s.problem and "evil\\x1b[2J.txt" in s.problem and s.student == ""
    write(tmp_path / "subs", "\x1b]0;x\x07.swp", "z1 = 1")
    write(tmp_path / "subs", "ok.txt", "z1 = 1")
    (tmp_path / "subs" / "link\x1b.txt").symlink_to(tmp_path / "subs" / "ok.txt")
    found, notes = submissions_in([tmp_path / "subs"])
    assert len(notes) == 2 and all("\x1b" not in n and "\x07" not in n for n in notes)
    assert any("link\\x1b.txt: skipped: a symbolic link (not followed)" in n for n in notes)


def test_modified_time_is_the_files(tmp_path):
    path = write(tmp_path, "t.txt", "z1 = 1")
    os.utime(path, (1_000_000, 1_234_567))
    assert read_submission(path, NAMES).modified == 1_234_567


# ---- folders as learning platforms download them ----

def test_moodle_per_student_folders(tmp_path):
    subs = tmp_path / "moodle"
    write(subs, "Anna Maria Smith_123456_assignsubmission_file_/answers.txt", "z1 = 1")
    old = write(subs, "Bo Li_223344_assignsubmission_file_/draft.txt", "z1 = 2")
    os.utime(old, (1, 1))
    write(subs, "Bo Li_223344_assignsubmission_file_/final.csv", "z1,3")
    write(subs, "Bo Li_223344_assignsubmission_file_/working.pdf", b"%PDF")
    write(subs, "Cy_Dee_7_334455_assignsubmission_onlinetext_/onlinetext.html", "<p>hi</p>")
    found, notes = submissions_in([subs])
    assert [(p.name, hint) for p, hint in found] == [("answers.txt", "Anna Maria Smith"), ("final.csv", "Bo Li")]
    assert any("draft.txt: skipped: Bo Li_223344_assignsubmission_file_ holds several submission files; read the "
               "newest, final.csv" in n for n in notes)
    assert any("working.pdf: skipped: not a submission's format" in n for n in notes)
    assert any("Cy_Dee_7_334455_assignsubmission_onlinetext_: skipped: holds no submission file" in n for n in notes)
    assert read_submission(*found[0][:1], NAMES, found[0][1]).student == "Anna Maria Smith"


def test_moodle_flat_download(tmp_path):
    write(tmp_path / "m", "Ann Lee_123456_assignsubmission_file_answers.txt", "z1 = 1")
    assert submissions_in([tmp_path / "m"])[0] == [(tmp_path / "m/Ann Lee_123456_assignsubmission_file_answers.txt",
                                                    "Ann Lee")]


def test_canvas_download(tmp_path):
    subs = tmp_path / "canvas"
    write(subs, "smithjohn_12345_67890_answers.txt", "z1 = 1")
    write(subs, "doejane_late_23456_78901_answers-1.csv", "z1,1")
    write(subs, "plain.txt", "z1 = 1")
    found, _ = submissions_in([subs])
    assert [(p.name, hint) for p, hint in found] == [("doejane_late_23456_78901_answers-1.csv", "doejane"),
                                                     ("plain.txt", None),
                                                     ("smithjohn_12345_67890_answers.txt", "smithjohn")]
    assert read_submission(found[0][0], NAMES, found[0][1]).student == "doejane"


def test_plain_per_student_folders_one_level_deep(tmp_path):
    subs = tmp_path / "subs"
    write(subs, "alice/answers.txt", "z1 = 1")
    write(subs, "bob/work/answers.txt", "z1 = 1")
    write(subs, "bob/answers.json", '{"z1": 1}')
    write(subs, ".hidden.txt", "z1 = 1")
    write(subs, "carol.txt~", "z1 = 1")
    write(subs, "__MACOSX/._alice", "junk")
    found, notes = submissions_in([subs])
    assert [(p.relative_to(subs).as_posix(), hint) for p, hint in found] == [("alice/answers.txt", "alice"),
                                                                           ("bob/answers.json", "bob")]
    joined = "\n".join(notes)
    for expected in ["bob/work: skipped: a folder two levels down", ".hidden.txt: skipped: hidden",
                     "carol.txt~: skipped: an editor's backup", "__MACOSX: skipped: an archive's resource folder"]:
        assert expected in joined


def test_named_files_and_folders(tmp_path):
    a = write(tmp_path, "a.txt", "z1 = 1")
    write(tmp_path / "more", "b.txt", "z1 = 1")
    found, notes = submissions_in([a, tmp_path / "more", a])
    assert [p.name for p, _ in found] == ["a.txt", "b.txt"] and notes == []
    assert submissions_in(str(a)) == ([(a, None)], [])
    (tmp_path / "elsewhere").symlink_to(tmp_path / "more")
    with pytest.raises(ChainruleError, match=r"found none \(1 skipped: .*elsewhere: skipped: a symbolic link"):
        submissions_in([tmp_path / "elsewhere"])
    with pytest.raises(ChainruleError, match="expected a submission file or folder, found nothing at .*nope"):
        submissions_in([tmp_path / "nope"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ChainruleError, match="expected submission files, found none"):
        submissions_in([tmp_path / "empty"])


def test_too_many_submissions(tmp_path, monkeypatch):
    monkeypatch.setattr(sub, "MAX_SUBMISSIONS", 3)
    for i in range(4):
        write(tmp_path / "subs", f"s{i}.txt", "z1 = 1")
    with pytest.raises(ChainruleError, match="expected at most 3 submission files, found more"):
        submissions_in([tmp_path / "subs"])


def test_large_files_are_still_listed(tmp_path):
    write(tmp_path / "subs", "big.txt", "#" * (2 * sub.MAX_SUBMISSION_BYTES))
    found, _ = submissions_in([tmp_path / "subs"])
    assert "at most 1 MiB" in read_submission(found[0][0], NAMES).problem


# ---- a class at once (its speed: benchmarks/grade_speed.py) ----

def test_a_thousand_submissions_are_all_read(tmp_path):
    lines = "\n".join(f"{unicode_name(n)} = {0.1 * i:.4f}" for i, n in enumerate(sorted(KNOWN - GIVEN)))
    for i in range(1000):
        write(tmp_path / "subs", f"s{i:04d}.txt", f"id = s{i}\n{lines}\n")
    found, _ = submissions_in([tmp_path / "subs"])
    read_all = [read_submission(path, NAMES, hint) for path, hint in found]
    assert len(read_all) == 1000 and all(len(s.values) == len(ASKED) for s in read_all)


def test_the_patterns_are_exported():
    assert STUDENT_ID.fullmatch("渡辺") and not STUDENT_ID.fullmatch("a b") and not FOLDER_ID.fullmatch("a/b")
    assert fold("∂L/∂w₅") == "dL/dw5"
