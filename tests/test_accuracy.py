"""The accuracy targets of the README's table, with network seed 0 as the table reports them."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
from accuracy import RECIPES, train  # noqa: E402


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_accuracy_target(name):
    accuracy, _ = train(name, seed=0)
    assert accuracy >= RECIPES[name]["target"]
