"""The update of one parameter as the spec's optimizer makes it: formula templates for its state and its step.

Templates only: every value shown beside them is the engine's, read from the recorder (the optimizer's state as
its step used it) or from the parameters after the step. A template names the state the step started from by its
step, ``{v_w5@0}`` before the first (see ``step_names.qualified``), and the step count of Adam's bias correction
``{t}``.
"""

from .optimizer_spec import OptimizerSettings, state_name


def state_templates(settings: OptimizerSettings, parameter: str, gradient: str, step: int) -> list[tuple[str, str]]:
    """(name, template) of each state the rule moves for ``parameter`` in step ``step``, in the order it forms them;
    ``gradient`` is the name of the parameter's gradient."""
    g = f"{{{gradient}}}"

    def before(letter):
        return f"{{{state_name(letter, parameter)}@{step - 1}}}"
    rule = settings.name
    if rule in ("momentum", "nesterov"):
        new = f"{{eta}}·{g}" if settings.velocity == "steps" else g
        return [(state_name("v", parameter), f"{{mu}}·{before('v')} + {new}")]
    if rule == "rmsprop":
        return [(state_name("s", parameter), f"{{rho}}·{before('s')} + (1 − {{rho}})·({g})²")]
    if rule == "adam":
        m, v = state_name("m", parameter), state_name("v", parameter)
        return [(m, f"{{beta1}}·{before('m')} + (1 − {{beta1}})·{g}"),
                (v, f"{{beta2}}·{before('v')} + (1 − {{beta2}})·({g})²"),
                (state_name("mhat", parameter), f"{{{m}}}/(1 − {{beta1}}^{{t}})"),
                (state_name("vhat", parameter), f"{{{v}}}/(1 − {{beta2}}^{{t}})")]
    return []


def step_term(settings: OptimizerSettings, parameter: str, gradient: str) -> str:
    """What the rule subtracts from ``parameter``: w′ = w − (this), and its change Δw = −(this)."""
    g = f"{{{gradient}}}"
    rule, steps = settings.name, settings.velocity == "steps"
    if rule == "momentum":
        return f"{{{state_name('v', parameter)}}}" if steps else f"{{eta}}·{{{state_name('v', parameter)}}}"
    if rule == "nesterov":
        look = f"{{mu}}·{{{state_name('v', parameter)}}}"
        return f"({{eta}}·{g} + {look})" if steps else f"{{eta}}·({g} + {look})"
    if rule == "rmsprop":
        return f"{{eta}}·{g}/(√{{{state_name('s', parameter)}}} + {{eps}})"
    if rule == "adam":
        return f"{{eta}}·{{{state_name('mhat', parameter)}}}/(√{{{state_name('vhat', parameter)}}} + {{eps}})"
    return f"{{eta}}·{g}"


def rule_title(settings: OptimizerSettings, loss_name: str) -> str:
    """The update section's title: the rule in one line."""
    rule = settings.name
    if rule == "gradient_descent":
        return f"Update, w′ = w − η·∂{loss_name}/∂w"
    words = {"momentum": "momentum", "nesterov": "Nesterov momentum", "rmsprop": "RMSprop", "adam": "Adam"}[rule]
    if rule in ("momentum", "nesterov") and settings.velocity == "steps":
        words += ", a velocity of steps"
    return f"Update by {words} (" + ", ".join(f"{k} = {v:g}" for k, v in _greek(settings).items()) + ")"


def _greek(settings: OptimizerSettings) -> dict[str, float]:
    letters = {"mu": "μ", "rho": "ρ", "beta1": "β₁", "beta2": "β₂", "eps": "ε"}
    return {letters[name]: value for name, value in settings.settings.items()}
