"""The command line: ``chainrule explain``, ``gradcheck``, ``train``, ``evaluate``, ``predict``, ``exercise``,
``grade``.

User mistakes (``ChainruleError``, a missing file) print one line to stderr and exit with status 2; no traceback.
"""

import argparse
import sys

import numpy as np

from .errors import ChainruleError


def _explain(args) -> int:
    from .explainer import RENDERERS, derive, example_path, load_spec

    if sum(map(bool, (args.spec, args.example, args.model))) > 1:
        raise ChainruleError("explain: give one of --spec FILE, --example NAME or --model FILE")
    if args.model:
        spec = _spec_for_model(args)
    else:
        spec = load_spec(args.spec if args.spec else example_path(args.example or "seed_article"))
    if args.input_gradients:
        from dataclasses import replace
        spec = replace(spec, input_gradients=True)
    text = RENDERERS[args.format](derive(spec, args.lr, steps=args.steps, show_step=args.show_step))
    if args.out:
        from .atomicfile import write_text_atomic
        write_text_atomic(args.out, text)
    else:
        sys.stdout.write(text)
    return 0


def _spec_for_model(args):
    from . import datasets
    from .explainer.from_model import spec_from_network
    from .io import load
    from .report import labels_for_model

    if args.data is None:
        raise ChainruleError("--model: give --data NAME_OR_FILE and --index I for the example to explain")
    network = load(args.model)
    data = datasets.load(args.data, label=args.label, labels_path=args.labels)
    check_features(network, data, args.model)
    if not 0 <= args.index < len(data):
        raise ChainruleError(f"--index: expected 0..{len(data) - 1} for {data.name}, found {args.index}")
    label = labels_for_model(network, data, data.y[args.index:args.index + 1])[0]
    title = f"{args.model}: example {args.index} of {data.name}"
    return spec_from_network(network, data.X[args.index], int(label), args.lr or 0.1, title)


def _gradcheck(args) -> int:
    from .explainer import build_network_for, example_path, load_spec, seed_article
    from dataclasses import replace

    from .explainer.checks import (batch_step_errors, connection_errors, input_gradient_errors, optimizer_step_errors,
                                 softmax_exponential_errors)
    from .gradcheck import TOLERANCE, check_gradients, check_local_derivatives, check_loss_derivatives, random_cases

    sizes = [args.inputs] + [args.hidden] * args.depth + [args.outputs]
    cases = [("seed article (3-2-2, sigmoid hidden, softmax + cross_entropy)", *build_network_for(seed_article())),
             ("batch_homework example (a batch of 2, 2-2-1 sigmoid, half squared error)",
              *build_network_for(load_spec(example_path("batch_homework"))))]
    cases += list(random_cases(sizes, args.batch, args.seed))
    worst = 0.0
    print(f"Backprop against central finite differences (float64, eps=1e-6); tolerance {TOLERANCE:g}.")
    print(f"Random networks: sizes {sizes}, batch {args.batch}, seed {args.seed}.")
    for label, network, x, y in cases:
        errors = check_gradients(network, x, y)
        worst = max(worst, *errors.values())
        flag = "ok" if max(errors.values()) <= TOLERANCE else "FAIL"
        detail = "  ".join(f"{name} {err:.1e}" for name, err in errors.items())
        print(f"{flag:4}  {label}\n      {detail}")
    batch = load_spec(example_path("batch_homework"))
    explained = [
        ("local derivatives da/dz (as explain shows a claimed da1/dz1)", check_local_derivatives(seed=args.seed)),
        ("each loss's dL/dyhat (as explain shows it)", check_loss_derivatives(seed=args.seed)),
        ("batch_homework step as explain shows it: each example's gradients and the batch's mean",
         batch_step_errors(batch)),
        ("the same batch step with reduction = \"sum\"", batch_step_errors(replace(batch, reduction="sum"))),
        ("error per connection dL/da1_via_z3 (seed article; batch_homework, each example)",
         {f"seed {k}": v for k, v in connection_errors(seed_article()).items()}
         | {f"batch {k}": v for k, v in connection_errors(batch).items()}),
        ("softmax e^z and denominator (as explain shows claimed exp_z3, sum_exp)",
         softmax_exponential_errors(seed=args.seed)),
        ("gradients at the inputs dL/dx1 (seed article; batch_homework, each example; as --input-gradients shows)",
         {f"seed {k}": v for k, v in input_gradient_errors(seed_article()).items()}
         | {f"batch {k}": v for k, v in input_gradient_errors(batch).items()}),
        ("three steps of each optimizer as explain shows them (seed article): each update formula with its numbers, and "
         "the parameters against chainrule's training",
         optimizer_step_errors(seed_article())),
    ]
    for label, errors in explained:
        worst = max(worst, *errors.values())
        flag = "ok" if max(errors.values()) <= TOLERANCE else "FAIL"
        print(f"{flag:4}  {label}\n      " + "  ".join(f"{name} {err:.1e}" for name, err in errors.items()))
    print(f"largest relative error: {worst:.2e} ({'within' if worst <= TOLERANCE else 'ABOVE'} tolerance)")
    return 0 if worst <= TOLERANCE else 1


DEFAULT_EPOCHS = 30
DEFAULT_LR = {"adam": 1e-2, "rmsprop": 1e-2, "sgd": 0.05}     # what works on every bundled data set at the default epochs (tested)


def _optimizer(args):
    from .optimizers import SGD, Adam, CosineDecay, RMSprop, StepDecay

    schedule = None
    if args.schedule == "cosine":
        schedule = CosineDecay(args.epochs)
    elif args.schedule == "step":
        schedule = StepDecay(args.step_size, args.gamma)
    if args.optimizer == "rmsprop":
        return RMSprop(lr=args.lr if args.lr is not None else DEFAULT_LR["rmsprop"], weight_decay=args.weight_decay,
                       schedule=schedule)
    if args.optimizer == "adam":
        return Adam(lr=args.lr if args.lr is not None else DEFAULT_LR["adam"], weight_decay=args.weight_decay,
                    schedule=schedule)
    return SGD(lr=args.lr if args.lr is not None else DEFAULT_LR["sgd"], momentum=args.momentum, nesterov=args.nesterov,
               weight_decay=args.weight_decay, schedule=schedule)


