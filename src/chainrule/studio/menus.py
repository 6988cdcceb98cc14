"""What the studio's menus offer, read from the engine's own rules.

A spec names one of ``spec.LOSSES``; the engine pairs a loss with an output activation only as ``losses.PAIRINGS``
allows (``output_head`` refuses the rest). The loss menu offers the losses that pair with the output layer's
activation, the output layer's activation menu only activations some loss pairs with, and a spec that pairs them
otherwise (a file, a link) is refused naming only what the menus offer. The editor always has targets to edit, so
a loss that reads none (the output itself as the objective) is not offered; a spec that names one is explained as
the engine reads it.
"""

import re

from ..activations import ACTIVATIONS
from ..explainer import spec as spec_file
from ..explainer.render import LOSS_WORDS
from ..losses import DEFAULT_LOSS, PAIRINGS

OFFERED = [loss for loss in spec_file.LOSSES if loss not in spec_file.NO_TARGETS]


def words(loss: str) -> str:
    return LOSS_WORDS.get(loss, loss.replace("_", " "))


def pairings() -> dict[str, list[str]]:
    """Output activation -> the offered losses that pair with it, in the spec's order; an activation none pairs with
    (ReLU) is left out."""
    offered = {output: [loss for loss in OFFERED if (output, loss) in PAIRINGS] for output in ACTIVATIONS}
    return {output: losses for output, losses in offered.items() if losses}


def choices() -> dict:
    """The menus: ``hidden`` (a hidden layer's activations), ``losses`` (output activation -> its losses, whose keys
    are the output layer's activations), ``default_loss`` (the loss chosen when a new output activation does not
    pair with the current one: the engine's default where a spec may name it) and ``loss_words``."""
    pairs = pairings()
    return {"hidden": list(ACTIVATIONS), "losses": pairs,
            "default_loss": {output: DEFAULT_LOSS[output] if DEFAULT_LOSS.get(output) in losses else losses[0]
                             for output, losses in pairs.items()},
            "loss_words": {loss: words(loss) for loss in spec_file.LOSSES}}


def either(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def pairing_problem(raw: dict) -> tuple[str, str] | None:
    """``(field, message)`` for a spec whose output activation and loss do not pair; None when they do, or when the
    spec is malformed in a way the spec reader names better."""
    layers, loss = raw.get("layers"), raw.get("loss")
    if not (isinstance(layers, list) and layers and isinstance(layers[-1], dict)):
        return None
    output = layers[-1].get("activation")
    if not isinstance(output, str) or output not in ACTIVATIONS or not isinstance(loss, str) or loss not in OFFERED:
        return None
    return None if loss in pairings().get(output, []) else pairing_message(output, loss, len(layers) - 1)


def pairing_message(output: str, loss: str, last: int) -> tuple[str, str]:
    """``(field, message)`` for an output activation and a loss that do not pair; ``last``: the output layer's index.
    The message names only pairings the menus offer."""
    pairs = pairings()
    if output in pairs:
        return "loss", (f"loss: {words(loss)} does not go with a {output} output; with {output} choose "
                        f"{either([words(name) for name in pairs[output]])}")
    field = f"layers[{last}].activation"
    return field, (f"spec: {field}: no loss goes with a {output} output layer; choose "
                   f"{either(list(pairs))} for the output layer")


def reworded(message: str) -> str:
    """The engine's refusal of a pairing (which lists every pairing it knows) as the studio words it; any other
    message as it is."""
    found = re.search(r"^(.*?)output/loss pairing: .*; found (\w+) \+ (\w+)$", message)
    if found is None or found[2] not in ACTIVATIONS or found[3] not in OFFERED:
        return message
    field, words_ = pairing_message(found[2], found[3], "the output layer's activation")
    return found[1] + (words_ if field == "loss" else words_.split(": ", 2)[-1])
