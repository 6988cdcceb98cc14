"""Class lists as LMS export them (Moodle, Canvas, a spreadsheet; comma, semicolon or tab), read into students; the
variants each student gets from the class secret; the class's folders (what each student receives, what the teacher
keeps); and hostile rosters: bad and duplicate ids, control characters, huge cells and files, a FIFO."""

import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from chainrule.cli import main
from chainrule.errors import ChainruleError
from chainrule.teach import Student, make_exercise, read_roster
from chainrule.teach.publish import write_variants
from chainrule.teach.variants import check_secret, kept_secret, new_secret, variant_seed, variants

SECRET = "0123456789abcdef" * 4


def roster(tmp_path, text: str, name: str = "roster.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------------------------------------------- reading


def test_moodle_participants_export(tmp_path):
    path = roster(tmp_path, "\ufeffFirst name,Surname,ID number,Email address\n"
                            "Zoë,Martin,s1001,zoe@uni.example\nAlice,Smith,s1002,alice@uni.example\n")
    assert read_roster(path) == [Student("s1001", "Zoë Martin", "zoe@uni.example"),
                                 Student("s1002", "Alice Smith", "alice@uni.example")]


def test_moodle_without_id_numbers_falls_back_to_the_email_address(tmp_path):
    path = roster(tmp_path, "First name;Last name;ID number;Email address\nZoë;Martin;;zoe@uni.example\n"
                            "Bo;Li;;bo@uni.example\n")
    assert [s.id for s in read_roster(path)] == ["zoe@uni.example", "bo@uni.example"]


def test_canvas_gradebook_export_skips_points_possible(tmp_path):
    path = roster(tmp_path, 'Student,ID,SIS User ID,SIS Login ID,Section,Homework 1 (1234)\n'
                            '    Points Possible,,,,,10.00\n'
                            '"Martin, Zoë",101,s1001,zmartin,Backprop 1,8\n'
                            '"Smith, Alice",102,s1002,asmith,Backprop 1,9\n')
    assert read_roster(path) == [Student("s1001", "Martin, Zoë"), Student("s1002", "Smith, Alice")]
    no_sis = roster(tmp_path, 'Student,ID,SIS User ID,SIS Login ID\n    Points Possible,,,\n"Martin, Zoë",101,,\n',
                    "no_sis.csv")
    assert read_roster(no_sis) == [Student("101", "Martin, Zoë")]


@pytest.mark.parametrize("separator", [",", ";", "\t"])
def test_comma_semicolon_and_tab_are_recognised(tmp_path, separator):
    rows = [["Student ID", "Full name", "email"], ["a1", "Ann Lee", "ann@x.org"], ["b2", "Bo Ek", "bo@x.org"]]
    path = roster(tmp_path, "\n".join(separator.join(row) for row in rows) + "\n")
    assert read_roster(path) == [Student("a1", "Ann Lee", "ann@x.org"), Student("b2", "Bo Ek", "bo@x.org")]


def test_a_column_of_ids_with_or_without_a_header(tmp_path):
    assert [s.id for s in read_roster(roster(tmp_path, "alice\nbob\r\n\ncarol\n"))] == ["alice", "bob", "carol"]
    assert [s.id for s in read_roster(roster(tmp_path, "id\nalice\nbob\n", "h.csv"))] == ["alice", "bob"]
    assert [s.id for s in read_roster(roster(tmp_path, "student\nalice\n", "s.csv"))] == ["alice"]
    with pytest.raises(ChainruleError, match="expected a column of student ids, found none"):
        read_roster(roster(tmp_path, "ID number,First name\n", "empty.csv"))     # a header is never a student


def test_unicode_ids_are_letters_and_digits_of_any_script(tmp_path):
    path = roster(tmp_path, "id,name\nzoë,Zoë\n渡辺,渡辺 健\nzoe\u0308x,decomposed\nsarah.o-neil_2@uni,Sarah\n")
    assert [s.id for s in read_roster(path)] == ["zoë", "渡辺", "zoëx", "sarah.o-neil_2@uni"]


def test_id_and_name_columns_by_header_or_number(tmp_path):
    path = roster(tmp_path, "Login,Display,Other\nann,Ann Lee,x\nbo,Bo Ek,y\n")
    assert read_roster(path, id_column="login", name_column="Display") == [Student("ann", "Ann Lee"),
                                                                          Student("bo", "Bo Ek")]
    assert read_roster(path, id_column="3", name_column="2") == [Student("x", "Ann Lee"), Student("y", "Bo Ek")]
    bare = roster(tmp_path, "ann,Ann Lee\nbo,Bo Ek\n", "bare.csv")
    assert read_roster(bare, name_column="2") == [Student("ann", "Ann Lee"), Student("bo", "Bo Ek")]
    with pytest.raises(ChainruleError, match=r"--id-column: expected a column of .* found 'Logn'.*Login"):
        read_roster(path, id_column="Logn")


def test_names_keep_their_letters_and_lose_stray_white_space(tmp_path):
    path = roster(tmp_path, 'id,name\nann,"  Ann\t\nLee "\n')
    assert read_roster(path) == [Student("ann", "Ann Lee")]


@pytest.mark.parametrize("text, message", [
    ("id\nalice\nbad id!\n", r"row 3, column 'id': expected a student id .* found 'bad id!'"),
    ("id\n-rf\n", r"row 2, column 'id': expected a student id"),
    ("id\n.hidden\n", r"row 2, column 'id'"),
    ("id\n" + "a" * 65 + "\n", r"at most 64 characters"),
    ("id\nab\x1b[31mc\n", r"row 2, column 'id': .*found 'ab\\x1b\[31mc'"),
    ("id\nab\u202ecd\n", r"found 'ab\\u202ecd'"),
    ("id,name\nann,Ann\x1b]0;pwned\x07\n", r"row 2, column 'name': expected a name .* without control characters"),
    ("ID number,Full name\n,Ann Lee\n", r"row 2, column 'ID number': .* \(an empty cell\)"),
    ("id\nalice\nbob\nalice\n", r"row 4: expected each student id once, found 'alice' again, first on row 2"),
    ("id\nAlice\nalice\n", r"row 3: .*first on row 2 \(as 'Alice': ids differing only in case"),
    ("Name,Surname\nAnn,Lee\n", None),
])
def test_bad_rosters_name_the_row_and_column(tmp_path, text, message):
    path = roster(tmp_path, text)
    if message is None:
        with pytest.raises(ChainruleError):
            read_roster(path)
        return
    with pytest.raises(ChainruleError, match=message):
        read_roster(path)


def test_limits_a_huge_cell_a_huge_file_and_not_utf8(tmp_path):
    with pytest.raises(ChainruleError, match=r"row 2 \(line 2\): expected cells of at most 128 KiB"):
        read_roster(roster(tmp_path, "id,name\nann," + "x" * (129 * 1024) + "\n"))
    with pytest.raises(ChainruleError, match="expected a roster of at most 4 MiB"):
        read_roster(roster(tmp_path, "id\n" + "a\n" * (2 << 20) + "b\n", "big.csv"))
    with pytest.raises(ChainruleError, match="UTF-8"):
        read_roster(roster(tmp_path, "id,name\nann,Zoë\n", "latin.csv", encoding="latin-1"))
    with pytest.raises(ChainruleError, match="expected a roster file"):
        read_roster(tmp_path)


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "roster.csv"
    os.mkfifo(fifo)
    signal.alarm(20)                  # a regression would block on open(): fail the test instead of hanging
    try:
        with pytest.raises(ChainruleError, match="expected a roster file \\(CSV\\), found a named pipe"):
            read_roster(fifo)
    finally:
        signal.alarm(0)


# ---------------------------------------------------------------------------------------------------- variants


def test_each_students_draw_comes_from_the_secret_and_the_id():
    import hashlib
    import hmac

    assert variant_seed(SECRET, "zoë") == int.from_bytes(
        hmac.new(bytes.fromhex(SECRET), "zoë".encode(), hashlib.sha256).digest(), "big")
    students = [Student("ann"), Student("bo")]
    one, two = variants(students, SECRET, ask=["forward"]), variants(students, SECRET, ask=["forward"])
    assert one["ann"].document == two["ann"].document != one["bo"].document
    other = variants(students, "f" * 64, ask=["forward"])
    assert other["ann"].document != one["ann"].document and one["ann"].seed is None
    assert one["ann"].document == make_exercise(seed=variant_seed(SECRET, "ann"), ask=["forward"]).document
    assert re.fullmatch(r"[0-9a-f]{64}", new_secret()) and new_secret() != new_secret()
    assert check_secret(SECRET.upper()) == SECRET
    for bad in ("abc", "g" * 64, SECRET + "0"):
        with pytest.raises(ChainruleError, match="--secret: expected the class secret, 64 hexadecimal digits"):
            check_secret(bad)


def test_the_class_folders(tmp_path):
    students = [Student("zoë", "Zoë Martin", "zoe@uni.example"), Student("s2", "=cmd|' /C calc'!A0")]
    found = variants(students, SECRET, ask=["forward", "loss"])
    written = write_variants(found, students, tmp_path / "class", SECRET)
    files = sorted(str(p.relative_to(tmp_path / "class")) for p in written)
    assert files == sorted([f"students/{s}/{n}" for s in ("zoë", "s2")
                            for n in ("answers.txt", "questions.html", "questions.md", "questions.tex")]
                           + [f"teacher/keys/{s}.{x}" for s in ("zoë", "s2") for x in ("md", "tex", "html")]
                           + ["teacher/key.md", "teacher/moodle-cloze.xml", "teacher/moodle.xml", "teacher/roster.csv",
                              "teacher/variants.json"])
    assert sorted(tree(tmp_path / "class")) == files
    document = json.loads((tmp_path / "class" / "teacher" / "variants.json").read_text())
    assert list(document) == ["format", "version", "secret", "students", "variants"]
    assert document["format"] == "chainrule-exercise-variants" and document["version"] == 2
    assert document["secret"] == SECRET and document["students"][0] == {"id": "zoë", "name": "Zoë Martin",
                                                                        "email": "zoe@uni.example"}
    assert document["variants"]["zoë"]["precision"] == {"kind": "significant", "digits": 4}
    own = tmp_path / "class" / "students" / "zoë"
    assert "**Name:** Zoë Martin **ID:** zoë" in (own / "questions.md").read_text()
    assert "id = zoë" in (own / "answers.txt").read_text().splitlines()
    for path in (tmp_path / "class" / "students").rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert SECRET not in text and "variants.json" not in text
            for name in found[path.parent.name].asked:
                assert found[path.parent.name].answer_text(name) not in text, (path, name)
    quiz = ET.fromstring((tmp_path / "class" / "teacher" / "moodle.xml").read_text())
    categories = [q.find("category/text").text for q in quiz.findall("question") if q.get("type") == "category"]
    assert categories == [f"$course$/{found['zoë'].spec.title}/{s}" for s in ("zoë", "s2")]
    assert len(quiz.findall("question")) == 2 + 2 * len(found["zoë"].asked)
    rows = list(csv.reader(io.StringIO((tmp_path / "class" / "teacher" / "roster.csv").read_text())))
    assert rows == [["id", "name", "email"], ["zoë", "Zoë Martin", "zoe@uni.example"],
                    ["s2", "'=cmd|' /C calc'!A0", ""]]
    key = (tmp_path / "class" / "teacher" / "key.md").read_text()
    assert "## zoë — Zoë Martin" in key and found["s2"].answer_text("L") in key


def test_the_command_line_keeps_the_secret_and_regenerates_the_class_byte_for_byte(tmp_path):
    path = roster(tmp_path, "First name,Surname,ID number\nZoë,Martin,zoë\nBo,Li,s2\n")
    out = tmp_path / "class"
    assert main(["exercise", "--roster", str(path), "--ask", "forward", "--out", str(out)]) == 0
    first = tree(out)
    secret = json.loads(first["teacher/variants.json"])["secret"]
    assert main(["exercise", "--roster", str(path), "--ask", "forward", "--out", str(out)]) == 2   # no --force
    assert main(["exercise", "--roster", str(path), "--ask", "forward", "--out", str(out), "--force"]) == 0
    assert tree(out) == first                                    # --force: the secret kept in variants.json
    again = tmp_path / "again"
    assert main(["exercise", "--roster", str(path), "--ask", "forward", "--secret", secret, "--out",
                 str(again)]) == 0
    assert tree(again) == first
    assert kept_secret(out) == secret and kept_secret(tmp_path / "nothing") is None
    assert main(["exercise", "--roster", str(path), "--ask", "forward", "--out", str(out), "--force",
                 "--secret", "e" * 64]) == 0
    assert json.loads((out / "teacher" / "variants.json").read_text())["secret"] == "e" * 64


def test_names_with_control_characters_never_reach_the_terminal(tmp_path):
    path = roster(tmp_path, "id,name\nann,\x1b[2J\x1b]0;owned\x07Ann\n")
    run = subprocess.run([sys.executable, "-m", "chainrule", "exercise", "--roster", str(path), "--out",
                          str(tmp_path / "class")], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "row 2, column 'name'" in run.stderr
    assert "\x1b" not in run.stdout + run.stderr and "\x07" not in run.stdout + run.stderr


def test_a_planted_link_in_a_class_folder_is_refused(tmp_path):
    path = roster(tmp_path, "ann\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "class"
    out.mkdir()
    (out / "students").symlink_to(elsewhere, target_is_directory=True)
    assert main(["exercise", "--roster", str(path), "--out", str(out), "--force"]) == 2
    assert list(elsewhere.iterdir()) == [] and not (out / "teacher").exists()
