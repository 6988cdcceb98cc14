"""Grading speed: a class of worked solutions of a 2-2-2 full step (39 numbers each) through everything
`chainrule grade` does: reading each file, grading with error carried forward, the gradebook, the LMS grade files,
the class summary and every student's feedback. A third of the class slips once, a sixth makes an early slip and
carries it through every later number, one in fifty leaves a line blank or unreadable.

Run: .venv/bin/python benchmarks/grade_speed.py [COUNT]   (default 1000; target: under 10 s for 1000)
"""

import json
import sys
import time
from types import SimpleNamespace

import numpy as np

import cleanup
from chainrule.teach import exercise_document, make_exercise
from chainrule.teach.grade import grade, load_task
from chainrule.teach.outputs import grade_outputs, write_outputs


def answers_for(ex, k: int, rng) -> dict[str, str]:
    answers = {name: ex.answer_text(name) for name in ex.asked}
    if k % 3 == 1:                                    # one slip, not carried
        name = ex.asked[int(rng.integers(len(ex.asked)))]
        answers[name] = f"{float(answers[name]) + 0.05:.4f}"
    if k % 6 == 2:                                    # an early slip, carried through every later number
        from chainrule.explainer import derive, parse_spec
        from chainrule.explainer.spec import Claim

        spec = parse_spec(ex.document, "slip")
        spec.claims = [Claim("z1", 0.83, __import__("decimal").Decimal("0.8300"))]
        carried = derive(spec)
        answers = {name: ex.precision.text(value) if hasattr(ex, "precision") else f"{value:.4g}"
                   for name, value in _own_pass(carried, ex).items()}
        answers["z1"] = "0.8300"
    if k % 50 == 7:                                   # a blank and an unreadable line
        answers["z1"], answers["a1"] = "", "0.69.4"
    return answers


def _own_pass(carried, ex) -> dict[str, float]:
    """Each asked quantity as the author pass computes it from the printed slip (what a careful student gets)."""
    from chainrule.explainer.audit import author_pass, places_of

    spec = carried.spec
    printed = {"z1": 0.83}
    values = author_pass(spec, spec.learning_rate, printed, places_of(spec))
    return {name: values.get(name, ex.derivation.values[name]) for name in ex.asked}


def main(count: int = 1000) -> None:
    ex = make_exercise((2, 2, 2), "sigmoid", "softmax", seed=7)
    rng = np.random.default_rng(0)
    with cleanup.temporary_folder() as folder:
        (folder / "exercise.json").write_text(json.dumps(exercise_document(ex)))
        subs = folder / "submissions"
        subs.mkdir()
        for k in range(count):
            lines = [f"id = s{k:04d}"] + [f"{n} = {v}" for n, v in answers_for(ex, k, rng).items()]
            (subs / f"s{k:04d}.txt").write_text("\n".join(lines) + "\n")
        args = SimpleNamespace(out=folder / "gradebook.csv", moodle_grades=folder / "moodle.csv",
                               canvas_grades=folder / "canvas.csv", assignment="Backpropagation",
                               summary=None, feedback=folder / "feedback", feedback_format="markdown",
                               feedback_answers=False)
        start, cpu = time.perf_counter(), time.process_time()
        task = load_task(folder / "exercise.json")
        results = grade(task, [subs])
        graded = time.perf_counter() - start
        write_outputs(grade_outputs(results, task, args), force=False)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        written = len(list((folder / "feedback").iterdir()))
    carried = sum(r.carried_from_slip > 0 for r in results)
    print(f"graded {len(results)} submissions of {len(ex.asked)} numbers ({carried} with carried marks, "
          f"{written} feedback files) in {seconds:.2f} s wall ({graded:.2f} s grading, the rest writing), "
          f"{cpu:.2f} s of this process's CPU; {1000 * seconds / len(results):.1f} ms each; target: under 10 s "
          f"for 1000")


if __name__ == "__main__":
    cleanup.run(lambda: main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000))
