"""Optimizers own their state and one formula each; the base class does the bookkeeping.

``step(params, grads)`` updates the arrays of ``params`` in place from ``grads``, both keyed by the network's
parameter names. Each optimizer's formula is two halves: ``advance`` moves its state (a velocity, moment
estimates) with the new gradient, ``apply`` moves the parameter from that state. Between them an ``observer``, when
one is set, sees the state the step is about to use: the explainer records it there, and an author's printed
velocity or moment can be put in its place, so the update shown is the engine's own from the numbers printed.
Pass a subset of the names to leave the rest frozen (some worked examples keep biases fixed).
Gradients are only read, never changed: the registry keeps the true dL/dw for anyone who looks.
A schedule, if given, sets the learning rate at the start of each epoch from the base rate.
"""

import math

import numpy as np

from .blas import subtract_product
from .errors import ChainruleError


def _check_rate(name: str, value, low: float = 0.0, high: float = math.inf, low_open: bool = False,
                high_open: bool = True) -> float:
    value = float(value)
    above = value > low if low_open else value >= low
    below = value < high if high_open else value <= high
    if not (np.isfinite(value) and above and below):
        bound = f"{'>' if low_open else '>='} {low}"
        if high != math.inf:
            bound += f" and {'<' if high_open else '<='} {high}"
        raise ChainruleError(f"Invalid {name}: expected a finite number {bound}, found {value!r}")
    return value


class Optimizer:
    #: (parameter name, parameter, gradient, state) -> None or a function to call once ``apply`` has run, called
    #: between ``advance`` and ``apply``; None in training
    observer = None
    #: the state each step keeps per parameter, by name, as the explainer names it (``v`` for ``v_w5``)
    STATE_NAMES: dict[str, str] = {}

    def __init__(self, lr: float, weight_decay: float = 0.0, schedule=None):
        self.base_lr = self.lr = _check_rate("learning rate", lr, low_open=True)
        self.weight_decay = _check_rate("weight_decay", weight_decay)
        self.schedule = schedule
        self.steps = 0
        self.state: dict[str, dict[str, np.ndarray]] = {}

    def start_epoch(self, epoch: int) -> None:
        """Epochs count from 0; the schedule scales the base learning rate."""
        if self.schedule is not None:
            self.lr = self.base_lr * self.schedule(epoch)

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        self.steps += 1
        for name, param in params.items():
            state = self.state.get(name)
            if state is None:
                state = self.state[name] = {"scratch": np.empty_like(param)}
            grad = grads[name]
            if self.weight_decay:   # L2 penalty (wd/2)||w||^2 adds wd * w to the gradient
                decayed = state.setdefault("decayed", np.empty_like(param))
                np.multiply(param, param.dtype.type(self.weight_decay), out=decayed)
                grad = np.add(decayed, grad, out=decayed)
            self.advance(param, grad, state)
            after = self.observer(name, param, grad, state) if self.observer is not None else None
            self.apply(param, grad, state)
            if after is not None:                # the observer's own undoing, once the step has used its state
                after()

    def advance(self, param: np.ndarray, grad: np.ndarray, state: dict) -> None:
        """Move the state kept for ``param`` with its new gradient (nothing, for plain gradient descent)."""

    def apply(self, param: np.ndarray, grad: np.ndarray, state: dict) -> None:
        raise NotImplementedError

    def loss_scale(self) -> float | None:
        """A factor for the loss whose gradients ``step_prescaled`` takes (None: no such factor; use ``step``)."""
        return None

    # --- state for checkpoints: plain arrays and numbers, never pickles ---------------------------------------
    def state_arrays(self) -> dict[str, np.ndarray]:
        return {f"{name}/{key}": value for name, entries in self.state.items()
                for key, value in entries.items() if key not in ("scratch", "decayed")}

    def load_state_arrays(self, arrays: dict[str, np.ndarray], params: dict[str, np.ndarray]) -> None:
        self.state = {name: {"scratch": np.empty_like(p)} for name, p in params.items()}
        for key, value in arrays.items():
            name, entry = key.rsplit("/", 1)
            self.state[name][entry] = np.array(value, dtype=params[name].dtype)

    def config(self) -> dict:
        return {"lr": self.lr, "base_lr": self.base_lr, "steps": self.steps}


