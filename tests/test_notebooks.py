"""The two notebooks in docs/notebooks run top to bottom with nbclient, and their outputs hold the rendered
derivation (MathML and the diagram) and the figures."""

from pathlib import Path

import nbclient                # a test dependency: make test installs it; missing, this fails loudly
import nbformat

FOLDER = Path(__file__).resolve().parent.parent / "docs" / "notebooks"


def run(name):
    notebook = nbformat.read(FOLDER / name, as_version=4)
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(FOLDER)}}).execute()
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def data(cell, kind):
    return [o["data"][kind] for o in cell.outputs if kind in o.get("data", {})]


def text(cell):
    return "".join(o.get("text", "") for o in cell.outputs) + "".join(data(cell, "text/plain"))


def test_learners_notebook():
    cells = run("learner.ipynb")
    assert not [o for c in cells for o in c.outputs if o.output_type == "error"]
    derivation = data(cells[0], "text/html")[0]
    assert derivation.count("<math") > 50 and "<svg" in derivation and "SLIP" in derivation
    assert "0.157444" in derivation and "<script" not in derivation
    assert text(cells[1]).startswith("(0.157444251681") and "'slip'" in text(cells[1])
    assert "z1      -0.300000 -> +0.100000" in text(cells[2])        # 0.2 -> 0.6 adds 0.4 * x1 = 0.4
    assert "step 2" in text(cells[3]) and "<math" in data(cells[3], "text/html")[0]
    assert data(cells[4], "image/png")                                 # the loss over 30 steps
    assert text(cells[5]).startswith("\\documentclass")


def test_practitioners_notebook():
    cells = run("practitioner.ipynb")
    assert not [o for c in cells for o in c.outputs if o.output_type == "error"]
    assert "Total params: 4,810" in text(cells[1]) and "Network(64 → 64 relu → 10 softmax" in text(cells[1])
    accuracy = float(text(cells[2]).split("'accuracy': ")[1].rstrip("}"))
    assert accuracy > 0.95
    assert data(cells[3], "image/png") and data(cells[4], "image/png")      # curves, confusion counts
    why = data(cells[5], "text/html")[0]
    assert "<svg" in why and "W⁽¹⁾: (64 × 64)" in why                       # matrix form for wide layers
    assert text(cells[6]) == "True"                                         # the model's own probabilities
