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
Printed numbers are judged in causal order (each after those it was computed from), which is the derivation's
order except in a sequential update, where a layer's updated weights carry the error below it.
"""

import copy
import math
from decimal import Decimal

import numpy as np

from ..errors import ChainruleError
from .derivation import Layout, layout_places, loss_share, parameter_places
from .optimizer_spec import state_name
from .recorder import ClampingRecorder, Recorder, RoundingRecorder, round_as_printed
from .spec import Spec, build_network, claim_key, claims_connections, parameter_names
from .step_names import at_step, canonical, last_step, split_step
from .stepping import (entry_names, example_pass, given_values, gradient_step, new_optimizer,
                       set_parameters, starting_state, updated_values)
from .verdict import ClaimCheck, carried_into  # noqa: F401  (where the teaching code finds them)

# float64 rounding in the computed value and in reading the printed one, relative to their size. Half a unit of the
# last of n printed significant digits is more than 5·10^-(n+1) of the number, so this is under 1/50000 of it for up
# to 8 digits and under 1/500 for 10; only from about 12 digits, finer than float64 arithmetic settles, does it count.
FLOAT_SLACK = 1e-13
# An input counts as upstream of a quantity when a relative change in it moves the quantity by more than this much
# relatively; the sensitivities are central differences with steps this much smaller than each input.
RELATIVE_SENSITIVITY = 1e-9
RELATIVE_STEP = 1e-7
# Those central differences carry float64's rounding divided by the step, about 1e-9 of each slope: the rounding an
# input carries forward is widened by ten times that, so a number exactly at the edge (a tie) is not lost to it.
SLOPE_SLACK = 1e-8
EPSILON = float(np.finfo(np.float64).eps)


def updated_name(name: str) -> str:
    """A claim's name as the derivation keys it (``w5+`` is ``w5'``, ``z1@1`` is ``z1``; see ``step_names``)."""
    return canonical(name)


def author_pass(spec: Spec, learning_rate: float, printed: dict[str, float], places: dict[str, tuple],
                network=None, wanted=None) -> dict:
    """Every quantity of the steps the printed numbers name, computed by the engine with the printed numbers fed in
    where they occur: a printed input, target or starting parameter from the start (``with_givens``), every other
    printed number as its step's pass reaches it, and each step starting from the parameters and optimizer state
    the author's step before left. ``network``: a ``_Unfused`` of ``spec`` to reuse for the first step, else one is
    built. ``wanted``: the names to read back (default: every one; the audit reads only the printed ones).

    Returns name -> value (``z1@2`` for step 2), each as computed *before* its own printed number replaced it."""
    current, optimizer, values = with_givens(spec, printed), None, {}
    for step in range(1, last_step(printed) + 1):
        mine = {split_step(name)[0]: value for name, value in printed.items() if split_step(name)[1] == step}
        mine_wanted = None if wanted is None else {split_step(n)[0] for n in wanted if split_step(n)[1] == step}
        if current.batch_size:
            got, optimizer = _batch_author_pass(current, learning_rate, mine, places, optimizer=optimizer)
        else:
            reuse = network if current is spec else None
            got, optimizer = _one_step(current, learning_rate, mine, places, reuse, mine_wanted, optimizer)
        values |= {at_step(name, step): value for name, value in got.items()}
        current = with_parameters(current, {name: mine.get(name + "'", got.get(name + "'")) for name in
                                            parameter_names(spec)})
    return values


def _one_step(spec: Spec, learning_rate: float, printed: dict[str, float], places: dict[str, tuple], network,
              wanted, optimizer) -> tuple[dict, object]:
    """One step of one example with its printed numbers fed in (see ``author_pass``); the optimizer goes on."""

    network, where = (network or _Unfused(spec)).reset()
    optimizer = optimizer or new_optimizer(spec, learning_rate, network, where)
    recorder = ClampingRecorder({places[name]: value for name, value in printed.items()
                                 if name in places and places[name][0] != "given"},
                                connections=claims_connections(spec))
    network.loss(spec.inputs[None, :], spec.targets[None, :], recorder=recorder)
    gradient_step(network, spec, optimizer, recorder)
    values = {name: read(spec, recorder, place) for name, place in places.items()
              if place[0] not in AFTER_STEP and (wanted is None or name in wanted)}
    values |= updated_values(spec, where, network, recorder)
    return with_changes(spec, values, printed), optimizer


def with_parameters(spec: Spec, parameters: dict[str, float]) -> Spec:
    """A copy of ``spec`` whose parameters start where ``parameters`` (name -> value) say: the next step's."""
    spec = copy.copy(spec)
    spec.layers = [copy.copy(layer) for layer in spec.layers]
    for layer in spec.layers:
        layer.weights = np.array([[parameters[w] for w in row] for row in layer.weight_names], dtype=float)
        if layer.bias_names:
            layer.bias = np.array([parameters[b] for b in layer.bias_names], dtype=float)
    return spec


