"""The recorded pass: the engine's own steps of a spec's network, its optimizer and the recorder attached.

What every later stage reads from: the derivation lays out what a recorded step computed, the audit runs the same
steps with an author's printed numbers fed in. Nothing here formats or judges a number.
"""

import re

import numpy as np

from ..errors import ChainruleError
from ..schema import describe
from .optimizer_spec import STATE_KEYS, make_optimizer, state_name
from .recorder import Recorder
from .spec import Spec, example_name
from .step_names import at_step, split_step

#: The most steps one explanation runs, and so the latest step it can show: the limit of every face, the command
#: line's --steps and --show-step, the studio's step and cr.explain's steps= and show_step=. A thousand steps of
#: the largest spec run in seconds; a billion would run for days.
MAX_STEPS = 1000


def claimed_steps(spec: Spec) -> list[int]:
    """The steps the spec's claims name, in order, step 1 always among them; each from 1 to ``MAX_STEPS`` (0, before
    the first step, only for the optimizer's starting state, ``v_w5@0``, a given)."""
    steps = {1}
    for claim in spec.claims:
        step = split_step(claim.name)[1]
        if step == 0 and re.match(r"(m|v|s)_", claim.name):
            continue
        if not 1 <= step <= MAX_STEPS:
            low = "0 (the optimizer's starting state, such as v_w5@0) or 1" if spec.optimizer.letters else "1"
            raise ChainruleError(f"{spec.source}: claims.{claim.name}: expected a step from {low} to {MAX_STEPS} "
                                 f"after @, found {step}")
        steps.add(step)
    return sorted(steps)


def new_optimizer(spec: Spec, eta: float, network, where):
    """The engine's optimizer the spec names, with its settings and starting state, for ``network``."""
    entries: dict[str, list] = {}
    for (key, flat), name in entry_names(spec, where).items():
        entries.setdefault(key, []).append((flat, name))
    return make_optimizer(spec.optimizer, eta, entries, network.named_parameters())


def starting_state(spec: Spec, names) -> dict[str, float]:
    """The optimizer's state before the first step, by name (``v_w5@0``): as the spec gives it, else 0."""
    letters = STATE_KEYS[spec.optimizer.name]
    return {at_step(state_name(letter, name), 0): spec.optimizer.state.get(state_name(letter, name), 0.0)
            for letter in letters for name in names.values()}


def step_count(value, name: str) -> int:
    """``value`` (``steps`` or ``show_step``) as a whole number from 1 to ``MAX_STEPS``; anything else is refused,
    the message naming ``name``, the limit and the value found."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= value <= MAX_STEPS:
        found = str(value) if isinstance(value, (int, float, np.number)) else describe(value)
        expected = f"a positive number of steps, at most {MAX_STEPS}" if name == "steps" else \
            f"a step from 1 to {MAX_STEPS}"
        raise ChainruleError(f"{name}: expected {expected} (the limit of the command line, the studio and "
                             f"cr.explain), found {found}")
    return int(value)


def gradient_step(network, spec: Spec, optimizer, recorder=None) -> set[str]:
    """Backward pass and one step of ``optimizer`` (the engine's, see ``new_optimizer``), simultaneous or
    sequential as the spec says; returns the names of the parameter arrays it changed (biases stay fixed when the
    spec says so). A recorder sees the optimizer's state as each update is about to use it."""
    params = network.named_parameters()
    trainable = {k: p for k, p in params.items() if spec.update_biases or not k.endswith(".bias")}
    if recorder is not None:
        optimizer.observer = lambda key, param, grad, state: recorder.optimizer_state(optimizer, key, param, grad,
                                                                                      state)
    try:
        if spec.update_order == "sequential":
            def update_layer(index, layer):
                mine = {k: p for k, p in trainable.items() if k.split(".")[0] == str(index)}
                if recorder is not None:
                    recorder.before_update(index, layer)
                optimizer.step(mine, network.named_gradients())
                if recorder is not None:
                    recorder.after_update(index, layer)
            network.backward(recorder=recorder, after_params=update_layer, scale=spec.loss_scale)
        else:
            network.backward(recorder=recorder, scale=spec.loss_scale)
            optimizer.step(trainable, network.named_gradients())
    finally:
        optimizer.observer = None
    return set(trainable)


def given_values(spec: Spec) -> dict[str, float]:
    """The inputs and targets by name; in a batch, each example's as ``x1[1]``, ``x1[2]``, ... (a loss of the
    output itself has no target names: the zeros standing in for its targets are not given)."""
    if not spec.batch_size:
        targets = [*spec.targets] if spec.target_names else []
        return dict(zip(spec.input_names + spec.target_names, [*spec.inputs, *targets], strict=True))
    values = {}
    for n, (x, y) in enumerate(zip(spec.X, spec.Y, strict=True), start=1):
        values |= {example_name(name, n): float(v) for name, v in zip(spec.input_names, x, strict=True)}
        values |= {example_name(name, n): float(v) for name, v in zip(spec.target_names, y if spec.target_names
                                                                      else [], strict=True)}
    return values


def example_pass(network, spec: Spec, n: int, recorder: Recorder, updated: dict | None = None) -> None:
    """The engine's forward and backward pass of example ``n`` (from 1) alone: its own loss and gradients.

    ``updated`` (parameter key -> array), for a sequential update: each layer takes these parameters, the batch
    step's update of it, as soon as its gradients are known, so that the error carried below it is the one the
    batch's own sequential step carried (the network is left holding them)."""
    network.loss(spec.X[n - 1:n], spec.Y[n - 1:n], recorder=recorder)
    if updated is None:
        network.backward(recorder=recorder)
        return

    def take_update(index, layer):
        for name, param in layer.params.items():
            param[...] = updated[f"{index}.{name}"]
    network.backward(recorder=recorder, after_params=take_update)


def set_parameters(network, values: dict) -> None:
    for key, param in network.named_parameters().items():
        param[...] = values[key]


def updated_values(spec: Spec, where, network, recorder) -> dict[str, float]:
    """Each parameter after the step, by its name primed (``w5'``): as the update left it, recorded where a
    sequential update then put a printed value in its place, else as the network holds it."""
    params = network.named_parameters()
    if recorder.updated:
        params = params | {f"{index}.{kind}": held for index, arrays in recorder.updated.items()
                           for kind, held in arrays.items()}
    return {f"{name}'": float(params[key].reshape(-1)[i]) for (key, i), name in entry_names(spec, where).items()}


def entry_names(spec: Spec, where) -> dict[tuple[str, int], str]:
    """Each parameter entry's name, keyed by where the engine holds it: ``("0.weight", flat index)`` -> ``w5``."""
    names = {}
    for layer, (dense, _) in zip(spec.layers, where, strict=True):
        n_out, n_in = layer.weights.shape
        for j in range(n_out):
            for i in range(n_in):     # engine weight (D_in, D_out), flat index i * D_out + j
                names[f"{dense}.weight", i * n_out + j] = layer.weight_names[j][i]
        for k, bias_name in enumerate(layer.bias_names):
            names[f"{dense}.bias", k] = bias_name
    return names
