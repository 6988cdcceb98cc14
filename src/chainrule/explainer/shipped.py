"""The example specs chainrule ships (``chainrule explain --example NAME``), the seed article's among them."""

from importlib import resources

from ..errors import ChainruleError
from .spec import Spec, build_network, load_spec


def _found() -> dict:
    return {path.name.split(".")[0]: path for path in (resources.files("chainrule") / "data" / "examples").iterdir()
            if path.name.endswith((".json", ".toml"))}


def example_path(name: str):
    """A shipped example spec by name (see ``examples()``)."""
    found = _found()
    if name not in found:
        raise ChainruleError(f"--example: expected one of {', '.join(sorted(found))}, found {name!r}")
    return found[name]


def examples() -> list[str]:
    return sorted(_found())


def seed_article_path():
    """The shipped spec of chainrule's seed article: its network, its example and its printed numbers."""
    return example_path("seed_article")


def seed_article() -> Spec:
    return load_spec(seed_article_path())


def build_network_for(spec: Spec):
    """The spec's float64 network and its examples as batches: ``(network, x: (N, D), y: (N, K))``, N = 1 for a
    spec of one example."""
    network, _ = build_network(spec)
    return network, spec.X, spec.Y
