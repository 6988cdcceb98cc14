"""An exercise's update rule: the optimizer the teacher chose, as the spec's ``[optimizer]`` table, and as the question
sheet states it (in words, and as formulas for one parameter w).

The formulas are the explainer's own templates (``explain.optimizer_steps``, the ones every derivation step of the
update is written with), put for a parameter named ``w``; the numbers are the engine's optimizer classes'. Nothing of
an optimizer's arithmetic is written here.
"""

import math

from ..errors import ChainruleError
from ..explainer.optimizer_spec import RULES, OptimizerSettings, state_name
from ..explainer.optimizer_steps import state_templates, step_term
from ..explainer.render import symbolic
from ..explainer.spec import Spec
from ..explainer.step_names import at_step, qualified

#: the settings each rule takes, by the ``--flag`` (and ``make_exercise`` key) that sets it
SETTINGS = {"gradient_descent": (), "momentum": ("momentum", "velocity"), "nesterov": ("momentum", "velocity"),
            "rmsprop": ("rho", "eps"), "adam": ("beta1", "beta2", "eps")}
WORDS = {"gradient_descent": "gradient descent", "momentum": "momentum", "nesterov": "Nesterov momentum",
         "rmsprop": "RMSprop", "adam": "Adam"}
STATE_WORDS = {"momentum": "velocity v_w", "nesterov": "velocity v_w", "rmsprop": "mean square s_w",
               "adam": "first and second moments m_w and v_w"}
# (low, high, whether low is allowed, whether high is allowed, the words for it)
RANGES = {"momentum": (0.0, 1.0, False, False, "a number above 0 and below 1"),
          "rho": (0.0, 1.0, True, False, "a number from 0 up to (not including) 1"),
          "beta1": (0.0, 1.0, True, False, "a number from 0 up to (not including) 1"),
          "beta2": (0.0, 1.0, True, False, "a number from 0 up to (not including) 1"),
          "eps": (0.0, 1.0, False, True, "a positive number of at most 1")}
VELOCITIES = ("gradients", "steps")
PARAMETER = "w"           # the parameter the sheet's formulas are written for


def optimizer_table(optimizer: dict | None) -> dict | None:
    """The spec's ``[optimizer]`` table for ``optimizer`` (``{"name": "adam", "beta1": 0.9, ...}``, as
    ``make_exercise`` takes it): every setting of the rule written out, the engine's defaults where not given; None
    for plain gradient descent, whose spec has no table (so a gradient-descent exercise is written as before)."""
    if optimizer is None:
        return None
    if not isinstance(optimizer, dict):
        raise ChainruleError(f"optimizer: expected a table such as {{'name': 'momentum', 'momentum': 0.9}}, found "
                             f"{type(optimizer).__name__}")
    name = optimizer.get("name", "gradient_descent")
    if name not in RULES:
        raise ChainruleError(f"--optimizer: expected one of {', '.join(RULES)}, found {str(name)[:40]!r}")
    for key, value in optimizer.items():
        if key == "name" or value is None:
            continue
        takes = [rule for rule, keys in SETTINGS.items() if key in keys]
        if not takes:
            raise ChainruleError(f"optimizer: expected settings among {', '.join(sorted(RANGES))}, velocity, found "
                                 f"{str(key)[:40]!r}")
        if name not in takes:
            raise ChainruleError(f"--{key}: expected with --optimizer {' or '.join(takes)} only (a setting of "
                                 f"{'their' if len(takes) > 1 else 'its'} rule), found --optimizer {name}")
        _check(key, value)
    if name == "gradient_descent":
        return None
    defaults = OptimizerSettings(name)
    table = {"name": name}
    for key in SETTINGS[name]:
        given = optimizer.get(key)
        table[key] = given if given is not None else getattr(defaults, key)
        if key != "velocity":
            table[key] = float(table[key])
    return table


