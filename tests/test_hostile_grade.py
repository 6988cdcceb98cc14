"""Hostile submissions and files for ``chainrule grade``, through the real command line: numbers beyond any float,
nesting past any parser, names that are escape sequences or spreadsheet formulas, links planted where files are read
or written, FIFOs, outputs that already exist or cannot all be written, and folders of ten thousand files. Also the
same extreme numbers as a spec's claims (``chainrule explain --spec``, ``cr.explain`` and the studio).

What a class of submissions may hold is graded or marked "not graded" with its reason (exit 0): one hostile file
never stops the rest. What the teacher names wrongly (a submission that is not there, an output that exists, a folder
that does not) is refused (exit 2) with one message naming it, and nothing is written. Never a traceback, a warning,
a hang, a raw control character on the terminal, a formula a spreadsheet would run, or a file written through a link.
"""

import csv
import io
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chainrule.teach import exercise_document, make_exercise

EX = make_exercise((2, 2, 2), "sigmoid", "softmax", seed=7)
ASKED = len(EX.asked)                   # 39 questions, 1 point each
TIMEOUT = 60
REPRS = ("np.str_(", "np.float64(", "Decimal(", "array(", "dtype=", "<class ")
LEAKED = re.compile(r"\b[A-Z][A-Za-z]*(?:Error|Exception)\b")
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")      # what a terminal acts on (\t and \n allowed)
PASSWD_LINE = "root:x:0:0"
OUTSIDE = "saved outside the class folder\n"


def cli(args, cwd, timeout=TIMEOUT) -> subprocess.CompletedProcess:
    """The command line in a process of its own; a run that outlasts ``timeout`` comes back with exit status None."""
    env = os.environ | {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg", "COLUMNS": "80"}
    code = "import sys\nfrom chainrule.cli import main\nsys.exit(main())\n"
    try:
        return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, cwd=cwd, env=env,
                              timeout=timeout, text=True, errors="surrogateescape")
    except subprocess.TimeoutExpired as exc:
        return subprocess.CompletedProcess(args, None, str(exc.stdout or ""), f"(ran for more than {timeout} s)")


def clean(result, expect: int | None = None) -> str:
    """Assert the run ended as a user-facing command should; returns stdout + stderr."""
    shown = f"exit {result.returncode}\n--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-3000:]}"
    assert result.returncode is not None, f"hung: {shown}"
    output = result.stdout + result.stderr
    assert "Traceback" not in output, shown
    assert "Warning" not in result.stderr, shown
    assert result.returncode in (0, 2), shown
    if expect is not None:
        assert result.returncode == expect, shown
    assert not RAW_CONTROL.search(output), f"a raw control character reaches the terminal: {shown}"
    if result.returncode == 2:
        assert result.stderr.startswith("chainrule "), shown
        assert not any(fragment in result.stderr for fragment in REPRS), shown
        assert not LEAKED.search(result.stderr), shown
    return output


def no_temporaries(folder: Path) -> None:
    left = [str(p) for p in folder.rglob(".*.tmp")]
    assert not left, f"temporary files left behind: {left}"


@pytest.fixture
def room(tmp_path) -> Path:
    """A class folder: the exercise (``exercise.json``) and ``subs/`` with one good submission, alice's."""
    (tmp_path / "exercise.json").write_text(json.dumps(exercise_document(EX)), encoding="utf-8")
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "alice.txt").write_text("id = alice\n" + "\n".join(f"{n} = {EX.answer_text(n)}" for n in EX.asked)
                                    + "\n", encoding="utf-8")
    return tmp_path


def grade(room: Path, *args, timeout=TIMEOUT):
    return cli(["grade", room / "exercise.json", *args], room, timeout)


