"""The recorder: attached to a real forward and backward pass, it keeps a copy of what each layer computed.

Copies, because the engine may reuse its buffers on the next pass. It computes nothing of its own but two things
authors print that the engine never holds, each formed from what the pass recorded:

- a softmax's e^z and their sum, of the logits as recorded: the engine exponentiates z − max z (log-sum-exp, so
  no exponent overflows) and never forms e^z itself, while authors print e^z unshifted. ŷ_k = e^(z_k)/Σ e^z is the
  engine's ŷ_k (the shift cancels), so the two agree to float64's rounding.
- the error reaching a neuron below through each connection, δ_j·w_ji: the dense layer's own ``input_backward``
  of the error of output j alone (their sum over j is the layer's dL/d(input)).
"""

from decimal import ROUND_HALF_UP, Decimal

import numpy as np

ELEMENTWISE = ("Sigmoid", "Tanh", "ReLU", "Identity")   # activation layers whose Jacobian is diagonal


class Recorder:
    def __init__(self, connections: bool = False):
        self.wants_connections = connections    # record the error per connection (K more products per layer)
        self.outputs: dict[int, np.ndarray] = {}        # layer index -> its output
        self.grad_inputs: dict[int, np.ndarray] = {}    # layer index -> dL/d(its input), absent when not needed
        self.param_grads: dict[int, dict[str, np.ndarray]] = {}
        self.loss_value: float | None = None
        self.predictions: np.ndarray | None = None      # what the loss compared with the targets, after its link
        self.loss_grad: np.ndarray | None = None        # dL/d(network output)
        self.local: dict[int, np.ndarray] = {}           # elementwise activation layer -> its local derivative da/dz
        # softmax -> e^z of its logits (N, K) and their sum (N, 1); keyed by the Softmax layer's index, or None for
        # a softmax the loss fuses (softmax + cross-entropy)
        self.exps: dict[int | None, np.ndarray] = {}
        self.sums: dict[int | None, np.ndarray] = {}
        self.connections: dict[int, np.ndarray] = {}     # dense layer -> (N, D_out, D_in) its error per connection
        self.updated: dict[int, dict[str, np.ndarray]] = {}   # sequential: each layer's parameters as updated
        # (parameter array key, letter) -> the optimizer's state as the update used it: v, m, v, s, mhat, vhat
        self.states: dict[tuple[str, str], np.ndarray] = {}

    def forward(self, index, layer, x, out):
        self.outputs[index] = np.array(out, copy=True)
        if type(layer).__name__ == "Softmax":
            self.exponentiate(index, x)

    def loss(self, loss_fn, z, y, value):
        self.loss_value, self.predictions = value, np.array(loss_fn.yhat, copy=True)
        self.targets = np.array(y, copy=True)
        if type(loss_fn).__name__ == "SoftmaxCrossEntropy":
            self.exponentiate(None, z)

    def exponentiate(self, key, z):
        """e^z of a softmax's logits, unshifted, as authors print them (``inf`` where they overflow float64, which
        the derivation reports), and the softmax's denominator, their sum."""
        with np.errstate(over="ignore"):
            self.exps[key] = np.exp(z)
            self.sums[key] = self.exps[key].sum(axis=1, keepdims=True)

    def loss_backward(self, loss_fn, grad):
        self.loss_grad = np.array(grad, copy=True)

    def backward(self, index, layer, grad_out, grad_in):
        if grad_in is not None:
            self.grad_inputs[index] = np.array(grad_in, copy=True)
        self.param_grads[index] = {name: np.array(g, copy=True) for name, g in layer.grads.items()}
        if type(layer).__name__ in ELEMENTWISE:     # da/dz: the layer's own backward of a gradient of ones
            self.local[index] = np.array(layer.backward(np.ones_like(grad_out)), copy=True)
        # not in a training pass: there input_backward writes into the buffer that grad_in already is
        if self.wants_connections and grad_in is not None and hasattr(layer, "input_backward") and not layer.training:
            self.connections[index] = connections(layer, grad_out)

    def before_update(self, index, layer):
        """A sequential update is about to use the layer's parameter gradients (``backward`` comes after it)."""

    def after_update(self, index, layer):
        """A sequential update has just changed the layer's parameters; the error below is carried with them."""

    def optimizer_state(self, optimizer, key: str, param, grad, state: dict) -> None:
        """The optimizer's state for the parameter array ``key`` as its step is about to use it (the optimizer's
        ``observer``): copies, by the letter the explanation names them with, Adam's bias-corrected moments too."""
        self.states.update(state_arrays(optimizer, key, state))

    def read(self, where: tuple) -> float:
        """One recorded number of the first example, by place: ``("out", layer, j)`` a layer's output,
        ``("grad", layer, j)`` dL/d(its input), ``("local", layer, j)`` an activation's da/dz,
        ``("param_grad", layer, name, flat index)``, ``("yhat", k)`` and ``("loss_grad", k)`` at the loss,
        ``("loss",)``, ``("exp", softmax, k)`` e^(z_k) and ``("sum_exp", softmax, 0)`` their sum (softmax: the
        layer's index, None when fused into the loss), ``("via", dense, j, i)`` the error reaching input i of a
        dense layer through its output j, ``("state", "0.weight", "v", flat index)`` an optimizer's state."""
        kind, *rest = where
        if kind == "loss":
            return float(self.loss_value)
        if kind == "via":
            return float(self.connections[rest[0]][0, rest[1], rest[2]])
        if kind == "param_grad":
            return float(self.param_grads[rest[0]][rest[1]].reshape(-1)[rest[-1]])
        if kind == "state":
            return float(self.states[rest[0], rest[1]].reshape(-1)[rest[2]])
        if kind == "yhat":
            return float(self.predictions[0, rest[-1]])
        if kind == "loss_grad":
            return float(self.loss_grad[0, rest[-1]])
        array = {"out": self.outputs, "grad": self.grad_inputs, "local": self.local, "exp": self.exps,
                 "sum_exp": self.sums}[kind][rest[0]]
        return float(array[0, rest[-1]])


