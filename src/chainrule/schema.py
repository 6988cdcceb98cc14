"""One declarative schema per file format: every field's type, size and range, checked before anything is read.

A spec file, a model file's architecture record and a checkpoint are each described once, as a tree of the small
checkers below. ``validate(schema, document, source)`` walks the whole document first; only a document that passed
is handed to the code that builds from it, so no field is ever used before it was checked. Every refusal says where
(``source: layers[1].activation``), what was expected and what was found, written as the user wrote it (``0.05``,
never ``Decimal('0.05')``). Unknown keys are refused with the nearest known name: a misspelt ``learning_rte``
would otherwise be ignored and the numbers come out wrong without a word.
"""

import datetime
import difflib
import math
import re
from decimal import Decimal

from .errors import ChainruleError

MAX_DEPTH = 16            # nesting of lists and tables in any document chainrule reads


def describe(value, limit: int = 60) -> str:
    """A found value as the user wrote it: JSON/TOML-like, shortened."""
    if value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, Decimal):
        text = str(value)
    elif isinstance(value, int):
        text = str(value) if abs(value) < 10 ** 30 else f"an integer of {len(str(abs(value)))} digits"
    elif isinstance(value, float):
        text = repr(value)
    elif isinstance(value, str):
        text = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    elif isinstance(value, (list, tuple)):
        text = "[" + ", ".join(describe(v, 20) for v in value[:6]) + (", ..." if len(value) > 6 else "") + "]"
    elif isinstance(value, dict):
        text = "a table with keys " + ", ".join(describe(str(k), 20) for k in list(value)[:6])
        text += ", ..." if len(value) > 6 else ""
        if not value:
            text = "an empty table"
    elif isinstance(value, (datetime.date, datetime.time)):       # TOML dates and times
        text = value.isoformat()
    else:
        text = type(value).__name__
    return text if len(text) <= limit else text[:limit - 3] + "..."


