"""Hostile input: every case of ``tests/hostile/cases.toml`` through the real command line, then mutated specs, CSV
files and model files (hypothesis) through ``chainrule.cli.main``.

A refusal is exit status 2 with one message naming what the user must change (the file, field, row, column or
flag); never a traceback, a Python repr or a warning; nothing already saved is changed, no temporary file is left
behind, and no pickle is ever loaded (the command runs under an audit hook that ends the process if one is).
"""

import hashlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tomllib
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

HERE = Path(__file__).parent / "hostile"
sys.path.insert(0, str(HERE))
import make  # noqa: E402  (tests/hostile/make.py)

sys.path.remove(str(HERE))

PICKLE_EXIT = 97
MEMORY_LIMIT = 4 << 30          # an input that makes chainrule allocate without bound ends in MemoryError, not swap
TIMEOUT = 120
REPRS = ("np.str_(", "np.float64(", "np.int64(", "Decimal(", "array(", "dtype=", "<class ")
LEAKED = re.compile(r"\b[A-Z][A-Za-z]*(?:Error|Exception)\b|\bBadZipFile\b")   # an exception's name: say it in words

# Runs the command line with every way of unpickling refused: the audit hook sees pickle.find_class (any pickle that
# names a class, such as a NumPy object array), and the module functions are replaced for pickles that name none.
GUARD_HOOK = r"""
import os, pickle, sys
def _refuse(*args, **kwargs):
    os.write(2, b"\nHOSTILE-TEST: a pickle was loaded\n")
    os._exit(%d)
def _hook(event, args):
    if event == "pickle.find_class":
        _refuse()
sys.addaudithook(_hook)
pickle.load = pickle.loads = _refuse
class _Unpickler(pickle.Unpickler):
    def load(self):
        _refuse()
pickle.Unpickler = _Unpickler
""" % PICKLE_EXIT
GUARD = GUARD_HOOK + "from chainrule.cli import main\nsys.exit(main())\n"

MODEL_COMMANDS = {   # every command that reads a model file, each writing onto an output that already exists
    "predict": (["predict", "{input}", "{rows}", "--out", "{dir}/existing.csv"], ["existing.csv"]),
    "evaluate": (["evaluate", "{input}", "--data", "digits"], []),
    "export": (["export", "{input}", "{dir}/existing.onnx"], ["existing.onnx"]),
    "explain": (["explain", "--model", "{input}", "--data", "digits", "--index", "0", "--out", "{dir}/existing.txt"],
                ["existing.txt"]),
    "plot-weights": (["plot", "weights", "{input}", "--out", "{dir}/existing.png"], ["existing.png"]),
}


def load_cases() -> list[dict]:
    cases = []
    for case in tomllib.loads((HERE / "cases.toml").read_text(encoding="utf-8"))["case"]:
        if case.get("commands") == "model":
            for command, (run, existing) in MODEL_COMMANDS.items():
                cases.append(case | {"id": f"{case['id']}-{command}", "run": run, "existing": existing})
        else:
            cases.append(case)
    return cases


CASES = load_cases()


def _limits():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def cli(args, cwd) -> subprocess.CompletedProcess:
    """The command line in a process of its own, under the pickle guard and the memory limit; a run that outlasts
    the timeout comes back with exit status None."""
    env = os.environ | {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                        "MPLBACKEND": "Agg", "COLUMNS": "80"}
    try:
        return subprocess.run([sys.executable, "-c", GUARD, *args], capture_output=True, text=True, cwd=cwd,
                              env=env, timeout=TIMEOUT, preexec_fn=_limits, errors="replace")
    except subprocess.TimeoutExpired as exc:
        return subprocess.CompletedProcess(args, None, exc.stdout or "", f"(ran for more than {TIMEOUT} s)")


@pytest.fixture(scope="session")
def base_model(tmp_path_factory) -> Path:
    """A real model saved by chainrule: digits, one hidden layer of 8, standardised inputs."""
    folder = tmp_path_factory.mktemp("base")
    result = cli(["train", "--data", "digits", "--hidden", "8", "--epochs", "2", "--quiet",
                  "--out", str(folder / "digits.npz")], folder)
    assert result.returncode == 0, result.stdout + result.stderr
    return folder / "digits.npz"


