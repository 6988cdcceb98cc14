"""Fields for writing a spec from a page: where the example comes from (``source``, escaped in every format), the
targets' names (``target_names``), several printings of one quantity, and the precision numbers were printed at
(``printed_decimals``/``printed_significant``) when the printer dropped trailing zeros. Values worked with ``math``."""

import json
import math
import subprocess
from decimal import Decimal

import pytest
from conftest import pdflatex

import chainrule as cr
from chainrule.errors import ChainruleError
from chainrule.explainer import RENDERERS, derive, parse_spec
from chainrule.explainer.api import spec_json

HOSTILE = r"https://e.org/a_b?c=1&d=%20#x~ \input{/etc/hostname} $x$ <script>alert(1)</script> [link](http://e) *b*"


def softmax_spec(**changes):
    """2 inputs -> 2 softmax outputs the author calls y1, y2; class 0 (z1 = 0.4, z2 = 0.7 exactly as decimals)."""
    raw = {"inputs": [1.0, 0.5], "targets": 0, "target_names": ["t1", "t2"], "loss": "cross_entropy",
           "learning_rate": 0.5,
           "layers": [{"weights": [[0.5, -0.6], [0.7, 0.2]], "bias": [0.2, -0.1], "activation": "softmax",
                       "activation_names": ["y1", "y2"]}]}
    raw.update(changes)
    return raw


Y1 = 1 / (1 + math.exp(0.7 - 0.4))          # e^z1 / (e^z1 + e^z2)


# --- source ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "latex", "html"])
def test_the_source_is_shown_and_escaped_in_every_format(fmt):
    d = derive(parse_spec(softmax_spec(source=HOSTILE, title="A title")))
    assert d.spec.citation == HOSTILE and d.spec.source == "spec"      # the file named in messages is kept apart
    out = RENDERERS[fmt](d)
    if fmt == "text":
        assert out.splitlines()[:2] == ["chainrule explain: A title", f"Source: {HOSTILE}"]
    elif fmt == "json":
        assert json.loads(out)["source"] == HOSTILE
    elif fmt == "markdown":
        line = next(line for line in out.splitlines() if line.startswith("**Source:**"))
        assert "<script>" not in line and "&lt;script&gt;" in line and r"\[link\](http://e)" in line
        assert r"a\_b" in line and r"\$x\$" in line and r"\*b\*" in line and r"\#x" in line
    elif fmt == "latex":
        line = next(line for line in out.splitlines() if line.startswith(r"\noindent\textbf{Source:}"))
        assert r"\input{" not in line and r"\textbackslash{}input\{/etc/hostname\}" in line
        assert r"a\_b" in line and r"\&d=\%20\#x\textasciitilde{}" in line and r"\$x\$" in line
    else:
        assert "<script>alert" not in out and '<p class="source">Source: https://e.org/a_b?c=1&amp;d=%20#x~ ' in out
        assert 'href="https://e.org' not in out        # text, not a link: the page reaches no other address


def test_no_source_changes_nothing():
    d = derive(parse_spec(softmax_spec()))
    assert "Source:" not in RENDERERS["text"](d) and json.loads(RENDERERS["json"](d))["source"] == ""
    assert 'class="source"' not in RENDERERS["html"](d) and "Source:" not in RENDERERS["latex"](d)


