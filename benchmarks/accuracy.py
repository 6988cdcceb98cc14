"""Test accuracy on scikit-learn's bundled data sets: a 25% stratified test split (split seed 0), input
standardisation fitted on the training part, Adam, batch 32. Prints the accuracy with network seed 0 (the figure
the targets refer to), the mean and minimum over network seeds 0-4, and the training time.

    python benchmarks/accuracy.py
"""

import time

import numpy as np

import chainrule as cr

#: per data set: hidden widths, activation, epochs, learning rate, dropout, weight decay, and the target accuracy
RECIPES = {
    "digits": dict(hidden=[128, 64], activation="relu", epochs=40, lr=1e-3, dropout=0.2, weight_decay=0.0,
                   target=0.975),
    "iris": dict(hidden=[32], activation="relu", epochs=100, lr=1e-2, dropout=0.0, weight_decay=0.0, target=0.95),
    "wine": dict(hidden=[32], activation="relu", epochs=100, lr=1e-2, dropout=0.0, weight_decay=0.0, target=0.97),
    "breast_cancer": dict(hidden=[64], activation="tanh", epochs=30, lr=1e-3, dropout=0.3, weight_decay=0.03,
                          target=0.96),
}


def train(name: str, seed: int = 0):
    """Train one recipe; returns (test accuracy, seconds spent in fit)."""
    recipe = RECIPES[name]
    data = cr.datasets.load(name)
    X_train, X_test, y_train, y_test = cr.datasets.train_test_split(data, test_size=0.25, seed=0)
    net = cr.mlp([data.X.shape[1], *recipe["hidden"], len(data.class_names)], recipe["activation"],
                 dropout=recipe["dropout"], seed=seed)
    started = time.perf_counter()
    net.fit(X_train, y_train, epochs=recipe["epochs"], batch_size=32, standardize=True, verbose=0, seed=seed,
            optimizer=cr.Adam(lr=recipe["lr"], weight_decay=recipe["weight_decay"]))
    seconds = time.perf_counter() - started
    return net.evaluate(X_test, y_test)["accuracy"], seconds


def main():
    print(f"{'data set':<15}{'network':<22}{'target':>8}{'seed 0':>9}{'mean 0-4':>10}{'min 0-4':>9}{'fit s':>7}")
    for name, recipe in RECIPES.items():
        runs = [train(name, seed) for seed in range(5)]
        accuracies = [a for a, _ in runs]
        network = "-".join(map(str, recipe["hidden"])) + f" {recipe['activation']}, {recipe['epochs']} ep"
        print(f"{name:<15}{network:<22}{recipe['target']:>8.1%}{accuracies[0]:>9.2%}{np.mean(accuracies):>10.2%}"
              f"{min(accuracies):>9.2%}{runs[0][1]:>7.2f}")


if __name__ == "__main__":
    main()