def _substitute(text: str, values: dict) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def prepare(case: dict, folder: Path, base_model: Path) -> dict:
    shutil.copy(base_model, folder / "model.npz")
    (folder / "rows.csv").write_text(make.digits_rows(3))
    for name in case.get("existing", []):
        (folder / name).write_bytes(b"saved before the run: " + name.encode() + b"\n" + bytes(range(256)))
    if "file" in case:
        source = shutil.copy(HERE / "files" / case["file"], folder / case["file"])
    elif "make" in case:
        maker = make.MAKERS[case["make"]]
        source = maker(folder, base_model) if case["make"] in make.NEEDS_MODEL else maker(folder)
    elif "spec_set" in case or "spec_delete" in case:
        spec = make.patched_spec(json.loads(case.get("spec_set", "{}")), case.get("spec_delete", []))
        source = folder / "spec.json"
        source.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    else:
        source = folder / "model.npz"
    source = Path(source)
    return {"input": str(source), "name": source.name, "dir": str(folder), "model": str(folder / "model.npz"),
            "rows": str(folder / "rows.csv")}


def snapshot(folder: Path) -> dict[str, str]:
    """Every regular file under ``folder`` (links, such as one to /dev/zero, are not followed) and its hash."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


def written_text(folder: Path, before: dict) -> str:
    after = snapshot(folder)
    return "\n".join((folder / name).read_bytes().decode("utf-8", "replace")
                     for name, digest in after.items() if before.get(name) != digest)


@pytest.fixture(scope="session")
def corpus_runs(request, base_model, tmp_path_factory) -> dict:
    """Every selected case, run a few at a time (each is a process that mostly waits on imports and files):
    case id -> (folder, placeholder values, the folder's files before, the finished process)."""
    selected = [item.callspec.params["case"] for item in request.session.items
                if getattr(item, "originalname", None) == "test_hostile_case"]
    prepared = {}
    for case in selected:
        folder = tmp_path_factory.mktemp(re.sub(r"[^A-Za-z0-9]+", "-", case["id"])[:60])
        values = prepare(case, folder, base_model)
        prepared[case["id"]] = (folder, values, snapshot(folder), [_substitute(a, values) for a in case["run"]])
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {key: pool.submit(cli, argv, folder) for key, (folder, _, _, argv) in prepared.items()}
        return {key: prepared[key][:3] + (future.result(),) for key, future in futures.items()}


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_hostile_case(case, corpus_runs):
    tmp_path, values, before, result = corpus_runs[case["id"]]
    output = result.stdout + result.stderr
    last = (result.stderr.strip().splitlines() or ["(nothing on stderr)"])[-1][:300]
    shown = f"\n--- exit {result.returncode}\n--- stdout\n{result.stdout[-2000:]}\n--- stderr\n{result.stderr[-3000:]}"

    def check(condition, what):     # the first line says what went wrong, for the short summary
        if not condition:
            pytest.fail(f"{what} | exit {result.returncode}: {last}{shown}", pytrace=False)

    check(result.returncode is not None, f"ran for more than {TIMEOUT} s: it must refuse, not hang")
    check(result.returncode != PICKLE_EXIT, "a pickle was loaded")
    check("Traceback" not in output, "traceback")
    check("Warning" not in result.stderr, "a warning leaked to stderr")
    expect = case.get("expect", "refuse")
    if expect == "ok":
        check(result.returncode == 0, "expected success")
    elif expect == "either":
        check(result.returncode in (0, 2), "expected success or a refusal")
    else:
        check(result.returncode == 2, "expected a refusal (exit 2)")
    if result.returncode == 2:
        message = result.stderr.lower()
        for word in case.get("words", []):
            word = _substitute(word, values)
            check(word.lower() in message, f"the message does not name {word!r}")
        for fragment in REPRS:
            check(fragment not in result.stderr, f"a Python repr ({fragment}) in the message")
        leaked = LEAKED.search(result.stderr)
        check(not leaked, f"a Python exception's name ({leaked and leaked[0]}) in the message")
        changed = [name for name, digest in snapshot(tmp_path).items() if name in before and before[name] != digest]
        check(not changed, f"a refused run changed files that were there before: {changed}")
    for text in case.get("stdout_has", []):
        check(text in result.stdout, f"{text!r} not in the output")
    for text in case.get("absent", []):
        check(text not in result.stdout, f"{text!r} in the output")
        check(text not in written_text(tmp_path, before), f"{text!r} in a file written")
    leftovers = [p.name for p in tmp_path.rglob(".*.tmp")]
    check(not leftovers, f"temporary files left behind: {leftovers}")


@pytest.mark.parametrize("how", ["np.load(path, allow_pickle=True)", "pickle.loads(pickle.dumps([1, 2]))",
                                 "pickle.Unpickler(open(path, 'rb')).load()",
                                 "import _pickle; _pickle.loads(pickle.dumps(np.arange(3)))"])   # the audit hook
def test_the_pickle_guard_ends_any_unpickling(how, tmp_path):
    """The guard the corpus runs under is not vacuous: each way of unpickling ends the process."""
    path = tmp_path / "objects.npy"
    array = np.empty(2, dtype=object)
    array[:] = [1, "x"]
    np.save(path, array, allow_pickle=True)
    code = GUARD_HOOK + f"import numpy as np\npath = {str(path)!r}\n{how}\nprint('loaded')\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == PICKLE_EXIT and "loaded" not in result.stdout, result.stdout + result.stderr


def test_the_corpus_covers_every_command():
    commands = {case["run"][0] for case in CASES}
    assert {"explain", "gradcheck", "train", "evaluate", "predict", "export", "plot"} <= commands
    committed = {p.name for p in (HERE / "files").iterdir()}
    used = {case["file"] for case in CASES if "file" in case}
    assert committed == used, f"files with no case: {committed - used}; cases with no file: {used - committed}"


# ---- property-based: mutated specs, CSV files and model files through chainrule.cli.main ---------------------------

class _Limited:
    """An address-space limit of 3 GiB above what the test process uses now, so a mutated size that makes
    chainrule allocate without bound fails fast with MemoryError (itself a failure: it must be refused first)."""

    def __enter__(self):
        self.kept = resource.getrlimit(resource.RLIMIT_AS)
        used = int(re.search(r"VmSize:\s+(\d+) kB", Path("/proc/self/status").read_text()).group(1)) * 1024
        resource.setrlimit(resource.RLIMIT_AS, (used + (3 << 30), self.kept[1]))

    def __exit__(self, *exc):
        resource.setrlimit(resource.RLIMIT_AS, self.kept)


def run_main(argv, capsys) -> tuple[int, str, str]:
    """``chainrule.cli.main(argv)`` with unpickling refused and allocation bounded; any exception fails the test."""
    import pickle

    from chainrule.cli import main

    def refuse(*args, **kwargs):
        raise AssertionError("a pickle was loaded")

    capsys.readouterr()
    with pytest.MonkeyPatch.context() as patch, _Limited(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        patch.setattr(pickle, "load", refuse)
        patch.setattr(pickle, "loads", refuse)
        try:
            code = main(argv)
        except SystemExit as exc:   # argparse refuses with status 2
            code = exc.code
    out, err = capsys.readouterr()
    leaked = [f"{w.category.__name__}: {w.message}" for w in caught
              if issubclass(w.category, (RuntimeWarning, np.exceptions.ComplexWarning))]
    assert not leaked, f"warnings reach the user: {leaked}\n{out}\n{err}"
    return code, out, err


def assert_clean(code, out, err):
    assert code in (0, 2), f"exit {code}\n{out}\n{err}"
    assert "Traceback" not in out + err
    if code == 2:
        assert err.startswith("chainrule ") or err.startswith("usage:"), err
        for fragment in REPRS:
            assert fragment not in err, err
        assert not LEAKED.search(err), err
    else:
        assert not re.search(r"\b(nan|inf|Infinity|NaN)\b", out), out


JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.text(max_size=8),
                         st.sampled_from([0, -1, 1e308, -1e308, 5e-324, 1e-320, 3e38, "nan", "inf", "{x}", "", "-x",
                                          "dL/dw1", "eta", "w1'", "\\input/etc/hostname", "<b>", "relu",
                                          "sigmoid", "softmax", "cross_entropy"]))
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                                 st.dictionaries(st.text(max_size=6), inner,
                                                                                 max_size=3)), max_leaves=8)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, prefix + (i,))