class SGD(Optimizer):
    """Gradient descent, ``w <- w - lr * g``; with momentum ``v <- momentum v + g`` and ``w <- w - lr v``
    (Nesterov: ``w <- w - lr (g + momentum v)``), the formulation of PyTorch and of Sutskever et al. (2013)."""

    def __init__(self, lr: float = 0.01, momentum: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0,
                 schedule=None):
        super().__init__(lr, weight_decay, schedule)
        self.momentum = _check_rate("momentum", momentum, high=1.0, high_open=False)   # 1: no gradient fades
        if nesterov and not self.momentum:
            raise ChainruleError("Invalid nesterov=True: Nesterov momentum needs momentum > 0, found momentum=0")
        self.nesterov = bool(nesterov)

    @property
    def STATE_NAMES(self):
        return {"velocity": "v"} if self.momentum else {}

    def advance(self, param, grad, state):
        if self.momentum:                                  # v <- momentum v + g
            velocity = self._velocity(param, state, param.dtype.type(1))
            velocity *= param.dtype.type(self.momentum)
            velocity += grad

    def apply(self, param, grad, state):
        lr = param.dtype.type(self.lr)
        if not self.momentum:
            param -= np.multiply(grad, lr, out=state["scratch"])
            return
        velocity = state["velocity"]
        if self.nesterov:                                  # w <- w - lr (g + momentum v)
            step = np.multiply(velocity, param.dtype.type(self.momentum), out=state["scratch"])
            step += grad
            step *= lr
        else:                                              # w <- w - lr v
            step = np.multiply(velocity, lr, out=state["scratch"])
        param -= step

    def loss_scale(self):
        # The step is linear in the gradient, so fit can ask backward for the gradient of lr * L (one multiplication
        # of the small output error, which happens anyway) and the step drops its own multiplication by lr: plain
        # SGD becomes w <- w - g', one pass over the weights instead of two (most of the update's cost on large
        # first layers); momentum keeps its velocity in the same units, v' = lr v, and saves a pass as well.
        return self.lr if not self.weight_decay else None

    def descend(self, layer, grad_out) -> None:
        """Plain SGD's step for one dense layer, from gradients of ``loss_scale() * L`` given as the factors of the
        weight gradient: ``W <- W - x^T g'`` in one matrix product (``blas.subtract_product``: no gradient array and
        no pass over the weights of its own), then ``b <- b - 1^T g'``. Momentum needs the gradient itself, so
        ``fit`` uses this only without it."""
        layer.bias_backward(grad_out)
        subtract_product(layer.params["weight"], layer.x, grad_out)
        if "bias" in layer.params:
            layer.params["bias"] -= layer.grads["bias"]

    def step_prescaled(self, params, grads) -> None:
        """The step for gradients of ``loss_scale() * L``, g' = lr g: ``w <- w - g'``; with momentum
        ``v' <- momentum v' + g'`` and ``w <- w - v'`` (Nesterov: ``w <- w - (g' + momentum v')``)."""
        self.steps += 1
        for name, param in params.items():
            grad = grads[name]
            if not self.momentum:
                param -= grad
                continue
            state = self.state.get(name)
            if state is None:
                state = self.state[name] = {"scratch": np.empty_like(param)}
            velocity = self._velocity(param, state, param.dtype.type(self.lr))
            velocity *= param.dtype.type(self.momentum)
            velocity += grad
            if self.nesterov:
                param -= grad
                param -= np.multiply(velocity, param.dtype.type(self.momentum), out=state["scratch"])
            else:
                param -= velocity

    @staticmethod
    def _velocity(param, state, units):
        """The velocity in ``units`` of the gradient (1: dL/dw; lr: the prescaled g'), converted if it was kept in
        other units (the learning rate changed between epochs, or a prescaled run goes on with ``step``).
        The units travel with the state, so a checkpoint resumes bit for bit."""
        velocity = state.get("velocity")
        if velocity is None:
            velocity = state["velocity"] = np.zeros_like(param)
        else:
            held = state.get("velocity_units", param.dtype.type(1)).item()
            if held != units:
                velocity *= param.dtype.type(units / held)
        state["velocity_units"] = np.array(units, dtype=param.dtype)
        return velocity


