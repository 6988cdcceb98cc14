"""An explanation, stage by stage: spec -> recorded pass (``stepping``) -> laid-out derivation (``derivation``) ->
audit (``audit``) -> renderers. Each stage imports only the stages before it; this module runs them in order."""

from ..errors import ChainruleError
from ..schema import nearest
from .audit import audit
from .derivation import Derivation, lay_out, natural_key
from .spec import Spec, claim_key


def derive(spec: Spec, learning_rate: float | None = None, steps: int = 1, show_step: int = 1) -> Derivation:
    """Run the spec's steps, lay out step ``show_step`` (every claimed step, when claims name later ones), and audit
    the spec's printed numbers against them (when the first step is shown: printed numbers describe the first
    steps)."""
    derivation = lay_out(spec, learning_rate, steps, show_step)
    if show_step != 1 or not spec.claims:
        return derivation            # printed numbers describe the first steps: judged when those are shown
    values = derivation.values
    unknown = [c.name for c in spec.claims if claim_key(spec, c.name) not in values]
    if unknown:
        known = ", ".join(sorted(values, key=natural_key)[:12])
        hint = nearest(claim_key(spec, unknown[0]), values)
        raise ChainruleError(f"{spec.source}: claims.{unknown[0]}: expected the name of a quantity of this network "
                             f"(such as {known}, ...), found none called \"{unknown[0]}\"{hint}")
    derivation.claims = audit(spec, derivation.learning_rate, values, derivation.order)
    return derivation
