"""Explanations: real training steps, recorded, laid out with formulas, and audited against printed numbers.

The stages, each importing only those before it: ``spec`` (spec files) -> ``stepping`` (the recorded pass) ->
``derivation`` (laid out) -> ``audit`` (printed numbers judged) -> ``pipeline`` (``derive``: the stages in order) ->
``renderers`` -> ``api`` (``explain``, the notebook function, which is also ``chainrule.explain``).
"""

from .api import Explanation, explain
from .derivation import Derivation
from .pipeline import derive
from .render import render_json, render_text
from .renderers import RENDERERS
from .shipped import build_network_for, example_path, examples, seed_article, seed_article_path
from .spec import Spec, load_spec, parse_spec

__all__ = ["Explanation", "explain", "example_path", "examples", "build_network_for", "Derivation", "RENDERERS",
           "Spec", "derive", "load_spec", "parse_spec", "render_json", "render_text", "seed_article",
           "seed_article_path"]