def book(path: Path) -> dict[str, dict]:
    """The gradebook's rows by id."""
    return {row["id"]: row for row in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")))}


# ---- numbers beyond any float ---------------------------------------------------------------------------------------

EXTREME = {                    # z1 as written -> what its feedback says
    "1e-999999999": "out of range", "1e999999999": "out of range", "-0e-999999999": "out of range",
    "0e999999999": "out of range", "1E+999999999": "out of range", "1×10^-999999999": "out of range",
    "1×10⁻⁹⁹⁹⁹⁹⁹⁹⁹⁹": "out of range", "9" * 40 + "e99999": "out of range", "9" * 41: "more than 40 digits",
    "1e-301": "out of range", "1e301": "out of range",
    "0e-9999": "slip", "0e9999": "slip",        # zero, however written: a number, and a wrong one
}
FORMATS = {
    "txt": lambda v: f"id = bob\nz1 = {v}\nz2 = 1.020\n",
    "md": lambda v: f"# answers\n\nid = bob\n\n- z1 = {v}\n- z2 = 1.020\n",
    "csv": lambda v: f"id,bob\nz1,{v}\nz2,1.020\n",
    "toml": lambda v: f'id = "bob"\nz1 = {v}\nz2 = 1.020\n',
    "json": lambda v: f'{{"id": "bob", "z1": {v}, "z2": 1.020}}',
}


def _toml_number(v: str) -> bool:
    return re.fullmatch(r"[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?", v) is not None and not re.match(r"[+-]?0\d", v)


@pytest.mark.parametrize("kind", FORMATS)
@pytest.mark.parametrize("value", EXTREME)
def test_an_extreme_number_is_marked_never_crashes_or_hangs(room, kind, value):
    """z1 written beyond what a float holds (or with an exponent of nine digits) earns nothing and says why; the
    rest of the file is graded (z2 right). In TOML and JSON a form the format itself does not allow (``1×10^-9``)
    makes the whole file unreadable, its line quoted."""
    path = room / "subs" / f"bob.{kind}"
    path.write_text(FORMATS[kind](value), encoding="utf-8")
    started = time.monotonic()
    result = grade(room, path, "--out", room / "book.csv", "--feedback", room / "fb")
    clean(result, 0)
    assert time.monotonic() - started < 30
    row = book(room / "book.csv")["bob"]
    feedback = (room / "fb" / "bob.md").read_text(encoding="utf-8")
    if kind in ("toml", "json") and not _toml_number(value):
        assert "line" in row["problem"] and "not graded" in result.stdout, row
        return
    assert (row["z1"], row["z2"]) == ("0", "1"), row
    assert EXTREME[value] in feedback, feedback
    assert not re.search(r"\b(nan|inf|infinity)\b", feedback, re.I), feedback


@pytest.mark.parametrize("value", ["1e999999999", "1e-999999999", "-0e-999999999", "1" + "0" * 5000, "1.5",
                                   '"' + "9" * 5000 + '"', "-7", "true"])
@pytest.mark.parametrize("kind", ["toml", "json"])
def test_a_numeric_id_of_any_size_is_refused_quickly(room, kind, value):
    """``id = 1e999999999`` is never turned into a number (a 1e9-digit integer would take hours): the file is
    "not graded", its reason naming the id."""
    text = f"id = {value}\nz1 = 0.8200\n" if kind == "toml" else f'{{"id": {value}, "z1": 0.8200}}'
    path = room / "subs" / f"carol.{kind}"
    path.write_text(text, encoding="utf-8")
    started = time.monotonic()
    result = grade(room, path, "--out", room / "book.csv")
    clean(result, 0)
    assert time.monotonic() - started < 30
    assert "not graded" in result.stdout
    problem = book(room / "book.csv")
    assert any("id" in row["problem"] for row in problem.values()), problem


def test_every_answer_near_the_float_limits_is_graded_without_nan(room):
    """Numbers a float holds but whose products overflow: every carried value is then infinite or NaN, which is
    never "right working" and never printed."""
    for name, value in (("huge", "9.999e300"), ("tiny", "1.000e-300"), ("mixed", None)):
        lines = [f"{n} = {value or ('-9e300' if k % 2 else '1e-300')}" for k, n in enumerate(EX.asked)]
        (room / "subs" / f"{name}.txt").write_text("\n".join(lines) + "\n")
    result = grade(room, room / "subs", "--out", room / "book.csv", "--feedback", room / "fb",
                   "--summary", room / "summary.html")
    clean(result, 0)
    rows = book(room / "book.csv")
    for name in ("huge", "tiny", "mixed"):
        assert rows[name]["total"] != "" and float(rows[name]["total"]) < ASKED / 4, rows[name]
        text = (room / "fb" / f"{name}.md").read_text()
        assert not re.search(r"\b(nan|inf|infinity)\b", text, re.I), text
    assert not re.search(r"\b(nan|inf)\b", (room / "summary.csv").read_text())


# ---- the same numbers as a spec's claims ----------------------------------------------------------------------------

SPEC_CLAIMS = ["1e-999999999", "-0e-999999999", "0e999999999", "1e999999999", "0e-9999", "1e-320"]


def _seed_spec() -> dict:
    from importlib import resources

    return json.loads(resources.files("chainrule").joinpath("data/examples/seed_article.json").read_text())


@pytest.mark.parametrize("value", SPEC_CLAIMS)
def test_an_extreme_claim_in_a_spec_is_explained_or_refused(tmp_path, value):
    spec = json.dumps(_seed_spec())
    name = next(iter(_seed_spec()["claims"]))
    text = re.sub(r'("claims":\s*\{\s*"' + re.escape(name) + r'":\s*)[^,}]+', lambda m: m.group(1) + value, spec)
    assert text != spec
    (tmp_path / "spec.json").write_text(text)
    (tmp_path / "spec.toml").write_text(_toml_of(_seed_spec(), name, value))
    for path in ("spec.json", "spec.toml"):
        result = cli(["explain", "--spec", tmp_path / path, "--format", "text"], tmp_path)
        output = clean(result)
        if result.returncode == 2:
            assert path in result.stderr and "claims" in result.stderr, output
        else:
            assert not re.search(r"\b(nan|inf)\b", result.stdout), result.stdout[-2000:]


def _toml_of(spec: dict, name: str, value: str) -> str:
    """The seed article's spec as TOML, with the claim ``name`` written as ``value``."""
    def scalar(v):
        return json.dumps(v) if isinstance(v, (str, bool)) else repr(v) if isinstance(v, float) else str(v)

    def inline(v):
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{json.dumps(k)} = {inline(x)}" for k, x in v.items()) + " }"
        if isinstance(v, list):
            return "[" + ", ".join(inline(x) for x in v) + "]"
        return scalar(v)

    lines = [f"{json.dumps(k)} = {inline(v)}" for k, v in spec.items() if k != "claims"]
    lines.append("[claims]")
    lines += [f"{json.dumps(k)} = {value if k == name else scalar(v)}" for k, v in spec["claims"].items()]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("value", SPEC_CLAIMS)
