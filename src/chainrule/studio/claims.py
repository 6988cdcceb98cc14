"""Whose numbers the studio's audit judges.

Numbers printed with a network (an article's, a post's, a student's) belong to that network. The page sends them as
``printed`` only while the network shown is the one they were printed for; once the learner changes its shape or a
given number they describe another network, and judging them there would blame their author for the learner's edit.
A learning rate of the learner's own keeps the audit of every printed number that does not depend on it (the forward
pass, the loss and, with a simultaneous update, every gradient); those that do (updated parameters, their changes,
and with a sequential update the errors carried below an updated layer) were worked at the printed rate, so they are
set aside and named. The learner's own numbers (``claims``) are always judged against the network shown.
"""

import re

from ..explainer.api import claims_from_text, with_claims
from ..explainer.pipeline import derive

#: a quantity a formula template uses: ``{name}`` or ``{-name}`` (the templates' own notation, see derivation.py)
USED = re.compile(r"\{-?([^{}]+)\}")
#: a claim's name: the quantity, ``+`` for its updated value (``w5+``, the derivation's ``w5'``), ``@k`` for step k
CLAIM = re.compile(r"^(.*?)(\+?)(?:@(\d+))?$")
LEARNER = "learner"           # the claims' source when the learner's own numbers are judged


def rate_dependent(derivation) -> set[str]:
    """The quantities whose value depends on the learning rate: ``eta`` and every step whose formula uses it or an
    updated parameter (``w5'``), directly or through such a step (the steps come in the order the pass computes)."""
    found = {"eta"}
    for section in derivation.sections:
        for step in section.steps:
            used = set(USED.findall(step.template))
            if used & found or any(name.endswith("'") for name in used):
                found.add(step.name)
    return found


def worked_at_the_rate(name: str, dependent: set[str]) -> bool:
    """Whether the printed number ``name`` depends on the learning rate: a quantity of ``dependent``, or any of a
    step after the first (which begins from the weights the first step's update left)."""
    base, plus, step = CLAIM.match(name).groups()
    return (step is not None and int(step) >= 2) or (base + ("'" if plus else "")) in dependent


def source_for(raw_source, learner: dict, printed: dict) -> str | None:
    """Who the derivation says printed the numbers it judges: the spec's own source for printed numbers alone, the
    learner for theirs alone, both when both are judged (None: leave the spec's as it is)."""
    own = raw_source if isinstance(raw_source, str) else "author"
    if learner and printed:
        both = f"{own} or {LEARNER}"
        return both if len(both) <= 40 else LEARNER       # the spec's limit on a source's length
    return LEARNER if learner else None


def who_wrote(learner: dict, printed: dict) -> dict:
    """``{name: "printed" | "learner"}`` for every number judged; a learner's number replaces a printed one of the
    same name."""
    return {name: "learner" if name in learner else "printed" for name in {**printed, **learner}}


def judged(spec, learner: dict, printed: dict, printed_rate: float | None):
    """The spec with the numbers to judge, who wrote each (see ``who_wrote``), and the printed numbers set aside as
    worked at another learning rate (``{name: printed text}``)."""
    set_aside = {}
    if printed and printed_rate is not None and printed_rate != spec.learning_rate:
        dependent = rate_dependent(derive(with_claims(spec, {**printed, **learner})))
        set_aside = {name: value for name, value in printed.items()
                     if worked_at_the_rate(name, dependent) and name not in learner}
    kept = {name: value for name, value in printed.items() if name not in set_aside}
    merged = {**kept, **learner}
    spec = with_claims(spec, merged) if merged else spec
    return spec, who_wrote(learner, kept), {name: str(value) for name, value in set_aside.items()}


UNKNOWN = re.compile(r"claims\.([^:\s]+): expected the name of a quantity")


def printed_problem(message: str, by: dict) -> str | None:
    """The message for a printed number that names no quantity of the network (a spec the studio holds in a form
    that lacks it), addressed to the printed numbers rather than to the learner's box; None for any other."""
    found = UNKNOWN.search(message)
    if found is None or by.get(found[1]) != "printed":
        return None
    return "printed: " + message[found.start():]


def read_claims(text: str, field: str) -> dict:
    """``name = number`` lines (see ``claims_from_text``); a message names ``field`` rather than ``claims``."""
    from ..errors import ChainruleError

    try:
        return claims_from_text(text)
    except ChainruleError as exc:
        message = str(exc)
        raise ChainruleError(field + message[len("claims"):] if message.startswith("claims") else message) from None