def _train(args) -> int:
    from . import datasets
    from .callbacks import EarlyStopping
    from .network import mlp
    from .report import report

    if args.resume and not args.checkpoint:
        raise ChainruleError("--resume: continues from the checkpoint in --checkpoint DIR; give --checkpoint")
    if args.optimizer != "sgd" and (args.momentum or args.nesterov):
        raise ChainruleError(f"--momentum/--nesterov: these are SGD's; --optimizer {args.optimizer} keeps its own "
                             "moving averages (use --optimizer sgd, or drop them)")
    if args.early_stopping is not None and not args.validation_split:
        raise ChainruleError("--early-stopping: watches the validation loss; give --validation-split too")
    _check_new_output(args.out, args.force, "--out")
    data = datasets.load(args.data, label=args.label, labels_path=args.labels, mmap=args.mmap)
    datasets.check_two_classes(data, args.data)
    held_out = {}
    if args.mmap:          # parts that are views of the map: no copy of the file (see _mapped_split)
        X_train, X_test, y_train, y_test, held_out = _mapped_split(data, args.test_size, args.validation_split)
    else:
        _check_range(data, np.float64 if args.float64 else np.float32)
        X_train, X_test, y_train, y_test = datasets.train_test_split(data, args.test_size, args.seed)
        if args.validation_split:
            held = max(1, int(round(len(X_train) * args.validation_split)))
            if len(X_train) - held < len(data.class_names):
                raise ChainruleError(f"--validation-split {args.validation_split}: holding out {held} of the "
                                     f"{len(X_train)} training examples leaves fewer than one per class "
                                     f"({len(data.class_names)}); expected a smaller fraction")
    try:
        net = mlp([data.X.shape[1], *args.hidden, len(data.class_names)], args.activation, dropout=args.dropout,
                  seed=args.seed, dtype=np.float64 if args.float64 else np.float32)
    except ChainruleError as exc:
        raise ChainruleError(f"--hidden {' '.join(map(str, args.hidden))}: {exc}") from None
    net.classes = np.array(data.class_names)
    net.info = {"data": args.data, "label": args.label, "test_size": args.test_size, "seed": args.seed}
    stopper = EarlyStopping(patience=args.early_stopping) if args.early_stopping is not None else None
    history = net.fit(X_train, y_train, epochs=args.epochs, batch_size=args.batch_size, optimizer=_optimizer(args),
                      validation_split=0.0 if args.mmap else args.validation_split, standardize=not args.mmap,
                      verbose=0 if args.quiet else 1, seed=args.seed, callbacks=[stopper] if stopper else [],
                      checkpoint=args.checkpoint, resume=args.resume, **held_out)
    # Save first: the report goes to standard output, which may be a closed pipe (train ... | head -1).
    net.save(args.out)
    if args.plot:
        plotted = _plots_after_training(net, history, X_test, y_test, args.plot)
    seconds = sum(history["seconds"])
    held = f" ({history.validation_examples} more held out for validation)" if history.validation_examples else ""
    print(f"trained {history.epochs} epoch(s) on {history.examples} examples of {data.name}{held} in "
          f"{seconds:.2f} s (final training loss {history['loss'][-1]:.4f})")
    if stopper is not None and stopper.stopped_epoch is not None:
        restored = (f"; restored the weights of epoch {stopper.best_epoch + 1} (val_loss "
                    f"{history['val_loss'][stopper.best_epoch]:.4f})" if stopper.restore_best_weights else "")
        print(f"early stopping: val_loss did not improve for {args.early_stopping + 1} epoch(s), stopped after "
              f"epoch {stopper.stopped_epoch + 1}{restored}")
    print(report(net, X_test, y_test, f"test split ({args.test_size:.0%}, seed {args.seed})"))
    print(f"saved {args.out}")
    if args.plot:
        print("plots: " + ", ".join(str(p) for p in plotted))
    return 0


def _mapped_split(data, test_size: float, validation_split: float):
    """``--mmap``: the test part is the file's last rows and the validation part the rows before them, so that every
    part is a view of the map and training reads the file batch by batch (shuffle the file's rows beforehand). The
    inputs are used as stored: standardise them before writing the file."""
    n = len(data.X)
    n_test = int(round(n * test_size))
    n_val = int(round((n - n_test) * validation_split))
    if n_test < 1 or n - n_test - n_val < 1:
        raise ChainruleError(f"--test-size {test_size} / --validation-split {validation_split}: with {n} rows they "
                             f"leave a part empty")
    train_end = n - n_test - n_val
    from . import datasets
    datasets.check_every_class_trains(data, data.y[:train_end],
                                      f"--mmap --test-size {test_size} --validation-split {validation_split}")
    held_out = {} if not n_val else {"validation_data": (data.X[train_end:n - n_test], data.y[train_end:n - n_test])}
    return data.X[:train_end], data.X[n - n_test:], data.y[:train_end], data.y[n - n_test:], held_out


def _check_range(data, dtype) -> None:
    """Features beyond what the training dtype holds are refused before the split, by their place in the file."""
    limit = np.finfo(dtype).max
    big = np.abs(data.X) > limit
    if big.any():
        row, col = (int(i) for i in np.argwhere(big)[0])
        raise ChainruleError(f"--data {data.name}: example {row}, feature \"{data.feature_names[col]}\": "
                             f"{data.X[row, col]:g} is beyond what {np.dtype(dtype)} holds (±{limit:.3g}); "
                             f"rescale the feature, or train with --float64")


def _check_new_output(path, force: bool, flag: str) -> None:
    """Refuse to replace an existing file unless --force: a model that took an hour to train is not overwritten by
    a typo. Checked before any work is done."""
    from pathlib import Path

    if not path:
        raise ChainruleError(f"{flag}: expected a file name, found an empty one")
    target = Path(path)
    if target.is_dir():
        raise ChainruleError(f"{flag} {path}: expected a file name, found a folder")
    if not target.parent.exists():
        raise ChainruleError(f"{flag} {path}: the folder {target.parent} does not exist")
    if target.exists() and not force:
        raise ChainruleError(f"{flag} {path}: the file exists; give --force to replace it, or another --out")


