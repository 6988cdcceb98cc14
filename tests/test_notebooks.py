"""The two notebooks in docs/notebooks run top to bottom with nbclient; their outputs hold the rendered derivation
(MathML and the diagram) and the figures; and the outputs committed with them, which a reader on GitHub sees, are
those of a fresh run (up to what differs between runs and machines, below).

Each notebook runs once per test session, through ``docs/notebooks/execute.py``: the same code that regenerates the
committed outputs, so the test and the command cannot run a notebook differently.

What "the same outputs" means, output by output (``comparable`` and ``numbers_agree``):
- the execution counts are left out (they count runs, not results);
- an image is its format and its size in pixels, each side within ``PIXELS``: its bytes depend on the versions of
  matplotlib, FreeType and zlib that drew and compressed it, not on chainrule;
- a text (stream text, ``text/plain``, ``text/html``, ``text/markdown``, ...) is split into its numbers and the rest.
  The rest must be equal character for character. A number is a run of digits, with a sign, decimals and an
  exponent, that stands alone (not part of a name such as ``z65`` or ``w1``, or of ``500x300``). Two integers must
  be equal. Other numbers a (committed) and b (fresh) agree when |a - b| <= RTOL * max(|a|, |b|) + u, u being one unit
  in the last printed digit of either (the larger): a value on the edge of a rounding prints either way. The
  practitioner's network trains in float32, whose sums round differently on another BLAS kernel: run with
  OPENBLAS_CORETYPE=Haswell, Sandybridge or Prescott instead of this machine's SkylakeX, its loss moved by 5e-7
  (relative) and 6 to 8 printed numbers by one unit in their last digit, none by more; RTOL = 1e-5 leaves room;
- memory addresses (``0x`` and 8 or more hex digits) are masked, should an object's default repr be printed.
Nothing else is normalised: no timings or progress bars are printed (``verbose=0``), and if one appeared it would be
reported as a difference. (The command itself joins each cell's printed text into one output, however the kernel
happened to flush it, and records no cell timings.)
"""

import base64
import importlib.util
import math
from pathlib import Path
import re
import tempfile

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "docs" / "notebooks"
RTOL = 1e-5
PIXELS = 2
MAX_BYTES = 1_500_000          # a notebook a browser opens at once and the repository carries in every clone

_spec = importlib.util.spec_from_file_location("notebooks_execute", FOLDER / "execute.py")
execute = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(execute)   # imports nbclient, a test dependency (make test installs it): missing, this fails

_runs = {}


def run(name):
    """The notebook ``name`` run now (once per session), as the regenerating command runs it."""
    if name not in _runs:
        _runs[name] = execute.execute(FOLDER / name)
    return _runs[name]


def code_cells(notebook):
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def data(cell, kind):
    return [o["data"][kind] for o in cell.outputs if kind in o.get("data", {})]


def text(cell):
    return "".join(o.get("text", "") for o in cell.outputs) + "".join(data(cell, "text/plain"))


def test_learners_notebook():
    cells = code_cells(run("learner.ipynb"))
    assert not [o for c in cells for o in c.outputs if o.output_type == "error"]
    derivation = data(cells[0], "text/html")[0]
    assert derivation.count("<math") > 50 and "<svg" in derivation and "SLIP" in derivation
    assert "0.157444" in derivation and "<script" not in derivation
    assert text(cells[1]).startswith("(0.157444251681") and "'slip'" in text(cells[1])
    assert "z1      -0.300000 -> +0.100000" in text(cells[2])        # 0.2 -> 0.6 adds 0.4 * x1 = 0.4
    assert "step 2" in text(cells[3]) and "<math" in data(cells[3], "text/html")[0]
    assert data(cells[4], "image/png")                                 # the loss over 30 steps
    latex = text(cells[5])
    assert latex.startswith("\\section*{1. Forward pass") and " &= -0.3 && \\text{article: -0.3, agrees}" in latex


