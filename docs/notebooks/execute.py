"""Run the notebooks in this folder top to bottom and write them back with their outputs, so that a reader on GitHub
sees the derivations, figures and numbers without running anything.

Run it whenever chainrule's output changes (tests/test_notebooks.py fails and names this command):

    .venv/bin/python docs/notebooks/execute.py                       # both notebooks
    .venv/bin/python docs/notebooks/execute.py docs/notebooks/learner.ipynb

Each notebook runs in a fresh ``python3`` kernel with this folder as its working directory, exactly as the test
runs it (the test imports ``execute`` from here). Cell timings are not recorded, a cell's printed text is one output
however the kernel happened to flush it, and the notebook's own metadata is kept as it was (no interpreter version),
so a rerun changes the file only where an output changed. Each file is written to a temporary file beside it and
renamed over it (``chainrule.atomicfile``); a cell that fails leaves the file as it was.
"""

from pathlib import Path
import sys

import nbclient
import nbformat

from chainrule.atomicfile import write_text_atomic

FOLDER = Path(__file__).resolve().parent
NOTEBOOKS = ("learner.ipynb", "practitioner.ipynb")
COMMAND = ".venv/bin/python docs/notebooks/execute.py"
TIMEOUT_S = 300          # per cell; the slowest (training on digits) takes a few seconds


def execute(path) -> nbformat.NotebookNode:
    """The notebook at ``path``, run top to bottom; a cell that raises stops the run with nbclient's error."""
    path = Path(path)
    notebook = nbformat.read(path, as_version=4)
    metadata = notebook.metadata.copy()
    nbclient.NotebookClient(notebook, timeout=TIMEOUT_S, kernel_name="python3", record_timing=False,
                            coalesce_streams=True, resources={"metadata": {"path": str(path.parent)}}).execute()
    notebook.metadata = metadata         # the kernel would add its Python version: the file should not change
    return notebook                      # with the machine that ran it


def write(notebook: nbformat.NotebookNode, path) -> None:
    text = nbformat.writes(notebook)
    write_text_atomic(path, text if text.endswith("\n") else text + "\n")


def main(argv: list[str]) -> int:
    paths = [Path(p) for p in argv] or [FOLDER / name for name in NOTEBOOKS]
    for path in paths:
        if path.suffix != ".ipynb" or not path.is_file():
            print(f"{path}: expected a notebook file (.ipynb) that exists", file=sys.stderr)
            return 2
    for path in paths:
        try:
            notebook = execute(path)
        except nbclient.exceptions.CellExecutionError as error:     # its message holds the cell and its traceback
            print(f"{path}: a cell failed, the file is unchanged\n{error}", file=sys.stderr)
            return 1
        write(notebook, path)
        print(f"{path}: executed and written, {path.stat().st_size / 1024:.0f} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
