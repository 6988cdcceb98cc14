"""Explanations: one real training step, recorded, laid out with formulas, and audited against printed numbers."""

from .derivation import Derivation
from .pipeline import derive
from .render import render_json, render_text
from .renderers import RENDERERS
from .shipped import build_network_for, example_path, examples, seed_article, seed_article_path
from .spec import Spec, load_spec, parse_spec

__all__ = ["example_path", "examples", "build_network_for", "Derivation", "RENDERERS", "Spec", "derive", "load_spec",
           "parse_spec", "render_json", "render_text", "seed_article", "seed_article_path"]


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
