"""The command line: ``chainrule explain``, ``gradcheck``, ``train``, ``evaluate``, ``predict``.

User mistakes (``ChainruleError``, a missing file) print one line to stderr and exit with status 2; no traceback.
"""

import argparse
import sys

import numpy as np

from .errors import ChainruleError


def _explain(args) -> int:
    from .explain import RENDERERS, derive, example_path, load_spec

    if sum(map(bool, (args.spec, args.example, args.model))) > 1:
        raise ChainruleError("explain: give one of --spec FILE, --example NAME or --model FILE")
    if args.model:
        spec = _spec_for_model(args)
    else:
        spec = load_spec(args.spec if args.spec else example_path(args.example or "seed_article"))
    if args.lr is not None and not (np.isfinite(args.lr) and args.lr > 0):
        raise ChainruleError(f"--lr: expected a positive learning rate, found {args.lr}")
    if args.steps < 1:
        raise ChainruleError(f"--steps: expected a positive number of steps, found {args.steps}")
    text = RENDERERS[args.format](derive(spec, args.lr, steps=args.steps, show_step=args.show_step))
    if args.out:
        from pathlib import Path
        try:
            Path(args.out).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ChainruleError(f"--out {args.out}: cannot write ({exc.strerror})") from None
    else:
        sys.stdout.write(text)
    return 0


def _spec_for_model(args):
    from . import datasets
    from .explain.from_model import spec_from_network
    from .io import load
    from .report import labels_for_model

    if args.data is None:
        raise ChainruleError("--model: give --data NAME_OR_FILE and --index I for the example to explain")
    network = load(args.model)
    data = datasets.load(args.data, label=args.label, labels_path=args.labels)
    if not 0 <= args.index < len(data):
        raise ChainruleError(f"--index: expected 0..{len(data) - 1} for {data.name}, found {args.index}")
    label = labels_for_model(network, data, data.y[args.index:args.index + 1])[0]
    title = f"{args.model}: example {args.index} of {data.name}"
    return spec_from_network(network, data.X[args.index], int(label), args.lr or 0.1, title)


def _gradcheck(args) -> int:
    from .explain import build_network_for, seed_article
    from .gradcheck import TOLERANCE, check_gradients, random_cases

    sizes = [args.inputs] + [args.hidden] * args.depth + [args.outputs]
    cases = [("seed article (3-2-2, sigmoid hidden, softmax + cross_entropy)", *build_network_for(seed_article()))]
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
    print(f"largest relative error: {worst:.2e} ({'within' if worst <= TOLERANCE else 'ABOVE'} tolerance)")
    return 0 if worst <= TOLERANCE else 1


def _optimizer(args):
    from .optimizers import SGD, Adam, CosineDecay, StepDecay

    schedule = None
    if args.schedule == "cosine":
        schedule = CosineDecay(args.epochs)
    elif args.schedule == "step":
        schedule = StepDecay(args.step_size, args.gamma)
    if args.optimizer == "adam":
        return Adam(lr=args.lr if args.lr is not None else 1e-3, weight_decay=args.weight_decay, schedule=schedule)
    return SGD(lr=args.lr if args.lr is not None else 0.01, momentum=args.momentum, nesterov=args.nesterov,
               weight_decay=args.weight_decay, schedule=schedule)


def _train(args) -> int:
    from . import datasets
    from .callbacks import EarlyStopping
    from .network import mlp
    from .report import report

    data = datasets.load(args.data, label=args.label, labels_path=args.labels)
    X_train, X_test, y_train, y_test = datasets.train_test_split(data, args.test_size, args.seed)
    net = mlp([data.X.shape[1], *args.hidden, len(data.class_names)], args.activation, dropout=args.dropout,
              seed=args.seed, dtype=np.float64 if args.float64 else np.float32)
    net.classes = np.array(data.class_names)
    net.info = {"data": args.data, "label": args.label, "test_size": args.test_size, "seed": args.seed}
    callbacks = [EarlyStopping(patience=args.early_stopping)] if args.early_stopping is not None else []
    history = net.fit(X_train, y_train, epochs=args.epochs, batch_size=args.batch_size, optimizer=_optimizer(args),
                      validation_split=args.validation_split, standardize=True, verbose=0 if args.quiet else 1,
                      seed=args.seed, callbacks=callbacks, checkpoint=args.checkpoint, resume=args.resume)
    seconds = sum(history["seconds"])
    print(f"trained {history.epochs} epoch(s) on {len(X_train)} examples of {data.name} in {seconds:.2f} s "
          f"(final training loss {history['loss'][-1]:.4f})")
    print(report(net, X_test, y_test, f"test split ({args.test_size:.0%}, seed {args.seed})"))
    net.save(args.out)
    print(f"saved {args.out}")
    if args.plot:
        _plots_after_training(net, history, X_test, y_test, args.plot)
    return 0


