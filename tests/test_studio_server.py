"""chainrule studio's server without a browser: every endpoint, the numbers against the command line, and hostile
requests (oversized, invalid, nested, path tricks, too large, overflowing, many at once)."""

import contextlib
import io
import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest

import starlette  # noqa: F401  the studio extra: make test installs it; missing, this fails loudly
from starlette.testclient import TestClient  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule.explainer.api import spec_json  # noqa: E402
from chainrule.studio import MAX_BODY, Running, create_app  # noqa: E402
from chainrule.studio.server import STATIC  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(("testserver",))) as c:
        yield c


@pytest.fixture
def seed(client):
    return client.get("/api/example/seed_article").json()


def cli_json(spec_file, *args):
    from chainrule.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["explain", "--spec", str(spec_file), "--format", "json", *args]) == 0
    return json.loads(out.getvalue())


def edited_file(tmp_path, raw, claims=""):
    spec = cr.explain(raw, claims=claims or None).spec
    path = tmp_path / "edited.json"
    path.write_text(spec_json(spec), encoding="utf-8")
    return path


def test_page_and_assets_are_local(client):
    page = client.get("/")
    assert page.status_code == 200 and '<script src="/static/studio.js"' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    for asset in STATIC.iterdir():
        text = asset.read_text(encoding="utf-8")
        assert not re.search(r"(src|href)=\"https?:|url\(\s*['\"]?https?:|fetch\(\s*['\"`]https?:|@import", text)
        assert client.get(f"/static/{asset.name}").status_code == 200
    script = STATIC.joinpath("studio.js").read_text()
    assert script.count(".innerHTML") == 1 and '$("#derivation").innerHTML = data.html;' in script   # rendered there


def test_the_icon_a_browser_asks_for_is_served(client):
    """Browsers request /favicon.ico on every load; a 404 there is a console error on every page."""
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.content == STATIC.joinpath("favicon.svg").read_bytes() and icon.content.startswith(b"<svg")
    assert '<link rel="icon" href="/static/favicon.svg"' in client.get("/").text


def test_examples_and_unknown_names(client, seed):
    assert client.get("/api/examples").json()["examples"] == ["adam_step", "batch_homework", "momentum_three_steps",
                                                              "relu_student", "seed_article", "step_by_step_sigmoid"]
    assert seed["spec"]["layers"][0]["weights"] == [[0.2, -0.3, 0.4], [-0.5, 0.1, 0.2]]
    assert "z4 = 0.185\n" in seed["claims"] and "a1 = 0.426\n" in seed["claims"]
    for name in ("nothing", "seed_article.json", "%2e%2e"):
        answer = client.get(f"/api/example/{name}")
        assert answer.status_code == 404 and "expected one of adam_step, batch_homework, momentum" in answer.json()["error"], name
    for path in ("/api/example/..%2F..%2Fetc%2Fpasswd", "/static/..%2Fserver.py", "/static/../server.py",
                 "/api/example/../../../etc/passwd"):
        answer = client.get(path)
        assert answer.status_code == 404 and "root:" not in answer.text and "import" not in answer.text, path


def test_an_edit_matches_the_command_line(client, seed, tmp_path):
    raw = seed["spec"]
    raw["layers"][0]["weights"][0][0] = 0.6
    answer = client.post("/api/explain", json={"spec": raw, "claims": seed["claims"], "step": 1}).json()
    reference = cli_json(edited_file(tmp_path, raw, seed["claims"]))
    for name, value in reference["quantities"].items():
        assert answer["values"][name] == pytest.approx(value, abs=1e-12, rel=0), name
    assert answer["updated"] == pytest.approx(reference["updated"], abs=1e-12, rel=0)
    assert [c["verdict"] for c in answer["claims"]] == [c["verdict"] for c in reference["claims"]]
    assert answer["values"]["z1"] == pytest.approx(0.1, abs=1e-15)          # 0.6 - 0.6 - 0.4 + 0.5
    assert answer["shown"]["z1"] == "0.1" and answer["step"] == 1
    assert answer["html"].startswith('<div class="chainrule-explanation">') and answer["html"].count("<math") > 50
    three = client.post("/api/explain", json={"spec": raw, "step": 3}).json()
    assert three["losses"] == pytest.approx(cli_json(edited_file(tmp_path, raw), "--steps", "3", "--show-step", "3")[
        "losses"], abs=1e-12, rel=0)
    assert three["step"] == 3 and len(three["losses"]) == 4


