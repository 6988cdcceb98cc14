"""The precision an exercise asks for, and what it means for an answer: the key's rounding, whether a student's
number gives enough digits, and the unit within half of which an answer agrees.

An exercise asks for ``N`` significant figures or ``N`` decimal places. Everything here is decimal arithmetic on the
numbers as written, never float: the key rounds the value's shortest decimal form half away from zero (``0.0595`` to
two figures is ``0.060``, as a person rounds it), and a student's digits are read from their text, so an answer
exactly half a unit from the value is a tie the student wins (``agrees`` compares decimals; see ``exact_within``).
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from ..errors import ChainruleError

KINDS = {"significant": "significant figures", "decimals": "decimal places"}
POLICIES = ("strict", "partial")     # an answer with too few digits: no credit, or half its points if it agrees
MAX_DIGITS = 8


@dataclass(frozen=True)
class Precision:
    kind: str = "significant"        # "significant" or "decimals"
    digits: int = 4

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ChainruleError(f"precision: expected one of {', '.join(KINDS)}, found {self.kind!r}")
        low = 1 if self.kind == "significant" else 0
        if not isinstance(self.digits, int) or isinstance(self.digits, bool) or not low <= self.digits <= MAX_DIGITS:
            raise ChainruleError(f"precision: expected {low} to {MAX_DIGITS} {KINDS[self.kind]}, found {self.digits!r}")

    def describe(self) -> str:
        """``4 significant figures``, ``3 decimal places`` (``1 significant figure``)."""
        words = KINDS[self.kind]
        return f"{self.digits} {words[:-1] if self.digits == 1 else words}"

    def text(self, value: float) -> str:
        """``value`` as the key gives it: rounded half away from zero from its shortest decimal form, written
        plainly (``0.0001235``, ``-0.5498``, ``0.060``)."""
        return format(self.rounded(value), "f")

    def rounded(self, value: float) -> Decimal:
        """``value`` rounded as the key gives it, its exponent the unit of the last digit asked for."""
        written = shortest(value)
        if written == 0:
            return Decimal(0).quantize(self._unit_at(Decimal(1)))
        result = written.quantize(self._unit_at(written), rounding=ROUND_HALF_UP)
        if self.kind == "significant" and result.adjusted() > written.adjusted():     # 0.99996 -> 1.000
            result = written.quantize(self._unit_at(result), rounding=ROUND_HALF_UP)
        return result

    def unit(self, value: float) -> Decimal:
        """One unit of the last digit the key gives for ``value``: an answer agrees within half of it."""
        return unit_of(self.rounded(value))

    def enough(self, written: Decimal, value: float) -> bool:
        """Whether a number written as ``written`` gives the digits asked for. Significant figures are counted from
        the first non-zero digit (``0.0600`` has 3); a zero, which has none, is enough when written to the last digit
        the key gives for ``value``."""
        if self.kind == "decimals":
            return unit_of(written) <= Decimal(1).scaleb(-self.digits)
        if written == 0:
            return unit_of(written) <= self.unit(value)
        return len(written.as_tuple().digits) >= self.digits

    def _unit_at(self, written: Decimal) -> Decimal:
        if self.kind == "decimals":
            return Decimal(1).scaleb(-self.digits)
        return Decimal(1).scaleb(written.adjusted() - self.digits + 1)

    def to_document(self) -> dict:
        return {"kind": self.kind, "digits": self.digits}

    @classmethod
    def from_document(cls, document, source: str) -> "Precision":
        if not isinstance(document, dict) or set(document) != {"kind", "digits"}:
            raise ChainruleError(f"{source}: precision: expected a table {{kind = \"significant\" or \"decimals\", "
                                 f"digits = N}}, found {str(document)[:80]!r}")
        digits = document["digits"]
        if isinstance(digits, Decimal) and digits == digits.to_integral_value():
            digits = int(digits)
        try:
            return cls(document["kind"], digits)
        except ChainruleError as exc:
            raise ChainruleError(f"{source}: {exc}") from None


def shortest(value: float) -> Decimal:
    """The shortest decimal that reads back as ``value``: the number a person sees printed."""
    return Decimal(repr(float(value)))


def unit_of(written: Decimal) -> Decimal:
    """What one unit of the last written digit is worth (``0.060``: 0.001; ``1.2e4``: 1000)."""
    return Decimal(1).scaleb(written.as_tuple().exponent)


def exact_within(written: Decimal, value: float, tolerance: Decimal) -> bool:
    """Whether the number written is within ``tolerance`` of ``value``, in exact decimal arithmetic on the written
    digits and the value's shortest form (so a tie, a difference of exactly the tolerance, agrees)."""
    return abs(written - shortest(value)) <= tolerance