def test_a_hostile_source_compiles_in_latex(tmp_path):
    compiler = pdflatex()
    (tmp_path / "explain.tex").write_text(RENDERERS["latex"](derive(parse_spec(softmax_spec(source=HOSTILE)))))
    result = subprocess.run([compiler, "-interaction=nonstopmode", "-halt-on-error", "explain.tex"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:]
    assert not (tmp_path / "hostname").exists()


@pytest.mark.parametrize("value, words", [
    ("a\nb", 'source: expected a URL or a citation: one line of text without control characters, found "a\nb"'),
    ("\x1b[31mred", "source: expected a URL or a citation: one line of text without control characters"),
    ("", "source: expected a URL or a citation: one line of text without control characters, found an empty "
         "string"),
    ("x" * 1001, "source: expected a URL or a citation: one line of text without control characters of at most "
                 "1000 characters, found 1001 characters"),
    (7, "source: expected a URL or a citation: one line of text without control characters, found the number 7"),
    (["a"], 'source: expected a URL or a citation: one line of text without control characters, found a list'),
    ({"url": "x"}, 'found a table with keys "url"'),
])
def test_a_bad_source_is_refused_by_name(value, words):
    with pytest.raises(ChainruleError) as caught:
        parse_spec(softmax_spec(source=value), "page.json")
    assert str(caught.value).startswith("page.json: ") and words in str(caught.value)


# --- target_names ---------------------------------------------------------------------------------------------
def test_target_names_name_the_targets_and_free_y_for_the_outputs():
    d = derive(parse_spec(softmax_spec()))
    assert d.spec.target_names == ["t1", "t2"] and (d.values["t1"], d.values["t2"]) == (1.0, 0.0)
    assert d.values["y1"] == pytest.approx(Y1, rel=1e-12)
    assert d.values["dL/dz1"] == pytest.approx(Y1 - 1.0, rel=1e-12)          # ŷ − t with t1 = 1
    assert "L = −(t₁·ln y₁ + t₂·ln y₂)" in RENDERERS["text"](d)
    with pytest.raises(ChainruleError, match='names: expected every name to be used once, found "y1" twice'):
        parse_spec({key: value for key, value in softmax_spec().items() if key != "target_names"})


def test_target_names_in_a_batch_and_with_a_table_of_targets():
    batch = derive(parse_spec(softmax_spec(inputs=[[1.0, 0.5], [0.0, 1.0]], targets=[0, 1])))
    assert (batch.values["t1[2]"], batch.values["t2[2]"]) == (0.0, 1.0)
    table = parse_spec(softmax_spec(targets={"t1": 1, "t2": 0}))
    assert table.target_names == ["t1", "t2"]


@pytest.mark.parametrize("names, words", [
    (["t1"], "target_names: expected 2 names, one per output neuron, found 1 names"),
    (["t1", "t1"], 'names: expected every name to be used once, found "t1" twice'),
    (["t1", "x1"], 'found "x1" twice'),
    (["t1", "eta"], "names other than eta"),
    (["t 1", "t2"], "target_names[0]: expected a name"),
    ("t1", "target_names: expected a non-empty list of names"),
    ([["t1"], "t2"], "target_names[0]: expected a name: a letter, then letters, digits or _ (at most 40 characters), "
                     'found a list ["t1"]'),
    (["t1"] * 5000, "target_names: expected a non-empty list of names: a letter, then letters, digits or _ (at most "
                    "40 characters) (at most 4096), found 5000"),
])
def test_bad_target_names_are_refused(names, words):
    with pytest.raises(ChainruleError) as caught:
        parse_spec(softmax_spec(target_names=names), "page.json")
    assert words in str(caught.value) and str(caught.value).startswith("page.json: ")


def test_target_names_must_match_a_table_of_targets():
    with pytest.raises(ChainruleError, match=r"target_names: expected the names the targets table gives \(y1, y2\), "
                                             r"or no target_names, found t1, t2"):
        parse_spec(softmax_spec(targets={"y1": 1, "y2": 0}, layers=[{"weights": [[0.5, -0.6], [0.7, 0.2]],
                                                                      "activation": "softmax"}]))


# --- several printings ----------------------------------------------------------------------------------------
def test_one_quantity_printed_twice_is_two_claims_each_with_its_digits():
    spec = parse_spec(softmax_spec(claims={"y1": [Decimal("0.43"), Decimal("0.4256")], "z1": Decimal("0.4")}))
    assert [(c.name, c.text, c.unit) for c in spec.claims] == [("y1", "0.43", 0.01), ("y1", "0.4256", 0.0001),
                                                               ("z1", "0.4", 0.1)]
    d = derive(spec)
    assert [(c.name, c.claimed_text) for c in d.claims if c.name == "y1"] == [("y1", "0.43"), ("y1", "0.4256")]
    assert all(c.verdict == "agrees" for c in d.claims)
    assert json.loads(spec_json(spec))["claims"] == {"y1": [0.43, 0.4256], "z1": 0.4}
    assert '"y1": [\n      0.43,\n      0.4256\n    ]' in spec_json(spec)


@pytest.mark.parametrize("claim, words", [
    ([], "claims.y1: expected a list of printed numbers of one quantity (at most 8) (at least 1), found 0"),
    ([0.4] * 9, "claims.y1: expected a list of printed numbers of one quantity (at most 8) (at most 8), found 9"),
    ([[0.4]], "claims.y1: expected a printed number, a list of printings of it, or a table"),
    ([0.4, "0.43"], 'claims.y1[1]: expected a number, found the string "0.43"'),
    ({"value": 0.4, "values": [0.4]}, "claims.y1: expected a table with value (one printing) or values (a list of "
                                      "printings), found both"),
    ({}, "claims.y1: expected a table with value (one printing) or values (a list of printings), found an empty "
         "table"),
    ({"value": [0.4]}, "claims.y1.value: expected a number, found a list [0.4]"),
    ({"value": 0.4, "digits": 8}, 'claims.y1.digits: unknown field'),
    (True, "claims.y1: expected a printed number, a list of printings of it, or a table"),
])
def test_bad_printings_are_refused(claim, words):
    with pytest.raises(ChainruleError) as caught:
        parse_spec(softmax_spec(claims={"y1": claim}), "page.json")
    assert words in str(caught.value) and str(caught.value).startswith("page.json: ")


# --- printed precision ----------------------------------------------------------------------------------------
def test_declared_decimals_set_the_unit_of_numbers_whose_trailing_zeros_were_dropped():
    """NumPy at precision 8 prints 0.40000000 as 0.4 and 0.57444252 as itself: each stands for its value to 8
    places. A number printed as 0.5744 under that declaration claims 0.57440000, which is off."""
    y2 = 1 - Y1
    assert round(y2, 8) == 0.57444252 and round(Y1 - 1, 8) == -0.57444252
    spec = parse_spec(softmax_spec(printed_decimals=8, claims={
        "z1": Decimal("0.4"), "y2": Decimal("0.57444252"), "dL/dz1": Decimal("-0.5744")}))
    assert [(c.unit, c.printed_at) for c in spec.claims] == [(1e-8, ("decimals", 8))] * 3
    d = derive(spec)
    assert {c.name: c.verdict for c in d.claims} == {"z1": "agrees", "y2": "agrees", "dL/dz1": "slip"}
    loose = derive(parse_spec(softmax_spec(claims={"dL/dz1": Decimal("-0.5744")})))
    assert loose.claims[0].verdict == "agrees"     # without the declaration: to its own 4 places, it agrees


def test_a_claims_own_declaration_and_significant_digits():
    spec = parse_spec(softmax_spec(printed_decimals=2, claims={
        "z1": {"value": Decimal("0.4"), "printed_decimals": 8},
        "z2": {"values": [Decimal("0.7"), Decimal("0.70")], "printed_significant": 3},
        "y1": Decimal("0.43"),
        "y2": {"value": 12000, "printed_significant": 2},
    }))
    units = [(c.name, c.unit, c.printed_at) for c in spec.claims]
    assert units == [("z1", 1e-8, ("decimals", 8)), ("z2", 0.001, ("significant", 3)),   # 0.700
                     ("z2", 0.001, ("significant", 3)),
                     ("y1", 0.01, ("decimals", 2)), ("y2", 1000.0, ("significant", 2))]
    document = json.loads(spec_json(spec))["claims"]
    assert document["z1"] == {"value": 0.4, "printed_decimals": 8}
    assert document["z2"] == {"values": [0.7, 0.7], "printed_significant": 3}
    assert document["y1"] == {"value": 0.43, "printed_decimals": 2}
    again = parse_spec(json.loads(spec_json(spec), parse_float=Decimal, parse_int=Decimal))
    assert [(c.name, c.unit, c.text) for c in again.claims] == [(c.name, c.unit, c.text) for c in spec.claims]


def test_a_printed_zero_at_significant_digits_is_zero_itself():
    """A printer of significant digits writes 0 only for 0: its unit is 0, so only a zero agrees with it."""
    spec = parse_spec(softmax_spec(claims={"dL/db1": {"value": Decimal("0.0"), "printed_significant": 8}}))
    assert spec.claims[0].unit == 0.0 and spec.claims[0].asked_unit == 0


@pytest.mark.parametrize("changes, words", [
    ({"printed_decimals": 8, "printed_significant": 8},
     "printed_significant: expected either printed_decimals or printed_significant, not both"),
    ({"claims": {"z1": {"value": 0.4, "printed_decimals": 2, "printed_significant": 2}}},
     "claims.z1.printed_significant: expected either printed_decimals or printed_significant, not both"),
    ({"printed_decimals": 31}, "printed_decimals: expected a number of decimal places from 0 to 30"),
    ({"printed_decimals": -1}, "printed_decimals: expected a number of decimal places from 0 to 30"),
    ({"printed_decimals": 2.5}, "printed_decimals: expected a number of decimal places from 0 to 30"),
    ({"printed_decimals": 10 ** 400}, "printed_decimals: expected a number of decimal places from 0 to 30"),
    ({"printed_significant": 0}, "printed_significant: expected a number of significant digits from 1 to 17"),
    ({"printed_significant": "8"}, 'printed_significant: expected a number of significant digits from 1 to 17 (the '
                                   'precision the numbers were printed at, trailing zeros dropped), found the string '
                                   '"8"'),
    ({"printed_decimals": [8]}, "printed_decimals: expected a number of decimal places from 0 to 30"),
    ({"printed_decimals": 2, "claims": {"z1": Decimal("0.401")}},
     "claims.z1: expected a number of at most 2 decimal places (printed_decimals = 2), found 0.401, with 3"),
    ({"claims": {"z2": {"values": [Decimal("0.7"), Decimal("0.7012")], "printed_significant": 3}}},
     "claims.z2[1]: expected a number of at most 3 significant digits (printed_significant = 3), found 0.7012, "
     "with 4"),
])
def test_bad_precisions_are_refused_by_name(changes, words):
    with pytest.raises(ChainruleError) as caught:
        parse_spec(softmax_spec(**changes), "page.json")
    assert words in str(caught.value) and str(caught.value).startswith("page.json: ")


def test_the_fields_survive_a_round_trip_through_the_spec_file_form():
    step = cr.explain(softmax_spec(source="Week 3", input_gradients=True), claims={"y1": "0.4256"})
    raw = step.spec_dict()
    assert raw["source"] == "Week 3" and raw["input_gradients"] is True and list(raw["targets"]) == ["t1", "t2"]
    again = cr.explain(raw)
    assert again.spec.citation == "Week 3" and "dL/dx1" in again.values and again.spec.target_names == ["t1", "t2"]
    assert step.verdicts == {"y1": "agrees"}
