"""The spec schema and reader at the boundary: every field type-checked before use, unknown keys refused with the
nearest name, names validated, encodings, sizes and nesting limited; user strings escaped in every format."""

import gzip
import json

import pytest

from chainrule.errors import ChainruleError
from chainrule.escape import latex_text, markdown_text
from chainrule.explainer import RENDERERS, derive, load_spec, parse_spec, seed_article_path


def seed_raw():
    return json.loads(seed_article_path().read_text(encoding="utf-8"))


def minimal(**changes):
    raw = {"inputs": [1.0], "targets": [0.0], "loss": "half_squared_error",
           "layers": [{"weights": [[0.5]], "activation": "identity"}]}
    raw.update(changes)
    return raw


@pytest.mark.parametrize("change, words", [
    (lambda r: r.update(notation=None), "notation: expected a table, found null"),
    (lambda r: r["layers"][0].update(activation=["relu"]), "layers[0].activation: expected one of"),
    (lambda r: r.update(learning_rte=0.1), 'learning_rte: unknown field; did you mean "learning_rate"?'),
    (lambda r: r["layers"][0].update(activaton="relu"), 'layers[0].activaton: unknown field; did you mean "activation"'),
    (lambda r: r.update(title=7), "title: expected a string, found the number 7"),
    (lambda r: r.update(notes="one note"), "notes: expected a list of strings"),
    (lambda r: r.update(update_biases="yes"), "update_biases: expected true or false"),
    (lambda r: r.update(claims=[1]), "claims: expected a table of quantity name = printed number"),
    (lambda r: r.update(learning_rate=10 ** 401), "learning_rate: expected a positive learning rate"),
    (lambda r: r.update(inputs={"x{1}": 1.0, "x2": 2.0, "x3": -1.0}), 'inputs key: expected a name'),
    (lambda r: r.update(inputs={"eta": 1.0, "x2": 2.0, "x3": -1.0}), 'names other than eta'),
    (lambda r: r.update(inputs={"-x": 1.0, "x2": 2.0, "x3": -1.0}), 'found "-x"'),
    (lambda r: r.update(inputs={"": 1.0, "x2": 2.0, "x3": -1.0}), "found an empty string"),
    (lambda r: r["layers"][0].update(pre_activation_names=["dL/dw1", "z2"]), 'found "dL/dw1"'),
    (lambda r: r["layers"][0].update(activation_names=["w1'", "a2"]), "found \"w1'\""),
    (lambda r: r["layers"][0].update(activation_names=["\\input/etc/hostname", "a2"]), "expected a name"),
    (lambda r: r["layers"][0].update(bias=[0.5, 0.5], bias_names="b1"),
     "layers[0].bias_names: expected a list of 2 names"),
    (lambda r: r["layers"][0].update(weights=[[0.2, -0.3, 0.4]] * 5000), "at most 4096"),
])
def test_every_field_is_checked_before_use(change, words):
    raw = seed_raw()
    change(raw)
    with pytest.raises(ChainruleError) as caught:
        parse_spec(raw, "bad.json")
    message = str(caught.value)
    assert words in message and message.startswith("bad.json: ")
    assert "Decimal(" not in message and "np." not in message


ONE_EXAMPLE = "inputs hold one example, so targets is one list of numbers"


@pytest.mark.parametrize("targets, words", [
    ('[{ a = 1 }]', 'targets[0]: expected a number (' + ONE_EXAMPLE),            # a table where a number belongs
    ('[{ y1 = 1, y2 = 0 }]', 'found a table with keys "y1", "y2"'),
    ('[[1, 0]]', "targets[0]: expected a number (" + ONE_EXAMPLE),
    ('[1, [0]]', "targets[1]: expected a number"),
    ('[[[1]]]', "targets: expected a list of numbers, a table of name = number, a class index"),
    ('[true, false]', "found a list [true, false]"),
    ('["1", "0"]', 'found a list ["1", "0"]'),
    ('true', "found a boolean"),
    ('"y1"', 'found the string "y1"'),
    ('{ y1 = [1], y2 = 0 }', "targets.y1: expected a number, found a list [1]"),
    ('{ y1 = { a = 1 }, y2 = 0 }', 'targets.y1: expected a number, found a table with keys "a"'),
    ('1979-05-27', "found the date 1979-05-27"),
    ('[07:32:00, 1]', "found a list [07:32:00, 1]"),
])
def test_targets_of_one_example_in_any_wrong_shape_are_refused_by_the_element(tmp_path, targets, words):
    """One example's targets written as a batch's list of targets (tables, lists), or as booleans, strings and
    TOML dates: each refused at the element, never a TypeError from float()."""
    path = tmp_path / "t.toml"
    path.write_text(f'inputs = {{ x1 = 1.0, x2 = -2.0 }}\ntargets = {targets}\nloss = "cross_entropy"\n[[layers]]\n'
                    'weights = [[0.5, -0.25], [0.3, 0.8]]\nactivation = "softmax"\n')
    with pytest.raises(ChainruleError) as caught:
        load_spec(path)
    assert str(caught.value).startswith(f"{path}: targets") and words in str(caught.value)
    raw = seed_raw()              # the same through a JSON document
    raw["targets"] = [[1, 0]]
    with pytest.raises(ChainruleError, match=r"bad.json: targets\[0\]: expected a number"):
        parse_spec(raw, "bad.json")


