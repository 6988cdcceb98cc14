"""Everything the README shows as output comes from the program: the explain excerpt, the JSON sample's numbers,
the TOML example; and its shell commands, all of them, run as written, in order, in one folder (its Python snippets:
tests/test_readme.py). A change that makes the README wrong fails here."""

import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from chainrule.explainer import derive, parse_spec, render_json, render_text, seed_article

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def fenced(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, re.S)


def test_the_explain_excerpt_is_the_programs_output():
    output = render_text(derive(seed_article())).splitlines()
    excerpt = fenced("")[0].splitlines()
    assert len(excerpt) > 10
    for line in excerpt:
        if line == "...":
            continue
        head = line.split("...")[0].rstrip() if line.endswith("...).") else line
        assert any(out.startswith(head) for out in output), f"README line not in the program's output: {line!r}"


def _numbers(text: str) -> dict[str, str]:
    return dict(re.findall(r'"([^"]+)": (-?\d+\.\d+|-?\d+(?=[,}\]]))', text))


def shows(value: float, printed: str) -> bool:
    """``printed`` is ``value`` to its printed digits: within half a unit of its last digit (never bit for bit)."""
    places = len(printed.split(".")[1]) if "." in printed else 0
    return abs(value - float(printed)) <= 0.5 * 10.0 ** -places + 1e-12


def test_the_json_sample_matches_the_program():
    sample = fenced("json")[0]
    document = json.loads(render_json(derive(seed_article())))
    quantities = dict(re.findall(r'"([^"]+)": (-?\d+\.\d+)', sample[sample.index('"quantities"'):
                                                                     sample.index('"claims"')]))
    quantities.pop("learning_rate", None)
    assert len(quantities) >= 10
    for name, shown in quantities.items():
        assert shows(document["quantities"][name], shown), (name, document["quantities"][name], shown)
    losses = re.search(r'"losses": \[([^\]]+)\]', sample)[1].split(", ")
    assert len(losses) == len(document["losses"])
    assert all(shows(value, shown) for value, shown in zip(document["losses"], losses)), (document["losses"], losses)
    claim = dict(re.findall(r'"(\w+)": ("[^"]*"|[-\w.]+)', sample[sample.index('"claims"'):sample.index('"updated"')]))
    slip = next(c for c in document["claims"] if c["name"] == claim["name"].strip('"'))
    assert slip["verdict"] == claim["verdict"].strip('"') and str(slip["agrees"]).lower() == claim["agrees"]
    for field in ("claimed", "computed", "from_claims"):
        assert shows(slip[field], claim[field]), (field, slip[field], claim[field])
    assert shows(document["updated"]["w1"], re.search(r'"w1": (\S+),', sample[sample.index('"updated"'):])[1])
    assert shows(document["learning_rate"], re.search(r'"learning_rate": (\S+),', sample)[1])
    for key in re.findall(r'^  "([a-z_]+)":', sample, re.M):
        assert key in document, key


def test_the_toml_example_runs_and_reads_as_english():
    example = fenced("toml")[0]
    spec = parse_spec(tomllib.loads(example), "README.md")
    text = render_text(derive(spec))
    assert "from the author's own inputs" in text or "Audit:" in text
    assert "claimed's" not in text


# Commands the in-order run below leaves out, each with its reason (a listed one the README no longer has fails).
SKIPPED = {
    "chainrule studio": "starts a web server that runs until stopped, and opens a browser; tests/test_studio_server.py "
                        "and tests/test_studio_browser.py drive the studio instead",
}