def test_an_extreme_claim_through_the_python_api(value):
    from decimal import Decimal

    import chainrule as cr
    from chainrule.errors import ChainruleError

    raw = _seed_spec()
    name = next(iter(raw["claims"]))
    raw["claims"][name] = Decimal(value)
    try:
        explained = cr.explain(raw)
    except ChainruleError as exc:
        assert "claims" in str(exc) and name in str(exc)
        return
    assert not re.search(r"\b(nan|inf)\b", explained.to_text())
    try:
        explained = cr.explain(_without_claims(raw), claims=f"{name} = {value}")
    except ChainruleError as exc:
        assert "claims" in str(exc) and name in str(exc)
        return
    explained.to_text()


def _without_claims(raw: dict) -> dict:
    return {k: v for k, v in raw.items() if k != "claims"}


@pytest.mark.parametrize("value", SPEC_CLAIMS)
def test_an_extreme_claim_in_the_studio_answers_4xx_or_200(value):
    from starlette.testclient import TestClient      # the studio extra: make test installs it

    from chainrule.studio import create_app

    raw = _seed_spec()
    name = next(iter(raw["claims"]))
    body = json.dumps({"spec": _without_claims(raw), "claims": f"{name} = {value}"})
    spec_claim = json.dumps(raw).replace(f'"{name}": {json.dumps(raw["claims"][name])}', f'"{name}": {value}', 1)
    with TestClient(create_app(("testserver",)), raise_server_exceptions=False) as client:
        for content in (body, '{"spec": ' + spec_claim + ', "format": "text"}'):
            for path in ("/api/explain", "/api/save"):
                answer = client.post(path, content=content.encode(), headers={"content-type": "application/json"})
                assert answer.status_code < 500, (path, answer.status_code, answer.text[:300])
                if answer.status_code >= 400:
                    assert answer.json()["error"], answer.text


# ---- nesting past any parser ----------------------------------------------------------------------------------------

DEEP = 100_000