def given_places(spec: Spec) -> dict[str, tuple]:
    """The givens a printed number can stand in for, fed in from the start: the inputs and targets (each example's
    in a batch), the parameters, and the optimizer's state before the first step (``v_w5@0``)."""

    names = dict.fromkeys(given_values(spec)) | dict.fromkeys(parameter_names(spec))
    names |= dict.fromkeys(starting_state(spec, dict(enumerate(parameter_names(spec)))))
    return {name: ("given",) for name in names}


def with_givens(spec: Spec, printed: dict[str, float]) -> Spec:
    """``spec`` with the printed givens in place of its own: the author's pass computes with the inputs, targets,
    starting parameters and optimizer state as printed (the spec itself when none is printed)."""
    givens = given_places(spec)
    mine = {name: value for name, value in printed.items() if name in givens}
    if not mine:
        return spec
    spec = with_parameters(spec, {p: mine.get(p, v) for p, v in zip(parameter_names(spec), _starting(spec),
                                                                      strict=True)})
    spec.optimizer = copy.deepcopy(spec.optimizer)
    for name, value in mine.items():
        if name.endswith("@0"):
            spec.optimizer.state[name[:-2]] = value
    if spec.batch_size:
        spec.examples_x, spec.examples_y = spec.examples_x.copy(), spec.examples_y.copy()
        examples = [(f"[{n + 1}]", spec.examples_x[n], spec.examples_y[n]) for n in range(spec.batch_size)]
    else:
        spec.inputs, spec.targets = spec.inputs.copy(), spec.targets.copy()
        examples = [("", spec.inputs, spec.targets)]
    for suffix, x, y in examples:
        for i, name in enumerate(spec.input_names):
            x[i] = mine.get(name + suffix, x[i])
        for k, name in enumerate(spec.target_names):
            y[k] = mine.get(name + suffix, y[k])
    if spec.batch_size:
        spec.inputs, spec.targets = spec.examples_x[0], spec.examples_y[0]
    return spec


def _starting(spec: Spec) -> list[float]:
    return [float(v) for layer in spec.layers for v in (*layer.weights.reshape(-1), *layer.bias)]


AFTER_STEP = ("change", "updated", "given")   # places read from the parameters or the spec, not the pass


def read(spec: Spec, recorder, place: tuple) -> float:
    """A recorded number by place, an output's share of the loss included."""
    if place[0] != "share":
        return recorder.read(place)

    return loss_share(spec, recorder, place[1])


def with_changes(spec: Spec, values: dict[str, float], printed: dict[str, float]) -> dict[str, float]:
    """The weight changes Δw the step made, and each updated value carried from a printed change: w′ = w + Δw,
    the update as an author who prints Δw writes it (``spec``'s parameters are those the step started from)."""
    start = dict(zip(parameter_names(spec), _starting(spec), strict=True))
    for name in printed:
        if name.startswith("Delta_") and name[len("Delta_"):] in start:
            parameter = name[len("Delta_"):]
            values[name] = values[f"{parameter}'"] - start[parameter]
            values[f"{parameter}'"] = start[parameter] + printed[name]
    return values