def state_arrays(optimizer, key: str, state: dict) -> dict[tuple[str, str], np.ndarray]:
    """Copies of an optimizer's state for one parameter array, keyed ``(key, letter)``: the engine's own entries by
    the letters of ``STATE_NAMES``, and Adam's ``mhat``/``vhat`` from its own ``corrected``."""
    arrays = {(key, letter): np.array(state[entry], copy=True) for entry, letter in optimizer.STATE_NAMES.items()}
    if hasattr(optimizer, "corrected"):
        m_hat, v_hat = optimizer.corrected(state)
        arrays[key, "mhat"], arrays[key, "vhat"] = m_hat, v_hat
    return arrays


def round_as_printed(array: np.ndarray, places: int) -> np.ndarray:
    """``array`` rounded in place to ``places`` decimals as a person rounds the digits they see: each number's
    shortest decimal form (the digits Python prints), ties away from zero. ``np.round`` differs where it matters to
    hand working: it rounds ties to even, and the mean of 0.01 and 0.02 is 0.015 to a person but 0.01499… in
    binary."""
    unit = Decimal(1).scaleb(-places)
    values = [float(Decimal(repr(v)).quantize(unit, rounding=ROUND_HALF_UP)) if np.isfinite(v) else v
              for v in array.ravel().tolist()]
    array[...] = np.reshape(values, array.shape)      # in place: the arrays the pass goes on with
    return array


def connections(layer, grad_out: np.ndarray) -> np.ndarray:
    """The error each output j of a dense layer sends to each of its inputs i, δ_j·w_ij: the layer's own
    ``input_backward`` of output j's error alone, for each j. (N, D_out, D_in); summed over j it is dL/d(input)."""
    parts = []
    for j in range(grad_out.shape[1]):
        alone = np.zeros_like(grad_out)
        alone[:, j] = grad_out[:, j]
        parts.append(np.array(layer.input_backward(alone), copy=True))   # a copy: a training pass reuses a buffer
    return np.stack(parts, axis=1)


