"""Each quantity's formula with its numbers put in, for the page's walk through the step and for hovering over a
number in the diagram.

The text is the text derivation's own (``render_text``): the formula, the numbers put in, the result, joined by
" = ", written by the same functions from the same recorded step; nothing is computed here. Sections drawn in matrix
form (too wide to write number by number) have no per-quantity formulas, and a derivation with more than
``MAX_CHARACTERS`` of them sends none: the page then says the walk is not available for so large a network.
"""

from ..explainer.matrix import is_wide
from ..explainer.notation import format_number, unicode_name
from ..explainer.render import given_names, step_parts

MAX_CHARACTERS = 200_000


def step_text(d, step) -> str:
    """``z⁽¹⁾ = w₁·x₁ + w₂·x₂ + w₃·x₃ + b⁽¹⁾ = 0.2·1 + (-0.3)·2 + 0.4·(-1) + 0.5 = -0.3``: the parts ``render_text``
    writes on the step's lines, joined on one."""
    return " = ".join(step_parts(step, d.values, d.spec.superscript))


def walk(d) -> dict:
    """``sections``: the derivation's sections in order, each ``{"title", "kind", "names"}``; ``formulas``: each
    computed quantity's text; ``given``: each given number's, as the derivation's Given lists it."""
    sup, size = d.spec.superscript, 0
    sections, formulas = [], {}
    for number, section in enumerate(d.sections, start=1):
        if is_wide(d, section):
            continue
        for step in section.steps:
            formulas[step.name] = step_text(d, step)
            size += len(formulas[step.name])
        if size > MAX_CHARACTERS:
            return {"sections": [], "formulas": {}, "given": {}}
        sections.append({"title": f"{number}. {section.title}", "kind": section.kind,
                         "names": [step.name for step in section.steps]})
    given = {name: f"{unicode_name(name, sup)} = {format_number(d.values[name])}"
             for name in ["eta"] + given_names(d)}
    return {"sections": sections, "formulas": formulas, "given": given}
