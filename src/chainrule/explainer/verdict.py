"""A printed number's verdict: agrees, slip, or carried, as the audit gives it and every renderer shows it."""

from dataclasses import dataclass, field

from .step_names import canonical


@dataclass
class ClaimCheck:
    name: str
    claimed: float
    computed: float             # the correct value
    claimed_text: str           # the claimed number as its author wrote it, every printed digit
    verdict: str                # "agrees", "slip" or "carried"
    from_claims: float          # the value this step gives from the author's own printed inputs
    tolerance: float            # how far from the correct value rounding alone could put it
    carried_from: list[str] = field(default_factory=list)   # printed inputs whose change would change it

    @property
    def agrees(self) -> bool:
        return self.verdict == "agrees"


def carried_into(checks: list[ClaimCheck], slip: ClaimCheck) -> list[ClaimCheck]:
    """The carried numbers that follow from ``slip``, directly or through other carried numbers."""
    reached, result = {canonical(slip.name)}, []
    for check in checks:
        if check.verdict == "carried" and any(canonical(i) in reached for i in check.carried_from):
            reached.add(canonical(check.name))
            result.append(check)
    return result