def test_a_batch_still_takes_a_list_of_targets():
    raw = minimal(inputs=[[1.0], [2.0]], targets=[{"t1": 0.5}, {"t1": 1.5}])
    assert parse_spec(raw, "batch.json").examples_y.tolist() == [[0.5], [1.5]]


def test_messages_show_numbers_as_written(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(minimal(learning_rate="0.1")).replace('"0.1"', '"fast"'))
    with pytest.raises(ChainruleError, match='learning_rate: expected a positive learning rate of at most 1e6, '
                                             'found the string "fast"'):
        load_spec(path)
    path.write_text('{"inputs": [1.0], "targets": [0.0], "loss": "half_squared_error", "learning_rate": -0.05,'
                    '"layers": [{"weights": [[0.5]], "activation": "identity"}]}')
    with pytest.raises(ChainruleError, match="found -0.05$"):
        load_spec(path)


@pytest.mark.parametrize("content, words", [
    ("é".encode("latin-1") + b'{"inputs": [1]}', "not UTF-8"),
    ('{"title": "x"}'.encode("utf-16"), "UTF-16"),
    (gzip.compress(b'{"inputs": [1]}', mtime=0), "gzip-compressed"),
    (b'{"inputs": [1], "title": "\x00"}', "NUL byte"),
    (b"[" * 100_000 + b"]" * 100_000, "nested at most"),
    (b'{"a": ' * 50 + b"1" + b"}" * 50, "nested at most 16 deep"),
], ids=["latin-1", "utf-16", "gzip", "nul", "deep-list", "deep-object"])   # ids the same in every worker process
def test_spec_files_are_decoded_and_limited(tmp_path, content, words):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(ChainruleError) as caught:
        load_spec(path)
    assert str(path) in str(caught.value) and words in str(caught.value)


def test_deep_toml_and_huge_integers(tmp_path):
    deep = tmp_path / "deep.toml"
    deep.write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(ChainruleError, match="nested"):
        load_spec(deep)
    huge = tmp_path / "huge.toml"
    huge.write_text('inputs = [1]\ntargets = [0]\nloss = "half_squared_error"\nlearning_rate = ' + "9" * 401 +
                    '\n[[layers]]\nweights = [[0.5]]\nactivation = "identity"\n')
    with pytest.raises(ChainruleError, match="learning_rate: expected a positive learning rate"):
        load_spec(huge)


def test_a_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(minimal()).encode())
    assert load_spec(path).inputs.tolist() == [1.0]


def test_spec_size_is_limited(tmp_path, monkeypatch):
    from chainrule.explainer import spec
    monkeypatch.setattr(spec, "MAX_SPEC_BYTES", 100)
    path = tmp_path / "big.json"
    path.write_text(json.dumps(minimal(notes=["x" * 200])))
    with pytest.raises(ChainruleError, match="at most 0 MiB|at most"):
        load_spec(path)


def test_dev_zero_is_refused_quickly():
    with pytest.raises(ChainruleError, match="/dev/zero"):
        load_spec("/dev/zero")


HOSTILE = r"\input{/etc/hostname} $x$ <script>alert(1)</script> [link](http://e) *b* {0} %"


@pytest.mark.parametrize("fmt", ["latex", "markdown", "html", "text", "json"])
def test_hostile_strings_are_escaped_in_every_format(fmt):
    raw = seed_raw()
    raw["title"], raw["notes"] = HOSTILE, [HOSTILE]
    out = RENDERERS[fmt](derive(parse_spec(raw)))
    if fmt == "latex":
        assert r"\input{" not in out and r"\textbackslash{}input\{/etc/hostname\}" in out
    elif fmt == "markdown":
        assert "<script>" not in out and "[link](" not in out and r"\[link\]" in out and r"\$x\$" in out
    elif fmt == "html":
        assert "<script>alert" not in out and "&lt;script&gt;" in out
    else:
        assert HOSTILE in out or json.dumps(HOSTILE)[1:-1] in out


def test_escape_functions():
    assert latex_text("50% & $x$_{1}") == r"50\% \& \$x\$\_\{1\}"
    assert markdown_text("- a *b* <i>") == r"\- a \*b\* &lt;i&gt;"
    assert markdown_text("1. first") == r"1\. first"


def test_claims_source_defaults_to_author_and_reads_as_english():
    raw = seed_raw()
    del raw["claims_source"]
    raw["claims"] = {"z1": 0.9}
    text = RENDERERS["text"](derive(parse_spec(raw)))
    assert "from the author's own inputs" in text and "claimed's" not in text


def test_a_subnormal_claim_is_audited_without_dividing_by_zero():
    raw = minimal(claims={"z1": 1e-320})
    derivation = derive(parse_spec(raw))
    assert derivation.claims[0].verdict == "slip"       # z1 is 0.5, not 1e-320
