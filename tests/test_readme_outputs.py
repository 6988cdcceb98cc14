"""Everything the README shows as output comes from the program: the explain excerpt, the JSON sample's numbers,
the TOML example, and the shell commands it lists (run as written). A change that makes the README wrong fails here."""

import json
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from chainrule.explain import derive, parse_spec, render_json, render_text, seed_article

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


def test_the_json_sample_matches_the_program():
    sample = fenced("json")[0]
    document = json.loads(render_json(derive(seed_article())))
    quantities = dict(re.findall(r'"([^"]+)": (-?\d+\.\d+)', sample[sample.index('"quantities"'):
                                                                     sample.index('"claims"')]))
    quantities.pop("learning_rate", None)
    assert len(quantities) >= 10
    for name, shown in quantities.items():
        places = len(shown.split(".")[1])
        assert round(document["quantities"][name], places) == pytest.approx(float(shown)), name
    losses = [float(v) for v in re.search(r'"losses": \[([^\]]+)\]', sample)[1].split(",")]
    assert np.round(document["losses"], 4).tolist() == losses
    slip = next(c for c in document["claims"] if c["name"] == "z4")
    assert slip["verdict"] == "slip" and round(slip["computed"], 4) == 0.1574 and round(slip["from_claims"], 4) == 0.1574
    assert round(document["updated"]["w1"], 4) == float(re.search(r'"w1": (\S+),', sample[sample.index('"updated"'):])[1])
    for key in re.findall(r'^  "([a-z_]+)":', sample, re.M):
        assert key in document, key


def test_the_toml_example_runs_and_reads_as_english():
    example = fenced("toml")[0]
    spec = parse_spec(tomllib.loads(example), "README.md")
    text = render_text(derive(spec))
    assert "from the author's own inputs" in text or "Audit:" in text
    assert "claimed's" not in text


def _shell_block(after: str) -> list[str]:
    """The indented command lines following a heading, joined where they continue with a backslash."""
    section = README[README.index(after):]
    lines, current = [], ""
    for line in section.splitlines()[1:]:
        if not line.startswith("    ") and lines and not current:
            break
        if line.startswith("    chainrule") or current:
            current += line.strip().rstrip("\\") + " "
            if not line.rstrip().endswith("\\"):
                lines.append(current.split("#")[0].strip())
                current = ""
    return lines


@pytest.mark.parametrize("heading", ["### The command line", "### Plots", "### ONNX"])
def test_the_readmes_commands_run_as_written(heading, tmp_path):
    commands = _shell_block(heading)
    assert commands, heading
    np.savetxt(tmp_path / "inputs.csv", np.random.default_rng(0).uniform(0, 16, (3, 64)), delimiter=",")
    if heading == "### ONNX":
        assert subprocess.run([sys.executable, "-m", "chainrule", "train", "--data", "digits", "--epochs", "2",
                               "--quiet"], cwd=tmp_path, capture_output=True).returncode == 0
    for command in commands:
        argv = shlex.split(command)
        assert argv[0] == "chainrule"
        result = subprocess.run([sys.executable, "-m", "chainrule", *argv[1:], *(["--quiet"] if argv[1] == "train" else [])],
                                cwd=tmp_path, capture_output=True, text=True)
        assert result.returncode == 0, (command, result.stderr)