def test_save_every_format_and_the_spec(client, seed):
    body = {"spec": seed["spec"], "claims": seed["claims"], "step": 2}
    starts = {"markdown": "# ", "latex": r"\documentclass", "html": "<!DOCTYPE html>", "json": "{", "text": "chainrule"}
    for fmt, start in starts.items():
        answer = client.post("/api/save", json=body | {"format": fmt})
        assert answer.status_code == 200 and answer.text.startswith(start), fmt
        assert re.fullmatch(r'attachment; filename="chainrule-step2\.\w+"', answer.headers["content-disposition"])
    spec = client.post("/api/save", json=body | {"format": "spec"})
    assert spec.headers["content-disposition"] == 'attachment; filename="chainrule-spec.json"'
    back = cr.explain(json.loads(spec.text, parse_float=Decimal))
    assert back.verdicts == cr.explain().verdicts and back.values == cr.explain().values
    assert client.post("/api/save", json=body | {"format": "../x"}).status_code == 400


def test_open_a_spec_file(client, seed):
    toml = Path(cr.explainer.example_path("relu_student")).read_text()
    answer = client.post("/api/open", json={"name": "student.toml", "text": toml}).json()
    assert answer["spec"]["loss"] == "binary_cross_entropy" and "dL/dz2 = " in answer["claims"]
    bad = client.post("/api/open", json={"name": "../../etc/bad.json", "text": '{"inputs": [1, 2'})
    assert bad.status_code == 400
    message = bad.json()["error"]
    assert message.startswith("bad.json: not valid JSON") and "chainrule-studio-" not in message and "/" not in \
        message.split(":")[0]
    wrong = client.post("/api/open", json={"name": "spec.py", "text": "import os"})
    assert wrong.status_code == 400 and "expected a .json or .toml file" in wrong.json()["error"]
    field = client.post("/api/open", json={"name": "s.json", "text": json.dumps(
        seed["spec"] | {"learning_rate": "fast"})})
    assert field.json()["error"].startswith("s.json: learning_rate: expected") and "fast" in field.json()["error"]


def bad(client, body=None, content=None, headers=None, path="/api/explain"):
    answer = client.post(path, json=body, content=content, headers=headers)
    assert 400 <= answer.status_code < 500, answer.text[:300]
    return answer.status_code, answer.json()["error"]


