"""The studio's server: a thin JSON API over the explanation API and ``fit``, and the page's static files.

Every answer that holds a number comes from ``derive`` (the recorded real step) or from the network itself, and every
derivation is drawn by chainrule's own HTML renderer; this module validates requests, calls those, and arranges the
results. User input is data only: specs go through ``parse_spec``/``load_spec``, claims through the claims reader,
CSV files through ``datasets.load_csv``; nothing is evaluated, and the only files written are uploads, inside a
temporary folder that is removed at once. Every mistake answers 4xx with the same message the command line gives.

Built on Starlette (an ASGI toolkit) and served by uvicorn: see the README for why.
"""

import asyncio
import json
import math
import re
import tempfile
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path

import numpy as np
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..errors import ChainruleError
from ..explainer.derivation import MAX_STEPS      # the step shown, and so the steps run: every face's limit
from .names import learner_message

STATIC = Path(__file__).resolve().parent / "static"

#: documented limits (README, "chainrule studio")
MAX_BODY = 1 << 20              # bytes in one request (a spec, claims, an uploaded spec or CSV file)
MAX_LAYERS = 8
MAX_WIDTH = 256                 # neurons in one layer, or inputs
MAX_WEIGHTS = 50_000            # parameters in all
MAX_CLAIMS_TEXT = 20_000        # characters of pasted claims
MAX_JOBS = 4                    # training runs kept (the oldest finished one is dropped)
MAX_EPOCHS = 500
MAX_HIDDEN = 4                  # hidden layers of a trained network, each at most MAX_WIDTH wide
PLANE_GRID = 60                 # decision regions are sampled on a PLANE_GRID x PLANE_GRID grid
EXAMPLE = re.compile(r"\[\d+\]$")     # a quantity of one example of a batch: z1[2]
SAVE_FORMATS = {"markdown": ".md", "latex": ".tex", "html": ".html", "json": ".json", "text": ".txt",
                "spec": ".json"}


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400, field: str | None = None):
        super().__init__(message)
        self.status, self.field = status, field


# --- reading requests ----------------------------------------------------------------------------------------------

async def read_json(request: Request) -> dict:
    """The body as a JSON object, at most ``MAX_BODY`` bytes; numbers as Decimals, the spec reader's own form."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        raise BadRequest(f"request body: expected at most {MAX_BODY} bytes, found {declared}", 413)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise BadRequest(f"request body: expected at most {MAX_BODY} bytes, found more", 413)
    try:
        document = json.loads(body.decode("utf-8"), parse_float=Decimal, parse_int=Decimal)
    except (ValueError, RecursionError) as exc:          # RecursionError: nesting too deep to read
        raise BadRequest(f"request body: expected a JSON object, found text that is not valid JSON "
                         f"({str(exc)[:120] or 'nested too deeply'})") from None
    if not isinstance(document, dict):
        raise BadRequest(f"request body: expected a JSON object, found {kind(document)}")
    return document


def kind(value) -> str:
    """A JSON value's kind, as a message names it."""
    if value is None:
        return "null"
    return {bool: "true/false", Decimal: "a number", float: "a number", int: "a number", str: "text",
            list: "a list", dict: "an object"}.get(type(value), type(value).__name__)


def integer(document: dict, key: str, default: int, low: int, high: int) -> int:
    value = document.get(key, default)
    if isinstance(value, Decimal) and value == value.to_integral_value():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadRequest(f"{key}: expected a whole number from {low} to {high}, found {value!r}"[:300], field=key)
    return value


def number(document: dict, key: str, default: float, low: float, high: float) -> float:
    value = document.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)) or not math.isfinite(float(value)) \
            or not low < float(value) <= high:
        raise BadRequest(f"{key}: expected a number above {low:g} and at most {high:g}, found {value!r}"[:300],
                         field=key)
    return float(value)


