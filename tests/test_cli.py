"""End to end: the console script as a user runs it."""

import json
import re
import subprocess
import sys
import warnings

import numpy as np
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
    (("explain", "--spec", "no/such/file.json"), "no/such/file.json: no such spec file"),
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


def test_train_evaluate_predict(tmp_path):
    model = tmp_path / "iris.npz"
    result = run("train", "--data", "iris", "--hidden", "16", "--epochs", "60", "--lr", "0.01", "--out", str(model),
                 "--quiet")
    assert result.returncode == 0, result.stderr
    assert "test split (25%, seed 0): accuracy" in result.stdout and "confusion counts" in result.stdout
    assert model.exists()
    evaluated = run("evaluate", str(model), "--data", "iris")
    assert evaluated.returncode == 0 and "the test split of training" in evaluated.stdout
    accuracy_line = [l for l in result.stdout.splitlines() if "accuracy" in l][0].split(": ", 1)[1]
    assert accuracy_line in evaluated.stdout                 # the same figures, from the saved model
    rows = tmp_path / "rows.csv"
    rows.write_text("sepal length,sepal width,petal length,petal width\n5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n")
    predicted = run("predict", str(model), str(rows), "--out", str(tmp_path / "out.csv"))
    assert predicted.returncode == 0, predicted.stderr
    lines = (tmp_path / "out.csv").read_text().splitlines()
    assert lines[0] == "p_setosa,p_versicolor,p_virginica,label"
    assert lines[1].endswith(",setosa") and lines[2].endswith(",virginica")


def test_train_with_progress_bar_and_checkpoint(tmp_path):
    result = run("train", "--data", "wine", "--epochs", "3", "--out", str(tmp_path / "m.npz"),
                 "--checkpoint", str(tmp_path / "ck"), "--validation-split", "0.1")
    assert result.returncode == 0, result.stderr
    assert "epoch 3/3" in result.stderr and "val_loss " in result.stderr
    for line in result.stderr.replace("\r", "\n").splitlines():
        assert len(line) <= 80, line
    assert (tmp_path / "ck" / "checkpoint.npz").exists()