def test_hostile_requests_answer_4xx_with_a_message(client, seed):
    raw = seed["spec"]
    assert bad(client, content=b"x" * (MAX_BODY + 1)) == (413, f"request body: expected at most {MAX_BODY} bytes, "
                                                                f"found {MAX_BODY + 1}")
    chunks = (b'{"spec": "' + b"x" * 65536 for _ in range(20))                # no declared length: streamed
    assert bad(client, content=chunks)[0] == 413
    assert "not valid JSON" in bad(client, content=b"{not json")[1]
    assert "not valid JSON" in bad(client, content=b"[" * 200_000)[1]            # nested past any parser
    assert bad(client, content=b"[1, 2]")[1] == "request body: expected a JSON object, found a list"
    assert "spec: expected a JSON object" in bad(client, {"spec": "rm -rf /"})[1]
    assert "step: expected a whole number from 1 to 1000" in bad(client, {"spec": raw, "step": 0})[1]
    assert "step: expected a whole number" in bad(client, {"spec": raw, "step": "2; drop"})[1]
    assert "claims: line 1: expected 'name = number'" in bad(client, {"spec": raw, "claims": "__import__('os')"})[1]
    assert bad(client, {"spec": raw, "claims": 5})[1] == "claims: expected text, found a number"
    nan = b'{"spec": ' + json.dumps(raw).replace('"bias": 0.5', '"bias": NaN', 1).encode() + b"}"
    assert bad(client, content=nan)[1] == "b⁽¹⁾: expected a number, found NaN (not a number)"   # the quantity's name
    output = {"weights": [[0.3, 0.4], [-0.1, 0.2]], "bias": 0.1, "activation": "softmax"}
    wide = {"inputs": [1.0] * 300, "targets": [1, 0], "loss": "cross_entropy",
            "layers": [{"weights": [[0.1] * 300] * 2, "activation": "sigmoid"}, output]}
    assert "expected at most 256 neurons per layer in the studio, found 300" in bad(client, {"spec": wide})[1]
    huge = json.loads(json.dumps(raw))
    huge["layers"][0]["weights"][0][0] = 1e300
    huge["inputs"]["x1"] = 1e300                                                 # z1 = 1e600: infinite
    overflow = bad(client, {"spec": huge})[1]
    assert "overflows" in overflow and "z1" in overflow
    assert client.get("/api/explain").status_code == 405
    assert client.post("/api/train/nothing/stop", json={}).status_code == 404


def test_user_strings_are_escaped(client, seed):
    raw = seed["spec"] | {"title": "<script>alert(1)</script>", "notes": ["<img src=x onerror=alert(2)>"]}
    html = client.post("/api/explain", json={"spec": raw}).json()["html"]
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;img src=x" in html


    raw["layers"][0]["weight_names"][0][0] = "<b>w</b>"                   # names follow a grammar: refused
    assert bad(client, {"spec": raw})[1].startswith("spec: layers[0].weight_names[0][0]: expected")