class SGDVelocityOfSteps(SGD):
    """Momentum whose velocity is a sum of steps: ``v <- momentum v + lr g`` and ``w <- w - v`` (Nesterov:
    ``w <- w - (lr g + momentum v)``), as scikit-learn's ``SGDOptimizer`` writes it. At a constant rate this is
    ``SGD`` itself; when the rate changes (a schedule), the change reaches the new gradients only, where ``SGD``
    rescales the whole velocity."""

    def advance(self, param, grad, state):
        if not self.momentum:
            return
        t = param.dtype.type
        velocity = state.get("velocity")
        if velocity is None:
            velocity = state["velocity"] = np.zeros_like(param)
        velocity *= t(self.momentum)
        velocity += np.multiply(grad, t(self.lr), out=state["scratch"])   # v <- momentum v + lr g

    def apply(self, param, grad, state):
        if not self.momentum:
            return super().apply(param, grad, state)
        t = param.dtype.type
        if self.nesterov:                                   # w <- w - (lr g + momentum v)
            param -= np.multiply(grad, t(self.lr), out=state["scratch"])
            param -= np.multiply(state["velocity"], t(self.momentum), out=state["scratch"])
        else:                                               # w <- w - v
            param -= state["velocity"]

    def loss_scale(self):
        # SGD's prescaled step keeps the velocity in the units of one rate (see SGD._velocity); steps need step()
        return super().loss_scale() if not self.momentum else None


