"""A spec's optimizer: which of the engine's update rules the explained step uses, its settings and starting state.

```toml
[optimizer]
name = "adam"            # gradient_descent (the default), momentum, nesterov, rmsprop or adam
beta1 = 0.9
beta2 = 0.999
eps = 1e-8
steps_taken = 0          # Adam: steps before this one (its bias correction counts from them)
state = { m_w5 = 0.01, v_w5 = 0.0001 }   # optional: the state the first step starts from (0 where not given)
```

The step itself is the engine's own optimizer class (``chainrule.optimizers``), built here with the spec's
settings and state; nothing of its arithmetic is written in the explainer. Each rule keeps per parameter the state
named here by a letter: momentum and Nesterov a velocity ``v``, RMSprop a mean square ``s``, Adam two moments
``m`` and ``v`` and, bias-corrected, ``mhat`` and ``vhat``; ``v_w5`` is w5's.
"""

from dataclasses import dataclass, field

import numpy as np

from ..optimizers import SGD, Adam, GradientDescent, RMSprop, SGDVelocityOfSteps
from ..schema import Choice, MapOf, Number, Table, Tagged, Text

RULES = ("gradient_descent", "momentum", "nesterov", "rmsprop", "adam")
RATE = Number(low=0, high=1, expected="a number from 0 to 1")
BELOW_ONE = Number(low=0, high=0.999999999999, expected="a number from 0 up to (not including) 1")
EPS = Number(low=0, high=1, open_low=True, expected="a positive number of at most 1")
STATE = MapOf(Text(max_length=60, pattern=r"(v|m|s)_[A-Za-z][A-Za-z0-9_]*",
                   grammar="a state name: v_, m_ or s_ and a parameter's name, such as v_w5"),
              Number(), min_items=0, what="a table of state name = number, such as v_w5 = 0.1")
MOMENTUM = {"momentum": Number(low=0, high=1, open_low=True, expected="a momentum above 0 and at most 1 (for "
                                                                       "none, name = \"gradient_descent\")"),
            "velocity": Choice(("gradients", "steps")), "state": STATE}
OPTIMIZER = Tagged("name", {
    "gradient_descent": Table({"name": Choice(RULES)}),
    "momentum": Table({"name": Choice(RULES), **MOMENTUM}),
    "nesterov": Table({"name": Choice(RULES), **MOMENTUM}),
    "rmsprop": Table({"name": Choice(RULES), "rho": BELOW_ONE, "eps": EPS, "state": STATE}),
    "adam": Table({"name": Choice(RULES), "beta1": BELOW_ONE, "beta2": BELOW_ONE, "eps": EPS, "state": STATE,
                   "steps_taken": Number(low=0, high=1_000_000, integer=True,
                                         expected="a whole number of steps from 0 to 1000000")}),
}, what="a table with name = one of " + ", ".join(RULES))

#: the state each rule keeps per parameter, by the letter that names it; the engine's own key for each
STATE_KEYS = {"momentum": {"v": "velocity"}, "nesterov": {"v": "velocity"}, "rmsprop": {"s": "s"},
              "adam": {"m": "m", "v": "v"}, "gradient_descent": {}}
#: what the explanation shows per parameter beyond the state: Adam's bias-corrected moments
SHOWN = {"adam": ("m", "v", "mhat", "vhat")}
#: the settings' names in formulas (each written as its Greek letter)
SETTING_NAMES = {"momentum": "mu", "rho": "rho", "beta1": "beta1", "beta2": "beta2", "eps": "eps"}


