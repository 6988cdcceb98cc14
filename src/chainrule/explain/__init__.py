"""Explanations: one real training step, recorded, laid out with formulas, and audited against printed numbers."""

from importlib import resources

from .derivation import Derivation, derive
from .render import render_json, render_text
from .render_html import render_html
from .render_tex import render_latex, render_markdown

RENDERERS = {"text": render_text, "json": render_json, "markdown": render_markdown, "latex": render_latex,
             "html": render_html}
from .spec import Spec, load_spec, parse_spec


def example_path(name: str):
    """A shipped example spec by name (see ``examples()``)."""
    from ..errors import ChainruleError

    found = {path.name.split(".")[0]: path for path in (resources.files("chainrule") / "data" / "examples").iterdir()
             if path.name.endswith((".json", ".toml"))}
    if name not in found:
        raise ChainruleError(f"--example: expected one of {', '.join(sorted(found))}, found {name!r}")
    return found[name]


def examples() -> list[str]:
    return sorted(p.name.split(".")[0] for p in (resources.files("chainrule") / "data" / "examples").iterdir()
                  if p.name.endswith((".json", ".toml")))


def seed_article_path():
    """The shipped spec of chainrule's seed article: its network, its example and its printed numbers."""
    return example_path("seed_article")


def seed_article() -> Spec:
    return load_spec(seed_article_path())


__all__ = ["example_path", "examples", "build_network_for", "Derivation", "RENDERERS", "Spec", "derive", "load_spec", "parse_spec", "render_json", "render_text",
           "seed_article", "seed_article_path"]


def build_network_for(spec: Spec):
    """The spec's float64 network and its one example as batches: ``(network, x: (1, D), y: (1, K))``."""
    from .spec import build_network

    network, _ = build_network(spec)
    return network, spec.inputs[None, :], spec.targets[None, :]


# ``chainrule.explain`` is this package (``from chainrule.explain import derive, load_spec, RENDERERS`` keep working)
# and also callable: ``cr.explain(...)`` is ``api.explain(...)``. One object for both, rather than a function bound
# over the package's name, because ``import chainrule.explain as e`` looks the attribute up on ``chainrule`` and
# would then find the function instead of the package.
import sys as _sys
import types as _types

from .api import Explanation, explain as _explain

__all__ += ["Explanation"]


class _CallableModule(_types.ModuleType):
    def __call__(self, *args, **kwargs) -> Explanation:
        return _explain(*args, **kwargs)

    __call__.__doc__ = _explain.__doc__
    __call__.__signature__ = __import__("inspect").signature(_explain)


_sys.modules[__name__].__class__ = _CallableModule