class _Unfused:
    """The spec's unfused network, built once and reset to the spec's parameters before each author pass (the
    audit runs two passes per printed number)."""

    def __init__(self, spec: Spec):
        self.network, self.where = build_network(spec, fused=False)
        self.start = {key: value.copy() for key, value in self.network.named_parameters().items()}

    def reset(self):
        for key, value in self.network.named_parameters().items():
            value[...] = self.start[key]
        return self.network, self.where


def places_of(spec: Spec) -> dict[str, tuple]:
    """Where, in the unfused network's pass, each computed quantity is held (for clamping)."""

    network, where = build_network(spec, fused=False)
    if spec.batch_size:
        return given_places(spec) | _batch_places(spec, network, where) | {
            name: ("batch", place) for name, place in (_step_places(spec, where) | state_places(spec, where)).items()}
    recorder = Recorder(claims_connections(spec))
    network.loss(spec.inputs[None, :], spec.targets[None, :], recorder=recorder)
    network.backward(recorder=recorder)
    return given_places(spec) | layout_places(spec, where, recorder) | _step_places(spec, where) | \
        state_places(spec, where)


def state_places(spec: Spec, where) -> dict[str, tuple]:
    """Where the optimizer's state of each parameter is recorded as its update uses it: ``v_w5`` at
    ``("state", "0.weight", "v", flat)``."""

    return {state_name(letter, name): ("state", key, letter, flat) for (key, flat), name in
            entry_names(spec, where).items() for letter in spec.optimizer.letters
            if spec.update_biases or not key.endswith(".bias")}     # a fixed bias keeps no state


def _step_places(spec: Spec, where) -> dict[str, tuple]:
    """Each parameter's change Δw; also its updated value where that feeds something: in a sequential update the
    error below is carried with it, and a later step starts from it (in one simultaneous step it feeds nothing)."""

    feeds = spec.update_order == "sequential" or last_step(c.name for c in spec.claims) > 1
    return {name: place for name, place in parameter_places(spec, where).items() if place[0] == "change" or feeds}


# A batch: each example's quantities are held by a pass of that example alone, ("example", n, place); the batch's
# loss and parameter gradients by the batch pass, ("batch", place).
def _batch_places(spec: Spec, network, where) -> dict[str, tuple]:

    places = {}
    for n in range(1, spec.batch_size + 1):
        recorder = Recorder(claims_connections(spec))
        example_pass(network, spec, n, recorder)
        places |= {name: ("example", n, place) for name, place in layout_places(spec, where, recorder, n).items()}
    places[spec.loss_name] = ("batch", ("loss",))
    for (key, flat), name in entry_names(spec, where).items():
        dense, kind = key.split(".")
        places[f"d{spec.loss_name}/d{name}"] = ("batch", ("param_grad", int(dense), kind, flat))
    return places


