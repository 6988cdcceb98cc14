"""What a printed number says about its own rounding: its significant digits and the unit of its last digit.

An author who prints ``0.426`` says the value lies within half a unit of the last printed digit (0.0005) of it.
Only the text tells which digit is last, so these functions read the number as written, kept as a ``Decimal``:
the JSON and TOML readers parse floats with ``parse_float=Decimal``, which keeps the text's digits and exponent
exactly (``1.20E-04`` is ``Decimal('0.000120')``: three significant digits, the last worth 1e-6), trailing zeros
included (``0.50`` has two places, ``12000`` is rounded to units, ``1.2e4`` to thousands).
"""

from decimal import Decimal


def as_written(value) -> Decimal:
    """The number as its author wrote it: a ``Decimal`` from a spec reader as it is; an ``int`` exactly; a
    ``float`` (a spec built in Python) as the shortest text that reads back to it, the digits Python prints."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    return Decimal(repr(float(value)))


def significant_digits(written: Decimal) -> int:
    """How many digits were printed from the first non-zero one on (``0.00012``: 2; ``1.20E-04``: 3)."""
    return len(written.as_tuple().digits)


def last_digit_unit(written: Decimal) -> float:
    """What one unit of the last printed digit is worth (``0.00012`` and ``1.2e-4``: 1e-5; ``1.2e4``: 1000)."""
    return float(Decimal(1).scaleb(written.as_tuple().exponent))


def as_text(written: Decimal) -> str:
    """The number for a reader, with exactly the digits printed: ``0.000120``, ``12000``; in scientific notation
    where plain digits could not show them (``1.2e+04``) or would need more than five leading zeros
    (``-2.2709e-07``, the exponent written with two digits as C and Python print floats)."""
    mantissa, _, exponent = str(written).partition("E")
    return f"{mantissa}e{int(exponent):+03d}" if exponent else mantissa