def _plots_after_training(net, history, X_test, y_test, folder) -> list:
    import json
    from pathlib import Path

    from . import plots
    from .atomicfile import write_text_atomic

    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ChainruleError(f"--plot {folder}: cannot create the folder ({exc.strerror or exc})") from None
    write_text_atomic(folder / "history.json", json.dumps(history.history, indent=1))
    written = [folder / "history.json", folder / "curves.png", folder / "confusion.png"]
    plots.plot_history(history, written[1])
    plots.plot_confusion(net, X_test, y_test, written[2])
    if plots.image_shape(net.in_features):      # square images, such as digits' 8x8
        written.append(folder / "weights.png")
        plots.plot_first_layer(net, written[-1])
    return written


def _plot(args) -> int:
    from . import datasets, plots
    from .io import load

    out = args.out
    if args.what == "curves":
        if not args.source:
            raise ChainruleError("plot curves: give a history.json (from train --plot) or a checkpoint")
        plots.plot_history(plots.read_history(args.source), out)
    elif args.what in ("confusion", "weights"):
        if not args.source:
            raise ChainruleError(f"plot {args.what}: give a model file")
        net = load(args.source)
        if args.what == "weights":
            plots.plot_first_layer(net, out)
        else:
            from .report import labels_for_model
            if not args.data:
                raise ChainruleError("plot confusion: give --data")
            data = datasets.load(args.data)
            check_features(net, data, args.source)
            info = net.info
            if info.get("data") == args.data and info.get("test_size"):
                _, X, _, y = datasets.train_test_split(data, info["test_size"], info["seed"])
            else:
                X, y = data.X, data.y
            plots.plot_confusion(net, X, labels_for_model(net, data, y), out)
    else:
        from .network import mlp
        from .optimizers import Adam
        data = datasets.load(args.data or "moons")
        datasets.check_two_classes(data, args.data)
        if data.X.shape[1] != 2:
            raise ChainruleError(f"--data {args.data}: decision regions need 2-D data (moons, spiral, circles or a "
                                 f"CSV of 2 feature columns and a label); {data.name} has {data.X.shape[1]} features")
        net = mlp([2, 32, 32, len(data.class_names)], "tanh", seed=args.seed)
        epochs = sorted({1, max(2, args.epochs // 8), max(3, args.epochs // 3), args.epochs})
        snapshots = plots.Snapshots(epochs)
        net.fit(data.X, data.y, epochs=args.epochs, batch_size=32, optimizer=Adam(lr=0.01), standardize=False,
                verbose=0, seed=args.seed, callbacks=[snapshots])
        plots.plot_decision_regions(net, data.X, data.y, snapshots.taken, out)
    print(f"wrote {out}")
    return 0


def _evaluate(args) -> int:
    from . import datasets
    from .io import load
    from .report import labels_for_model, report

    net = load(args.model)
    data = datasets.load(args.data, label=args.label, labels_path=args.labels)
    check_features(net, data, args.model)
    info = net.info
    if not args.all and info.get("data") == args.data and info.get("test_size"):
        _, X, _, y = datasets.train_test_split(data, info["test_size"], info["seed"])
        what = f"the test split of training ({info['test_size']:.0%}, seed {info['seed']})"
    else:
        X, y, what = data.X, data.y, f"all {len(data)} examples"
    try:
        labels = labels_for_model(net, data, y)
    except ChainruleError as exc:        # the model's classes may be what is wrong: name the model file too
        raise ChainruleError(f"{args.model}: {exc}") from None
    print(report(net, X, labels, what))
    return 0


def _predict(args) -> int:
    import csv
    import io

    from .datasets import load_features
    from .io import load

    net = load(args.model)
    X = load_features(args.input, net.in_features)
    proba = net.predict_proba(X)
    if not np.all(np.isfinite(proba)):
        raise ChainruleError(f"{args.model}: the model gives non-finite outputs for {args.input}; the model file "
                             f"is damaged or the inputs are far outside what it was trained on")
    handle = io.StringIO(newline="")
    writer = csv.writer(handle)
    classifier = net.loss_fn.output == "softmax" or (net.loss_fn.output == "sigmoid" and net.out_features == 1)
    if classifier:
        from .report import class_scores
        proba, predicted, names = class_scores(net, X)
        writer.writerow([f"p_{name}" for name in names] + ["label"])
        for row, k in zip(proba, predicted, strict=True):
            writer.writerow([f"{p:.6g}" for p in row] + [names[k]])
    else:
        writer.writerow([f"output{k}" for k in range(proba.shape[1])])
        writer.writerows([[f"{p:.6g}" for p in row] for row in proba])
    if args.out:
        from .atomicfile import write_text_atomic
        write_text_atomic(args.out, handle.getvalue())      # all or nothing: an existing file is never half-written
    else:
        sys.stdout.write(handle.getvalue())
    return 0


def check_features(network, data, model_path) -> None:
    """A data set must have the model's number of features: say so first, before any label is compared."""
    if data.X.shape[1] != network.in_features:
        raise ChainruleError(f"--data {data.name}: the model {model_path} takes {network.in_features} features per "
                             f"example; {data.name} has {data.X.shape[1]}")


def _export(args) -> int:
    from .export import export_onnx
    from .io import load

    export_onnx(load(args.model), args.out)
    print(f"wrote {args.out}")
    return 0


def _exercise(args) -> int:
    from pathlib import Path

    from .teach.exercise import make_exercise, parse_shape
    from .teach.precision import Precision

    precision = (Precision("decimals", args.decimals) if args.decimals is not None
                 else Precision("significant", 4 if args.digits is None else args.digits))
    options = dict(shape=parse_shape(args.shape), hidden=args.hidden, output=args.output, loss=args.loss,
                   ask=args.ask, batch=args.batch, reduction=args.reduction, update_order=args.update_order,
                   update_biases=not args.fixed_biases, weight_layout=args.weight_layout, precision=precision,
                   policy=args.precision_policy, title=args.title or "", steps=args.steps,
                   optimizer={"name": args.optimizer, **{key: getattr(args, key) for key in
                                                         ("momentum", "velocity", "rho", "beta1", "beta2", "eps")}})
    if not args.roster:
        given = next((flag for flag, value in (("--secret", args.secret), ("--id-column", args.id_column),
                                               ("--name-column", args.name_column)) if value is not None), None)
        if given:
            raise ChainruleError(f"{given}: expected with --roster only (it is about a class's variants)")
        from .teach.publish import write_exercise

        exercise = make_exercise(seed=0 if args.seed is None else args.seed, **options)
        write_exercise(exercise, args.out, args.force, *_exports(args))
        out = Path(args.out)
        print(printable(f"wrote {len(exercise.asked)} questions in {out}: hand out {out / 'student'} (questions.md, "
                        f".tex, .html and answers.txt); keep {out / 'teacher'} (exercise.json, key.md, .tex, "
                        f".html, moodle.xml and moodle-cloze.xml{_exported(args)})"))
        return 0
    from .teach.roster import read_roster
    from .teach.publish import write_variants
    from .teach.variants import check_secret, kept_secret, new_secret, variants

    if args.seed is not None:
        raise ChainruleError("--seed: a class's variants are drawn from its secret, not a seed (give --secret to "
                             "regenerate a class)")
    given = check_secret(args.secret) if args.secret is not None else None
    students = read_roster(args.roster, args.id_column, args.name_column)
    kept = kept_secret(args.out) if args.force and given is None else None
    secret = given or kept or new_secret()
    write_variants(variants(students, secret, **options), students, args.out, secret, args.force, *_exports(args))
    out = Path(args.out)
    print(printable(f"wrote {len(students)} variants in {out}: hand out {out / 'students'}/ID to each student "
                    f"(questions.md, .tex, .html and answers.txt); keep {out / 'teacher'} (variants.json with the "
                    f"class secret, keys/ID.md, .tex, .html, key.md, moodle.xml, moodle-cloze.xml and roster.csv"
                    f"{_exported(args)})"
                    + (f"; the class secret kept in {out / 'teacher' / 'variants.json'} was used again" if kept
                       else "")))
    return 0


def _exports(args) -> tuple[list[str], dict]:
    """The LMS writers asked for (``--numbas``, ``--canvas``, ``--gradescope``, ``--prairielearn``) and their
    options."""
    wanted = [name for name in ("numbas", "canvas", "gradescope", "prairielearn") if getattr(args, name)]
    if args.numbas_source and not args.numbas:
        raise ChainruleError("--numbas-source: expected with --numbas (it compiles the Numbas exam's SCORM package)")
    options = {"numbas": {"numbas": args.numbas_source} if args.numbas_source else {},
               "gradescope": {"wheel": args.gradescope_wheel, "visibility": args.gradescope_visibility}}
    return wanted, options


def _exported(args) -> str:
    wanted = _exports(args)[0]
    return "; " + ", ".join(f"{name}/" if name in ("numbas", "gradescope", "prairielearn") else "canvas-qti.zip"
                            for name in wanted) if wanted else ""


def _grade(args) -> int:
    from .teach.grade import grade, load_task
    from .teach.outputs import grade_outputs, write_outputs

    task = load_task(args.exercise, args.rubric, args.roster, args.id_column, args.name_column)
    skipped: list[str] = []
    results = grade(task, args.submissions, carried_credit=not args.no_carried_credit,
                    degenerate_credit=args.credit_degenerate, skipped=skipped)
    outputs = grade_outputs(results, task, args)          # every file rendered before any is written
    write_outputs(outputs, args.force)
    for note in skipped:
        print(printable(note))
    for platform, wanted, match in (("moodle", args.moodle_grades, args.moodle_match),
                                    ("canvas", args.canvas_grades, "sis")):
        if wanted:
            from .teach.gradebook import left_out

            for line in left_out(results, task.students, platform, match):
                if not line.endswith(": no submission"):         # listed with the marks below
                    print(printable(f"not in the {platform.capitalize()} file: {line}"))
    for r in results:
        mark = (f"not graded: {r.problem}" if r.problem else
                f"{r.total:g} / {r.possible:g}, {r.slips} slip(s)")
        print(printable(f"{r.student}: {mark}"))
    handed_in = {r.student for r in results}
    for student in task.students:
        if student.id not in handed_in:
            print(printable(f"{student.id}: no submission"))
    for r in results:
        for flag in r.flags:
            print(printable(f"check: {flag}"))
    broken = sum(bool(r.problem) for r in results)
    print(f"graded {len(results) - broken} of {len(results)} submission(s)" + (f"; {broken} could not be graded "
          "(the reason is in the gradebook and the feedback)" if broken else ""))
    return 0


def printable(text: str) -> str:
    """Text for the terminal: control characters (a file name can hold an escape sequence) shown escaped."""
    return "".join(ch if ch.isprintable() or ch == " " else ascii(ch)[1:-1] for ch in text)


def _studio(args) -> int:
    from .extras import require

    require("starlette", "studio", "chainrule studio")
    require("uvicorn", "studio", "chainrule studio")
    from .studio import serve
    return serve(args.host, args.port, open_browser=not args.no_browser)


# --- argument types: each flag's value checked where it is read, the message naming the flag -------------------
def _number(text: str, low=None, high=None, open_low=False, open_high=False, integer=False, what="a number"):
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, found {text!r}") from None
    if not integer and not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected {what}, found {text}")
    if low is not None and (value <= low if open_low else value < low):
        raise argparse.ArgumentTypeError(f"expected {what}, found {text}")
    if high is not None and (value >= high if open_high else value > high):
        raise argparse.ArgumentTypeError(f"expected {what}, found {text}")
    return value


def _type(name, **bounds):
    checker = lambda text: _number(text, **bounds)      # noqa: E731
    checker.__name__ = name
    return checker


COUNT = _type("count", low=1, high=1_000_000, integer=True, what="a whole number from 1 to 1000000")
WIDTH = _type("width", low=1, high=100_000, integer=True, what="a layer width from 1 to 100000")
BATCH = _type("batch", low=1, high=10_000_000, integer=True, what="a batch size from 1 to 10000000")
INDEX = _type("index", low=0, high=2 ** 63 - 1, integer=True, what="an index of 0 or more")
SEED = _type("seed", low=0, high=2 ** 32 - 1, integer=True, what="a seed from 0 to 4294967295")
RATE = _type("rate", low=0, high=1e6, open_low=True, what="a positive learning rate of at most 1e6")
FRACTION = _type("fraction", low=0, high=1, open_low=True, open_high=True, what="a fraction between 0 and 1")
PROBABILITY = _type("probability", low=0, high=1, open_high=True, what="a rate from 0 up to (not including) 1")
NONNEGATIVE = _type("nonnegative", low=0, high=1e6, what="a number from 0 to 1e6")
PATIENCE = _type("patience", low=0, high=1_000_000, integer=True, what="a whole number of epochs, 0 or more")


def _path(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a file name, found an empty one")
    return text


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Every option's default shown once, after its help: "(default: 30)". argparse's ArgumentDefaultsHelpFormatter
    also writes "(default: None)" for an option that has none or is required, "(default: False)" for a flag, and a
    second default after help that already gives one in words; those are left out here."""

    def _get_help_string(self, action) -> str:
        text = action.help or ""
        default = action.default
        if (not action.option_strings or action.nargs == 0 or action.required or default is None
                or default is argparse.SUPPRESS or "default" in text.lower()):
            return text          # positionals, flags (off unless given), required options, no default, stated
        shown = " ".join(map(str, default)) if isinstance(default, (list, tuple)) else str(default)
        return f"{text} (default: {shown.replace('%', '%%')})"      # argparse %-formats help text


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("chainrule")
    except PackageNotFoundError:
        from . import __version__
        return __version__


def build_parser() -> argparse.ArgumentParser:
    from .datasets import BUILTIN, PLANE
    from .explainer.derivation import MAX_STEPS

    step = _type("step", low=1, high=MAX_STEPS, integer=True, what=f"a whole number from 1 to {MAX_STEPS}")

    data_names = ", ".join(BUILTIN + PLANE)
    parser = argparse.ArgumentParser(prog="chainrule", description="Feed-forward networks trained by "
                                     "backpropagation, explained number by number.")
    parser.add_argument("--version", action="version", version=f"chainrule {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name, **kwargs):
        return commands.add_parser(name, formatter_class=_Formatter, **kwargs)

    explain = command("explain", help="work through a training step, every number shown",
                      description="Work through a training step of a small network (gradient descent, or the "
                      "spec's optimizer): forward pass, loss, backward pass, update; and check an author's printed "
                      "numbers, of later steps too (w5+@2). With no --spec, the seed article's example.")
    explain.add_argument("--spec", type=_path, help="a network and example as a JSON or TOML spec file")
    from .explainer import examples
    explain.add_argument("--example", help=f"a shipped example: {', '.join(examples())} (default: seed_article)")
    explain.add_argument("--lr", type=RATE, help="learning rate eta (default: the spec's own)")
    explain.add_argument("--steps", type=step, default=1, help=f"run N updates (at most {MAX_STEPS}) and show the "
                         "loss falling")
    explain.add_argument("--show-step", type=step, default=1, help="which step to derive in full (printed numbers "
                         "are audited with step 1 shown: they describe the first steps)")
    explain.add_argument("--model", type=_path, help="explain a trained model's prediction on one example (with "
                         "--data, --index)")
    explain.add_argument("--data", help=f"with --model: a built-in data set ({data_names}) or a data file")
    explain.add_argument("--index", type=INDEX, default=0, help="with --model: which example")
    explain.add_argument("--label", help="with --model and a CSV: the label column")
    explain.add_argument("--labels", help="with --model and IDX images: the labels file")
    explain.add_argument("--format", choices=["text", "markdown", "latex", "html", "json"], default="text",
                         help="output format")
    explain.add_argument("--out", type=_path, help="write to this file instead of standard output")
    explain.add_argument("--input-gradients", action="store_true", help="also show the error carried back to the "
                         "inputs, dL/dx1, ... (a claimed one is shown without this flag)")
    explain.set_defaults(run=_explain)

    grad = command("gradcheck", help="check every backprop gradient against finite differences",
                   description="Compare backprop with central finite differences in float64 for the seed article's "
                   "network, the batch example and random networks of every activation and output/loss pairing, "
                   "and what explain shows beyond them: local derivatives, a batch step's per-example and batch "
                   "gradients, the error per connection, a softmax's e^z and denominator, the gradients at the "
                   "inputs. Exits 1 if any "
                   "relative error exceeds the tolerance.")
    grad.add_argument("--inputs", type=_type("n", low=1, high=1000, integer=True, what="1 to 1000"), default=4,
                      help="input width of the random networks")
    grad.add_argument("--hidden", type=_type("n", low=1, high=1000, integer=True, what="1 to 1000"), default=5,
                      help="width of each hidden layer")
    grad.add_argument("--depth", type=_type("n", low=0, high=10, integer=True, what="0 to 10"), default=2,
                      help="number of hidden layers")
    grad.add_argument("--outputs", type=_type("n", low=1, high=1000, integer=True, what="1 to 1000"), default=3,
                      help="output width")
    grad.add_argument("--batch", type=_type("n", low=1, high=1000, integer=True, what="1 to 1000"), default=4,
                      help="examples per batch")
    grad.add_argument("--seed", type=SEED, default=0, help="seed of the random networks and inputs")
    grad.set_defaults(run=_gradcheck)

    train = command("train", help="train a network on a data set and save it",
                    description=f"Train an MLP (softmax + cross-entropy output) on a built-in data set ({data_names}) "
                    "or a file, report test accuracy and the confusion counts, and save the model. An existing "
                    "--out file is replaced only with --force.")
    _data_options(train, data_names)
    train.add_argument("--hidden", type=WIDTH, nargs="+", default=[64], help="hidden layer widths")
    train.add_argument("--activation", choices=["relu", "tanh", "sigmoid"], default="relu",
                       help="hidden activation")
    train.add_argument("--dropout", type=PROBABILITY, default=0.0, help="dropout rate after each hidden layer")
    train.add_argument("--epochs", type=COUNT, default=DEFAULT_EPOCHS, help="passes over the training data")
    train.add_argument("--batch-size", type=BATCH, default=32, help="examples per gradient step")
    train.add_argument("--optimizer", choices=["sgd", "rmsprop", "adam"], default="adam",
                       help="the update rule")
    train.add_argument("--lr", type=RATE, help=f"learning rate (default: {DEFAULT_LR['adam']:g} for adam, "
                       f"{DEFAULT_LR['sgd']:g} for sgd)")
    train.add_argument("--momentum", type=PROBABILITY, default=0.0, help="SGD momentum")
    train.add_argument("--nesterov", action="store_true", help="Nesterov momentum (SGD)")
    train.add_argument("--weight-decay", type=NONNEGATIVE, default=0.0, help="L2 penalty")
    train.add_argument("--schedule", choices=["none", "step", "cosine"], default="none", help="learning-rate schedule")
    train.add_argument("--step-size", type=COUNT, default=10, help="epochs per step of the step schedule")
    train.add_argument("--gamma", type=_type("gamma", low=0, high=1, open_low=True, what="a factor above 0, up to 1"),
                       default=0.1, help="factor per step of the step schedule")
    train.add_argument("--validation-split", type=PROBABILITY, default=0.0,
                       help="fraction of the training part held out for validation")
    train.add_argument("--early-stopping", type=PATIENCE, metavar="PATIENCE",
                       help="stop when the validation loss has not improved for PATIENCE epochs and keep the best "
                       "epoch's weights (needs --validation-split)")
    train.add_argument("--test-size", type=FRACTION, default=0.25, help="stratified test fraction")
    train.add_argument("--seed", type=SEED, default=0, help="seed of the split, the weights and the shuffle")
    train.add_argument("--float64", action="store_true", help="train in float64 (default: float32)")
    train.add_argument("--mmap", action="store_true", help="train from a memory map of the --data file (.npy, or "
                       ".npz stored uncompressed) without reading it into memory: batches are gathered from the map; "
                       "the test and validation parts are the file's last rows and inputs are not standardised")
    train.add_argument("--out", type=_path, default="model.npz", help="where to save the model")
    train.add_argument("--force", action="store_true", help="replace --out if it exists")
    train.add_argument("--checkpoint", type=_path, metavar="DIR", help="save a checkpoint after every epoch in DIR")
    train.add_argument("--resume", action="store_true", help="continue from the checkpoint in --checkpoint DIR")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.add_argument("--plot", type=_path, metavar="DIR", help="write history.json, training curves, confusion "
                       "counts (and first-layer weights for image data) as PNG files in DIR")
    train.set_defaults(run=_train)

    evaluate = command("evaluate", help="accuracy and confusion counts of a saved model",
                       description="Evaluate a saved model. On the data set it was trained on, the test split of "
                       "training is used unless --all is given.")
    evaluate.add_argument("model", type=_path, help="a model file written by train")
    _data_options(evaluate, data_names)
    evaluate.add_argument("--all", action="store_true", help="evaluate on every example of the data")
    evaluate.set_defaults(run=_evaluate)

    predict = command("predict", help="class probabilities and labels for new inputs, as CSV",
                      description="Write a CSV of class probabilities and predicted labels for the rows of INPUT "
                      "(a CSV of numbers, header allowed, or a 2-D .npy).")
    predict.add_argument("model", type=_path, help="a model file written by train")
    predict.add_argument("input", type=_path, help="the inputs, one example per row")
    predict.add_argument("--out", type=_path, help="write the CSV here (replacing it whole) instead of standard output")
    predict.set_defaults(run=_predict)

    export = command("export", help="write a saved model as an ONNX graph",
                     description="Write a saved model as an ONNX graph (input 'input' (N, D) of raw features, "
                     "output 'probabilities' (N, K)), standardisation included.")
    export.add_argument("model", type=_path, help="a model file written by train")
    export.add_argument("out", type=_path, help="the .onnx file to write")
    export.set_defaults(run=_export)

    exercise = command("exercise", help="write a backpropagation exercise: question sheets and answer keys",
                       description="Write a backpropagation exercise a person can work by hand: a small network "
                       "with one-decimal numbers (degenerate draws are redrawn). DIR/student/ is what students "
                       "receive: the question sheet as Markdown, LaTeX and HTML, and answers.txt, the template they "
                       "hand in. DIR/teacher/ is the teacher's: exercise.json (for chainrule grade), the answer key "
                       "(the worked derivation, each asked quantity marked) as Markdown, LaTeX and HTML, and a Moodle "
                       "XML quiz. With --roster, each student gets a variant of their own, drawn from a class secret "
                       "kept in DIR/teacher/variants.json. The same options and seed (or secret) give the same files, "
                       "byte for byte.")
    exercise.add_argument("--shape", default="2-2-2", help="layer widths from 1 to 8, inputs first, at most 6 layers, "
                          "such as 3-4-2-1")
    exercise.add_argument("--hidden", choices=["sigmoid", "tanh", "relu", "identity"], default="sigmoid",
                          help="hidden activation")
    exercise.add_argument("--output", choices=["softmax", "sigmoid", "identity", "tanh"], default="softmax",
                          help="output activation")
    exercise.add_argument("--loss", choices=["cross_entropy", "binary_cross_entropy", "half_squared_error",
                                             "sum_squared_error", "mean_squared_error", "output"],
                          help="the loss (default: cross_entropy for softmax, binary_cross_entropy for sigmoid, "
                          "half_squared_error otherwise; output: the network's output itself, no targets)")
    exercise.add_argument("--title", help="the exercise's title on every sheet, before the network's description "
                          "(default: Exercise)")
    exercise.add_argument("--seed", type=SEED, help="seed of a single exercise's numbers, kept only in "
                          "teacher/exercise.json (default: 0)")
    exercise.add_argument("--ask", nargs="+", default=["full-step"], metavar="WHAT",
                          help="forward, loss, gradients, update, full-step (each asks that part of every step the "
                          "exercise covers; update@2: of step 2 only), or quantity names such as dL/dw5, w5' (w5+), "
                          "v_w5 (momentum's velocity), m_w5, v_w5, mhat_w5, vhat_w5 (Adam's moments), and of a later "
                          "step name@k: L@2, w5'@2 (w5 as step 2 left it), v_w5@2")
    exercise.add_argument("--steps", type=_type("steps", low=1, high=3, integer=True, what="1 to 3 steps"),
                          help="how many steps of the update the exercise covers, each from the parameters (and "
                          "optimizer state) the step before left (default: the latest step --ask names with @k, "
                          "else 1)")
    exercise.add_argument("--optimizer", choices=["gradient_descent", "momentum", "nesterov", "rmsprop", "adam"],
                          default="gradient_descent", help="the update rule: its state (velocity, moments) starts "
                          "at 0 and its quantities can be asked")
    exercise.add_argument("--momentum", type=_type("momentum", low=0, high=1, open_low=True, open_high=True,
                                                    what="a number above 0 and below 1"),
                          help="μ of --optimizer momentum or nesterov (default: 0.9)")
    exercise.add_argument("--velocity", choices=["gradients", "steps"], help="momentum's velocity, gradients by "
                          "default: v = μ·v + ∂L/∂w and w′ = w − η·v, as PyTorch; or steps: v = μ·v + η·∂L/∂w and "
                          "w′ = w − v")
    exercise.add_argument("--rho", type=PROBABILITY, help="ρ of --optimizer rmsprop (default: 0.9)")
    exercise.add_argument("--beta1", type=PROBABILITY, help="β₁ of --optimizer adam (default: 0.9)")
    exercise.add_argument("--beta2", type=PROBABILITY, help="β₂ of --optimizer adam (default: 0.999)")
    exercise.add_argument("--eps", type=_type("eps", low=0, high=1, open_low=True, what="a positive number of at "
                                               "most 1"), help="ε of --optimizer rmsprop or adam (default: 1e-08)")
    exercise.add_argument("--batch", type=_type("batch", low=1, high=8, integer=True, what="1 to 8 examples"),
                          default=1, help="examples in the step")
    exercise.add_argument("--reduction", choices=["mean", "sum"], default="mean", help="a batch's loss")
    exercise.add_argument("--update-order", choices=["simultaneous", "sequential"], default="simultaneous",
                          help="sequential: the output layer is updated first and its new weights carry the error")
    exercise.add_argument("--fixed-biases", action="store_true", help="keep the biases fixed in the update")
    exercise.add_argument("--weight-layout", choices=["neuron_major", "input_major"], default="neuron_major",
                          help="how the exercise file writes weight matrices")
    precision = exercise.add_mutually_exclusive_group()
    precision.add_argument("--digits", type=_type("digits", low=2, high=8, integer=True,
                                                  what="2 to 8 significant figures"),
                           help="significant figures of the answers (default: 4)")
    precision.add_argument("--decimals", type=_type("decimals", low=1, high=8, integer=True,
                                                    what="1 to 8 decimal places"),
                           help="decimal places of the answers, in place of significant figures")
    exercise.add_argument("--precision-policy", choices=["strict", "partial"], default="strict",
                          help="an answer with fewer digits than asked: strict: it earns nothing; partial: half its "
                          "points when its value agrees")
    exercise.add_argument("--roster", type=_path, help="the class list, CSV as Moodle, Canvas or a spreadsheet "
                          "exports it (comma, semicolon or tab; or a bare column of ids): one variant per student")
    exercise.add_argument("--id-column", help="the roster's column of student ids, by header or number (default: "
                          "recognised from the header: ID number, SIS User ID, Student ID, id, username, email)")
    exercise.add_argument("--name-column", help="the roster's column of student names, by header or number "
                          "(default: recognised: Name, Full name, Student, or First name and Surname)")
    exercise.add_argument("--secret", metavar="HEX", help="the class secret the variants are drawn from (64 hex "
                          "digits, as teacher/variants.json keeps it): the same class again, byte for byte "
                          "(default: a new one; with --force, the one kept in DIR)")
    lms = exercise.add_argument_group("where the class works (teacher/ always holds moodle.xml and moodle-cloze.xml)")
    lms.add_argument("--numbas", action="store_true", help="also write teacher/numbas/: a Numbas exam (per student "
                     "with --roster) whose parts are marked with error carried forward")
    lms.add_argument("--numbas-source", type=_path, metavar="DIR", help="Numbas's source folder: with --numbas, also "
                     "compile teacher/numbas/exercise-scorm.zip, a SCORM package for Moodle, Canvas or Blackboard")
    lms.add_argument("--canvas", action="store_true", help="also write teacher/canvas-qti.zip, a Canvas quiz of "
                     "numerical questions (one quiz per student with --roster)")
    lms.add_argument("--gradescope", action="store_true", help="also write teacher/gradescope/autograder.zip: "
                     "chainrule's grader as a Gradescope autograder, marking with error carried forward")
    lms.add_argument("--gradescope-wheel", type=_path, metavar="WHEEL", help="a chainrule wheel to put in the "
                     "autograder (installed in place of the package registry's)")
    lms.add_argument("--gradescope-visibility", choices=["visible", "after_due_date", "after_published"],
                     default="visible", help="when students see the autograder's results")
    lms.add_argument("--prairielearn", action="store_true", help="also write teacher/prairielearn/QID/: a "
                     "PrairieLearn question that draws each student's numbers and marks with error carried forward")
    exercise.add_argument("--out", type=_path, required=True, metavar="DIR", help="the folder to write")
    exercise.add_argument("--force", action="store_true", help="replace the exercise's folders in DIR (student/ and "
                          "teacher/, or students/ and teacher/), each whole")
    exercise.set_defaults(run=_exercise)

    grade = command("grade", help="mark worked solutions with error carried forward",
                    description="Mark students' answers with error carried forward: right working from an earlier "
                    "slip keeps its marks. A submission is a text file of name = number lines (the answers.txt "
                    "template the exercise hands out), or TOML, JSON or CSV; a folder grades every file in it, "
                    "including the per-student folders an LMS download holds. Every readable line is graded; a "
                    "blank or unreadable answer is marked missing with the reason. Where several files give one "
                    "id, the newest is graded. Existing output files are replaced only with --force.")
    grade.add_argument("exercise", type=_path, help="the folder chainrule exercise wrote (its teacher/ file is "
                       "used), an exercise.json, a roster's variants.json, or a spec")
    grade.add_argument("submissions", type=_path, nargs="+", metavar="SUBMISSION", help="files or folders")
    grade.add_argument("--rubric", type=_path, help="points per quantity, TOML or JSON (\"dL/dw5\" = 2): the "
                       "quantities it names get its points, every other asked quantity keeps the exercise's "
                       "(1 each)")
    grade.add_argument("--roster", type=_path, help="the class list (CSV as an LMS exports it): one gradebook row "
                       "per student, names in the feedback (default: the roster kept with a class's variants)")
    grade.add_argument("--id-column", help="the roster's column of student ids (default: recognised from the "
                       "header: ID number, SIS User ID, Student ID, email)")
    grade.add_argument("--name-column", help="the roster's column of student names (default: recognised)")
    grade.add_argument("--no-carried-credit", action="store_true", help="mark carried numbers wrong")
    grade.add_argument("--credit-degenerate", action="store_true", help="credit carried numbers that an earlier "
                       "slip made trivial (a value of 0, an update that changes nothing); they are flagged either way")
    grade.add_argument("--out", type=_path, metavar="CSV", help="write the gradebook: one row per student")
    grade.add_argument("--moodle-grades", type=_path, metavar="CSV", help="write a file for Moodle's grade import "
                       "(ID number and grade)")
    grade.add_argument("--moodle-match", choices=["id", "email"], default="id", help="how Moodle's import finds "
                       "each student: the roster's ID number or email address")
    grade.add_argument("--canvas-grades", type=_path, metavar="CSV", help="write a file for Canvas's gradebook "
                       "import")
    grade.add_argument("--assignment", default="Backpropagation exercise", help="the assignment's name in the LMS "
                       "grade files")
    grade.add_argument("--summary", type=_path, metavar="HTML", help="write the class summary: HTML with plots, "
                       "and the same table as CSV beside it (needs the plots extra)")
    grade.add_argument("--feedback", type=_path, metavar="DIR", help="write each student's feedback in DIR")
    grade.add_argument("--feedback-format", choices=["markdown", "html"], default="markdown",
                       help="the feedback files' format")
    grade.add_argument("--feedback-answers", action="store_true", help="show the right values in the feedback "
                       "(for after the deadline: by default feedback shows where a slip is, never the key)")
    grade.add_argument("--force", action="store_true", help="replace existing output files")
    grade.set_defaults(run=_grade)

    plot = command("plot", help="training curves, confusion matrix, decision regions, weights",
                   description="Plots as PNG or SVG (by the --out suffix). See chainrule plot KIND --help.")
    kinds = plot.add_subparsers(dest="what", required=True, metavar="KIND")

    def kind(name, help_text, description):
        sub = kinds.add_parser(name, help=help_text, description=description, formatter_class=_Formatter)
        sub.set_defaults(run=_plot)
        return sub

    curves = kind("curves", "loss and accuracy per epoch", "Loss and accuracy per epoch, training and validation, "
                  "from train --plot's history.json or a checkpoint (file or folder).")
    curves.add_argument("source", type=_path, help="history.json, checkpoint.npz or a checkpoint folder")
    confusion = kind("confusion", "confusion counts of a model on a data set", "Counts of true class against "
                     "predicted class for a saved model; on the data set it was trained on, its test split.")
    confusion.add_argument("source", type=_path, help="a model file written by train")
    confusion.add_argument("--data", required=True, help=f"the data set ({data_names}) or data file")
    weights = kind("weights", "first-layer weights as images", "Each first-layer neuron's incoming weights drawn "
                   "as an image; for models of image data (a square number of pixels, 16 or more, such as digits).")
    weights.add_argument("source", type=_path, help="a model file written by train")
    regions = kind("regions", "decision regions as training goes on", "Train a small network on a 2-D problem "
                   "and draw the class it predicts over the plane after several epochs.")
    regions.add_argument("--data", default="moons", help="moons, spiral, circles or a CSV of 2 features and a label")
    regions.add_argument("--epochs", type=COUNT, default=60, help="epochs to train")
    regions.add_argument("--seed", type=SEED, default=0, help="seed of the network and shuffle")
    for sub in (curves, confusion, weights, regions):
        sub.add_argument("--out", type=_path, required=True, help="the .png or .svg file to write")
    regions.set_defaults(source=None)

    studio = command("studio", help="the explanation, live in the browser; train and explain there",
                     description="Serve chainrule studio on this machine and open it in the browser: edit any "
                     "number of a small network and watch every number of its training step change; step, share, "
                     "save, audit; train on a data set and explain a prediction. Needs no network access.")
    studio.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1: this machine only)")
    studio.add_argument("--port", type=_type("port", low=0, high=65535, integer=True,
                                             what="a port from 0 to 65535 (0: any free port)"),
                        default=8765, help="port to listen on (0: any free port)")
    studio.add_argument("--no-browser", action="store_true", help="print the address without opening a browser")
    studio.set_defaults(run=_studio)
    return parser


def _data_options(parser, data_names: str) -> None:
    parser.add_argument("--data", required=True, help=f"{data_names}, or a .csv/.npz/.npy/IDX file")
    parser.add_argument("--label", help="the label column of a CSV (name or index; default: the last) or .npy "
                        "(index)")
    parser.add_argument("--labels", help="the labels file of IDX images (default: found beside them)")


class _Stdout:
    """Standard output that survives a closed pipe (``chainrule train ... | head -1``): once the reader has gone,
    further output is dropped and the command finishes its work (saving the model) and exits quietly."""

    def __init__(self, stream):
        self.stream, self.closed_pipe = stream, False

    def write(self, text):
        if not self.closed_pipe:
            try:
                return self.stream.write(text)
            except BrokenPipeError:
                self._closed()
        return len(text)

    def flush(self):
        if not self.closed_pipe:
            try:
                self.stream.flush()
            except BrokenPipeError:
                self._closed()

    def _closed(self):
        import os
        self.closed_pipe = True
        try:                                    # Python's own flush at exit must not complain either
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.stream.fileno())
        except (OSError, ValueError):
            pass

    def __getattr__(self, name):
        return getattr(self.stream, name)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    stdout = sys.stdout
    sys.stdout = _Stdout(stdout)
    try:
        with np.errstate(all="ignore"):     # non-finite results are checked and named where they arise
            return args.run(args)
    except ChainruleError as exc:
        print(f"chainrule {args.command}: error: {printable(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"chainrule {args.command}: interrupted", file=sys.stderr)
        return 130
    finally:
        sys.stdout.flush()
        sys.stdout = stdout


if __name__ == "__main__":
    sys.exit(main())
