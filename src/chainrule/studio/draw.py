"""Weights for a neuron or a layer the learner adds in the studio: small random numbers drawn from a seed.

Equal starting weights make the neurons of a layer compute the same thing and receive the same gradient, so the
layer can never learn to tell them apart; equal and opposite weights above a layer can cancel every gradient below
it to exactly 0. So each new weight is drawn: its size uniform in [``LOW``, ``HIGH``], small enough
that a sigmoid or tanh neuron starts in its steep middle and never 0, its sign at random, rounded to ``PLACES``
decimals as a textbook prints its example weights; no two new neurons share a row of weights. The seed is the
page's, shown beside the new weights and kept in its address, so the same seed gives the same network.
"""

import numpy as np

LOW, HIGH, PLACES = 0.05, 0.5, 2
MAX_TRIES = 100        # draws of a matrix until its rows differ (each draw is almost always the first)


def draw(shapes: list[tuple[int, int]], seed: int) -> list[list[list[float]]]:
    """One ``rows x columns`` matrix per shape, in order, from one generator seeded with ``seed``."""
    rng = np.random.default_rng(seed)
    matrices = []
    for rows, columns in shapes:
        for _ in range(MAX_TRIES):
            sizes = rng.uniform(LOW, HIGH, size=(rows, columns))
            signs = rng.choice((-1.0, 1.0), size=(rows, columns))
            matrix = np.round(sizes * signs, PLACES).tolist()
            if len({tuple(row) for row in matrix}) == rows:
                break
        matrices.append(matrix)
    return matrices