def _batch_author_pass(spec: Spec, learning_rate: float, printed: dict[str, float], places: dict[str, tuple],
                       worked=None, optimizer=None):
    """The author pass of a batch: each example's pass with its printed numbers fed in, then the batch pass fed the
    same numbers in each example's row (an error scaled by the batch's weight of that example, 1/N for a mean, as
    the engine's mean loss scales it) and the batch's own printed gradients. A printed gradient or loss of one
    example enters the batch's in place of the one that example's pass computed: the batch's is their mean or sum,
    so it moves by the example's weight times the difference.

    A sequential update carries each example's error below a layer with the author's update of it, which the batch
    pass makes from the examples' printed numbers: the passes are repeated once per layer, each round's examples
    taking the round before's update, so that the update of every layer above is the author's when it is used.
    ``worked(updated)``, for an author who rounds every intermediate of a sequential update, gives each round's
    per-example numbers as that author has them (the round before's update given), fed in as printed; the batch
    pass then rounds each layer's gradients before its update and its updated parameters after.
    ``optimizer``: the one the step before used (its state goes on), else the spec's. Returns the values and the
    optimizer."""

    network, where = build_network(spec, fused=False)
    optimizer = optimizer or new_optimizer(spec, learning_rate, network, where)
    start = {key: param.copy() for key, param in network.named_parameters().items()}
    weight = 1.0 if spec.reduction == "sum" else 1.0 / spec.batch_size
    updated = None
    for _ in range(len(spec.layers) if spec.update_order == "sequential" else 1):
        printed = printed if worked is None else worked(updated)
        batch = {places[name][1]: value for name, value in printed.items()
                 if name in places and places[name][0] == "batch"}
        values, rows, additions, loss_moved = {}, {}, {}, 0.0
        for n in range(1, spec.batch_size + 1):
            mine = {name: places[name][2] for name in printed if name in places and places[name][0] == "example"
                    and places[name][1] == n}
            recorder = ClampingRecorder({place: printed[name] for name, place in mine.items()},
                                        connections=claims_connections(spec))
            set_parameters(network, start)
            example_pass(network, spec, n, recorder, updated)
            layout = Layout(spec, where, recorder, values, example=n)
            layout.forward(), layout.loss(), layout.backward()
            for name, place in mine.items():
                value = printed[name]
                if place[0] in ("out", "yhat", "local", "exp", "sum_exp"):   # values and ratios: as printed
                    rows[n - 1, place] = value
                elif place[0] in ("grad", "loss_grad", "via"):                # errors: scaled as the batch's loss is
                    rows[n - 1, place] = value * weight
                elif place[0] == "param_grad":
                    additions[place] = additions.get(place, 0.0) + weight * (value - values[name])
                elif place[0] == "loss":
                    loss_moved += weight * (value - values[name])
        set_parameters(network, start)
        recorder = ClampingRecorder(batch, rows, additions, claims_connections(spec),
                                    rounds=None if worked is None else spec.carries_rounded)
        values[spec.loss_name] = spec.loss_scale * network.loss(spec.X, spec.Y, recorder=recorder) + loss_moved
        gradient_step(network, spec, optimizer, recorder)
        updated = {key: param.copy() for key, param in network.named_parameters().items()}
    for (key, flat), name in entry_names(spec, where).items():
        dense, kind = key.split(".")
        values[f"d{spec.loss_name}/d{name}"] = recorder.read(("param_grad", int(dense), kind, flat))
    values |= {name: recorder.read(place[1]) for name, place in places.items()
               if place[0] == "batch" and place[1][0] == "state"}
    values |= updated_values(spec, where, network, recorder)
    return with_changes(spec, values, printed), optimizer


def audit(spec: Spec, learning_rate: float, truth: dict[str, float], order: list[str]) -> list[ClaimCheck]:
    """Verdicts for the spec's claims, in the order the pass computes them. A quantity printed several times is
    judged once per printing, each on its own digits; its most precise printing is the one fed into the author's
    pass and the one later numbers are carried from."""
    printings: dict[str, list] = {}
    for claim in spec.claims:
        printings.setdefault(claim_key(spec, claim.name), []).append(claim)
    claims = {name: min(group, key=lambda c: c.unit) for name, group in printings.items()}   # the most precise
    printed = {name: c.value for name, c in claims.items()}

    def half_of(c):
        # a rounded number lies within half a unit of its last digit of the value; a truncated one within a unit
        return c.unit if spec.rounding == "truncate" else c.half_unit
    half = {name: half_of(c) for name, c in claims.items()}
    size = {name: max(abs(c.value), c.unit) for name, c in claims.items()}   # a printed 0.00 is as big as its unit
    places = places_of(spec)
    unfused = _Unfused(spec)
    base = author_pass(spec, learning_rate, printed, places, unfused, wanted=printed)
    sensitivity = {q: {} for q in printed}
    with np.errstate(all="ignore"):      # a printed number far off (1e9) may overflow: its slopes are not finite
        sensitivity = _sensitivities(spec, learning_rate, printed, places, unfused, size, sensitivity)
    carried_rounding = {} if spec.carries_rounded is None else \
        rounded_pass(spec, learning_rate, places, last_step(printed))
    checks, results = {}, []
    for name in causal_order(printed, sensitivity, order):
        upstream, correct = sensitivity[name], truth[name]
        # How far the author's inputs really were from the truth: a printed number that agrees was off by exactly
        # its own deviation (0 for an exact one); a wrong one could stand for anything within its last place.
        right = {i: abs(printed[i] - truth[i]) for i in upstream if i in checks and checks[i].agrees}
        wrong = [i for i in upstream if i in checks and not checks[i].agrees]
        carried = (1 + SLOPE_SLACK) * sum(abs(upstream[i]) * e for i, e in right.items())
        from_claims = base.get(name, correct)
        for claim in printings[name]:
            tolerance = half_of(claim) + carried
            carry_tolerance = tolerance + (1 + SLOPE_SLACK) * sum(abs(upstream[i]) * half[i] for i in wrong)
            if within(claim.written, correct, tolerance) or (
                    name in carried_rounding and within(claim.written, carried_rounding[name], half_of(claim))):
                verdict = "agrees"   # right, or right as the author's declared rounding of every intermediate gives it
            elif wrong and within(claim.written, from_claims, carry_tolerance):
                verdict = "carried"
            else:
                verdict = "slip"
            check = ClaimCheck(claim.name, claim.value, correct, claim.text, verdict, from_claims, tolerance, wrong)
            results.append(check)
            if claim is claims[name]:
                checks[name] = check
    return results