def poll(client, job, seconds=120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        state = client.get(f"/api/train/{job}").json()
        if state["status"] != "running":
            return state
        time.sleep(0.1)
    raise AssertionError("training did not end")


def test_train_on_moons_then_explain_a_prediction(client):
    started = client.post("/api/train", json={"data": "moons", "hidden": [16, 16], "activation": "tanh",
                                              "lr": 0.01, "epochs": 60, "seed": 0}).json()
    state = poll(client, started["job"])
    assert state["status"] == "done" and state["epoch"] == 60 and state["test_accuracy"] >= 0.95
    assert len(state["history"]["val_accuracy"]) == 60 and len(state["plane"]["regions"]) == 60
    explained = client.post(f"/api/train/{started['job']}/explain", json={"index": 3}).json()
    answer = client.post("/api/explain", json={"spec": explained["spec"]}).json()
    job = client.app.state.jobs.get(started["job"])
    assert state["plane"]["points"] == job.X_train[:300].tolist()          # drawn every epoch: never the test split
    probabilities = job.network.predict_proba(job.X_test[3:4])[0]
    assert [answer["values"]["yhat1"], answer["values"]["yhat2"]] == pytest.approx(probabilities, rel=1e-5)
    assert "test example 3 of moons" in answer["html"]
    assert "index: expected a test example 0..99" in bad(client, {"index": 100},
                                                         path=f"/api/train/{started['job']}/explain")[1]


def test_stop_a_run_and_bad_training_requests(client):
    started = client.post("/api/train", json={"data": "digits", "hidden": [32], "epochs": 500}).json()
    stopped = client.post(f"/api/train/{started['job']}/stop", json={}).json()
    assert stopped["job"] == started["job"]
    state = poll(client, started["job"])
    assert state["status"] == "stopped" and state["epoch"] < 500
    for body, message in [({"data": "/etc/passwd"}, "data: expected moons"),
                          ({"hidden": [0]}, "hidden: expected 1 to 4 layer widths"),
                          ({"hidden": "16; import os"}, "hidden: expected 1 to 4"),
                          ({"activation": "eval"}, "activation: expected relu, tanh or sigmoid"),
                          ({"lr": -1}, "lr: expected a number above 0"),
                          ({"epochs": 10**9}, "epochs: expected a whole number from 1 to 500"),
                          ({"data": "csv", "name": "d.csv", "text": "a,b,label\n1,2,x\n3,oops,y\n"},
                           "d.csv: row 3, column "),
                          ({"data": "csv", "name": "..\\..\\d.exe", "text": "1,2"}, "expected a .csv file")]:
        status, error = bad(client, body, path="/api/train")
        assert message in error, (message, error)


def test_train_on_an_uploaded_csv(client):
    rows = "\n".join(f"{x:.3f},{y:.3f},{'in' if x * x + y * y < 1 else 'out'}"
                     for x, y in [((i % 20) / 5 - 2, (i // 20) / 5 - 2) for i in range(400)])
    started = client.post("/api/train", json={"data": "csv", "name": "disc.csv", "text": "x,y,label\n" + rows,
                                              "epochs": 40, "hidden": [16]}).json()
    state = poll(client, started["job"])
    assert state["data"] == "disc.csv" and state["classes"] == ["in", "out"] and state["test_accuracy"] > 0.85


def test_fifty_concurrent_edits_are_answered_correctly():
    import urllib.request

    def edit(k):
        raw = {"inputs": [1, 2, -1], "targets": [1, 0], "loss": "cross_entropy", "learning_rate": 0.1,
               "layers": [{"weights": [[k / 100, -0.3, 0.4], [-0.5, 0.1, 0.2]], "bias": 0.5, "activation": "sigmoid"},
                          {"weights": [[0.3, 0.4], [-0.1, 0.2]], "bias": 0.1, "activation": "softmax"}]}
        request = urllib.request.Request(url + "api/explain", json.dumps({"spec": raw}).encode(),
                                         {"Content-Type": "application/json"})
        answer = json.loads(urllib.request.urlopen(request, timeout=60).read())
        return raw, answer

    with Running() as studio:
        url = studio.url
        with ThreadPoolExecutor(50) as pool:
            results = list(pool.map(edit, range(50)))
    for k, (raw, answer) in enumerate(results):
        expected = cr.explain(raw)
        assert answer["values"] == expected.values and answer["updated"] == expected.updated, k
        assert answer["values"]["z1"] == pytest.approx(k / 100 - 0.6 - 0.4 + 0.5, abs=1e-15)


def test_the_studio_command(tmp_path):
    import signal
    import subprocess
    import sys
    import urllib.request

    from chainrule.cli import build_parser

    defaults = build_parser().parse_args(["studio"])
    assert (defaults.host, defaults.port, defaults.no_browser) == ("127.0.0.1", 8765, False)
    process = subprocess.Popen([sys.executable, "-m", "chainrule", "studio", "--no-browser", "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        url = re.match(r"chainrule studio: (http://127\.0\.0\.1:\d+/)  \(Ctrl-C stops it\)$", line.rstrip("\n"))[1]
        examples = json.loads(urllib.request.urlopen(url + "api/examples", timeout=30).read())
        assert "seed_article" in examples["examples"]
        port = int(url.rsplit(":", 1)[1].rstrip("/"))
        taken = subprocess.run([sys.executable, "-m", "chainrule", "studio", "--no-browser", "--port", str(port)],
                               capture_output=True, text=True, timeout=60)
        assert taken.returncode == 2 and "Traceback" not in taken.stderr
        assert f"cannot listen on 127.0.0.1:{port}" in taken.stderr
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    bad = subprocess.run([sys.executable, "-m", "chainrule", "studio", "--port", "70000"], capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 2 and "--port" in bad.stderr and "Traceback" not in bad.stderr
