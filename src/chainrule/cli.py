"""The command line: ``chainrule explain``, ``chainrule gradcheck``.

User mistakes (``ChainruleError``, a missing file) print one line to stderr and exit with status 2; no traceback.
"""

import argparse
import sys

import numpy as np

from .errors import ChainruleError


def _explain(args) -> int:
    from .explain import RENDERERS, derive, load_spec, seed_article_path

    spec = load_spec(args.spec if args.spec else seed_article_path())
    if args.lr is not None and not (np.isfinite(args.lr) and args.lr > 0):
        raise ChainruleError(f"--lr: expected a positive learning rate, found {args.lr}")
    sys.stdout.write(RENDERERS[args.format](derive(spec, args.lr)))
    return 0


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chainrule", description="Feed-forward networks trained by "
                                     "backpropagation, explained number by number.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    explain = commands.add_parser("explain", help="work through one gradient-descent step, every number shown",
                                  description="Work through one gradient-descent step of a small network: forward "
                                  "pass, loss, backward pass, update; and check an author's printed numbers. With "
                                  "no --spec, the seed article's example.")
    explain.add_argument("--spec", help="a network and example as a JSON or TOML spec file")
    explain.add_argument("--lr", type=float, help="learning rate eta (default: the spec's, 0.1 for the article)")
    explain.add_argument("--format", choices=["text", "json"], default="text")
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
    return parser


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
