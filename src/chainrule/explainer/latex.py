"""Formula templates as LaTeX: the same templates the text renderer prints, turned into typeset mathematics.

A template is a small language of its own (see derivation.py): ``{name}`` placeholders, numbers, the words ln, tanh,
max, sigma, and the operators + − · / ^ ² ½ √. Parsing it into groups lets ``a/b`` become a fraction of its two
operands and ``e^(x)`` a superscript, without any knowledge of what the formula computes.
"""

import re

from .notation import format_number

_TOKEN = re.compile(r"\{-?[^{}]+\}|\d+(?:\.\d+)?|[A-Za-zσ]+|\S")
_WORDS = {"σ": r"\sigma", "ln": r"\ln", "tanh": r"\tanh", "max": r"\max", "e": "e"}
_SYMBOLS = {"·": r"\cdot", "−": "-", "½": r"\tfrac{1}{2}", ">": ">", "=": "=", "+": "+", ",": ",\\,"}
_INDEXED = re.compile(r"^([A-Za-z]+?)(\d+)$")
_HATS = {"yhat": r"\hat{y}", "ohat": r"\hat{o}", "that": r"\hat{t}"}
_GREEK = {"eta": r"\eta", "mu": r"\mu", "beta1": r"\beta_{1}", "beta2": r"\beta_{2}", "rho": r"\rho",
          "eps": r"\varepsilon"}
_STATE = re.compile(r"^(mhat|vhat|m|v|s)_(.+)$")     # an optimizer's state of a parameter: v_w5, mhat_w5


def latex_name(name: str, superscript=()) -> str:
    """``z1`` -> z^{(1)} or z_{1}; ``yhat2`` -> \\hat{y}_{2}; ``dL/dw7`` -> \\frac{\\partial L}{\\partial w_{7}};
    ``net_h1`` -> \\mathrm{net}_{h1}; a trailing ' or + marks the updated value."""
    if name in _GREEK:
        return _GREEK[name]
    if "@" in name:                             # w5'@2: as step 2 left it; v_w5@0: before the first step
        base, step = name.rsplit("@", 1)
        return f"{{{latex_name(base, superscript)}}}^{{(t={step})}}"
    if name.startswith("Delta_"):              # Delta_w5: the change of w5 in the step
        return r"\Delta " + latex_name(name[len("Delta_"):], superscript)
    if name.endswith("]") and "[" in name:      # z1[2]: z1 of example 2 of a batch
        base, example = name[:-1].rsplit("[", 1)
        return f"{{{latex_name(base, superscript)}}}[{example}]"
    if name.endswith(("'", "+")):
        return "{" + latex_name(name[:-1], superscript) + "}'"     # braces: z^{(1)}' would be a double superscript
    if "_via_" in name:                         # dL/da1_via_z3: the error reaching a1 through its link to z3
        head, tail = name.rsplit("_via_", 1)
        return rf"\left.{latex_name(head, superscript)}\right|_{{\mathrm{{via}}\,{latex_name(tail, superscript)}}}"
    if name == "sum_exp":                       # a softmax's denominator
        return r"\textstyle\sum e^{z}"
    if name.startswith("exp_"):                 # exp_z3: e^(z3), unshifted
        return f"e^{{{latex_name(name[len('exp_'):], superscript)}}}"
    if name.startswith("d") and "/d" in name:
        top, bottom = name[1:].split("/d", 1)
        return rf"\frac{{\partial {latex_name(top, superscript)}}}{{\partial {latex_name(bottom, superscript)}}}"
    state = _STATE.match(name)
    if state:
        letter = rf"\hat{{{state[1][0]}}}" if state[1].endswith("hat") else state[1]
        return f"{letter}_{{{latex_name(state[2], superscript)}}}"
    if "_" in name:
        head, tail = name.split("_", 1)
        return rf"\mathrm{{{head}}}_{{{tail}}}"
    match = _INDEXED.match(name)
    if not match:
        return _HATS.get(name, name if len(name) == 1 else rf"\mathrm{{{name}}}")
    family, index = match.groups()
    letter = _HATS.get(family, family if len(family) == 1 else rf"\mathrm{{{family}}}")
    return f"{letter}^{{({index})}}" if family in superscript else f"{letter}_{{{index}}}"


def _parse(tokens: list[str], closing: str | None = None):
    """Nested lists for bracketed groups: ["(", [...], ")"]."""
    items = []
    while tokens:
        token = tokens.pop(0)
        if token in "([":
            items.append((token, _parse(tokens, ")" if token == "(" else "]")))
        elif token == closing:
            return items
        else:
            items.append(token)
    return items


def parse_template(template: str):
    """A template as nested lists, bracketed groups as ``(bracket, [...])``: the form ``to_latex`` renders, for
    other writers of formulas (Numbas's JME)."""
    return _parse(_TOKEN.findall(template))


def to_latex(template: str, atom) -> str:
    """LaTeX for a template; ``atom(name, negated, alone)`` gives each placeholder's LaTeX."""
    tokens = _TOKEN.findall(template)
    return _render(_parse(tokens), atom, template)


def _render(items, atom, template) -> str:
    out: list[tuple[str, str]] = []            # (as written, the same without its outer brackets)
    i = 0
    while i < len(items):
        item = items[i]
        if item == "/" and out and i + 1 < len(items):
            numerator = out.pop()[1]
            denominator = _operand(items[i + 1], atom, template)[1]
            out.append((rf"\frac{{{numerator}}}{{{denominator}}}",) * 2)
            i += 2
            continue
        if item == "^" and out and i + 1 < len(items):
            base = out.pop()[0]
            out.append((f"{base}^{{{_operand(items[i + 1], atom, template)[1]}}}",) * 2)
            i += 2
            continue
        if item == "√" and i + 1 < len(items):
            out.append((rf"\sqrt{{{_operand(items[i + 1], atom, template)[1]}}}",) * 2)
            i += 2
            continue
        if item == "²" and out:
            base = out.pop()[0]
            base = f"{{{base}}}" if "^" in base or "'" in base else base
            out.append((f"{base}^{{2}}",) * 2)
            i += 1
            continue
        out.append(_operand(item, atom, template))
        i += 1
    return " ".join(text for text, _ in out)


def _operand(item, atom, template) -> tuple[str, str]:
    if isinstance(item, tuple):
        bracket, inner = item
        if bracket == "(" and len(inner) == 1 and isinstance(inner[0], str) and inner[0].startswith("{"):
            text = atom(inner[0].strip("{}-"), inner[0].startswith("{-"), alone=True)
            return rf"\left({text}\right)", text
        body = _render(inner, atom, template)
        if bracket == "(":
            return rf"\left({body}\right)", body
        return rf"\left[{body}\right]", body
    if item.startswith("{"):
        text = atom(item.strip("{}-"), item.startswith("{-"))
        return text, text
    if item in _WORDS:
        return (_WORDS[item],) * 2
    return (_SYMBOLS.get(item, item),) * 2


def symbolic_atom(superscript):
    return lambda name, negated, alone=False: ("-" if negated else "") + latex_name(name, superscript)


def numeric_atom(values):
    def atom(name, negated, alone=False):
        value = -values[name] if negated else values[name]
        text = format_number(value)
        if "e" in text:
            mantissa, exponent = text.split("e")
            text = rf"{mantissa}\times 10^{{{int(exponent)}}}"
        return rf"\left({text}\right)" if value < 0 and not alone else text
    return atom