def _plots_after_training(net, history, X_test, y_test, folder) -> None:
    import json
    from pathlib import Path

    from . import plots

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "history.json").write_text(json.dumps(history.history, indent=1))
    written = [folder / "curves.png", folder / "confusion.png"]
    plots.plot_history(history, written[0])
    plots.plot_confusion(net, X_test, y_test, written[1])
    if round(net.in_features ** 0.5) ** 2 == net.in_features:      # square images, such as digits' 8x8
        written.append(folder / "weights.png")
        plots.plot_first_layer(net, written[-1])
    print("plots: " + ", ".join(str(p) for p in written))


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
    info = net.info
    if not args.all and info.get("data") == args.data and info.get("test_size"):
        _, X, _, y = datasets.train_test_split(data, info["test_size"], info["seed"])
        what = f"the test split of training ({info['test_size']:.0%}, seed {info['seed']})"
    else:
        X, y, what = data.X, data.y, f"all {len(data)} examples"
    print(report(net, X, labels_for_model(net, data, y), what))
    return 0


def _predict(args) -> int:
    import csv

    from .datasets import load_features
    from .io import load

    net = load(args.model)
    X = load_features(args.input, net.in_features)
    proba = net.predict_proba(X)
    names = list(net.classes) if net.classes is not None else [str(k) for k in range(proba.shape[1])]
    handle = open(args.out, "w", newline="", encoding="utf-8") if args.out else sys.stdout
    try:
        writer = csv.writer(handle)
        if net.loss_fn.output == "softmax":
            writer.writerow([f"p_{name}" for name in names] + ["label"])
            for row, k in zip(proba, proba.argmax(axis=1), strict=True):
                writer.writerow([f"{p:.6g}" for p in row] + [names[k]])
        else:
            writer.writerow([f"output{k}" for k in range(proba.shape[1])])
            writer.writerows([[f"{p:.6g}" for p in row] for row in proba])
    finally:
        if args.out:
            handle.close()
    return 0


def _export(args) -> int:
    from .export import export_onnx
    from .io import load

    export_onnx(load(args.model), args.out)
    print(f"wrote {args.out}")
    return 0