def test_practitioners_notebook():
    cells = code_cells(run("practitioner.ipynb"))
    assert not [o for c in cells for o in c.outputs if o.output_type == "error"]
    assert "Total params: 4,810" in text(cells[1]) and "Network(64 → 64 relu → 10 softmax" in text(cells[1])
    right, total = map(int, re.search(r"(\d+) of (\d+) digits right", text(cells[2])).groups())
    assert total == 450 and right / total > 0.95
    assert all(data(cells[k], "image/png") for k in (3, 4, 5, 6))      # curves, confusion counts, mistakes, digit
    assert text(cells[6]) == "<Figure size 700x260 with 2 Axes>"       # the digit explained, beside its probabilities
    why = data(cells[7], "text/html")[0]
    assert "<svg" in why and "W⁽¹⁾: (64 × 64)" in why                       # matrix form for wide layers
    true, said = re.search(r"true class is '(\d)' \(target y\d+ = 1\); the model predicts '(\d)'",
                           data(cells[7], "text/markdown")[0]).groups()
    assert true != said                                                    # a mistake is explained
    table = text(cells[8])
    assert re.search(rf"^ +{true} .* true class$", table, re.M)
    assert re.search(rf"^ +{said} .* predicted$", table, re.M)
    assert "Checked: the explanation's ŷ and the model's own probabilities differ by less than 1e-6" in table


# ---- the committed outputs are a fresh run's ----

NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d+|\.\d+|\d+)(?:[eE][-+]?\d+)?(?!\w|\.\d)")
ADDRESS = re.compile(r"0x[0-9a-fA-F]{8,}")


def split_numbers(text):
    """``(rest, numbers)``: the text with each number replaced by ``#`` (and each memory address masked), and the
    numbers as printed."""
    text = ADDRESS.sub("0x…", text)
    return NUMBER.sub("#", text), NUMBER.findall(text)


def last_unit(printed):
    """One unit in the last printed digit (``0.0012`` -> 1e-4, ``1.5e-05`` -> 1e-6); 0 for an integer."""
    mantissa, _, exponent = printed.lower().partition("e")
    if "." not in mantissa and not exponent:
        return 0.0
    places = len(mantissa.partition(".")[2])
    return 10.0 ** (int(exponent or 0) - places)


def numbers_agree(committed, fresh):
    a, b = float(committed), float(fresh)
    unit = max(last_unit(committed), last_unit(fresh))
    if unit == 0:
        return a == b
    return math.isfinite(a) and math.isfinite(b) and abs(a - b) <= RTOL * max(abs(a), abs(b)) + unit


def png_size(encoded):
    raw = base64.b64decode(encoded)
    assert raw[:8] == b"\x89PNG\r\n\x1a\n", "an image/png output that is not a PNG"
    return int.from_bytes(raw[16:20], "big"), int.from_bytes(raw[20:24], "big")


def comparable(output):
    """An output without what differs between runs: execution count and image bytes (see the module docstring).
    Texts stay whole here; ``differences`` compares their numbers."""
    kept = {key: value for key, value in output.items() if key not in ("execution_count", "data")}
    if "data" in output:
        kept["data"] = {kind: (png_size(value) if kind == "image/png" else value)
                        for kind, value in output["data"].items()}
    return kept


def text_difference(where, committed, fresh):
    rest_c, numbers_c = split_numbers(committed)
    rest_f, numbers_f = split_numbers(fresh)
    if rest_c != rest_f:
        at = next((k for k, (x, y) in enumerate(zip(rest_c, rest_f)) if x != y), min(len(rest_c), len(rest_f)))
        return f"{where}: the text differs at character {at}: committed {rest_c[max(0, at - 40):at + 40]!r}, " \
               f"fresh {rest_f[max(0, at - 40):at + 40]!r} (numbers shown as #)"
    for k, (a, b) in enumerate(zip(numbers_c, numbers_f)):
        if not numbers_agree(a, b):
            at = list(NUMBER.finditer(ADDRESS.sub("0x…", committed)))[k].start()
            return f"{where}: {a} committed and {b} in a fresh run, in " \
                   f"{ADDRESS.sub('0x…', committed)[max(0, at - 40):at + 40]!r}"
    return None


def output_differences(where, committed, fresh):
    a, b = comparable(committed), comparable(fresh)
    kinds = sorted(a.get("data", {}))
    shape_a = {key: value for key, value in a.items() if key not in ("text", "data")}
    shape_b = {key: value for key, value in b.items() if key not in ("text", "data")}
    if shape_a != shape_b or kinds != sorted(b.get("data", {})) or ("text" in a) != ("text" in b):
        return [f"{where}: {shape_a} with {kinds} committed, {shape_b} with {sorted(b.get('data', {}))} fresh"]
    found = [text_difference(where, a["text"], b["text"])] if "text" in a else []
    for kind in kinds:
        x, y = a["data"][kind], b["data"][kind]
        if kind == "image/png":
            if any(abs(p - q) > PIXELS for p, q in zip(x, y)):
                found.append(f"{where} {kind}: a {x[0]}×{x[1]} image committed, {y[0]}×{y[1]} in a fresh run")
        elif isinstance(x, str) and isinstance(y, str):
            found.append(text_difference(f"{where} {kind}", x, y))
        elif x != y:                                            # JSON outputs: whole
            found.append(f"{where} {kind}: differs")
    return found