@pytest.mark.parametrize("args, words", [
    (("train", "--data", "nothing.csv"), "no such file, and not a built-in data set"),
    (("evaluate", "missing.npz", "--data", "iris"), "no such model file"),
    (("train", "--data", "iris", "--lr", "-1", "--quiet"), "argument --lr: expected a positive learning rate"),
    (("train", "--data", "iris", "--epochs", "0", "--quiet"), "argument --epochs: expected a whole number from 1"),
])
def test_train_errors_exit_2_without_traceback(args, words, tmp_path):
    result = run(*args, "--out", str(tmp_path / "m.npz")) if args[0] == "train" else run(*args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert words in result.stderr and "Traceback" not in result.stderr


def test_evaluate_refuses_unknown_labels(tmp_path):
    model = tmp_path / "m.npz"
    data = tmp_path / "d.csv"
    data.write_text("a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n9,1,x\n2,3,y\n4,5,x\n6,7,y\n")
    assert run("train", "--data", str(data), "--epochs", "1", "--out", str(model), "--quiet",
               "--test-size", "0.5").returncode == 0
    other = tmp_path / "e.csv"
    other.write_text("a,b,label\n1,2,x\n3,4,z\n")
    result = run("evaluate", str(model), "--data", str(other))
    assert result.returncode == 2 and 'unknown label "z"' in result.stderr


def test_explain_a_trained_models_prediction(tmp_path):
    model = tmp_path / "wine.npz"
    assert run("train", "--data", "wine", "--hidden", "8", "--epochs", "5", "--out", str(model), "--quiet").returncode == 0
    result = run("explain", "--model", str(model), "--data", "wine", "--index", "3", "--format", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert len(document["quantities"]) > 13 * 8
    result = run("explain", "--model", str(model), "--data", "wine", "--index", "999")
    assert result.returncode == 2 and "--index: expected 0..177" in result.stderr


@pytest.mark.parametrize("fmt", ["markdown", "latex", "html"])
def test_explain_formats_to_a_file(fmt, tmp_path):
    out = tmp_path / f"article.{fmt}"
    result = run("explain", "--example", "relu_student", "--format", fmt, "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 1000 and result.stdout == ""


def _help_pages():
    """Every subcommand's parser (``plot`` and each plot kind too), by its command words."""
    import argparse

    from chainrule.cli import build_parser

    pages, todo = {}, [((), build_parser())]
    while todo:
        words, parser = todo.pop()
        pages[words] = parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                todo += [((*words, name), sub) for name, sub in action.choices.items()]
    return pages


def _help_entries(page: str) -> dict[str, str]:
    """Each option's entry of a --help page, its wrapped lines joined: first option string -> text."""
    entries, current = {}, None
    for line in page.splitlines():
        start = re.match(r"^  (-[^\s,]+)", line)
        if start:
            current = start[1]
            entries[current] = line
        elif current and line.startswith("     "):
            entries[current] += " " + line
        else:
            current = None
    return {option: " ".join(text.split()) for option, text in entries.items()}


@pytest.mark.parametrize("words", sorted(_help_pages()), ids=lambda w: " ".join(w) or "chainrule")
def test_help_shows_each_default_once_and_only_real_ones(words, capsys, monkeypatch):
    """Every --help page: no "(default: None)" (an option with no default, or a required one), no "(default: False)"
    on a flag, no Python list, and never a second default after help that already states one."""
    from chainrule.cli import main

    monkeypatch.setenv("COLUMNS", "80")                     # wrapped, as in a terminal
    with pytest.raises(SystemExit) as done:
        main([*words, "--help"])
    assert done.value.code == 0
    page = capsys.readouterr().out
    flat = " ".join(page.split())
    for wrong in ("(default: None)", "(default: False)", "(default: True)", "(default: [", "(default: ('"):
        assert wrong not in flat, f"{' '.join(words)} --help: {wrong}"
    parser, entries = _help_pages()[words], _help_entries(page)
    for action in parser._actions:
        if not action.option_strings or action.option_strings[0] in ("-h", "--version"):
            continue
        entry = entries[action.option_strings[0]]
        mentions = entry.lower().count("default")
        assert mentions <= 1, f"{' '.join(words)} --help: the default twice: {entry}"
        if action.required or action.nargs == 0 or action.default is None:
            assert "(default: " not in entry or "(default: " in (action.help or ""), entry
        else:                                               # a real default: shown, by argparse or in the help
            assert mentions == 1, f"{' '.join(words)} --help: {action.option_strings[0]}'s default is not shown"


def test_train_refuses_a_data_set_of_one_class(tmp_path):
    (tmp_path / "one.csv").write_text("a,b,species\n1,2,setosa\n3,4,setosa\n5,6,setosa\n")
    result = run("train", "--data", str(tmp_path / "one.csv"), "--quiet", "--out", str(tmp_path / "m.npz"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f'{tmp_path / "one.csv"}: every example is of one class, "setosa": expected at least 2 classes' \
        in result.stderr
    assert not (tmp_path / "m.npz").exists()


def test_a_binary_classifier_of_the_estimators_evaluates_predicts_and_explains(tmp_path):
    """scikit-learn's binary MLP has one logistic output; the command line reads it as two classes."""
    from sklearn.datasets import load_breast_cancer
    from chainrule import MLPClassifier

    X, y = load_breast_cancer(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MLPClassifier(hidden_layer_sizes=(8,), max_iter=20, random_state=0).fit(X / X.max(axis=0), y)
    assert model.network_.out_features == 1
    model.network_.save(tmp_path / "b.npz")
    np.savetxt(tmp_path / "rows.csv", X[:3] / X.max(axis=0), delimiter=",")

    def run(*argv):
        done = subprocess.run([sys.executable, "-m", "chainrule", *argv], capture_output=True, text=True, cwd=tmp_path)
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
        return done.stdout

    assert "confusion counts" in run("evaluate", "b.npz", "--data", "breast_cancer", "--all")
    rows = run("predict", "b.npz", "rows.csv").splitlines()
    assert rows[0] == "p_0,p_1,label" and len(rows) == 4
    proba = model.predict_proba(X[:3] / X.max(axis=0))
    for line, p, label in zip(rows[1:], proba, model.predict(X[:3] / X.max(axis=0)), strict=True):
        cells = line.split(",")
        np.testing.assert_allclose([float(c) for c in cells[:2]], p, rtol=1e-4, atol=1e-6)
        assert cells[2] == str(label)
    assert "binary cross" in run("explain", "--model", "b.npz", "--data", "breast_cancer", "--index", "0")