@st.composite
def mutated_specs(draw):
    spec = make.seed_spec()
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(spec) if p]
        path = draw(st.sampled_from(paths))
        parent = spec
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["delete", "replace", "insert", "extreme"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "replace":
            parent[path[-1]] = draw(JSON_VALUES)
        elif action == "insert" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["learning_rte", "weight_name", "extra", "bias_names", "notation", "",
                                         "{k}"]))] = draw(JSON_VALUES)
        elif isinstance(parent[path[-1]], (int, float)) and not isinstance(parent[path[-1]], bool):
            parent[path[-1]] = draw(st.sampled_from([1e308, -1e308, 1e-320, 0, 10**400, -(10**400)]))
    return spec


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(spec=mutated_specs(), form=st.sampled_from(["text", "markdown", "latex", "html", "json"]))
def test_mutated_specs_are_explained_or_refused(spec, form, tmp_path_factory, capsys):
    path = tmp_path_factory.mktemp("spec") / "spec.json"
    path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    code, out, err = run_main(["explain", "--spec", str(path), "--format", form], capsys)
    assert_clean(code, out, err)
    if code == 0 and form == "latex":
        assert "\\input/etc" not in out


CSV_TOKENS = ["", ",", ";", "\n", '"', "\ufeff", "nan", "inf", "1e308", "-1e308", "1e-320", "1+2j", "abc", " ",
              "0x10", "1_000", "٣", "\x00", "\r", "setosa", "-0", "9" * 140_000, "\ufeff5.1"]