def _studio(args) -> int:
    from .extras import require

    require("starlette", "studio", "chainrule studio")
    require("uvicorn", "studio", "chainrule studio")
    if not 0 <= args.port <= 65535:
        raise ChainruleError(f"--port: expected 0..65535 (0: any free port), found {args.port}")
    from .studio import serve
    return serve(args.host, args.port, open_browser=not args.no_browser)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chainrule", description="Feed-forward networks trained by "
                                     "backpropagation, explained number by number.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    explain = commands.add_parser("explain", help="work through one gradient-descent step, every number shown",
                                  description="Work through one gradient-descent step of a small network: forward "
                                  "pass, loss, backward pass, update; and check an author's printed numbers. With "
                                  "no --spec, the seed article's example.")
    explain.add_argument("--spec", help="a network and example as a JSON or TOML spec file")
    explain.add_argument("--example", help="a shipped example: seed_article (default), step_by_step_sigmoid, "
                         "relu_student")
    explain.add_argument("--lr", type=float, help="learning rate eta (default: the spec's, 0.1 for the article)")
    explain.add_argument("--steps", type=int, default=1, help="run N updates and show the loss falling")
    explain.add_argument("--show-step", type=int, default=1, help="which step to derive in full (default 1)")
    explain.add_argument("--model", help="explain a trained model's prediction on one example (with --data, --index)")
    explain.add_argument("--data", help="with --model: a built-in data set or a data file")
    explain.add_argument("--index", type=int, default=0, help="with --model: which example (default 0)")
    explain.add_argument("--label", help="with --model and a CSV: the label column")
    explain.add_argument("--labels", help="with --model and IDX images: the labels file")
    explain.add_argument("--format", choices=["text", "markdown", "latex", "html", "json"], default="text")
    explain.add_argument("--out", help="write to this file instead of standard output")
    explain.set_defaults(run=_explain)

    grad = commands.add_parser("gradcheck", help="check every backprop gradient against finite differences",
                               description="Compare backprop with central finite differences in float64 for the "
                               "seed article's network and random networks of every activation and output/loss "
                               "pairing. Exits 1 if any relative error exceeds the tolerance.")
    grad.add_argument("--inputs", type=int, default=4, help="input width of the random networks (default 4)")
    grad.add_argument("--hidden", type=int, default=5, help="width of each hidden layer (default 5)")
    grad.add_argument("--depth", type=int, default=2, help="number of hidden layers (default 2)")
    grad.add_argument("--outputs", type=int, default=3, help="output width (default 3)")
    grad.add_argument("--batch", type=int, default=4, help="examples per batch (default 4)")
    grad.add_argument("--seed", type=int, default=0)
    grad.set_defaults(run=_gradcheck)

    train = commands.add_parser("train", help="train a network on a data set and save it",
                                description="Train an MLP (softmax + cross-entropy output) on a built-in data set "
                                "(digits, iris, wine, breast_cancer) or a file, report test accuracy and the "
                                "confusion counts, and save the model.")
    _data_options(train)
    train.add_argument("--hidden", type=int, nargs="+", default=[64], help="hidden layer widths (default 64)")
    train.add_argument("--activation", choices=["relu", "tanh", "sigmoid"], default="relu")
    train.add_argument("--dropout", type=float, default=0.0, help="dropout rate after each hidden layer")
    train.add_argument("--epochs", type=int, default=30)
    train.add_argument("--batch-size", type=int, default=32)
    train.add_argument("--optimizer", choices=["sgd", "adam"], default="adam")
    train.add_argument("--lr", type=float, help="learning rate (default 1e-3 for adam, 0.01 for sgd)")
    train.add_argument("--momentum", type=float, default=0.0, help="SGD momentum")
    train.add_argument("--nesterov", action="store_true", help="Nesterov momentum (SGD)")
    train.add_argument("--weight-decay", type=float, default=0.0, help="L2 penalty")
    train.add_argument("--schedule", choices=["none", "step", "cosine"], default="none")
    train.add_argument("--step-size", type=int, default=10, help="epochs per step of the step schedule")
    train.add_argument("--gamma", type=float, default=0.1, help="factor per step of the step schedule")
    train.add_argument("--validation-split", type=float, default=0.0, help="fraction held out for validation")
    train.add_argument("--early-stopping", type=int, metavar="PATIENCE",
                       help="stop when validation loss has not improved for PATIENCE epochs (needs "
                       "--validation-split)")
    train.add_argument("--test-size", type=float, default=0.25, help="stratified test fraction (default 0.25)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--float64", action="store_true", help="train in float64 (default float32)")
    train.add_argument("--out", default="model.npz", help="where to save the model (default model.npz)")
    train.add_argument("--checkpoint", metavar="DIR", help="save a checkpoint after every epoch in DIR")
    train.add_argument("--resume", action="store_true", help="continue from the checkpoint in --checkpoint DIR")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.add_argument("--plot", metavar="DIR", help="write training curves, confusion counts (and first-layer "
                       "weights for image data) as PNG files in DIR")
    train.set_defaults(run=_train)

    evaluate = commands.add_parser("evaluate", help="accuracy and confusion counts of a saved model",
                                   description="Evaluate a saved model. On the data set it was trained on, the "
                                   "test split of training is used unless --all is given.")
    evaluate.add_argument("model")
    _data_options(evaluate)
    evaluate.add_argument("--all", action="store_true", help="evaluate on every example of the data")
    evaluate.set_defaults(run=_evaluate)

    predict = commands.add_parser("predict", help="class probabilities and labels for new inputs, as CSV",
                                  description="Write a CSV of class probabilities and predicted labels for the "
                                  "rows of INPUT (a CSV of numbers, header allowed, or a 2-D .npy).")
    predict.add_argument("model")
    predict.add_argument("input")
    predict.add_argument("--out", help="write the CSV here instead of standard output")
    predict.set_defaults(run=_predict)

    export = commands.add_parser("export", help="write a saved model as an ONNX graph",
                                 description="Write a saved model as an ONNX graph (input 'input' (N, D) of raw "
                                 "features, output 'probabilities' (N, K)), standardisation included.")
    export.add_argument("model")
    export.add_argument("out")
    export.set_defaults(run=_export)

    plot = commands.add_parser("plot", help="training curves, confusion matrix, decision regions, weights",
                               description="Plots as PNG or SVG (by the --out suffix). curves HISTORY: loss and "
                               "accuracy per epoch from train --plot's history.json or a checkpoint; confusion MODEL "
                               "--data D; weights MODEL: first-layer weights as images; regions [--data moons|spiral]: "
                               "trains a small network and draws its decision regions as training goes on.")
    plot.add_argument("what", choices=["curves", "confusion", "weights", "regions"])
    plot.add_argument("source", nargs="?", help="history.json, checkpoint or model file")
    plot.add_argument("--data", help="data set (confusion: the model's; regions: moons or spiral)")
    plot.add_argument("--epochs", type=int, default=60, help="regions: epochs to train (default 60)")
    plot.add_argument("--seed", type=int, default=0)
    plot.add_argument("--out", required=True, help="the .png or .svg file to write")
    plot.set_defaults(run=_plot)

    studio = commands.add_parser("studio", help="the explanation, live in the browser; train and explain there",
                                 description="Serve chainrule studio on this machine and open it in the browser: "
                                 "edit any number of a small network and watch every number of its training step "
                                 "change; step, share, save, audit; train on a data set and explain a prediction. "
                                 "Needs no network access.")
    studio.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine "
                        "only)")
    studio.add_argument("--port", type=int, default=8765, help="port (default 8765; 0: any free port)")
    studio.add_argument("--no-browser", action="store_true", help="print the address without opening a browser")
    studio.set_defaults(run=_studio)
    return parser


def _data_options(parser) -> None:
    parser.add_argument("--data", required=True, help="digits, iris, wine, breast_cancer, or a .csv/.npz/.npy/IDX file")
    parser.add_argument("--label", help="the label column of a CSV (name or index; default the last)")
    parser.add_argument("--labels", help="the labels file of IDX images (default: found beside them)")


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except ChainruleError as exc:
        print(f"chainrule {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