def sensitivities(spec: Spec, learning_rate: float, printed: dict[str, float],
                  size: dict[str, float]) -> dict[str, dict[str, float]]:
    """How each printed number moves each other one in the author's pass (central differences of the engine's pass
    with the printed numbers fed in), by name: the slopes the audit carries rounding and slips through. ``size``:
    each number's size, the scale of its relative step."""
    with np.errstate(all="ignore"):
        return _sensitivities(spec, learning_rate, printed, places_of(spec), _Unfused(spec), size,
                              {name: {} for name in printed})


def _sensitivities(spec, learning_rate, printed, places, unfused, size, sensitivity) -> dict[str, dict]:
    """How each printed number moves each other one in the author's pass: central differences, relative steps."""
    for i in printed:
        place = places.get(split_step(i)[0])          # a step's quantity is held where step 1's is
        if place is None or place[0] in ("loss", "share") or (place[0] == "batch" and place[1][0] == "loss"):
            continue                                  # fed into nothing: they move no other number
        step = RELATIVE_STEP * size[i]          # relative, so a tiny input is not pushed across a kink such as ReLU's
        if step < np.finfo(np.float64).tiny:    # a subnormal printed number: no step can be taken in float64
            continue
        plus = author_pass(spec, learning_rate, printed | {i: printed[i] + step}, places, unfused, wanted=printed)
        minus = author_pass(spec, learning_rate, printed | {i: printed[i] - step}, places, unfused, wanted=printed)
        for q in printed:
            if q != i and q in plus:
                slope = (plus[q] - minus[q]) / (2 * step)
                if abs(slope) * size[i] > RELATIVE_SENSITIVITY * size[q]:
                    # the difference of two rounded outputs over a small step: its rounding, a few ulps of the output
                    # over the step, is added to the slope's size, so a number exactly at the edge (a tie) agrees
                    rounding = 4 * EPSILON * max(abs(plus[q]), abs(minus[q])) / (2 * step)
                    sensitivity[q][i] = math.copysign(abs(slope) + rounding, slope)
    return sensitivity


def causal_order(printed, sensitivity: dict[str, dict], order: list[str]) -> list[str]:
    """The printed names with every one after the printed numbers it was computed from, otherwise in the order the
    derivation shows them. The two differ in a sequential update, where a layer's updated weights, shown with the
    update at the end, carry the error below it."""
    position = {name: k for k, name in enumerate(order)}
    waiting, done = sorted(printed, key=lambda n: position.get(n, -1)), {}
    while waiting:
        ready = next((n for n in waiting if all(i in done for i in sensitivity[n] if i in printed)), waiting[0])
        waiting.remove(ready)
        done[ready] = True
    return list(done)