def text_field(document: dict, key: str, limit: int, default: str | None = None) -> str:
    value = document.get(key, default)
    if not isinstance(value, str):
        raise BadRequest(f"{key}: expected text, found {kind(value)}", field=key)
    if len(value) > limit:
        raise BadRequest(f"{key}: expected at most {limit} characters, found {len(value)}", 413, field=key)
    return value


def check_size(spec) -> None:
    """Refuse a network too large to explain and draw in the page, naming the limit."""
    if len(spec.layers) > MAX_LAYERS:
        raise ChainruleError(f"spec: layers: expected at most {MAX_LAYERS} layers in the studio, found "
                             f"{len(spec.layers)}")
    widths = [len(spec.inputs)] + [len(layer.pre_activation_names) for layer in spec.layers]
    for index, width in enumerate(widths):
        if width > MAX_WIDTH:
            where = "inputs" if index == 0 else f"layers[{index - 1}].weights"
            raise ChainruleError(f"spec: {where}: expected at most {MAX_WIDTH} neurons per layer in the studio, "
                                 f"found {width}")
    total = sum(layer.weights.size + layer.bias.size for layer in spec.layers)
    if total > MAX_WEIGHTS:
        raise ChainruleError(f"spec: layers: expected at most {MAX_WEIGHTS} weights and biases in the studio, "
                             f"found {total}")


def read_spec(document: dict, audit: dict | None = None):
    """The request's spec (its ``spec`` object, validated by the spec reader) with the numbers to judge: the
    learner's ``claims``, and the ``printed`` ones while the page says the network is theirs (see claims.py);
    ``audit``, when given, receives who wrote each (``by``) and the printed numbers set aside (``set_aside``)."""
    from ..explainer import parse_spec
    from .claims import judged, read_claims, source_for, who_wrote
    from .menus import pairing_problem

    raw = document.get("spec")
    if not isinstance(raw, dict):
        raise BadRequest(f"spec: expected a JSON object in the spec file's form, found {kind(raw)}",
                         field="spec")
    raw = {k: v for k, v in raw.items() if k != "claims"}      # claims come from the audit box alone
    if audit is not None:
        audit["source"] = raw.get("claims_source")               # the spec's own words, kept in the answer's spec
    learner = read_claims(text_field(document, "claims", MAX_CLAIMS_TEXT, ""), "claims")
    printed = read_claims(text_field(document, "printed", MAX_CLAIMS_TEXT, ""), "printed")
    rate = number(document, "printed_learning_rate", 0.1, 0, 1e6) if "printed_learning_rate" in document else None
    if (source := source_for(raw.get("claims_source"), learner, printed)) is not None:
        raw["claims_source"] = source
    if (problem := pairing_problem(raw)) is not None:           # named as the menus offer, not all 18 pairings
        raise BadRequest(problem[1], field=problem[0])
    try:
        spec = parse_spec(raw, "spec")
    except ChainruleError as exc:                                # w₂: ..., not spec: layers[0].weights[0][1]: ...
        message, field = learner_message(raw, str(exc))
        raise BadRequest(message, field=field) from None
    check_size(spec)
    if audit is not None:
        audit["by"] = who_wrote(learner, printed)
    spec, by, set_aside = judged(spec, learner, printed, rate)
    if audit is not None:
        audit.update(by=by, set_aside=set_aside)
    return spec


# --- the explanation -----------------------------------------------------------------------------------------------

