"""Optional dependencies: the engine needs only NumPy; training conveniences use well-kept libraries when present."""

import importlib

from .errors import ChainruleError


def require(module: str, extra: str, purpose: str):
    """Import ``module`` or say which extra to install for ``purpose``."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ChainruleError(f"{purpose} needs the package {module.split('.')[0]}: "
                             f"pip install 'chainrule[{extra}]'") from None