def shell_commands() -> list[tuple[int, str]]:
    """(README line, command) of every command of the README's shell blocks, in order.

    A shell block is an indented code block (4 spaces, after a blank line, outside any fence) whose first line
    starts with ``chainrule ``, or a ```sh, ```bash or ```shell fence. Every line of such a block is a command, a
    line ending in a backslash continuing on the next; so setup lines in them (``python -c``, ``printf``) run too.
    The "Two commands" block (``make demo``, ``make test``) is not one: it starts with ``make``, and CI runs both."""
    lines = README.splitlines()
    commands, fence, index = [], None, 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("```"):
            fence = None if fence is not None else line[3:].strip()
            index += 1
            continue
        in_shell_fence = fence in ("sh", "bash", "shell")
        starts_block = (fence is None and line.startswith("    chainrule ") and index > 0
                        and not lines[index - 1].strip())
        if not (in_shell_fence or starts_block):
            index += 1
            continue
        while index < len(lines) and (lines[index].startswith("    ") if fence is None
                                      else not lines[index].startswith("```")):
            start, command = index + 1, lines[index].strip()
            while command.endswith("\\") and index + 1 < len(lines):
                index += 1
                command = command[:-1] + " " + lines[index].strip()
            if command and not command.startswith("#"):
                commands.append((start, command))
            index += 1
    return commands


def _shims(folder: Path) -> dict[str, str]:
    """The environment of a reader's shell after ``source .venv/bin/activate``: ``chainrule`` and ``python`` are
    this interpreter's."""
    folder.mkdir()
    for name, target in (("chainrule", f'"{sys.executable}" -m chainrule'), ("python", f'"{sys.executable}"')):
        (folder / name).write_text(f'#!/bin/sh\nexec {target} "$@"\n')
        (folder / name).chmod(0o755)
    return {**os.environ, "PATH": f"{folder}{os.pathsep}{os.environ.get('PATH', '')}"}


def test_the_readmes_commands_run_in_order_in_one_folder(tmp_path):
    """Every shell command of the README (see ``shell_commands``), pasted top to bottom into one shell in one empty
    folder, as written (nothing added: no --quiet, no --force), exits 0; each file it names with ``--out`` is
    there afterwards. Only the commands in SKIPPED are left out."""
    commands = shell_commands()
    for prefix in SKIPPED:
        assert any(c.startswith(prefix) for _, c in commands), f"SKIPPED names {prefix!r}, which the README lacks"
    to_run = [(line, c) for line, c in commands if not any(c.startswith(prefix) for prefix in SKIPPED)]
    assert len(to_run) >= 15 and all(not c.startswith("make ") for _, c in to_run), to_run
    env = _shims(tmp_path / "bin")
    work = tmp_path / "work"
    work.mkdir()
    for line, command in to_run:
        done = subprocess.run(["bash", "-c", command], cwd=work, env=env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, f"README.md line {line}: {command}\n{done.stderr[-3000:]}"
        argv = shlex.split(command, comments=True)
        for flag, value in zip(argv, argv[1:]):
            if flag == "--out":
                assert (work / value).exists(), f"README.md line {line}: {command} wrote no {value}"


def test_the_cluster_cost_model_table_follows_its_formula():
    """"When more machines pay": each time in the table is t(W) = c P N / W + 16 P W / B + L with the c, L and
    bandwidths the paragraph states (one machine moves nothing), and W* = sqrt(c N B / 16) as it says."""
    section = README[README.index("**When more machines pay.**"):]
    c = float(re.search(r"`c = ([0-9.e-]+)` s per parameter", section)[1])
    latency = float(re.search(r"`L = (\d+)` ms", section)[1]) / 1000
    table = re.findall(r"^\| (\d+) \| ([0-9.]+) s \| ([0-9.]+) s \| ([0-9.]+) s \|$", section, re.M)
    assert [int(row[0]) for row in table] == [1, 2, 4, 8, 16, 32, 64]
    P = N = 1e6
    for row in table:
        W = int(row[0])
        for shown, gbit in zip(row[1:], (1, 10, 100), strict=True):
            moved = 0 if W == 1 else 16 * P * W / (gbit * 125e6)
            assert float(shown) == pytest.approx(c * P * N / W + moved + latency, rel=0.005), (W, gbit)
    for stated, gbit in ((35, 1), (111, 10)):
        assert f"`W*` = {stated}" in section and round((c * N * gbit * 125e6 / 16) ** 0.5) == stated