def explanation(document: dict) -> dict:
    """Derive the step the request asks for and arrange everything the page shows."""
    from ..explainer import Explanation
    from ..explainer.api import html_fragment, spec_to_raw
    from ..explainer.notation import format_number
    from ..explainer.render import describe_network

    from .claims import printed_problem
    from .formulas import walk

    started = time.perf_counter()
    audit: dict = {}
    try:
        spec = read_spec(document, audit)
        step = integer(document, "step", 1, 1, MAX_STEPS)
        with np.errstate(all="ignore"):        # an overflowing step is refused below, by name
            e = Explanation(spec, steps=step, show_step=step)
    except ChainruleError as exc:              # a printed number this network lacks: said beside the printed ones
        if (message := printed_problem(str(exc), audit.get("by", {}))) is None:
            raise
        raise BadRequest(message, field="printed") from None
    d = e.derivation
    every = {**e.values, **{f"{k}'": v for k, v in e.updated.items()}}
    bad = next((name for name, value in every.items() if not math.isfinite(value)), None)
    if bad is not None or not all(math.isfinite(v) for v in e.losses):
        raise ChainruleError(f"spec: the step overflows: {bad or 'a loss'} is not a finite number; choose smaller "
                             "weights, inputs or learning rate")
    return {
        "network": describe_network(d),
        "step": e.step,
        "values": e.values,
        "updated": e.updated,
        "order": d.order,
        "shown": {name: format_number(value) for name, value in every.items()},
        "display": displayed(every, spec.superscript),     # as the derivation and the diagram write them
        "losses": e.losses,
        "claims": [{"name": c.name, "claimed": c.claimed, "computed": c.computed, "verdict": c.verdict,
                    "from_claims": c.from_claims, "printed": c.claimed_text,
                    "by": audit["by"].get(c.name, "learner")} for c in e.claims],
        "set_aside": audit["set_aside"],        # printed numbers worked at another learning rate: not judged
        "walk": walk(d),                        # each quantity's formula with its numbers, for the walk and hover
        "spec": own_source(spec_to_raw(spec), audit["source"]),
        "html": html_fragment(e.to_html()),
        "server_ms": round(1000 * (time.perf_counter() - started), 2),
    }


def displayed(names, superscript) -> dict:
    """Each quantity's name as the derivation writes it (``w₁``, ``a₁[2]``), and the names a batch's diagram writes:
    it draws each neuron once, under its own name (``a₁``), with example 1's values (``a1[1]``)."""
    from ..explainer.notation import unicode_name

    shown = {name: unicode_name(name, superscript) for name in names}
    for base in dict.fromkeys(EXAMPLE.sub("", name) for name in names if EXAMPLE.search(name)):
        shown.setdefault(base, unicode_name(base, superscript))
    return shown


def own_source(raw: dict, source) -> dict:
    """The spec as the learner sent it says who printed its numbers (the derivation may have named the learner)."""
    if isinstance(source, str):
        raw["claims_source"] = source
    else:
        raw.pop("claims_source", None)
    return raw


def saved(document: dict) -> tuple[str, str]:
    """(file name, content) of the spec or the derivation in the format asked for."""
    from ..explainer import Explanation
    from ..explainer.api import spec_json

    fmt = text_field(document, "format", 20)
    if fmt not in SAVE_FORMATS:
        raise BadRequest(f"format: expected one of {', '.join(SAVE_FORMATS)}, found {fmt!r}", field="format")
    spec = read_spec(document)
    if fmt == "spec":
        return "chainrule-spec.json", spec_json(spec)
    step = integer(document, "step", 1, 1, MAX_STEPS)
    return f"chainrule-step{step}{SAVE_FORMATS[fmt]}", Explanation(spec, steps=step, show_step=step).render(fmt)


