"""Exercises over several steps: the derivation of steps 1 to k, and which step an asked name or word belongs to.

A quantity of step k >= 2 is named as the explainer names it (``explain.step_names``): ``z1@2``, ``w5'@2`` (w5 as
step 2 left it), ``v_w5@2``; a quantity of step 1 keeps its plain name. Step 2 starts from the parameters and
optimizer state step 1 left, with the same example, so a slip in w5′ is carried into every number of step 2 that
uses it: the grader's audit follows it there (``grade``).
"""

import re

from ..errors import ChainruleError
from ..explainer import derive
from ..explainer.audit import author_pass, places_of
from ..explainer.derivation import Derivation, lay_out
from ..explainer.spec import Spec, claim_key, parameter_names
from ..explainer.step_names import at_step, canonical, split_step

#: The most steps an exercise covers: courses work two or three steps by hand, and each step asks as many numbers as
#: the first.
MAX_STEPS = 3
_STEP = re.compile(r"@([0-9]+)$")       # ASCII digits only: \d also reads ٢ (Arabic-Indic) and a full-width ２


def derive_through(spec: Spec, steps: int) -> Derivation:
    """The derivation of the engine's steps 1 to ``steps``, every step laid out in full and its quantities named for
    their step (``z1@2``); ``spec`` has no claims (an exercise's or a grader's truth), so nothing is audited."""
    return derive(spec) if steps == 1 else lay_out(spec, through=steps)


def step_of(item: str) -> int | None:
    """The step an ``--ask`` item names with ``@k`` (``update@2``, ``w5'@2``), or None where it names none."""
    match = _STEP.search(item)
    return int(match[1]) if match else None


def check_steps(steps: int, flag: str = "--steps") -> int:
    """``steps`` as the number of steps an exercise covers: a whole number from 1 to ``MAX_STEPS``."""
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise ChainruleError(f"{flag}: expected a number of steps from 1 to {MAX_STEPS} (an exercise worked by "
                             f"hand), found {steps!r}")
    return steps


def steps_asked(ask, steps: int | None) -> int:
    """How many steps an exercise covers: ``steps`` as given (at least the latest step ``ask`` names), else the
    latest step ``ask`` names (1 when none names a later one)."""
    for item in ask:
        if isinstance(item, str) and "@" in item and step_of(item) is None:
            raise ChainruleError(f"--ask: expected a step from 1 to {MAX_STEPS} after @, in the digits 0-9, found "
                                 f"{item!r}")
    named = [(step_of(item), item) for item in ask if isinstance(item, str)]
    latest, item = max(((k, i) for k, i in named if k is not None), default=(1, ""))
    if latest < 1 or latest > MAX_STEPS:
        raise ChainruleError(f"--ask: expected a step from 1 to {MAX_STEPS} after @ (an exercise worked by hand), "
                             f"found {item!r}")
    if steps is None:
        return latest
    check_steps(steps)
    if latest > steps:
        raise ChainruleError(f"--ask: {item!r} is of step {latest}, and the exercise covers steps 1 to {steps} "
                             f"(--steps {steps}); expected --steps {latest} or a quantity of an earlier step")
    return steps


def shown_step(name: str) -> int:
    """The step a derivation's quantity belongs to (1 for a plain name)."""
    return split_step(name)[1]


def starts_of(spec: Spec, steps: int, known) -> dict[str, str]:
    """The start of each later step a student may write, as the sheet names it (``w5@2``, w₅⁽ᵗ⁼²⁾: w5 as step 2
    starts) -> the quantity it restates (``w5'``, w5 as step 1 left it: ``step_names.canonical``), for every
    parameter whose updated value is among ``known`` (the steps' quantities)."""
    parameters = parameter_names(spec)
    return {at_step(p, k): canonical(at_step(p, k), parameters) for k in range(2, steps + 1) for p in parameters
            if canonical(at_step(p, k), parameters) in known}


def own_start(spec: Spec, learning_rate: float, updated: str) -> float | None:
    """The value a student's step k started ``updated``'s parameter from (``w5'@2``: w5 as their step 2 began), k >= 2,
    from their numbers (``spec``'s claims): the number they wrote for it, else what the engine's pass fed their numbers
    gives (``audit.author_pass``, the audit's own pass). None for step 1, which starts from the given value."""
    base, step = split_step(updated)
    if step < 2 or not base.endswith("'"):
        return None
    before = at_step(base, step - 1)                 # w5'@(k-1): w5 as step k-1 left it
    printed = {claim_key(spec, c.name): c.value for c in spec.claims}
    if before in printed:
        return printed[before]
    return author_pass(spec, learning_rate, printed, places_of(spec), wanted={before}).get(before)
