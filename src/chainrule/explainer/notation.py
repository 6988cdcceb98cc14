"""How quantity names are written for readers: ``z1`` -> z⁽¹⁾ or z₁, ``yhat2`` -> ŷ₂, ``dL/dw7`` -> ∂L/∂w₇.

Names stay plain ASCII everywhere a program reads them (JSON, claims); only renderers call these functions.
"""

import re

SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
HATS = {"yhat": "ŷ", "ohat": "ô", "that": "t̂"}
SYMBOLS = {"eta": "η", "mu": "μ", "beta1": "β₁", "beta2": "β₂", "rho": "ρ", "eps": "ε"}   # the optimizers' settings
_STATE = re.compile(r"^(mhat|vhat|m|v|s)_(.+)$")     # an optimizer's state of a parameter: v_w5, mhat_w5
_INDEXED = re.compile(r"^([A-Za-z]+?)_?(\d+)$")


def unicode_name(name: str, superscript=()) -> str:
    """The Unicode form of a quantity name; families in ``superscript`` take a bracketed superscript index."""
    if name in SYMBOLS:
        return SYMBOLS[name]
    if "@" in name:                             # w5'@2: as step 2 left it; v_w5@0: before the first step
        base, step = name.rsplit("@", 1)
        return f"{unicode_name(base, superscript)}⁽ᵗ⁼{step.translate(SUPERSCRIPT)}⁾"
    if name.startswith("Delta_"):              # Delta_w5: the change of w5 in the step
        return "Δ" + unicode_name(name[len("Delta_"):], superscript)
    if name.endswith("]") and "[" in name:      # z1[2]: z1 of example 2 of a batch
        base, example = name[:-1].rsplit("[", 1)
        return f"{unicode_name(base, superscript)}[{example}]"
    if name.endswith(("'", "+")):
        return unicode_name(name[:-1], superscript) + "′"
    if "_via_" in name:                         # dL/da1_via_z3: the error reaching a1 through its link to z3
        head, tail = name.rsplit("_via_", 1)
        return f"{unicode_name(head, superscript)} (via {unicode_name(tail, superscript)})"
    if name == "sum_exp":                       # a softmax's denominator
        return "Σe^z"
    if name.startswith("exp_"):                 # exp_z3: e^(z3), unshifted
        return "e^" + unicode_name(name[len("exp_"):], superscript)
    if name.startswith("d") and "/d" in name:
        top, bottom = name[1:].split("/d", 1)
        return f"∂{unicode_name(top, superscript)}/∂{unicode_name(bottom, superscript)}"
    state = _STATE.match(name)
    if state:
        letter = state[1][0] + "\u0302" if state[1].endswith("hat") else state[1]
        return f"{letter}_{unicode_name(state[2], superscript)}"
    match = _INDEXED.match(name)
    if not match:
        return HATS.get(name, name)
    family, index = match.groups()
    letter = HATS.get(family, family)
    if family in superscript:
        return f"{letter}⁽{index.translate(SUPERSCRIPT)}⁾"
    return letter + index.translate(SUBSCRIPT)


def format_number(value: float) -> str:
    """Six significant figures, no exponent for everyday sizes, and no ``-0``."""
    text = f"{value:.6g}"
    return "0" if text in ("-0", "0") else text