@pytest.mark.parametrize("what", ["submission.json", "submission.toml", "rubric.json", "rubric.toml",
                                  "exercise.json", "exercise.toml", "exercise-spec.json"])
def test_nesting_100000_deep_is_refused_by_name(room, what):
    deep = {"json": '{"z1": ' + "[" * DEEP + "]" * DEEP + "}", "toml": "z1 = " + "[" * DEEP + "]" * DEEP + "\n"}
    kind = what.rsplit(".", 1)[1]
    if what.startswith("submission"):
        path = room / "subs" / f"deep.{kind}"
        path.write_text(deep[kind])
        result = grade(room, path, "--out", room / "book.csv")
        clean(result, 0)
        assert "deep" in result.stdout and "not graded" in result.stdout
        assert "flat table" in book(room / "book.csv")["deep"]["problem"]
        return
    if what.startswith("rubric"):
        (room / what).write_text(deep[kind])
        result = grade(room, room / "subs", "--rubric", room / what)
    elif what == "exercise-spec.json":
        document = exercise_document(EX)
        text = json.dumps(document).replace('"inputs": [', '"inputs": ' + "[" * DEEP + "]" * DEEP + ', "x": [', 1)
        (room / "exercise.json").write_text(text)
        result = grade(room, room / "subs")
    else:
        (room / what).write_text(deep[kind])
        result = cli(["grade", room / what, room / "subs"], room)
    clean(result, 2)
    assert what.split("-")[0] in result.stderr and ("deep" in result.stderr or "nest" in result.stderr)


# ---- names: long, escape sequences, spreadsheet formulas -----------------------------------------------------------

def test_a_250_character_file_name(room):
    path = room / "subs" / ("d" * 246 + ".txt")
    path.write_text("z1 = 0.8200\n")
    result = grade(room, room / "subs", "--out", room / "book.csv", "--feedback", room / "fb")
    clean(result, 0)
    rows = book(room / "book.csv")
    assert "d" * 64 not in rows, "an id longer than 64 characters"
    long = next(row for row in rows.values() if "d" * 200 in row["file"])
    assert "not a student id" in long["problem"]
    assert all(len(p.name.encode()) <= 255 for p in (room / "fb").iterdir())
    no_temporaries(room)


ESCAPES = ["\x1b[31mred\x1b[0m", "bell\x07", "back\x08space", "csi\x9b2J", "osc\x1b]0;title\x07"]


@pytest.mark.parametrize("mark", ESCAPES)
def test_terminal_control_characters_never_reach_the_terminal_raw(room, mark):
    """In a file's name, a folder's name, an id, a name, a value, an unknown quantity: the terminal sees them
    escaped, on every line chainrule prints (results, skipped files, checks, errors)."""
    subs = room / "subs"
    (subs / f"{mark}.txt").write_text("z1 = 0.8200\n")
    (subs / f"eve{mark}.txt").write_text(f"id = {mark}\nname = {mark}\nz1 = {mark}\n{mark} = 3\n")
    (subs / "frank.txt").write_text(f"id = frank\nname = Frank {mark}\nz1 = 0.8{mark}\n{mark}z2 = 1\n")
    (subs / f"folder{mark}").mkdir()
    (subs / f"folder{mark}" / "a.txt").write_text("z1 = 1\n")
    (subs / f"folder{mark}" / "b.txt").write_text("z1 = 1\n")
    (subs / f".hidden{mark}").write_text("z1 = 1\n")
    os.symlink("/etc/hostname", subs / f"link{mark}.txt")
    result = grade(room, subs, "--out", room / "book.csv", "--feedback", room / "fb", "--moodle-grades",
                   room / "moodle.csv", "--canvas-grades", room / "canvas.csv", "--summary", room / "summary.html")
    clean(result, 0)
    for path in room.rglob("*"):
        if path.is_file() and not path.is_symlink() and path.parent.name != "subs" and "folder" not in str(path):
            text = path.read_text(encoding="utf-8")
            assert not RAW_CONTROL.search(text), (path, text[:500])
    (room / f"fb{mark}").write_text("a file, not a folder\n")
    for args in (["--out", room / f"missing{mark}" / "book.csv"], ["--out", room / "book.csv"],
                 ["--summary", room / "book.html", "--out", room / "book.csv"], ["--feedback", room / f"fb{mark}"],
                 [subs / f"nobody{mark}.txt"]):
        clean(grade(room, subs, *args), 2)


