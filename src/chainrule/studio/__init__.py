"""``chainrule studio``: the explanation page made live in the browser, and a network trained on a data set.

A thin server over the explanation API (``chainrule.explainer``) and ``fit``: it never computes the network's maths
itself. The page's script, style and everything else it loads are files of this package: no network is needed.
"""

from .server import MAX_BODY, Running, create_app, serve

__all__ = ["MAX_BODY", "Running", "create_app", "serve"]