def differences(committed, fresh):
    """Where the committed outputs and a fresh run's differ, as readable lines (empty: they agree)."""
    old_cells, new_cells = code_cells(committed), code_cells(fresh)
    if len(old_cells) != len(new_cells):
        return [f"{len(old_cells)} code cells committed, {len(new_cells)} run"]
    found = []
    for n, (old, new) in enumerate(zip(old_cells, new_cells), 1):
        where = f"code cell {n} ({(old.source.splitlines() or [''])[0]})"
        if len(old.outputs) != len(new.outputs):
            found.append(f"{where}: {len(old.outputs)} outputs committed, {len(new.outputs)} in a fresh run")
            continue
        for m, (a, b) in enumerate(zip(old.outputs, new.outputs), 1):
            found += output_differences(f"{where}, output {m}", a, b)
    return [line for line in found if line]


@pytest.mark.parametrize("name", execute.NOTEBOOKS)
def test_committed_outputs_are_a_fresh_runs(name):
    path = FOLDER / name
    committed = nbformat.read(path, as_version=4)
    again = f"If the change is expected, regenerate the committed outputs: {execute.COMMAND}"
    assert path.stat().st_size < MAX_BYTES, f"{name}: {path.stat().st_size} bytes, expected under {MAX_BYTES}"
    unrun = [n for n, cell in enumerate(code_cells(committed), 1) if cell.execution_count is None or not cell.outputs]
    assert not unrun, f"{name}: code cells {unrun} are committed without outputs. {again}"
    timed = [n for n, cell in enumerate(committed.cells, 1) if "execution" in cell.metadata]
    assert not timed and "version" not in committed.metadata.get("language_info", {}), \
        f"{name}: cell timings or the interpreter's version are committed. {again}"
    raw = path.read_text(encoding="utf-8")
    for local in {str(ROOT), str(Path.home()), str(Path(tempfile.gettempdir()).resolve()) + "/"}:
        assert local not in raw, f"{name}: holds this machine's path {local}. {again}"
    found = differences(committed, run(name))
    assert not found, f"{name}: the committed outputs are not a fresh run's:\n" + "\n".join(found[:10]) + \
        f"\n{again}"


def test_the_readme_names_the_command():
    assert execute.COMMAND in (ROOT / "README.md").read_text(encoding="utf-8")


def test_differences_are_found_and_reported():
    """The comparison itself: a number beyond the tolerance, a changed word, a missing output, a resized image."""
    assert numbers_agree("0.180083", "0.180082") and numbers_agree("0.1800828773612465", "0.1800827814718952")
    assert not numbers_agree("0.180083", "0.180090") and not numbers_agree("438", "437")
    assert numbers_agree("1", "0.999999") and not numbers_agree("2", "0.999999")
    assert last_unit("1.63396e-05") == pytest.approx(1e-10) and last_unit("64") == 0
    assert split_numbers("z65 = -0.3 at 0x7f3a2c1d9e10, W⁽¹⁾: (64 × 64), size 500x300, step 2.") == \
        ("z65 = # at 0x…, W⁽¹⁾: (# × #), size 500x300, step #.", ["-0.3", "64", "64", "2"])
    fresh = run("learner.ipynb")
    edited = nbformat.reads(nbformat.writes(fresh), as_version=4)
    cells = code_cells(edited)
    values = cells[1].outputs[0]["data"]
    values["text/plain"] = values["text/plain"].replace("0.157444", "0.158444")
    cells[2].outputs[0]["text"] = cells[2].outputs[0]["text"].replace("->", "=>")
    cells[3].outputs = []
    png = base64.b64decode(cells[4].outputs[0]["data"]["image/png"])
    wider = png[:16] + (int.from_bytes(png[16:20], "big") + PIXELS + 1).to_bytes(4, "big") + png[20:]
    cells[4].outputs[0]["data"]["image/png"] = base64.b64encode(wider).decode()
    found = differences(edited, fresh)
    assert len(found) == 4
    assert "0.1584442516811659 committed and 0.1574442516811659 in a fresh run, in \"(0.1584" in found[0]
    assert "the text differs" in found[1] and "0 outputs committed, 1 in a fresh run" in found[2]
    assert "image committed" in found[3]
    assert differences(fresh, nbformat.reads(nbformat.writes(fresh), as_version=4)) == []