@dataclass
class OptimizerSettings:
    name: str = "gradient_descent"
    momentum: float = 0.9
    velocity: str = "gradients"    # v <- mu v + g (PyTorch, Sutskever et al.); "steps": v <- mu v + eta g, w <- w - v
    rho: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    steps_taken: int = 0
    state: dict[str, float] = field(default_factory=dict)   # "v_w5" -> its value before the first step

    @property
    def letters(self) -> tuple[str, ...]:
        """The quantities shown per parameter, by letter: ``("v",)`` for momentum, ``("m", "v", "mhat", "vhat")``."""
        return SHOWN.get(self.name, tuple(STATE_KEYS[self.name]))

    @property
    def settings(self) -> dict[str, float]:
        """The rule's settings by the name formulas use (``mu``, ``beta1``, ...)."""
        own = {"momentum": ("momentum",), "nesterov": ("momentum",), "rmsprop": ("rho", "eps"),
               "adam": ("beta1", "beta2", "eps")}.get(self.name, ())
        return {SETTING_NAMES[key]: float(getattr(self, key)) for key in own}


def state_name(letter: str, parameter: str) -> str:
    """``v_w5``: the state ``letter`` kept for ``parameter``."""
    return f"{letter}_{parameter}"


def read_optimizer(raw: dict | None, parameters: list[str], fail, frozen=()) -> OptimizerSettings:
    """The optimizer table of a spec that passed ``OPTIMIZER``; ``fail(path, expected, found)`` refuses what one
    field says about another (a state for a parameter the network lacks or does not update, ``frozen``, a letter
    the rule does not keep, or a negative mean of squares)."""
    if raw is None:
        return OptimizerSettings()
    settings = OptimizerSettings(raw["name"])
    for key in ("momentum", "rho", "beta1", "beta2", "eps"):
        if key in raw:
            setattr(settings, key, float(raw[key]))
    settings.velocity = raw.get("velocity", "gradients")
    settings.steps_taken = int(raw.get("steps_taken", 0))
    letters = STATE_KEYS[settings.name]
    for name, value in raw.get("state", {}).items():
        letter, parameter = name.split("_", 1)
        if letter not in letters:
            fail(f"optimizer.state.{name}", f"the state {settings.name} keeps "
                 f"({', '.join(f'{k}_...' for k in letters) or 'none'})", f'"{name}"')
        if parameter not in parameters:
            fail(f"optimizer.state.{name}", "a state of one of the network's parameters "
                 f"({', '.join(parameters[:8])}{', ...' if len(parameters) > 8 else ''})", f'"{parameter}"')
        if parameter in frozen:
            fail(f"optimizer.state.{name}", "a state of a parameter the step updates (update_biases = false keeps "
                 f"{parameter} fixed)", f'"{parameter}"')
        if (letter == "s" or (letter == "v" and settings.name == "adam")) and value < 0:
            fail(f"optimizer.state.{name}", "a number of at least 0 (a moving average of squared gradients)",
                 str(value))
        settings.state[name] = float(value)
    return settings


def make_optimizer(settings: OptimizerSettings, learning_rate: float, names: dict[str, list[tuple[int, str]]],
                   params: dict[str, np.ndarray]):
    """The engine's optimizer for ``settings``, its state set from the spec's starting state. ``names``: each
    parameter array's key (``0.weight``) -> (flat index, parameter name) of its entries."""
    rule = settings.name
    if rule == "gradient_descent":
        return GradientDescent(learning_rate)
    if rule in ("momentum", "nesterov"):
        kind = SGDVelocityOfSteps if settings.velocity == "steps" else SGD
        optimizer = kind(learning_rate, momentum=settings.momentum, nesterov=rule == "nesterov")
    elif rule == "rmsprop":
        optimizer = RMSprop(learning_rate, rho=settings.rho, eps=settings.eps)
    else:
        optimizer = Adam(learning_rate, betas=(settings.beta1, settings.beta2), eps=settings.eps)
        optimizer.steps = settings.steps_taken
    for key, entries in names.items():
        state = optimizer.state[key] = {"scratch": np.empty_like(params[key])}
        for letter, engine_key in STATE_KEYS[rule].items():
            start = state[engine_key] = np.zeros_like(params[key])
            for flat, parameter in entries:
                start.reshape(-1)[flat] = settings.state.get(state_name(letter, parameter), 0.0)
        if rule in ("momentum", "nesterov") and settings.velocity == "gradients":
            state["velocity_units"] = np.array(1.0, dtype=params[key].dtype)
    return optimizer