class ClampingRecorder(Recorder):
    """Records what each layer computed, then overwrites chosen entries with given numbers before the pass goes on.

    With an author's printed numbers as the clamps, the engine's own pass computes every quantity from the author's
    numbers for its inputs: what the author should have printed, had each step been done right from the last.

    Three printed intermediates are not entries of any array the engine passes on, and enter the pass through the
    one formula that joins them to the next quantity: a local derivative through dL/dz = dL/da·da/dz, a softmax's
    e^z and denominator through ŷ_k = e^(z_k)/Σ e^z, and an error per connection through dL/da_i = Σ_j δ_j·w_ij.
    ``additions`` (place -> amount) are added to a parameter gradient before it is recorded: a batch's gradient takes
    each example's printed gradient in place of the one computed (see ``audit._batch_author_pass``).
    """

    def __init__(self, clamps: dict[tuple, float], row_clamps: dict[tuple[int, tuple], float] | None = None,
                 additions: dict[tuple, float] | None = None, connections: bool = False, rounds: int | None = None):
        super().__init__(connections)
        self.rounds = rounds    # a sequential update's gradients and updated parameters rounded to so many places
        # (example row, place, value); ``clamps`` are of row 0, ``row_clamps`` keyed (row, place) for a batch
        entries = [(0, where, value) for where, value in clamps.items()]
        entries += [(row, where, value) for (row, where), value in (row_clamps or {}).items()]
        self.at: dict[tuple, list] = {}        # (kind, layer) -> its entries; ("loss_grad",) -> the loss's
        for row, where, value in entries:
            self.at.setdefault(where[:1] if where[0] == "loss_grad" else where[:2], []).append((row, where, value))
        self.additions: dict[int, list] = {}
        for where, amount in (additions or {}).items():
            self.additions.setdefault(where[1], []).append((where, amount))
        self._settled: dict[int, dict[str, np.ndarray]] = {}  # sequential: param gradients recorded before use
        self._before: dict[int, dict[str, np.ndarray]] = {}

    def _clamp(self, kind, index, array):
        for row, where, value in self.at.get((kind, index), ()):
            array[row, where[2]] = value

    def forward(self, index, layer, x, out):
        super().forward(index, layer, x, out)
        if index in self.exps:
            self._through_exponentials(index, out)
        self._clamp("out", index, out)

    def _through_exponentials(self, index, out):
        """Rows whose e^z or denominator was printed: the softmax's output recomputed as ŷ_k = e^(z_k)/Σ e^z from
        the printed numbers (each row's denominator the sum of its e^z, printed or not, unless itself printed)."""
        rows = {row for kind in ("exp", "sum_exp") for row, _, _ in self.at.get((kind, index), ())}
        if not rows:
            return
        exps = self.exps[index].copy()
        self._clamp("exp", index, exps)
        self.sums[index] = exps.sum(axis=1, keepdims=True)   # recorded: the denominator from the printed e^z
        sums = self.sums[index].copy()
        self._clamp("sum_exp", index, sums)
        for row in rows:
            out[row] = exps[row] / sums[row]
        self.outputs[index] = np.array(out, copy=True)    # recorded: ŷ from the printed e^z and denominator

    def loss_backward(self, loss_fn, grad):
        super().loss_backward(loss_fn, grad)
        for row, where, value in self.at.get(("loss_grad",), ()):
            grad[row, where[1]] = value

    def optimizer_state(self, optimizer, key, param, grad, state):
        """Records the state, then puts printed values in its place before the update uses it: a printed velocity
        or moment as it is, a printed bias-corrected moment (m̂ = m/(1 − β₁ᵗ)) as the moment it stands for, after
        the corrected moments were recorded from the printed moments; returns the undoing of that last, for after the
        update (a printed m̂ stands for this step's m̂ alone, not for the moment the next step starts from)."""
        printed = self.at.get(("state", key), ())
        super().optimizer_state(optimizer, key, param, grad, state)
        if not printed:
            return None
        entry = {letter: entry for entry, letter in optimizer.STATE_NAMES.items()}
        for _, (_, _, letter, flat), value in printed:
            if letter in entry:
                state[entry[letter]].reshape(-1)[flat] = value
        if hasattr(optimizer, "corrected"):
            hats = state_arrays(optimizer, key, state)
            self.states[key, "mhat"], self.states[key, "vhat"] = hats[key, "mhat"], hats[key, "vhat"]
            corrections = dict(zip(("mhat", "vhat"), optimizer.corrections(), strict=True))
            if not any(letter in corrections for _, (_, _, letter, _), _ in printed):
                return None
            moments = {name: np.array(state[name], copy=True) for name in ("m", "v")}
            for _, (_, _, letter, flat), value in printed:
                if letter in corrections:
                    state[entry[letter[0]]].reshape(-1)[flat] = value * corrections[letter]
            # a printed m̂ or v̂ feeds this step's update only: the next step's moments are the author's m and v
            return lambda: [np.copyto(state[name], kept) for name, kept in moments.items()]
        return None

    def _settle_param_grads(self, index, layer) -> dict[str, np.ndarray] | None:
        """The layer's parameter gradients with the additions made, recorded, then the printed ones put in place;
        None when nothing is to be done to them (they are recorded as they are)."""
        additions, printed = self.additions.get(index, ()), self.at.get(("param_grad", index), ())
        if not additions and not printed:
            return None
        for where, amount in additions:
            layer.grads[where[2]].reshape(-1)[where[3]] += amount
        recorded = {name: np.array(g, copy=True) for name, g in layer.grads.items()}
        for _, where, value in printed:
            layer.grads[where[2]].reshape(-1)[where[3]] = value
        return recorded

    def before_update(self, index, layer):
        settled = self._settle_param_grads(index, layer)
        if self.rounds is not None:           # recorded as computed, then rounded for the update
            settled = settled or {name: np.array(g, copy=True) for name, g in layer.grads.items()}
            for g in layer.grads.values():
                round_as_printed(g, self.rounds)
        self._settled[index] = settled
        self._before[index] = {name: np.array(p, copy=True) for name, p in layer.params.items()}

    def after_update(self, index, layer):
        """Records the layer's updated parameters, then puts a printed change (w + Δw) or updated value in place:
        the error carried below the layer is then the author's, computed with the author's updated weights."""
        self.updated[index] = {name: np.array(p, copy=True) for name, p in layer.params.items()}
        if self.rounds is not None:
            for p in layer.params.values():
                round_as_printed(p, self.rounds)
        for _, where, value in self.at.get(("change", index), ()):
            layer.params[where[2]].reshape(-1)[where[3]] = self._before[index][where[2]].reshape(-1)[where[3]] + value
        for _, where, value in self.at.get(("updated", index), ()):
            layer.params[where[2]].reshape(-1)[where[3]] = value

    def backward(self, index, layer, grad_out, grad_in):
        for row, where, value in self.at.get(("local", index), ()):
            # a printed local derivative carries the error through the neuron in its place: the chain rule's
            # one product, dL/dz = dL/da · da/dz, as the activation's backward forms it
            grad_in[row, where[2]] = grad_out[row, where[2]] * value
        printed = self.at.get(("via", index), ())
        if printed and grad_in is not None:
            # a printed error per connection stands in for the computed one in the sum dL/da_i = Σ_j δ_j·w_ij
            computed = connections(layer, grad_out)
            for row, (_, _, j, i), value in printed:
                grad_in[row, i] += value - computed[row, j, i]
        super().backward(index, layer, grad_out, grad_in)
        if layer.grads:      # settled already when a sequential update used them
            settled = self._settled.pop(index) if index in self._settled else self._settle_param_grads(index, layer)
            if settled is not None:
                self.param_grads[index] = settled
        if grad_in is not None:
            self._clamp("grad", index, grad_in)


