"""The README's Python snippets run as written, each alone: every ```python block and every ```py block (```py marks
the ones that start a Dask cluster) is saved as its own script and run with ``python snippet.py`` in a fresh process
and an empty folder of its own, as a reader who pastes that one snippet into a file would run it. So each snippet
carries its own imports and data, and a cluster's ``if __name__ == "__main__":`` guard is exercised for real (worker
processes import the script again). Each snippet runs once in the whole suite: here."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
TIMEOUT = 300                      # seconds a snippet may take; each takes a few on a 2-core machine


def snippets() -> list[tuple[str, int, str, str]]:
    """(language, README line, the heading or bold lead-in above it, code) of every ```python and ```py block."""
    found, heading = [], ""
    pattern = r"^#{2,4} ([^\n]*)$|^\*\*([^*\n]+?)\.?\*\*|^```(python|py)\n(.*?)^```"
    for match in re.finditer(pattern, README, re.S | re.M):
        if match[1] or match[2]:
            heading = match[1] or match[2]
        else:
            found.append((match[3], README.count("\n", 0, match.start()) + 1, heading, match[4]))
    return found


SNIPPETS = snippets()


def snippet_id(snippet) -> str:
    language, line, heading, _ = snippet
    return f"{language}-line{line}-{re.sub(r'[^a-z0-9]+', '-', heading.lower()).strip('-')}"


def test_the_readme_has_its_snippets():
    languages = [language for language, *_ in SNIPPETS]
    assert languages.count("python") >= 6 and languages.count("py") == 3, languages


def _shown_in_comments(code: str, out: str) -> None:
    """Output the snippet shows in a comment after ``print(...)`` is what it prints: ``# <...>`` is a whole line,
    ``# 2: why`` a line that is 2, ``# short: A ... B ...`` output holding each part between the ``...``. Other
    comments describe rather than show, and are not checked."""
    for shown in re.findall(r"^print\(.*?\)\s+# (.*)$", code, re.M):
        if shown.startswith("<"):
            assert shown in out.splitlines(), shown
        elif re.match(r"-?\d+:", shown):
            assert shown.split(":")[0] in out.splitlines(), shown
        elif shown.startswith("short: "):
            parts = [p.strip(" ,()") for p in shown.removeprefix("short: ").split("...")]
            assert all(p in out for p in parts if p), (shown, out)


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[snippet_id(s) for s in SNIPPETS])
def test_each_snippet_runs_alone_as_a_script(snippet, tmp_path):
    language, line, heading, code = snippet
    if language == "py":
        assert 'if __name__ == "__main__":' in code, "a snippet that starts a cluster needs the __main__ guard"
    (tmp_path / "snippet.py").write_text(code, encoding="utf-8")
    done = subprocess.run([sys.executable, "snippet.py"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert done.returncode == 0, f"README.md line {line} ({heading}):\n{done.stderr[-3000:]}"
    _shown_in_comments(code, done.stdout)
    if "Incremental(" in code:          # the accuracy it prints on the first 10,000 rows: a plain boundary
        assert float(done.stdout.split()[-1]) > 0.95, done.stdout
    if "from chainrule.distributed import fit" in code:     # evaluations, then accuracy on 5,000 training rows
        assert float(done.stdout.split()[-1]) > 0.95, done.stdout
    if "GridSearchCV" in code and language == "py":
        assert float(done.stdout.split()[-1]) > 0.85, done.stdout      # best cross-validated accuracy
