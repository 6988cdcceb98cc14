"""A spec mistake worded for the learner who made it: the quantity's own name, not the field's path.

The spec reader names a bad number by where it sits in the document (``spec: layers[0].weights[0][1]: expected a
number, found the string "abc"``): right for a file, but in the studio the learner typed into the box of w₂. Here
that path becomes the name the network gives the quantity, as the diagram writes it (``w₂: expected a number,
found "abc"``), and a number past the spec reader's limit reads as one, in the learner's own notation (``w₂: 1e308
is too large: expected a number of size at most 1e300``), not as Decimal writes it. The names are the spec reader's
own: the spec is read again with the bad number set to 0, so a custom name (``weight_names``) or a default (w1, w2,
... counted over the layers) is the one the page shows. Only numbers the editor holds are renamed (inputs,
targets, weights, biases, the learning rate); any other message is passed on as the reader wrote it.
"""

import copy
import math
import re
from decimal import Decimal

from ..errors import ChainruleError

#: a number as the page reads one (its fieldValue, ASCII digits only): text like this is sent as text only when it
#: does not fit a float
NUMBER = re.compile(r"^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$")
LARGEST = 1e300              # the spec reader's limit on a number's size (schema.Number)


def keys_of(path: str) -> list:
    """``layers[0].weights[0][1]`` -> ``["layers", 0, "weights", 0, 1]``."""
    return [int(index) if index else key for key, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path)]


def lookup(document, keys: list):
    for key in keys:
        if isinstance(key, int) and isinstance(document, list) and 0 <= key < len(document):
            document = document[key]
        elif isinstance(key, str) and isinstance(document, dict) and key in document:
            document = document[key]
        else:
            raise KeyError(key)
    return document


def quantity(spec, raw: dict, keys: list) -> str | None:
    """The plain name (``w2``, ``b1``, ``x1``, ``eta``) of the number at ``keys`` in the parsed ``spec``."""
    match keys:
        case ["inputs", str() as name] | ["targets", str() as name]:
            return name
        case ["inputs", int() as i] if not isinstance(raw["inputs"][0], (list, dict)):
            return spec.input_names[i]
        case ["targets", int() as i] if not isinstance(raw["targets"][0], (list, dict)):
            return spec.target_names[i]
        case ["layers", int() as l, "weights", int() as r, int() as c]:
            input_major = raw.get("weight_layout") == "input_major"      # row r is input r there
            return spec.layers[l].weight_names[c][r] if input_major else spec.layers[l].weight_names[r][c]
        case ["layers", int() as l, "bias"]:
            return spec.layers[l].bias_names[0]
        case ["layers", int() as l, "bias", int() as j]:
            return spec.layers[l].bias_names[j]
    return None


def display_name(raw: dict, path: str) -> str | None:
    """The name the diagram writes for the number at ``path`` (``w₂``), or None where the path holds none."""
    from ..explainer import parse_spec
    from ..explainer.notation import unicode_name

    keys = keys_of(path)
    if keys == ["learning_rate"]:                    # no other number has this name, and 0 is no learning rate
        return unicode_name("eta")
    try:
        lookup(raw, keys)
        patched = copy.deepcopy(raw)
        parent = lookup(patched, keys[:-1])
        parent[keys[-1]] = Decimal(0)
        spec = parse_spec(patched, "spec")
        name = quantity(spec, raw, keys)
    except (ChainruleError, KeyError, IndexError, TypeError):
        return None
    return None if name is None else unicode_name(name, spec.superscript)


def written(value) -> str:
    """A number as the learner writes it: ``1e308`` (the page sent what the box held), not Decimal's ``1E+308``."""
    number = float(value)
    return (repr(number) if math.isfinite(number) else str(value).lower()).replace("e+", "e")


def too_large(name: str, text: str) -> str:
    return f"{name}: {text} is too large: expected a number of size at most {written(LARGEST)}"


def learner_message(raw: dict, message: str) -> tuple[str, str | None]:
    """(message, field path) for a spec reader's ``spec: <path>: <what>`` message about the request's ``raw``
    spec: the path's quantity named where it is a number the learner edits, the message unchanged otherwise."""
    parts = message.split(": ", 2)
    if len(parts) < 3 or parts[0] != "spec":
        return message, None
    path, what = parts[1], parts[2]
    name = display_name(raw, path) if isinstance(raw, dict) else None
    if name is None:
        return message, path
    value = lookup(raw, keys_of(path))
    if isinstance(value, str):
        text = value.strip()
        if NUMBER.match(text) and not abs(float(text)) <= LARGEST:     # typed past what the browser holds as a float
            return too_large(name, text[:40]), path
        shown = f'"{text[:40]}"' if text else "an empty box"
        return f"{name}: expected a number, found {shown}", path
    if isinstance(value, (float, Decimal)) and not isinstance(value, bool):
        if math.isnan(float(value)):
            return f"{name}: expected a number, found NaN (not a number)", path
        if not abs(float(value)) <= LARGEST:
            return too_large(name, written(value)), path
    if value is None:
        return f"{name}: expected a number, found nothing", path
    return f"{name}: {what}", path
