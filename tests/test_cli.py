"""End to end: the console script as a user runs it."""

import json
import subprocess
import sys

import pytest


def run(*args):
    return subprocess.run([sys.executable, "-m", "chainrule", *args], capture_output=True, text=True, timeout=120)


def test_help_lists_subcommands():
    result = run("--help")
    assert result.returncode == 0
    assert "explain" in result.stdout and "gradcheck" in result.stdout


def test_explain_default_is_the_seed_article():
    result = run("explain")
    assert result.returncode == 0, result.stderr
    assert "Understanding Neural Networks" in result.stdout and "z⁽⁴⁾" in result.stdout


def test_explain_json_and_learning_rate():
    result = run("explain", "--format", "json", "--lr", "0.5")
    document = json.loads(result.stdout)
    assert document["learning_rate"] == 0.5
    assert document["updated"]["w1"] == pytest.approx(0.2 - 0.5 * document["quantities"]["dL/dw1"])


@pytest.mark.parametrize("args, words", [
    (("explain", "--spec", "no/such/file.json"), "cannot read the spec file"),
    (("explain", "--lr", "-1"), "--lr: expected a positive learning rate"),
])
def test_errors_exit_2_without_traceback(args, words):
    result = run(*args)
    assert result.returncode == 2
    assert words in result.stderr and "Traceback" not in result.stderr


def test_malformed_spec_file(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"inputs": [1, 2], "targets": [1], "loss": "half_squared_error",
                                "layers": [{"weights": [[0.1, 0.2, 0.3]], "activation": "sigmoid"}]}))
    result = run("explain", "--spec", str(path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "layers[0].weights[0]: expected 2 columns" in result.stderr


def test_gradcheck_passes_and_reports_per_array():
    result = run("gradcheck", "--depth", "1", "--hidden", "3")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "seed article" in result.stdout and "0.weight" in result.stdout
    assert "within tolerance" in result.stdout
