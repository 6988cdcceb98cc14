"""The digits of a printed number, read from the text as written by the JSON and TOML spec readers."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainrule.explainer import load_spec
from chainrule.explainer.printed_digits import as_text, as_written, last_digit_unit, significant_digits

NOTATIONS = [("0.00012", 2, 1e-5), ("1.2e-4", 2, 1e-5), ("1.20E-04", 3, 1e-6), ("12000", 5, 1.0),
             ("1.2e4", 2, 1e3), ("0.50", 2, 1e-2), ("-2.2709e-07", 5, 1e-11), ("0.426", 3, 1e-3), ("3", 1, 1.0)]


def claim_read_from(tmp_path, kind: str, text: str):
    """The single claim of a one-weight spec file whose claim z1 is ``text``, read by ``load_spec``."""
    if kind == "json":
        body = ('{"inputs": [1.0], "targets": [0.0], "loss": "half_squared_error", '
                f'"layers": [{{"weights": [[0.5]], "activation": "identity"}}], "claims": {{"z1": {text}}}}}')
    else:
        body = ('inputs = [1.0]\ntargets = [0.0]\nloss = "half_squared_error"\n'
                f'[[layers]]\nweights = [[0.5]]\nactivation = "identity"\n[claims]\nz1 = {text}\n')
    path = tmp_path / f"spec.{kind}"
    path.write_text(body)
    (claim,) = load_spec(path).claims
    return claim


@pytest.mark.parametrize("kind", ["json", "toml"])
@pytest.mark.parametrize("text,digits,unit", NOTATIONS)
def test_both_readers_keep_the_digits_as_written(tmp_path, kind, text, digits, unit):
    claim = claim_read_from(tmp_path, kind, text)
    assert claim.value == float(text)
    assert significant_digits(claim.written) == digits
    assert claim.unit == pytest.approx(unit, rel=1e-15) and claim.half_unit == pytest.approx(unit / 2, rel=1e-15)


@pytest.mark.parametrize("text,shown", [("0.00012", "0.00012"), ("1.20E-04", "0.000120"), ("1.2e4", "1.2e+04"),
                                        ("-2.2709e-07", "-2.2709e-07"), ("12000", "12000"), ("0.50", "0.50")])
def test_shown_with_the_digits_printed(text, shown):
    assert as_text(Decimal(text)) == shown


def test_numbers_given_from_python_stand_for_the_digits_python_prints():
    assert last_digit_unit(as_written(0.5)) == 0.1 and last_digit_unit(as_written(1e-05)) == 1e-05
    assert last_digit_unit(as_written(12000)) == 1.0 and significant_digits(as_written(-2.2709e-07)) == 5


@given(digits=st.integers(0, 10 ** 8 - 1), exponent=st.integers(-20, 20), sign=st.sampled_from([0, 1]))
def test_the_shown_text_reads_back_to_the_same_digits_and_exponent(digits, exponent, sign):
    written = Decimal((sign, tuple(int(c) for c in str(digits)), exponent))
    assert Decimal(as_text(written)).as_tuple() == written.as_tuple()