@pytest.mark.parametrize("mark", ESCAPES)
def test_control_characters_in_the_paths_a_teacher_names_are_escaped_in_errors(room, mark):
    """The exercise, rubric and roster named with an escape sequence in their names (missing or broken), and an
    assignment's name holding one: refused, the message showing them escaped."""
    (room / f"r{mark}.toml").write_text("z1 = [1]\n")
    (room / f"r{mark}.csv").write_text("id\n=bad\n")
    (room / f"exercise{mark}.json").write_text("{")
    for argv in (["grade", room / f"exercise{mark}.json", room / "subs"],
                 ["grade", room / f"missing{mark}.json", room / "subs"],
                 ["grade", room / "exercise.json", room / "subs", "--rubric", room / f"r{mark}.toml"],
                 ["grade", room / "exercise.json", room / "subs", "--rubric", room / f"missing{mark}.toml"],
                 ["grade", room / "exercise.json", room / "subs", "--roster", room / f"r{mark}.csv"],
                 ["grade", room / "exercise.json", room / "subs", "--roster", room / f"missing{mark}.csv"],
                 ["grade", room / "exercise.json", room / "subs", "--assignment", f"Week 3{mark}", "--moodle-grades",
                  room / "moodle.csv"]):
        clean(cli(argv, room), 2)


FORMULAS = ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1+1", "\r=1+1", "=1+1"]


@pytest.mark.parametrize("formula", FORMULAS)
def test_formulas_are_neutralised_in_every_csv(room, formula):
    """A name from a submission, a file name and a roster's name and email that a spreadsheet would run: every CSV
    written (gradebook, Moodle, Canvas, summary) starts each such cell with a quote mark."""
    subs = room / "subs"
    (subs / "gina.txt").write_text(f"id = gina\nname = {formula}\nz1 = 0.8200\n")
    safe_name = formula.replace("\t", "T").replace("\r", "R").replace('"', "").replace("/", "")
    (subs / f"{safe_name}.txt").write_text("z1 = 0.8200\n")
    roster = room / "roster.csv"
    with roster.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "name", "email"])
        writer.writerow(["alice", formula, formula])
        writer.writerow(["gina", "Gina", "gina@example.org"])
        writer.writerow(["harry", formula, "harry@example.org"])
    for extra in ([], ["--roster", roster]):
        outputs = {"--out": room / "book.csv", "--moodle-grades": room / "moodle.csv",
                   "--canvas-grades": room / "canvas.csv", "--summary": room / "summary.html"}
        result = grade(room, subs, *[a for k, v in outputs.items() for a in (k, v)], "--force", *extra)
        clean(result, 0)
        for path in (room / "book.csv", room / "moodle.csv", room / "canvas.csv", room / "summary.csv"):
            for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8"))):
                for cell in row:
                    assert not cell.startswith(("=", "+", "@", "\t", "\r")) and not re.match(r"-[^\d.]|-\d.*[+=]",
                                                                                          cell), (path.name, row)


# ---- links, FIFOs, devices where files are read ---------------------------------------------------------------------

