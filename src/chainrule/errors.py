"""The one error type chainrule raises for bad input.

It subclasses ``ValueError`` so that callers who catch the standard exception keep working, while the command
line can tell a user's mistake (print the message, exit non-zero) from a bug in chainrule (a traceback).
"""


class ChainruleError(ValueError):
    """Bad input: the message names the thing, what was expected and what was found."""