def kind_of(value) -> str:
    """A found value's type in the user's words."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float, Decimal)):
        return f"the number {describe(value)}"
    if isinstance(value, str):
        return f"the string {describe(value)}"
    if isinstance(value, (list, tuple)):
        return f"a list {describe(value)}"
    if isinstance(value, dict):
        return describe(value)
    if isinstance(value, (datetime.date, datetime.time)):
        return f"the {'date' if isinstance(value, datetime.date) else 'time'} {describe(value)}"
    return type(value).__name__


class Invalid(ChainruleError):
    pass


def fail(source: str, path: str, expected: str, found: str):
    where = f"{source}: {path}" if path else source
    raise Invalid(f"{where}: expected {expected}, found {found}")


class Check:
    expected = "a value"

    def check(self, value, path: str, source: str) -> None:
        raise NotImplementedError

    def accepts(self, value) -> bool:
        return _accepts(self, value)


class Number(Check):
    """A finite real number within ``[low, high]`` (``open_low``: strictly above ``low``)."""

    def __init__(self, low=None, high=None, open_low=False, integer=False, expected=None):
        self.low, self.high, self.open_low, self.integer = low, high, open_low, integer
        if expected:
            self.expected = expected
        else:
            word = "an integer" if integer else "a number"
            if low is not None and high is not None:
                self.expected = f"{word} {'above' if open_low else 'from'} {low:g} {'up ' if not open_low else ''}to {high:g}"
            elif low is not None:
                self.expected = f"{word} {'above' if open_low else 'of at least'} {low:g}"
            else:
                self.expected = word

    def check(self, value, path, source):
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
            fail(source, path, self.expected, kind_of(value))
        if self.integer and (isinstance(value, float) or (isinstance(value, Decimal) and value != value.to_integral_value())):
            fail(source, path, self.expected, describe(value))
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number) or (isinstance(value, (int, Decimal)) and abs(value) > 1e300):
            fail(source, path, self.expected, describe(value))
        if self.low is not None and (number <= self.low if self.open_low else number < self.low):
            fail(source, path, self.expected, describe(value))
        if self.high is not None and number > self.high:
            fail(source, path, self.expected, describe(value))


class Boolean(Check):
    expected = "true or false"

    def check(self, value, path, source):
        if not isinstance(value, bool):
            fail(source, path, self.expected, kind_of(value))


class Text(Check):
    """A string of at most ``max_length`` characters, matching ``pattern`` (described by ``grammar``) if given."""

    def __init__(self, max_length=200, pattern=None, grammar=None, min_length=0):
        self.max_length, self.min_length = max_length, min_length
        self.pattern = re.compile(pattern) if pattern else None
        self.expected = grammar or ("a non-empty string" if min_length else "a string")

    def check(self, value, path, source):
        if not isinstance(value, str):
            fail(source, path, self.expected, kind_of(value))
        if len(value) > self.max_length:
            fail(source, path, f"{self.expected} of at most {self.max_length} characters", f"{len(value)} characters")
        if len(value) < self.min_length or (self.pattern and not self.pattern.fullmatch(value)):
            fail(source, path, self.expected, describe(value) if value else "an empty string")


class Choice(Check):
    def __init__(self, options):
        self.options = tuple(options)
        self.expected = "one of " + ", ".join(f'"{o}"' for o in self.options)

    def check(self, value, path, source):
        if not isinstance(value, str) or value not in self.options:
            hint = ""
            if isinstance(value, str):
                close = difflib.get_close_matches(value, self.options, n=1)
                hint = f' (did you mean "{close[0]}"?)' if close else ""
            fail(source, path, self.expected, kind_of(value) + hint)


class ListOf(Check):
    def __init__(self, item: Check, min_items=1, max_items=4096, what=None):
        self.item, self.min_items, self.max_items = item, min_items, max_items
        self.expected = what or f"a {'non-empty ' if min_items else ''}list of {_plural(item.expected)}"

    def check(self, value, path, source):
        if not isinstance(value, list):
            fail(source, path, self.expected, kind_of(value))
        if len(value) < self.min_items:
            fail(source, path, f"{self.expected} (at least {self.min_items})", f"{len(value)}")
        if len(value) > self.max_items:
            fail(source, path, f"{self.expected} (at most {self.max_items})", f"{len(value)}")
        for i, item in enumerate(value):
            self.item.check(item, f"{path}[{i}]", source)


class MapOf(Check):
    """A table whose keys are names (``key``) and whose values all have one type."""

    def __init__(self, key: Text, value: Check, min_items=1, max_items=4096, what=None):
        self.key, self.value, self.min_items, self.max_items = key, value, min_items, max_items
        self.expected = what or f"a table of name = {value.expected}"

    def check(self, value, path, source):
        if not isinstance(value, dict):
            fail(source, path, self.expected, kind_of(value))
        if not self.min_items <= len(value) <= self.max_items:
            fail(source, path, f"{self.expected} ({self.min_items} to {self.max_items} entries)", f"{len(value)}")
        for key, item in value.items():
            self.key.check(key, f"{path} key", source)
            self.value.check(item, _join(path, key), source)


class Table(Check):
    """A table with known fields; ``required`` must be present, any other key is refused with the nearest name."""

    def __init__(self, fields: dict[str, Check], required=(), what="a table"):
        self.fields, self.required, self.expected = fields, tuple(required), what

    def check(self, value, path, source):
        if not isinstance(value, dict):
            fail(source, path, self.expected, kind_of(value))
        for key in value:
            if key not in self.fields:
                close = difflib.get_close_matches(str(key), list(self.fields), n=1, cutoff=0.6)
                hint = f'; did you mean "{close[0]}"?' if close else f"; known fields: {', '.join(self.fields)}"
                where = f"{source}: {_join(path, key)}"
                raise Invalid(f"{where}: unknown field{hint}")
        for key in self.required:
            if key not in value:
                fail(source, _join(path, key), "this field to be present", "nothing")
        for key, check in self.fields.items():
            if key in value:
                check.check(value[key], _join(path, key), source)


class AnyOf(Check):
    """The first alternative that accepts the value; else one message listing what would have been accepted."""

    def __init__(self, *options: Check, what: str):
        self.options, self.expected = options, what

    def check(self, value, path, source):
        for option in self.options:
            if option.accepts(value):
                option.check(value, path, source)
                return
        fail(source, path, self.expected, kind_of(value))


class Tagged(Check):
    """A table whose ``tag`` field says which of ``kinds`` (each a ``Table``) it must be."""

    def __init__(self, tag: str, kinds: dict[str, "Table"], what: str):
        self.tag, self.kinds, self.expected = tag, kinds, what

    def check(self, value, path, source):
        if not isinstance(value, dict):
            fail(source, path, self.expected, kind_of(value))
        kind = value.get(self.tag)
        if not isinstance(kind, str) or kind not in self.kinds:
            Choice(self.kinds).check(kind, _join(path, self.tag), source)
        self.kinds[kind].check(value, path, source)


class Null(Check):
    expected = "null"

    def check(self, value, path, source):
        if value is not None:
            fail(source, path, self.expected, kind_of(value))


def _accepts(check: Check, value) -> bool:
    """Whether ``value`` has the right *shape* for ``check`` (the deep check then gives the precise message)."""
    if isinstance(check, (Number,)):
        return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)
    if isinstance(check, Boolean):
        return isinstance(value, bool)
    if isinstance(check, (Text, Choice)):
        return isinstance(value, str)
    if isinstance(check, ListOf):     # judged by the first item too, so a list of lists is not a list of numbers
        return isinstance(value, list) and (not value or _accepts(check.item, value[0]))
    if isinstance(check, (MapOf, Table, Tagged)):
        return isinstance(value, dict)
    if isinstance(check, Null):
        return value is None
    if isinstance(check, AnyOf):
        return any(_accepts(o, value) for o in check.options)
    return True


def _join(path: str, key) -> str:
    key = str(key)
    plain = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key)
    if not path:
        return key if plain else describe(key)
    return f"{path}.{key}" if plain else f"{path}[{describe(key)}]"


def _plural(expected: str) -> str:
    for article in ("a ", "an "):
        if expected.startswith(article):
            noun = expected[len(article):]
            return noun if noun.endswith("s") else noun.replace("number", "numbers", 1).replace("name", "names", 1) \
                .replace("string", "strings", 1).replace("table", "tables", 1).replace("list", "lists", 1)
    return expected


def check_depth(document, source: str, limit: int = MAX_DEPTH) -> None:
    """Refuse documents nested deeper than ``limit`` (iteratively: a deep document must not exhaust the stack)."""
    stack = [(document, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (list, dict)):
            if depth >= limit:
                raise Invalid(f"{source}: expected lists and tables nested at most {limit} deep, found deeper nesting")
            stack.extend((v, depth + 1) for v in (value.values() if isinstance(value, dict) else value))


def validate(schema: Check, document, source: str) -> None:
    """Check a whole parsed document against its schema; raise ``ChainruleError`` at the first problem."""
    check_depth(document, source)
    schema.check(document, "", source)


def nearest(name: str, known) -> str:
    """``; did you mean "x"?`` for the closest of ``known``, or nothing."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f'; did you mean "{close[0]}"?' if close else ""