def rounded_pass(spec: Spec, learning_rate: float, places: dict[str, tuple], steps: int = 1) -> dict[str, float]:
    """Every quantity of the first ``steps`` steps as an author computes them who rounds each one to
    ``spec.carries_rounded`` decimals and computes on with the rounded value (each from the rounded ones before it,
    the updated weights and the optimizer's state too): the engine's pass with a recorder that rounds as the pass
    goes. Later steps' quantities are named for their step (``z1@2``)."""
    if spec.batch_size:
        if steps > 1:
            raise ChainruleError(f"{spec.source}: carries_rounded: expected claims of step 1 only in a batch whose "
                                 "author rounds as they go (rounding carried over several steps of a batch is not "
                                 f"worked out), found claims of step {steps}")
        return _rounded_batch_pass(spec, learning_rate, places)
    network, where = build_network(spec, fused=False)
    optimizer, values = new_optimizer(spec, learning_rate, network, where), {}
    for step in range(1, steps + 1):
        recorder = RoundingRecorder(spec.carries_rounded, claims_connections(spec))
        network.loss(spec.X, spec.Y, recorder=recorder)
        gradient_step(network, spec, optimizer, recorder)
        mine = {name: read(spec, recorder, place) for name, place in places.items() if place[0] not in AFTER_STEP}
        mine |= updated_values(spec, where, network, recorder)
        values |= {at_step(name, step): value for name, value in mine.items()}
        for param in network.named_parameters().values():     # the next step starts from the rounded weights
            round_as_printed(param, spec.carries_rounded)
    return values


ROUNDED = ("out", "yhat", "grad", "loss_grad", "param_grad", "loss")   # what an author rounding as they go rounds


def _rounded_batch_pass(spec: Spec, learning_rate: float, places: dict[str, tuple]) -> dict[str, float]:
    """A batch worked by an author who rounds every intermediate: each example's pass alone, rounding as it goes,
    gives that example's numbers; fed rounded, as if printed, to the batch's author pass they give the batch's
    loss and gradients (their mean or sum); fed again with those rounded, the update. In a sequential update each
    example's error below a layer is carried with the author's rounded update of it (see ``_batch_author_pass``)."""

    network, where = build_network(spec, fused=False)
    start = {key: param.copy() for key, param in network.named_parameters().items()}

    def worked(updated) -> dict[str, float]:
        printed = {}
        for n in range(1, spec.batch_size + 1):
            recorder, values = RoundingRecorder(spec.carries_rounded, claims_connections(spec)), {}
            set_parameters(network, start)
            example_pass(network, spec, n, recorder, updated)
            layout = Layout(spec, where, recorder, values, example=n)
            layout.forward(), layout.loss(), layout.backward()
            printed |= {name: rounded(value, spec.carries_rounded) for name, value in values.items()
                        if name in places and places[name][2][0] in ROUNDED}
        return printed
    if spec.update_order == "sequential":     # each layer's rounded update is used below it: worked round by round
        return _batch_author_pass(spec, learning_rate, {}, places, worked)[0]
    printed = worked(None)
    first = _batch_author_pass(spec, learning_rate, printed, places)[0]
    gradients = {name: rounded(first[name], spec.carries_rounded) for name, place in places.items()
                 if place[0] == "batch" and place[1][0] == "param_grad"}
    return _batch_author_pass(spec, learning_rate, printed | gradients, places)[0]


def rounded(value: float, places: int) -> float:
    """One number rounded as a person rounds it (see ``recorder.round_as_printed``)."""

    return float(round_as_printed(np.array([value]), places)[0])


def within(claimed: Decimal, value: float, tolerance: float) -> bool:
    """Whether the printed number ``claimed`` (its digits as written) is ``value`` up to ``tolerance`` and float64's
    rounding of the value. The difference is taken in exact decimal arithmetic on the printed digits and the value's
    shortest form, so a number exactly at the edge (``0.060`` for 0.0595, half a unit of the last digit) agrees
    rather than falling to float noise in the subtraction."""
    if not (math.isfinite(value) and math.isfinite(tolerance) and math.isfinite(float(claimed))):
        return False
    value, tolerance = float(value), float(tolerance)      # a given is a NumPy number: its repr is not a decimal
    value_text = Decimal(repr(float(value)))
    slack = Decimal(repr(FLOAT_SLACK * max(abs(float(claimed)), abs(value))))
    return abs(claimed - value_text) <= Decimal(repr(float(tolerance))) + slack
