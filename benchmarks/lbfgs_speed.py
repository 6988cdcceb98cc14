"""scikit-learn's MLP with solver="lbfgs" against chainrule's, side by side in one process: time per evaluation.

Both run L-BFGS-B (scipy) with the same options from the same initial weights (chainrule draws them as scikit-learn
does), so they evaluate the same function at nearly the same points; what differs is who computes each loss and
gradient: scikit-learn's ``_backprop``, or chainrule's engine through ``objective.Objective`` (blocks of rows, each
layer's reused buffers). Each fit runs until L-BFGS-B passes ``max_fun`` evaluations (``tol=0``, ``max_iter``
unbounded); every fit's evaluations are counted (nfev) and its time divided by them.

Data: digits (1,797 x 64) and a synthetic set (make_classification, 50,000 x 100, 10 classes), standardised; one
hidden layer of 100 ReLU units (scikit-learn's default); float64 and float32 inputs, which both compute in (scipy
hands scikit-learn parameters of its starting point's dtype; chainrule casts them into the network's). Runs are
interleaved (each contender once per round); times are medians, the ratio is the median of the per-round ratios
of time per evaluation (scikit-learn's over chainrule's: above 1, chainrule is faster).

    python benchmarks/lbfgs_speed.py [--rounds 5] [--threads N] [--quick]
"""

import argparse
import statistics
import time
import warnings

import numpy as np

import cleanup
from mlp_speed import blas_limit, blas_threads, paired_ratio, spread

HIDDEN = (100,)


def sklearn_factory(max_fun):
    from sklearn.neural_network import MLPClassifier

    class Counted(MLPClassifier):
        def _loss_grad_lbfgs(self, *args):
            self._lbfgs_evaluations += 1
            return super()._loss_grad_lbfgs(*args)

    def run(X, y):
        model = Counted(solver="lbfgs", hidden_layer_sizes=HIDDEN, max_iter=10**9, max_fun=max_fun, tol=0,
                        random_state=0)
        model._lbfgs_evaluations = 0
        return model.fit(X, y)
    return run


def chainrule_factory(max_fun):
    from chainrule import MLPClassifier

    def run(X, y):
        return MLPClassifier(solver="lbfgs", hidden_layer_sizes=HIDDEN, max_iter=10**9, max_fun=max_fun, tol=0,
                             random_state=0).fit(X, y)
    return run


def data_sets(quick):
    """``{name: (X, y)}``, standardised float64: digits, and the synthetic set (smaller with ``quick``)."""
    from sklearn.datasets import load_digits, make_classification
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    rows, features = (2_000, 20) if quick else (50_000, 100)
    Xs, ys = make_classification(rows, features, n_informative=features // 2, n_classes=10, random_state=0)
    if quick:
        X, y = X[:300], y[:300]
    return {"digits": (StandardScaler().fit_transform(X), y),
            "synthetic": (StandardScaler().fit_transform(Xs), ys)}


def time_fits(contenders, X, y, rounds):
    """Every contender once per round; returns ``{name: [(seconds, evaluations, final loss), ...]}``."""
    from sklearn.exceptions import ConvergenceWarning

    runs = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, run in contenders.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)   # max_fun reached: the point of the run
                started = time.perf_counter()
                model = run(X, y)
                seconds = time.perf_counter() - started
            runs[name].append((seconds, model._lbfgs_evaluations, model.loss_))
    return runs


def table(data, max_funs, rounds, emit=print):
    """One row per data set, dtype and contender; returns the rows as dicts."""
    emit(f"{'data set':<11}{'dtype':<9}{'contender':<11}{'nfev':>6}{'seconds':>9}{'ms/eval':>9}{'final loss':>12}"
         f"{'spread':>8}{'sklearn/cr per eval':>21}")
    rows = []
    for name, (X, y) in data.items():
        for dtype in (np.float64, np.float32):
            Xd = X.astype(dtype)
            contenders = {"sklearn": sklearn_factory(max_funs[name]), "chainrule": chainrule_factory(max_funs[name])}
            runs = time_fits(contenders, Xd, y, rounds)
            per_eval = {who: [s / n for s, n, _ in results] for who, results in runs.items()}
            ratio = paired_ratio(per_eval, "sklearn", "chainrule")
            for who, results in runs.items():
                row = dict(data=name, dtype=np.dtype(dtype).name, contender=who,
                           nfev=statistics.median(n for _, n, _ in results),
                           seconds=statistics.median(s for s, _, _ in results),
                           ms_per_eval=1e3 * statistics.median(per_eval[who]), loss=results[-1][2],
                           spread=spread([s for s, _, _ in results]), ratio=ratio)
                rows.append(row)
                emit(f"{name:<11}{row['dtype']:<9}{who:<11}{row['nfev']:>6.0f}{row['seconds']:>9.3f}"
                     f"{row['ms_per_eval']:>9.2f}{row['loss']:>12.5f}{row['spread']:>7.0%}"
                     f"{f'{ratio:.2f}' if who == 'chainrule' else '':>21}")
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="small data, few evaluations, one round: a smoke test")
    parser.add_argument("--threads", type=int, help="BLAS threads for both (default: all BLAS has); on a busy "
                                                    "machine 1 gives steadier figures")
    args = parser.parse_args()
    rounds = 1 if args.quick else args.rounds
    max_funs = {"digits": 10, "synthetic": 5} if args.quick else {"digits": 200, "synthetic": 30}
    threads = args.threads or blas_threads()
    print(f"L-BFGS-B on an MLP of {HIDDEN[0]} ReLU units until max_fun evaluations (digits {max_funs['digits']}, "
          f"synthetic {max_funs['synthetic']}), tol=0; {threads} BLAS thread(s); medians of {rounds} interleaved "
          f"round(s)")
    with blas_limit(threads):
        table(data_sets(args.quick), max_funs, rounds)


if __name__ == "__main__":
    cleanup.run(main)
