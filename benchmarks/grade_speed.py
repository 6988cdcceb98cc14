"""Grading speed: 300 worked solutions of a 2-2-2 full step (39 numbers each), some with slips, some broken.

Run: .venv/bin/python benchmarks/grade_speed.py [COUNT]   (prints the time; target: under 10 s for 300)
"""

import json
import sys
import time

import numpy as np

from chainrule.teach import exercise_document, make_exercise
from chainrule.teach.grade import grade, load_task
import cleanup


def main(count: int = 300) -> None:
    ex = make_exercise((2, 2, 2), "sigmoid", "softmax", seed=7)
    rng = np.random.default_rng(0)
    with cleanup.temporary_folder() as folder:
        (folder / "exercise.json").write_text(json.dumps(exercise_document(ex)))
        subs = folder / "submissions"
        subs.mkdir()
        for k in range(count):
            answers = {name: ex.answer_text(name) for name in ex.asked}
            if k % 3 == 1:                                    # one slip, not carried
                name = ex.asked[int(rng.integers(len(ex.asked)))]
                answers[name] = f"{float(answers[name]) + 0.05:.4f}"
            if k % 50 == 7:                                   # broken: a non-number
                answers["z1"] = "n/a"
            (subs / f"s{k:03d}.txt").write_text("\n".join(f"{n} = {v}" for n, v in answers.items()))
        start, cpu = time.perf_counter(), time.process_time()
        results = grade(load_task(folder / "exercise.json"), [subs])
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    broken = sum(bool(r.problem) for r in results)
    print(f"graded {len(results)} submissions of {len(ex.asked)} numbers ({broken} broken, reported) in "
          f"{seconds:.2f} s wall, {cpu:.2f} s of CPU ({1000 * seconds / len(results):.1f} ms each; target: "
          f"under 10 s for 300)")


if __name__ == "__main__":
    cleanup.run(lambda: main(int(sys.argv[1]) if len(sys.argv) > 1 else 300))