@st.composite
def mutated_csvs(draw):
    lines = make.iris_rows(n=draw(st.sampled_from([3, 6, 12])), header=draw(st.booleans()))
    if draw(st.booleans()):    # numeric labels
        codes = {"setosa": "0", "versicolor": "1", "virginica": "2"}
        lines = [re.sub(r"(setosa|versicolor|virginica)$", lambda m: codes[m.group(1)], line) for line in lines]
    text = "\n".join(lines) + "\n"
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "replace-cell", "drop-line", "duplicate-line"]))
        if action == "insert":
            text = text[:at] + draw(st.sampled_from(CSV_TOKENS)) + text[at:]
        elif action == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 6)):]
        else:
            rows = text.split("\n")
            r = draw(st.integers(0, max(0, len(rows) - 2)))
            if action == "drop-line":
                del rows[r]
            elif action == "duplicate-line":
                rows.insert(r, rows[r])
            else:
                cells = rows[r].split(",")
                cells[draw(st.integers(0, len(cells) - 1))] = draw(st.sampled_from(CSV_TOKENS))
                rows[r] = ",".join(cells)
            text = "\n".join(rows)
    return text


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=mutated_csvs(), label=st.sampled_from([None, "species", "0", "-1", "7", "x"]))
def test_mutated_csvs_train_or_are_refused(text, label, tmp_path_factory, capsys):
    folder = tmp_path_factory.mktemp("csv")
    (folder / "data.csv").write_text(text, encoding="utf-8", errors="surrogateescape")
    (folder / "existing.npz").write_bytes(b"saved before")
    argv = ["train", "--data", str(folder / "data.csv"), "--epochs", "2", "--hidden", "4", "--quiet",
            "--out", str(folder / "existing.npz"), "--force"] + (["--label", label] if label else [])
    code, out, err = run_main(argv, capsys)
    assert_clean(code, out, err)
    assert "-9223372036854775808" not in out, out
    if code == 2:
        assert (folder / "existing.npz").read_bytes() == b"saved before"
        assert str(folder / "data.csv") in err or "--" in err, err
    assert not list(folder.glob(".*.tmp"))


ARCH_FIELDS = ["in_features", "dtype", "layers", "layers.0", "layers.0.in", "layers.0.out", "layers.0.bias",
               "layers.0.type", "layers.1.type", "layers.2.out", "loss", "loss.name", "loss.output", "classes",
               "classes.0", "standardized", "info", "info.test_size", "info.seed", "format", "version"]
ARCH_VALUES = st.one_of(JSON_SCALARS, st.sampled_from([-1, 0, 1, 7, 65, 10**6, 2**31, 2**63, "float16", "int8",
                                                       "object", "<U3", [], {}, ["a"], True]))


@st.composite
def mutated_models(draw):
    """A saved model's bytes with some flipped, or its architecture record with fields changed."""
    if draw(st.booleans()):
        return ("bytes", draw(st.lists(st.tuples(st.integers(0, 10**9), st.integers(1, 255)), min_size=1,
                                       max_size=4)))
    return ("fields", draw(st.lists(st.tuples(st.sampled_from(ARCH_FIELDS), ARCH_VALUES), min_size=1, max_size=3)))


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(change=mutated_models(), command=st.sampled_from(["predict", "evaluate"]))
def test_mutated_models_predict_or_are_refused(change, command, base_model, tmp_path_factory, capsys):
    folder = tmp_path_factory.mktemp("model")
    path = folder / "model.npz"
    kind, edits = change
    if kind == "bytes":
        blob = bytearray(base_model.read_bytes())
        for where, xor in edits:
            blob[where % len(blob)] ^= xor
        path.write_bytes(bytes(blob))
    else:
        arrays = make.read_model(base_model)
        arch = make.architecture_of(arrays)
        for field, value in edits:
            *parents, last = make.steps(field)
            node = arch
            try:
                for step in parents:
                    node = node[step]
                node[last] = value
            except (KeyError, IndexError, TypeError):
                pass
        make.write_model(path, make.with_architecture(arrays, arch))
    (folder / "rows.csv").write_text(make.digits_rows(3))
    argv = ["predict", str(path), str(folder / "rows.csv")] if command == "predict" else \
        ["evaluate", str(path), "--data", "digits"]
    code, out, err = run_main(argv, capsys)
    assert_clean(code, out, err)
    if code == 2:
        assert str(path) in err, err
    elif command == "predict":
        rows = out.strip().splitlines()
        assert len(rows) == 4, out
        width = len(rows[0].split(","))
        assert all(len(r.split(",")) == width for r in rows), out
        probabilities = np.array([[float(v) for v in r.split(",")[:-1]] for r in rows[1:]])
        assert np.all(np.isfinite(probabilities)) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-4), out