def safe_name(name: str, suffixes: tuple[str, ...]) -> str:
    """An uploaded file's name reduced to a plain base name (never used as a path here), its suffix checked."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in base if c.isalnum() or c in "._- ")[:80].strip(". ") or "upload"
    if not base.lower().endswith(suffixes):
        raise BadRequest(f"file name: expected a {' or '.join(suffixes)} file, found {name[:80]!r}", field="file")
    return base


def with_upload(document: dict, suffixes: tuple[str, ...], read):
    """Write the uploaded text into a fresh temporary folder under a safe name, call ``read(path)`` (chainrule's
    own file reader), and remove the folder; messages name the file as the user named it."""
    name = safe_name(text_field(document, "name", 300), suffixes)
    content = text_field(document, "text", MAX_BODY)
    with tempfile.TemporaryDirectory(prefix="chainrule-studio-") as folder:
        path = Path(folder) / name
        path.write_text(content, encoding="utf-8")
        try:
            return read(path)
        except ChainruleError as exc:
            raise ChainruleError(str(exc).replace(str(path), name)) from None


def opened_spec(document: dict) -> dict:
    from ..explainer import load_spec
    from ..explainer.api import claims_text, spec_to_raw

    from .menus import reworded

    try:
        spec = with_upload(document, (".json", ".toml"), load_spec)
    except ChainruleError as exc:          # a pairing refused naming only what the menus offer
        raise ChainruleError(reworded(str(exc))) from None
    check_size(spec)
    return {"spec": spec_to_raw(spec), "claims": claims_text(spec)}


def example(name: str) -> dict:
    from ..explainer import example_path, examples, load_spec
    from ..explainer.api import claims_text, spec_to_raw

    if name not in examples():
        raise BadRequest(f"example: expected one of {', '.join(examples())}, found {name[:80]!r}", 404)
    spec = load_spec(example_path(name))
    return {"spec": spec_to_raw(spec), "claims": claims_text(spec)}


def drawn(document: dict) -> dict:
    """Small random weights for a neuron or layer the learner adds (see draw.py): ``shapes``, a list of
    ``[rows, columns]``, and the ``seed`` the page shows beside them."""
    from .draw import draw

    shapes = document.get("shapes")
    if not isinstance(shapes, list) or not 1 <= len(shapes) <= 4 or not all(
            isinstance(shape, list) and len(shape) == 2 and all(
                isinstance(n, Decimal) and n == n.to_integral_value() and 1 <= n <= MAX_WIDTH for n in shape)
            for shape in shapes):
        raise BadRequest(f"shapes: expected 1 to 4 [rows, columns] pairs, each 1 to {MAX_WIDTH}, found "
                         f"{json.dumps(shapes, default=str)[:80]}", field="shapes")
    seed = integer(document, "seed", 1, 0, 2**31 - 1)
    return {"seed": seed, "weights": draw([(int(r), int(c)) for r, c in shapes], seed)}


def shortest_float32(raw: dict) -> dict:
    """A float32 network's numbers as the shortest decimals that read back to the same float32 (0.244429, not the
    float64 0.24442899227142334 it widens to), so that the editor's boxes show each number whole, as the trained
    network holds it; the explanation then computes in float64 from these."""
    def short(value):
        if isinstance(value, list):
            return [short(v) for v in value]
        return float(str(np.float32(value))) if isinstance(value, float) else value
    raw["inputs"] = {k: short(v) for k, v in raw["inputs"].items()} if isinstance(raw["inputs"], dict) \
        else short(raw["inputs"])
    for layer in raw["layers"]:
        layer["weights"] = short(layer["weights"])
        if "bias" in layer:
            layer["bias"] = short(layer["bias"])
    return raw


# --- training ------------------------------------------------------------------------------------------------------

class TrainingJob:
    """One training run on a worker thread; the page polls ``state()``. ``stop()`` ends it after the epoch.

    The data are split three ways, as a study should be: a quarter held out as the test split (stratified), and
    ``VALIDATION`` of the rest carved off by ``fit``'s own ``validation_split`` for the curves drawn every epoch. The
    test split is scored once, when the run ends: a test figure watched every epoch would be chosen on, and so no
    longer a test."""

    VALIDATION = 0.2

    def __init__(self, data, hidden, activation, lr, epochs, batch_size, seed):
        from .. import datasets
        from ..network import mlp

        self.data, self.epochs = data, epochs
        self.X_train, self.X_test, self.y_train, self.y_test = datasets.train_test_split(data, 0.25, seed)
        self.network = mlp([data.X.shape[1], *hidden, len(data.class_names)], activation, seed=seed)
        self.network.classes = np.array(data.class_names)
        self.lr, self.batch_size, self.seed = lr, batch_size, seed
        self.id, self.status, self.error = uuid.uuid4().hex[:12], "running", None
        self.history: dict[str, list[float]] = {}
        self.test: dict[str, float] | None = None      # {"loss": ..., "accuracy": ...} once the run has ended
        self.sizes = (None, None)                      # (examples trained on, validation examples), as fit split
        self.regions, self.stopping, self.lock = None, False, threading.Lock()
        self.grid = self.plane_grid() if data.X.shape[1] == 2 else None
        self.thread = threading.Thread(target=self.run, name=f"chainrule-train-{self.id}", daemon=True)

    def plane_grid(self):
        X = self.data.X
        low, high = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
        xs, ys = np.linspace(low[0], high[0], PLANE_GRID), np.linspace(low[1], high[1], PLANE_GRID)
        return (low, high), np.column_stack([a.ravel() for a in np.meshgrid(xs, ys)])

    def run(self):
        from ..optimizers import Adam
        from ..callbacks import Callback

        job = self

        class Watch(Callback):
            def on_train_begin(self, trainer):
                job.sizes = (trainer.history.examples, trainer.history.validation_examples)

            def on_epoch_end(self, trainer, epoch, logs):
                with job.lock:
                    job.history = {k: list(v) for k, v in trainer.history.history.items()}
                    if job.grid is not None:
                        job.regions = trainer.network.predict(job.grid[1]).reshape(PLANE_GRID, PLANE_GRID).tolist()
                if job.stopping:
                    trainer.stop = True

        try:
            self.network.fit(self.X_train, self.y_train, epochs=self.epochs, batch_size=self.batch_size,
                             optimizer=Adam(lr=self.lr), validation_split=self.VALIDATION,
                             standardize=True, verbose=0, seed=self.seed, callbacks=[Watch()])
            self.test = self.network.evaluate(self.X_test, self.y_test)      # once, at the end
            self.status = "stopped" if self.stopping else "done"
        except ChainruleError as exc:
            self.status, self.error = "failed", str(exc)

    def state(self) -> dict:
        with self.lock:
            history = {k: v for k, v in self.history.items() if k != "seconds"}
            regions = self.regions
        answer = {"job": self.id, "status": self.status, "error": self.error, "epochs": self.epochs,
                  "epoch": len(history.get("loss", [])), "history": history, "data": self.data.name,
                  "classes": self.data.class_names, "test_size": len(self.X_test),
                  "train_size": self.sizes[0], "validation_size": self.sizes[1],
                  "test_accuracy": None if self.test is None else self.test.get("accuracy"),
                  "test_loss": None if self.test is None else self.test["loss"]}
        if self.grid is not None:
            (low, high), _ = self.grid
            sample = slice(0, 300)       # the examples it learns from: the test split stays unseen until the end
            answer["plane"] = {"low": low.tolist(), "high": high.tolist(), "regions": regions,
                               "points": self.X_train[sample].tolist(), "labels": self.y_train[sample].tolist()}
        return answer

    def explain(self, index: int) -> dict:
        from ..explainer.api import claims_text, spec_to_raw
        from ..explainer.from_model import spec_from_network

        if self.status == "running":
            raise BadRequest("explain: the network is still training; stop it or wait for the end", 409)
        if not 0 <= index < len(self.X_test):
            raise BadRequest(f"index: expected a test example 0..{len(self.X_test) - 1}, found {index}", field="index")
        spec = spec_from_network(self.network, self.X_test[index], int(self.y_test[index]), 0.1,
                                 f"test example {index} of {self.data.name}")
        return {"spec": shortest_float32(spec_to_raw(spec)), "claims": claims_text(spec)}


class Jobs:
    def __init__(self):
        self.jobs: dict[str, TrainingJob] = {}
        self.lock = threading.Lock()

    def start(self, document: dict) -> TrainingJob:
        from .. import datasets

        source = text_field(document, "data", 40, "moons")
        if source == "csv":
            data = with_upload(document, (".csv",), datasets.load_csv)
        elif source in datasets.PLANE or source in ("iris", "digits", "wine", "breast_cancer"):
            data = datasets.load(source)
        else:
            raise BadRequest(f"data: expected moons, spiral, circles, iris, digits or csv, found {source[:40]!r}",
                             field="data")
        if len(data.class_names) < 2:
            raise BadRequest("data: expected at least two classes, found one", field="data")
        hidden = document.get("hidden", [Decimal(16), Decimal(16)])
        if not isinstance(hidden, list) or not 1 <= len(hidden) <= MAX_HIDDEN or not all(
                isinstance(h, Decimal) and h == h.to_integral_value() and 1 <= h <= MAX_WIDTH for h in hidden):
            raise BadRequest(f"hidden: expected 1 to {MAX_HIDDEN} layer widths, each 1 to {MAX_WIDTH}, found "
                             f"{json.dumps(hidden, default=str)[:80]}", field="hidden")
        activation = text_field(document, "activation", 20, "tanh")
        if activation not in ("relu", "tanh", "sigmoid"):
            raise BadRequest(f"activation: expected relu, tanh or sigmoid, found {activation!r}", field="activation")
        job = TrainingJob(data, [int(h) for h in hidden], activation, number(document, "lr", 0.01, 0, 10),
                          integer(document, "epochs", 100, 1, MAX_EPOCHS),
                          integer(document, "batch_size", 32, 1, 4096), integer(document, "seed", 0, 0, 2**31 - 1))
        with self.lock:
            if sum(j.status == "running" for j in self.jobs.values()) >= 2:
                raise BadRequest("train: two runs are going already; stop one first", 429)
            finished = [k for k, j in self.jobs.items() if j.status != "running"]
            while len(self.jobs) >= MAX_JOBS and finished:
                del self.jobs[finished.pop(0)]
            self.jobs[job.id] = job
        job.thread.start()
        return job

    def get(self, job_id: str) -> TrainingJob:
        job = self.jobs.get(job_id)
        if job is None:
            raise BadRequest(f"job: no training run {job_id[:40]!r}", 404)
        return job


# --- the application -----------------------------------------------------------------------------------------------

def create_app(allowed_hosts=("127.0.0.1", "localhost", "[::1]")) -> Starlette:
    """The studio as an ASGI application. ``allowed_hosts``: the Host headers answered (a guard against DNS
    rebinding: a page elsewhere cannot reach the studio through a name of its own)."""
    from ..explainer import examples
    from .menus import choices

    jobs = Jobs()

    def api(handler, method="POST"):
        async def endpoint(request: Request):
            try:
                document = await read_json(request) if method == "POST" else {}
                result = await run_in_threadpool(handler, document, request.path_params)
            except BadRequest as exc:
                return JSONResponse({"error": str(exc), "field": exc.field}, status_code=exc.status)
            except ChainruleError as exc:
                return JSONResponse({"error": str(exc), "field": field_of(str(exc))}, status_code=400)
            if isinstance(result, Response):
                return result
            return JSONResponse(result)
        return endpoint

    def save(document, _):
        name, content = saved(document)
        return Response(content, media_type="text/plain; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    def index(request):
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")

    handlers = {
        ("/api/explain", "POST"): lambda doc, _: explanation(doc),
        ("/api/save", "POST"): save,
        ("/api/open", "POST"): lambda doc, _: opened_spec(doc),
        ("/api/examples", "GET"): lambda doc, _: {"examples": examples()},
        ("/api/choices", "GET"): lambda doc, _: choices(),
        ("/api/draw", "POST"): lambda doc, _: drawn(doc),
        ("/api/example/{name}", "GET"): lambda doc, params: example(params["name"]),
        ("/api/train", "POST"): lambda doc, _: jobs.start(doc).state(),
        ("/api/train/{job}", "GET"): lambda doc, params: jobs.get(params["job"]).state(),
        ("/api/train/{job}/stop", "POST"): lambda doc, params: _stop(jobs.get(params["job"])),
        ("/api/train/{job}/explain", "POST"): lambda doc, params: jobs.get(params["job"]).explain(
            integer(doc, "index", 0, 0, 10**9)),
    }
    def favicon(request):        # browsers ask for /favicon.ico whatever the page links: answer it, not a 404
        return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")

    routes = [Route("/", index), Route("/favicon.ico", favicon)]
    routes += [Route(path, api(handler, method), methods=[method]) for (path, method), handler in handlers.items()]
    routes.append(Mount("/static", StaticFiles(directory=STATIC), name="static"))
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts)), Middleware(SecurityHeaders)]
    app = Starlette(routes=routes, middleware=middleware, exception_handlers={HTTPException: http_error})
    app.state.jobs = jobs
    return app


class SecurityHeaders:
    """Pure ASGI middleware: every answer says the page runs only its own script and loads nothing from elsewhere."""

    HEADERS = [(b"content-security-policy", b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                b"img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
                b"frame-ancestors 'none'"),
               (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
               (b"cache-control", b"no-store")]

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + self.HEADERS
            await send(message)
        await self.app(scope, receive, send_with_headers)


def _stop(job: TrainingJob) -> dict:
    job.stopping = True
    return job.state()


async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
    """Unknown paths and methods answer with a message too (as JSON, like every other refusal)."""
    words = {404: f"no such page: {request.url.path[:200]}", 405: f"{request.method} is not answered at "
             f"{request.url.path[:200]}"}
    return JSONResponse({"error": words.get(exc.status_code, str(exc.detail)), "field": None},
                        status_code=exc.status_code, headers=getattr(exc, "headers", None))


def field_of(message: str) -> str | None:
    """The field path a spec message names (``spec: layers[0].weights[1]: expected ...`` -> ``layers[0]...``)."""
    parts = message.split(": ")
    return parts[1] if len(parts) > 2 and parts[0] in ("spec", "claims") else None


# --- running it ----------------------------------------------------------------------------------------------------

def hosts_for(host: str) -> list[str]:
    return ["*"] if host in ("0.0.0.0", "::") else sorted({"127.0.0.1", "localhost", "[::1]", host,
                                                            f"[{host}]" if ":" in host else host})


def listen(host: str, port: int):
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ChainruleError(f"--host/--port: cannot listen on {host}:{port} ({exc.strerror or exc})") from None
    sock.listen(128)
    return sock


def url_of(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


class Running:
    """The studio served on a worker thread (for tests and benchmarks): ``with Running() as studio: studio.url``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        import uvicorn

        self.sock = listen(host, port)
        self.url = url_of(host, self.sock.getsockname()[1])
        config = uvicorn.Config(create_app(hosts_for(host)), log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


def serve(host: str = "127.0.0.1", port: int = 8765, open_browser: bool = True) -> int:
    """Serve the studio until interrupted, printing its address and opening it in the browser."""
    from ..extras import require

    require("starlette", "studio", "chainrule studio")
    uvicorn = require("uvicorn", "studio", "chainrule studio")
    sock = listen(host, port)
    url = url_of(host, sock.getsockname()[1])
    print(f"chainrule studio: {url}  (Ctrl-C stops it)", flush=True)
    if open_browser:
        import webbrowser
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    server = uvicorn.Server(uvicorn.Config(create_app(hosts_for(host)), log_level="warning", lifespan="off"))
    try:
        asyncio.run(server.serve(sockets=[sock]))
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    return 0
