"""Plots: each file is produced and well-formed (a PNG with the right signature and size, SVG that parses)."""

import json
import struct
import xml.etree.ElementTree as ElementTree

import matplotlib  # noqa: F401  (the plot extra: installed by make test, so missing it must fail)
import numpy as np
import pytest

import chainrule as cr
from chainrule import plots


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def assert_svg(path):
    root = ElementTree.parse(path).getroot()
    assert root.tag.endswith("svg") and len(list(root.iter())) > 50


@pytest.fixture(scope="module")
def trained():
    data = cr.datasets.load("digits")
    X_train, X_test, y_train, y_test = cr.datasets.train_test_split(data, 0.25, 0)
    net = cr.mlp([64, 32, 10], seed=0)
    history = net.fit(X_train, y_train, epochs=4, validation_split=0.1, standardize=True, verbose=0)
    return net, history, X_test, y_test


def test_curves_confusion_and_weights(trained, tmp_path):
    net, history, X_test, y_test = trained
    plots.plot_history(history, tmp_path / "curves.png")
    plots.plot_confusion(net, X_test, y_test, tmp_path / "confusion.png")
    plots.plot_first_layer(net, tmp_path / "weights.png")
    plots.plot_confusion(net, X_test, y_test, tmp_path / "confusion.svg")
    assert png_size(tmp_path / "curves.png")[0] > 600
    assert png_size(tmp_path / "confusion.png")[0] > 300
    assert png_size(tmp_path / "weights.png")[1] > 300
    assert_svg(tmp_path / "confusion.svg")


def test_plots_return_figures_and_write_only_when_given_a_path(trained, tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    net, history, X_test, y_test = trained
    monkeypatch.chdir(tmp_path)
    figures = [plots.plot_history(history), plots.plot_confusion(net, X_test, y_test), plots.plot_first_layer(net)]
    assert all(isinstance(f, Figure) for f in figures) and list(tmp_path.iterdir()) == []
    assert [len(f.axes) for f in figures[:2]] == [2, 1]
    assert figures[1].axes[0].get_title().startswith("Confusion counts (accuracy")
    written = plots.plot_history(history, tmp_path / "c.png")
    assert isinstance(written, Figure) and [p.name for p in tmp_path.iterdir()] == ["c.png"]   # no temporary left


def test_decision_regions_evolve_over_training(tmp_path):
    data = cr.datasets.load("moons")
    net = cr.mlp([2, 16, 2], "tanh", seed=0)
    snapshots = plots.Snapshots([1, 10, 30])
    net.fit(data.X, data.y, epochs=30, optimizer=cr.Adam(lr=0.01), callbacks=[snapshots], verbose=0)
    before = {k: p.copy() for k, p in net.named_parameters().items()}
    figure = plots.plot_decision_regions(net, data.X, data.y, snapshots.taken, tmp_path / "regions.svg")
    assert_svg(tmp_path / "regions.svg")
    assert [ax.get_title().split(":")[0] for ax in figure.axes] == ["epoch 1", "epoch 10", "epoch 30"]
    assert sorted(snapshots.taken) == [1, 10, 30]
    for name, value in net.named_parameters().items():       # the network is left as it was
        np.testing.assert_array_equal(value, before[name])
    assert not np.array_equal(snapshots.taken[1]["0.weight"], snapshots.taken[30]["0.weight"])


def test_bad_plot_requests(tmp_path, trained):
    net, history, *_ = trained
    with pytest.raises(cr.ChainruleError, match="expected a .png or .svg"):
        plots.plot_history(history, tmp_path / "curves.jpg")
    with pytest.raises(cr.ChainruleError, match="decision regions need 2-D data"):
        plots.plot_decision_regions(net, np.zeros((3, 64)), np.zeros(3), {}, tmp_path / "r.png")


def test_train_plot_and_plot_command(tmp_path):
    from chainrule.cli import main

    assert main(["train", "--data", "digits", "--epochs", "3", "--quiet", "--validation-split", "0.1",
                 "--out", str(tmp_path / "m.npz"), "--plot", str(tmp_path / "plots")]) == 0
    for name in ("curves.png", "confusion.png", "weights.png"):
        png_size(tmp_path / "plots" / name)
    assert len(json.loads((tmp_path / "plots" / "history.json").read_text())["loss"]) == 3
    assert main(["plot", "curves", str(tmp_path / "plots" / "history.json"), "--out", str(tmp_path / "c.svg")]) == 0
    assert main(["plot", "regions", "--data", "spiral", "--epochs", "8", "--out", str(tmp_path / "s.png")]) == 0
    assert main(["plot", "weights", str(tmp_path / "m.npz"), "--out", str(tmp_path / "w.png")]) == 0
    assert_svg(tmp_path / "c.svg")
    png_size(tmp_path / "s.png")
