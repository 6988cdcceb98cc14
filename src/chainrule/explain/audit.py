"""Auditing an author's printed numbers: agrees, slip, or carried.

Each printed number is compared twice. First with the value computed from the spec (the truth): it *agrees* when
the difference is within the rounding of its printed digits (half a unit of its last printed digit, read from the
text as written: ``printed_digits``) plus the rounding of the printed numbers it was computed from, carried forward
through the step (linearised: each upstream number's actual deviation from the truth times the step's sensitivity to
it). The only other allowance is float64's own rounding, ``FLOAT_SLACK`` of the numbers' size.
Otherwise with the value the step gives when fed the author's own printed numbers: if it matches that, the number
is *carried* (right arithmetic on an earlier wrong number); if not, it is a *slip*, a mistake made at that step.

"The step fed the author's numbers" is the engine's own pass: the spec's network, unfused so that printed
probabilities can be fed in, run with a ClampingRecorder that overwrites each printed quantity as the pass reaches
it. The sensitivities are central differences of that same pass. No arithmetic of the network is written here.
"""

from dataclasses import dataclass, field

import numpy as np

from .recorder import ClampingRecorder
from .spec import Spec, build_network

# float64 rounding in the computed value and in reading the printed one, relative to their size. Half a unit of the
# last of n printed significant digits is more than 5·10^-(n+1) of the number, so this is under 1/50000 of it for up
# to 8 digits and under 1/500 for 10; only from about 12 digits, finer than float64 arithmetic settles, does it count.
FLOAT_SLACK = 1e-13
# An input counts as upstream of a quantity when a relative change in it moves the quantity by more than this much
# relatively; the sensitivities are central differences with steps this much smaller than each input.
RELATIVE_SENSITIVITY = 1e-9
RELATIVE_STEP = 1e-7


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


def updated_name(name: str) -> str:
    return name[:-1] + "'" if name.endswith("+") else name


def author_pass(spec: Spec, learning_rate: float, printed: dict[str, float], places: dict[str, tuple]) -> dict:
    """Every quantity of one step computed by the engine with the printed numbers fed in where they occur.

    Returns name -> value, each value as computed *before* its own printed number replaced it."""
    from .derivation import gradient_step, layout_values

    network, where = build_network(spec, fused=False)
    recorder = ClampingRecorder({places[name]: value for name, value in printed.items() if name in places})
    network.loss(spec.inputs[None, :], spec.targets[None, :], recorder=recorder)
    gradient_step(network, spec, learning_rate, recorder)
    return layout_values(spec, where, recorder, network.named_parameters())


def places_of(spec: Spec) -> dict[str, tuple]:
    """Where, in the unfused network's pass, each computed quantity is held (for clamping)."""
    from .derivation import layout_places
    from .recorder import Recorder

    network, where = build_network(spec, fused=False)
    recorder = Recorder()
    network.loss(spec.inputs[None, :], spec.targets[None, :], recorder=recorder)
    network.backward(recorder=recorder)
    return layout_places(spec, where, recorder)


def audit(spec: Spec, learning_rate: float, truth: dict[str, float], order: list[str]) -> list[ClaimCheck]:
    """Verdicts for the spec's claims, in the order the pass computes them."""
    claims = {updated_name(c.name): c for c in spec.claims}
    printed = {name: c.value for name, c in claims.items()}
    half = {name: c.half_unit for name, c in claims.items()}
    size = {name: max(abs(c.value), c.unit) for name, c in claims.items()}   # a printed 0.00 is as big as its unit
    places = places_of(spec)
    base = author_pass(spec, learning_rate, printed, places)
    sensitivity = {q: {} for q in printed}
    for i in printed:
        if i not in places:
            continue
        step = RELATIVE_STEP * size[i]          # relative, so a tiny input is not pushed across a kink such as ReLU's
        if step < np.finfo(np.float64).tiny:    # a subnormal printed number: no step can be taken in float64
            continue
        plus = author_pass(spec, learning_rate, printed | {i: printed[i] + step}, places)
        minus = author_pass(spec, learning_rate, printed | {i: printed[i] - step}, places)
        for q in printed:
            if q != i and q in plus:
                slope = (plus[q] - minus[q]) / (2 * step)
                if abs(slope) * size[i] > RELATIVE_SENSITIVITY * size[q]:
                    sensitivity[q][i] = slope
    position = {name: k for k, name in enumerate(order)}
    checks = {}
    for name in sorted(printed, key=lambda n: position.get(n, -1)):
        claim, upstream, correct = claims[name], sensitivity[name], truth[name]
        # How far the author's inputs really were from the truth: a printed number that agrees was off by exactly
        # its own deviation (0 for an exact one); a wrong one could stand for anything within its last place.
        right = {i: abs(printed[i] - truth[i]) for i in upstream if i in checks and checks[i].agrees}
        wrong = [i for i in upstream if i in checks and not checks[i].agrees]
        tolerance = half[name] + sum(abs(upstream[i]) * e for i, e in right.items())
        carry_tolerance = tolerance + sum(abs(upstream[i]) * half[i] for i in wrong)
        from_claims = base.get(name, correct)
        if within(claim.value, correct, tolerance):
            verdict = "agrees"
        elif wrong and within(claim.value, from_claims, carry_tolerance):
            verdict = "carried"
        else:
            verdict = "slip"
        checks[name] = ClaimCheck(claim.name, claim.value, correct, claim.text, verdict, from_claims, tolerance, wrong)
    return list(checks.values())


def within(claimed: float, value: float, tolerance: float) -> bool:
    """Whether ``claimed`` is ``value`` up to ``tolerance`` and float64's rounding of the two."""
    return abs(claimed - value) <= tolerance + FLOAT_SLACK * max(abs(claimed), abs(value))


def carried_into(checks: list[ClaimCheck], slip: ClaimCheck) -> list[ClaimCheck]:
    """The carried numbers that follow from ``slip``, directly or through other carried numbers."""
    reached, result = {updated_name(slip.name)}, []
    for check in checks:
        if check.verdict == "carried" and any(updated_name(i) in reached for i in check.carried_from):
            reached.add(updated_name(check.name))
            result.append(check)
    return result