def _check(key: str, value) -> None:
    if key == "velocity":
        if value not in VELOCITIES:
            raise ChainruleError(f"--velocity: expected one of {', '.join(VELOCITIES)}, found {str(value)[:40]!r}")
        return
    low, high, low_in, high_in, words = RANGES[key]
    number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan
    inside = math.isfinite(number) and (low < number or (low_in and number == low)) and \
        (number < high or (high_in and number == high))
    if not inside:
        raise ChainruleError(f"--{key}: expected {words}, found {str(value)[:40]}")


def update_rows(spec: Spec, steps: int) -> list[tuple[str, str]]:
    """(name, template) of the update of one parameter ``w`` by the spec's optimizer, in step 1 and, for an exercise
    of several steps, in step 2 (each later step is the same, from the state the step before left); nothing for
    plain gradient descent, which the sheet states in words. The templates are the ones each derivation step of the
    update is written with."""
    settings = spec.optimizer
    if settings.name == "gradient_descent":
        return []
    gradient = f"d{spec.loss_name}/d{PARAMETER}"
    constants = {"eta", "t", *settings.settings}
    rows = []
    for step in range(1, min(steps, 2) + 1):
        templates = state_templates(settings, PARAMETER, gradient, step)
        templates.append((f"{PARAMETER}'", f"{{{PARAMETER}}} − {step_term(settings, PARAMETER, gradient)}"))
        rows += [(at_step(name, step), qualified(template, step, constants) if step > 1 else template)
                 for name, template in templates]
    return rows


def rule_lines(spec: Spec, steps: int) -> list[str]:
    """The update rule in sentences (every format escapes them): the rule and its settings, where the optimizer's
    state starts, Adam's step count, and how a later step and its quantities are named."""
    settings, L = spec.optimizer, spec.loss_name
    count = "One step" if steps == 1 else f"{steps} steps"
    if settings.name == "gradient_descent":
        lines = [f"{count} of gradient descent: {'in each, ' if steps > 1 else ''}every weight and bias w becomes "
                 f"w′ = w − η·∂{L}/∂w" + ("; biases are kept fixed." if not spec.update_biases else ".")]
    else:
        given = ", ".join(f"{symbolic('{' + key + '}', [])} = {value:g}" for key, value in settings.settings.items())
        velocity = "; a velocity of steps, which holds η" if settings.name in ("momentum", "nesterov") and \
            settings.velocity == "steps" else ""
        fixed = "; biases are kept fixed." if not spec.update_biases else "."
        lines = [f"{count} of {WORDS[settings.name]} ({given}{velocity}): every weight and bias w is updated by "
                 f"the formulas of The update on the question sheet{fixed}",
                 f"The {STATE_WORDS[settings.name]} of every parameter "
                 f"{'start' if settings.name == 'adam' else 'starts'} at 0 before step 1 (the ⁽ᵗ⁼⁰⁾ values in the "
                 f"update's formulas)."]
        if settings.name == "adam":
            lines.append("t is the step's number (1 in step 1, 2 in step 2): m̂_w and v̂_w are the moments with "
                         "Adam's bias correction.")
    if steps > 1:
        weight = spec.layers[-1].weight_names[0][0]
        examples = [f"{spec.layers[0].pre_activation_names[0]}@2", f"d{L}/d{weight}@2",
                    f"{weight}'@2 ({weight} as step 2 left it)"]
        if settings.name != "gradient_descent":
            examples.append(f"{state_name(settings.letters[0], weight)}@2")
        state = "" if settings.name == "gradient_descent" else " and the optimizer's state"
        lines.append(f"Step 2 starts from the weights and biases{state} step 1 left, with the same example: "
                     f"w⁽ᵗ⁼²⁾ is w′ of step 1. A quantity of step 2 is written with ⁽ᵗ⁼²⁾ and typed name@2: "
                     + ", ".join(examples) + ("; step 3 likewise with @3." if steps > 2 else "."))
    return lines