def test_links_in_a_submission_folder_are_not_followed(room, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret.txt").write_text("id = alice\nz1 = 0.8200\nsecret-token-3141 = 1\n")
    (outside / "folder").mkdir()
    (outside / "folder" / "mallory.txt").write_text("secret-token-2718 = 1\n")
    subs = room / "subs"
    os.symlink(outside / "secret.txt", subs / "ivan.txt")
    os.symlink("/etc/passwd", subs / "judy.txt")
    os.symlink(outside / "folder", subs / "mallory")
    os.symlink(outside / "nothing", subs / "dangling.txt")
    (subs / "ken").mkdir()
    os.symlink("/etc/passwd", subs / "ken" / "answers.txt")
    result = grade(room, subs, room / "subs" / "judy.txt", "--out", room / "book.csv", "--feedback", room / "fb",
                   "--summary", room / "summary.html")
    output = clean(result, 0)
    written = output + "".join(p.read_text() for p in [room / "book.csv", room / "summary.html",
                                                       *(room / "fb").iterdir()])
    for secret in ("secret-token", PASSWD_LINE, "/bin/"):
        assert secret not in written
    assert set(book(room / "book.csv")) == {"alice"}
    assert output.count("symbolic link") >= 4
    (subs / "ken" / "answers.txt").unlink()
    result = grade(room, subs / "judy.txt")
    assert PASSWD_LINE not in clean(result, 2) and "link" in result.stderr


def test_a_fifo_among_the_submissions_or_as_the_roster_never_blocks(room):
    fifo = room / "pipe.txt"
    os.mkfifo(fifo)
    os.mkfifo(room / "subs" / "pipe.txt")
    (room / "subs" / "olga").mkdir()
    os.mkfifo(room / "subs" / "olga" / "answers.txt")
    result = grade(room, room / "subs", "--out", room / "book.csv", timeout=30)
    assert "FIFO" in clean(result, 0)
    assert set(book(room / "book.csv")) == {"alice"}
    result = grade(room, fifo, timeout=30)
    clean(result, 2)
    assert "pipe.txt" in result.stderr and "FIFO" in result.stderr
    result = grade(room, room / "subs", "--roster", fifo, timeout=30)
    clean(result, 2)
    assert str(fifo) in result.stderr


@pytest.mark.parametrize("where", ["--rubric", "exercise"])
def test_a_fifo_as_the_rubric_or_the_exercise_never_blocks(room, where):
    fifo = room / "pipe.toml"
    os.mkfifo(fifo)
    argv = ["grade", room / "exercise.json", room / "subs", "--rubric", fifo] if where == "--rubric" else \
        ["grade", fifo, room / "subs"]
    result = cli(argv, room, timeout=30)
    clean(result, 2)
    assert str(fifo) in result.stderr


def test_devices_as_submissions_and_inputs(room):
    result = grade(room, "/dev/zero", room / "subs", "--out", room / "book.csv", timeout=30)
    clean(result, 0)
    for flag in ("--roster", "--rubric"):
        result = grade(room, room / "subs", flag, "/dev/zero", timeout=30)
        clean(result, 2)
        assert "/dev/zero" in result.stderr


def test_a_roster_field_over_128_kib(room):
    roster = room / "roster.csv"
    roster.write_text("id,name\nalice," + "A" * (129 * 1024) + "\n")
    result = grade(room, room / "subs", "--roster", roster, "--out", room / "book.csv")
    clean(result)
    if result.returncode == 2:
        assert str(roster) in result.stderr and ("row" in result.stderr or "line" in result.stderr)
        assert len(result.stderr) < 2000
    roster.write_text('id,name\nalice,"' + "A" * (129 * 1024) + "\n")        # a quote never closed
    result = grade(room, room / "subs", "--roster", roster, "--out", room / "book.csv", "--force")
    clean(result)
    assert len(result.stderr) < 2000


# ---- files that are not answers -------------------------------------------------------------------------------------

NOT_ANSWERS = {                                        # a file in the class folder that holds no answers
    "big.txt": b"z1 = 0.8200\n" * (2 * 1024 * 1024 // 12 + 10),          # 2 MiB
    "binary.txt": bytes(range(256)) * 64,
    "image.png": b"\x89PNG\r\n\x1a\n" + bytes(range(255, -1, -1)) * 16,
    "paul.txt": "id = paul\nz1 = 0.8200\n".encode("utf-16-le"),            # UTF-16 without a byte-order mark
    "nul.txt": b"id = nul\nz1 = 0.82\x0000\n",
    "nul.json": b'{"id": "nuljson", "z1\x00": 0.82}',
    "latin1.txt": "name = Zoë\nz1 = 0,82\n".encode("latin-1"),
    "empty.txt": b"",
    "lines.txt": b"x\n" * 500_000,
}


@pytest.mark.parametrize("name", NOT_ANSWERS)
def test_a_file_that_is_not_answers_is_not_graded_and_the_rest_are(room, name):
    (room / "subs" / name).write_bytes(NOT_ANSWERS[name])
    started = time.monotonic()
    result = grade(room, room / "subs", "--out", room / "book.csv", "--feedback", room / "fb")
    output = clean(result, 0)
    assert time.monotonic() - started < 30
    rows = book(room / "book.csv")
    assert rows["alice"]["total"] == str(ASKED)
    assert len(output) < 20_000
    for text in (*(p.read_text() for p in (room / "fb").iterdir()), (room / "book.csv").read_text()):
        assert "\x00" not in text and len(text) < 50_000


def test_a_folder_of_10001_files(room):
    subs = room / "subs"
    for k in range(10_001):
        (subs / f"s{k:05d}.txt").write_text("z1 = 0.8200\n")
    started = time.monotonic()
    result = grade(room, subs, "--out", room / "book.csv", timeout=300)
    output = clean(result)
    assert time.monotonic() - started < 240
    if result.returncode == 2:
        assert str(subs) in result.stderr and "10000" in result.stderr, output[-500:]
        assert not (room / "book.csv").exists()


def test_submissions_that_give_no_id_are_each_a_row_of_their_own(room):
    """Three files whose names are not ids and that hold no id line: three rows saying why, never one row standing
    for all three (nor a feedback file named ".md", hidden)."""
    for name in ("first draft.txt", "second draft.txt", "-x.txt"):
        (room / "subs" / name).write_text("z1 = 0.8200\n")
    result = grade(room, room / "subs", "--out", room / "book.csv", "--feedback", room / "fb")
    clean(result, 0)
    rows = list(csv.DictReader(io.StringIO((room / "book.csv").read_text())))
    files = sorted(Path(row["file"]).name for row in rows if not row["id"])
    assert files == ["-x.txt", "first draft.txt", "second draft.txt"], rows
    assert all("not a student id" in row["problem"] for row in rows if not row["id"])
    assert "graded 1 of 4" in result.stdout
    assert not [p.name for p in (room / "fb").iterdir() if p.name.startswith(".")]


def test_a_message_quotes_at_most_the_line_that_failed(room):
    """A submission that is somebody else's file (a password file's lines, a megabyte on one line): what is shown
    back, in the terminal, the gradebook and the feedback, is at most a short quote of each line that failed."""
    line = "root:x:0:0:root:/root:/bin/bash" + "A" * 5000
    (room / "subs" / "quinn.json").write_text('{"id": "quinn", "z1": 0.82, ' + line + "}")
    (room / "subs" / "rita.toml").write_text('id = "rita"\n' + line + "\n")
    (room / "subs" / "sam.csv").write_text("id,sam\n" + '"' + line + "\n")
    (room / "subs" / "tess.txt").write_text("id = tess\n" + (line + "\n") * 1000)
    result = grade(room, room / "subs", "--out", room / "book.csv", "--feedback", room / "fb")
    output = clean(result, 0)
    for text in [output, (room / "book.csv").read_text(), *(p.read_text() for p in (room / "fb").iterdir())]:
        assert "A" * 100 not in text and text.count("root:x:0:0") <= 60, text[:3000]


@pytest.mark.parametrize("change", [{"name": "zz"}, {"name": "1e999999999"}, {"name": "z1"}, {"points": -1},
                                    {"points": "1e999999999"}, {"name": "\x1b[31mz1"}])
def test_an_exercise_whose_questions_are_not_its_quantities_is_refused(room, change):
    """A question naming a quantity the network does not have (or one asked twice, or worth no number of points)
    is the exercise file's mistake: refused by name, never a crash or a question silently dropped."""
    document = exercise_document(EX)
    document["questions"][1] = document["questions"][1] | change
    text = json.dumps(document).replace('"1e999999999"', "1e999999999")
    (room / "exercise.json").write_text(text)
    result = grade(room, room / "subs", "--out", room / "book.csv")
    clean(result, 2)
    assert "exercise.json" in result.stderr and "questions" in result.stderr
    assert not (room / "book.csv").exists()


def test_a_missing_submission_is_refused(room):
    result = grade(room, room / "subs", room / "nobody.txt", "--out", room / "book.csv")
    clean(result, 2)
    assert "nobody.txt" in result.stderr
    assert not (room / "book.csv").exists()


# ---- outputs: never replaced without --force, never half written, never through a link ------------------------------

OUTPUTS = {"--out": "book.csv", "--moodle-grades": "moodle.csv", "--canvas-grades": "canvas.csv",
           "--summary": "summary.html"}


def _all_outputs(room: Path) -> list:
    return [a for flag, name in OUTPUTS.items() for a in (flag, room / name)] + ["--feedback", room / "fb"]


@pytest.mark.parametrize("existing", [*OUTPUTS.values(), "summary.csv", "fb/alice.md"])
def test_an_existing_output_is_never_replaced_without_force(room, existing):
    target = room / existing
    target.parent.mkdir(exist_ok=True)
    target.write_text("the teacher's own\n")
    result = grade(room, room / "subs", *_all_outputs(room))
    clean(result, 2)
    assert existing.split("/")[-1] in result.stderr and "--force" in result.stderr
    assert target.read_text() == "the teacher's own\n"
    made = {p.relative_to(room).as_posix() for p in room.rglob("*") if p.is_file()}
    assert made == {"exercise.json", "subs/alice.txt", existing}, made
    clean(grade(room, room / "subs", *_all_outputs(room), "--force"), 0)
    assert target.read_text() != "the teacher's own\n"


@pytest.mark.parametrize("late", ["--summary", "--moodle-grades", "--canvas-grades", "--feedback"])
def test_a_later_output_that_cannot_be_written_leaves_nothing_written(room, late):
    args = _all_outputs(room)
    at = args.index(late)
    args[at + 1] = room / "missing" / ("fb" if late == "--feedback" else "x.csv")
    result = grade(room, room / "subs", *args)
    clean(result, 2)
    assert "missing" in result.stderr
    made = {p.relative_to(room).as_posix() for p in room.rglob("*")}
    assert made == {"exercise.json", "subs", "subs/alice.txt"}, made


@pytest.mark.parametrize("clash", [("--out", "summary.csv"), ("--moodle-grades", "book.csv"),
                                   ("--summary", "book.csv"), ("--canvas-grades", "fb")])
def test_two_outputs_on_one_file_are_refused(room, clash):
    """``--summary book.html`` also writes ``book.csv``: with ``--out book.csv`` one would silently replace the
    other."""
    flag, name = clash
    args = _all_outputs(room)
    args[args.index(flag) + 1] = room / name
    if flag == "--summary":
        args[args.index("--summary") + 1] = room / "book.html"
    result = grade(room, room / "subs", *args, "--force")
    clean(result, 2)
    made = {p.relative_to(room).as_posix() for p in room.rglob("*")}
    assert made == {"exercise.json", "subs", "subs/alice.txt"}, made


def test_a_planted_link_at_the_feedback_folder_or_file_is_not_written_through(room, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    (outside / "alice.md").write_text(OUTSIDE)
    (outside / "victim.txt").write_text(OUTSIDE)
    os.symlink(outside, room / "fb")
    for force in ([], ["--force"]):
        result = grade(room, room / "subs", "--feedback", room / "fb", "--out", room / "book.csv", *force)
        clean(result, 2)
        assert "fb" in result.stderr and "link" in result.stderr
        assert (outside / "alice.md").read_text() == OUTSIDE and sorted(os.listdir(outside)) == ["alice.md",
                                                                                              "victim.txt"]
        assert not (room / "book.csv").exists()
    (room / "fb").unlink()
    (room / "fb").mkdir()
    os.symlink(outside / "victim.txt", room / "fb" / "alice.md")
    for force in ([], ["--force"]):             # refused without --force; with it the link is replaced
        clean(grade(room, room / "subs", "--feedback", room / "fb", *force), 0 if force else 2)
        assert (outside / "victim.txt").read_text() == OUTSIDE
    assert not (room / "fb" / "alice.md").is_symlink()
    for flag, name in OUTPUTS.items():
        os.symlink(outside / "victim.txt", room / name)
        for force in ([], ["--force"]):
            clean(grade(room, room / "subs", flag, room / name, *force), 0 if force else 2)
            assert (outside / "victim.txt").read_text() == OUTSIDE
    no_temporaries(room)


def test_a_dangling_link_at_an_output_is_not_created_through(room, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    os.symlink(outside / "made.csv", room / "book.csv")
    (room / "fb").mkdir()
    os.symlink(outside / "made.md", room / "fb" / "alice.md")
    for force in ([], ["--force"]):
        clean(grade(room, room / "subs", "--out", room / "book.csv", "--feedback", room / "fb", *force),
              0 if force else 2)
        assert list(outside.iterdir()) == []
