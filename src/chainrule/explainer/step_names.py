"""Names of quantities at a later step: ``z1@2`` is z1 in step 2, ``w5+@2`` (or ``w5'@2``) w5 as step 2 left it.

A quantity of step 1 keeps its plain name (``z1``, ``w5'``), so every spec without later steps reads as before.
A parameter's value at the start of step k is the value step k − 1 left it with: ``w5@3`` is ``w5'@2``, and
``w5@2`` is ``w5'``; ``canonical`` writes each claim's name in the one form the derivation keys its values by.
An optimizer's state before step 1 (a printed starting velocity) is ``v_w5@0``.
"""

import re

_STEP = re.compile(r"^(.*)@([0-9]+)$")


def split_step(name: str) -> tuple[str, int]:
    """``("z1", 2)`` for ``z1@2``; ``("z1", 1)`` for ``z1``."""
    match = _STEP.match(name)
    return (match[1], int(match[2])) if match else (name, 1)


def at_step(name: str, step: int) -> str:
    """``name`` in step ``step``: plain in step 1, ``name@k`` after it (``name@0`` before the first step)."""
    return name if step == 1 else f"{name}@{step}"


def step_of(name: str) -> int:
    return split_step(name)[1]


def canonical(name: str, parameters=()) -> str:
    """A claim's name as the derivation keys it: ``+`` written ``'``, ``@1`` dropped, and a parameter at the start
    of step k ≥ 2 (``w5@2``, of ``parameters``) written as step k − 1's updated value (``w5'``)."""
    base, step = split_step(name)
    if base.endswith("+"):
        base = base[:-1] + "'"
    if step >= 2 and base in parameters:
        return at_step(base + "'", step - 1)
    return at_step(base, step)


def last_step(names) -> int:
    """The latest step any of ``names`` belongs to (1 when none names a later one)."""
    return max((step_of(name) for name in names), default=1)


_PLACEHOLDER = re.compile(r"\{(-?)([^{}]+)\}")


def qualified(template: str, step: int, constants) -> str:
    """A step-1 formula template written for step ``step``: each ``{name}`` becomes ``{name@step}``, except the
    ``constants`` (the learning rate, the inputs and targets: the same in every step); a placeholder that already
    names its step keeps it (``{v_w5@1}``, the velocity step 1 left, is written ``{v_w5}``)."""
    def name(match):
        sign, inner = match[1], match[2]
        if inner in constants:
            return match[0]
        base, own = split_step(inner)
        if "@" in inner:
            return "{" + sign + at_step(base, own) + "}"
        return "{" + sign + at_step(inner, step) + "}"
    return _PLACEHOLDER.sub(name, template)