class RoundingRecorder(Recorder):
    """Records each number the pass computes, then rounds it to ``places`` decimals before the pass goes on: the
    step as an author works it who rounds each intermediate and computes on with the rounded value. What is
    recorded is each value as computed from the rounded ones before it, before its own rounding (the author may
    print it with more digits)."""

    def __init__(self, places: int, connections: bool = False):
        super().__init__(connections)
        self.places = places
        self._settled: dict[int, dict[str, np.ndarray]] = {}

    def forward(self, index, layer, x, out):
        super().forward(index, layer, x, out)
        round_as_printed(out, self.places)

    def loss_backward(self, loss_fn, grad):
        super().loss_backward(loss_fn, grad)
        round_as_printed(grad, self.places)

    def optimizer_state(self, optimizer, key, param, grad, state):
        """The state as computed, recorded, then rounded for the update (a bias-corrected moment too: the moment is
        set to the rounded one times its correction)."""
        super().optimizer_state(optimizer, key, param, grad, state)
        for entry in optimizer.STATE_NAMES:
            round_as_printed(state[entry], self.places)
        if not hasattr(optimizer, "corrected"):
            return None
        moments = {name: np.array(state[name], copy=True) for name in ("m", "v")}
        for letter, correction in zip(("m", "v"), optimizer.corrections(), strict=True):
            hat = round_as_printed(np.array(self.states[key, letter + "hat"], copy=True), self.places)
            state[letter][...] = hat * correction
        # the rounded m̂ and v̂ make this step's update; the next step goes on from the rounded m and v
        return lambda: [np.copyto(state[name], kept) for name, kept in moments.items()]

    def before_update(self, index, layer):
        """A sequential update: its gradients are rounded before it uses them, and so are the weights it leaves,
        with which the error is carried below."""
        self._settled[index] = {name: np.array(g, copy=True) for name, g in layer.grads.items()}
        for g in layer.grads.values():
            round_as_printed(g, self.places)

    def after_update(self, index, layer):
        self.updated[index] = {name: np.array(p, copy=True) for name, p in layer.params.items()}
        for p in layer.params.values():
            round_as_printed(p, self.places)

    def backward(self, index, layer, grad_out, grad_in):
        super().backward(index, layer, grad_out, grad_in)
        if index in self._settled:
            self.param_grads[index] = self._settled.pop(index)
        if grad_in is not None:
            round_as_printed(grad_in, self.places)
        for g in layer.grads.values():
            round_as_printed(g, self.places)