class GradientDescent(SGD):
    """The seed article's rule, w <- w - eta * dL/dw: plain SGD without momentum."""

    def __init__(self, lr: float):
        super().__init__(lr)


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015): moving averages of the gradient and its square, bias-corrected.
    ``weight_decay`` is an L2 penalty added to the gradient (as in PyTorch's ``Adam``)."""

    def __init__(self, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, schedule=None):
        super().__init__(lr, weight_decay, schedule)
        self.beta1 = _check_rate("beta1", betas[0], high=1.0)
        self.beta2 = _check_rate("beta2", betas[1], high=1.0)
        self.eps = _check_rate("eps", eps, low_open=True)

    STATE_NAMES = {"m": "m", "v": "v"}

    def advance(self, param, grad, state):
        t = param.dtype.type
        if "m" not in state:
            state["m"], state["v"] = np.zeros_like(param), np.zeros_like(param)
        m, v, scratch = state["m"], state["v"], state["scratch"]
        m *= t(self.beta1)
        m += np.multiply(grad, t(1 - self.beta1), out=scratch)   # m <- b1 m + (1 - b1) g
        v *= t(self.beta2)
        np.multiply(grad, grad, out=scratch)
        scratch *= t(1 - self.beta2)
        v += scratch                                       # v <- b2 v + (1 - b2) g^2

    def corrections(self) -> tuple[float, float]:
        """The bias corrections of this step, 1 - b1^t and 1 - b2^t (t counts steps from 1)."""
        return 1 - self.beta1 ** self.steps, 1 - self.beta2 ** self.steps

    def corrected(self, state: dict) -> tuple[np.ndarray, np.ndarray]:
        """The bias-corrected moments m_hat = m / (1 - b1^t) and v_hat = v / (1 - b2^t), which ``apply`` folds into
        its rate rather than forming: new arrays, for an explanation to show."""
        correction1, correction2 = self.corrections()
        return state["m"] / correction1, state["v"] / correction2

    def apply(self, param, grad, state):
        t = param.dtype.type
        m, v, scratch = state["m"], state["v"], state["scratch"]
        # w <- w - lr_t m / (sqrt(v) + eps_t): the bias corrections folded into lr_t and eps_t
        correction1, correction2 = self.corrections()
        lr_t = self.lr * math.sqrt(correction2) / correction1
        np.sqrt(v, out=scratch)
        scratch += t(self.epsilon_added(correction2))
        np.divide(m, scratch, out=scratch)
        scratch *= t(lr_t)
        param -= scratch

    def epsilon_added(self, correction2: float) -> float:
        """What joins sqrt(v) in the denominator: eps sqrt(1 - b2^t), which is eps added to sqrt(v_hat), the
        bias-corrected average (the paper's Algorithm 1)."""
        return self.eps * math.sqrt(correction2)


class AdamEpsilonHat(Adam):
    """Adam as scikit-learn's ``AdamOptimizer`` writes it, the paper's faster form (Kingma & Ba, 2015, end of
    section 2): ``eps`` joins sqrt(v) itself, w <- w - lr_t m / (sqrt(v) + eps). Beside the bias-corrected sqrt(v_hat)
    that is eps / sqrt(1 - b2^t), larger in the first steps; the two forms agree once eps is small beside sqrt(v)."""

    def epsilon_added(self, correction2):
        return self.eps


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e): a moving average of the squared gradient scales each step,
    ``s <- rho s + (1 - rho) g^2`` and ``w <- w - lr g / (sqrt(s) + eps)``, eps beside the root as in PyTorch and
    Keras."""

    STATE_NAMES = {"s": "s"}

    def __init__(self, lr: float = 1e-3, rho: float = 0.9, eps: float = 1e-8, weight_decay: float = 0.0,
                 schedule=None):
        super().__init__(lr, weight_decay, schedule)
        self.rho = _check_rate("rho", rho, high=1.0)
        self.eps = _check_rate("eps", eps, low_open=True)

    def advance(self, param, grad, state):
        t = param.dtype.type
        if "s" not in state:
            state["s"] = np.zeros_like(param)
        s, scratch = state["s"], state["scratch"]
        s *= t(self.rho)
        np.multiply(grad, grad, out=scratch)
        scratch *= t(1 - self.rho)
        s += scratch                                       # s <- rho s + (1 - rho) g^2

    def apply(self, param, grad, state):
        t, scratch = param.dtype.type, state["scratch"]
        np.sqrt(state["s"], out=scratch)
        scratch += t(self.eps)
        np.divide(grad, scratch, out=scratch)
        scratch *= t(self.lr)
        param -= scratch                                   # w <- w - lr g / (sqrt(s) + eps)


class StepDecay:
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs."""

    def __init__(self, step_size: int, gamma: float = 0.1):
        if int(step_size) < 1:
            raise ChainruleError(f"StepDecay: step_size must be a positive number of epochs, found {step_size!r}")
        self.step_size, self.gamma = int(step_size), _check_rate("gamma", gamma, low_open=True)

    def __call__(self, epoch: int) -> float:
        return self.gamma ** (epoch // self.step_size)


class InverseScaling:
    """scikit-learn's ``learning_rate="invscaling"``: ``lr = base / (t + 1)^power_t``, with ``t`` the number of
    examples trained on before the epoch starts (scikit-learn's ``t_``): ``seen`` before this ``fit``, then
    ``examples`` an epoch. The rate falls between epochs, not steps, as in scikit-learn (``iteration_ends``)."""

    def __init__(self, power_t: float, examples: int, seen: int = 0):
        if int(examples) < 1 or int(seen) < 0:
            raise ChainruleError(f"InverseScaling: expected examples >= 1 an epoch and seen >= 0, found "
                                 f"examples={examples!r}, seen={seen!r}")
        self.power_t = _check_rate("power_t", power_t)
        self.examples, self.seen = int(examples), int(seen)

    def __call__(self, epoch: int) -> float:
        return 1.0 / (self.seen + epoch * self.examples + 1) ** self.power_t


class CosineDecay:
    """Half a cosine from 1 down to ``floor`` over ``epochs`` epochs (Loshchilov & Hutter, 2017, without restarts)."""

    def __init__(self, epochs: int, floor: float = 0.0):
        if int(epochs) < 1:
            raise ChainruleError(f"CosineDecay: epochs must be positive, found {epochs!r}")
        self.epochs, self.floor = int(epochs), _check_rate("floor", floor, high=1.0 + 1e-12)

    def __call__(self, epoch: int) -> float:
        progress = min(epoch, self.epochs) / self.epochs
        return self.floor + (1 - self.floor) * 0.5 * (1 + math.cos(math.pi * progress))
