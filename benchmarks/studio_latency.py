"""Edit-to-update latency of chainrule studio for the seed network, in headless Chromium.

Each round sets w1 to a new value in the page (as typing a whole number does: one input event) and waits until the
page shows the updated derivation; the page records the time from the input event to the first animation frame
after the update. Rounds are PAUSE seconds apart: the page gathers changes that follow one another within 150 ms
into one request sent 150 ms after the last (typing is debounced), so each round is a separate edit, sent at once. Printed beside it: the server's own time per request (derive, audit, render), and the same
request timed without a browser. Run: ``python benchmarks/studio_latency.py [rounds]``.
"""

import json
from pathlib import Path
import statistics
import sys
import time
import urllib.request

from chainrule.studio import Running


def browser():
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from browser import start              # the tests' own way of starting headless Chromium

    return start(1300, 1000)


EDIT = """
const [value, done] = arguments;
const field = document.querySelector('[data-path="layers[0].weights[0][0]"]');
const before = window.studio.timings.length;
field.value = value;
field.dispatchEvent(new Event('input', {bubbles: true}));
const wait = () => window.studio.timings.length > before ? done(window.studio.timings[before]) : setTimeout(wait, 2);
wait();
"""


def wait_ready(driver, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if driver.execute_script("return window.studio && window.studio.done >= 1 && window.studio.last !== null"):
            return
        time.sleep(0.05)
    raise TimeoutError("the studio page did not load")


PAUSE = 0.2         # seconds between edits: longer than the page's debounce of typing (150 ms)


def edit_latencies(url, rounds: int) -> tuple[list[float], list[float]]:
    """(page latencies, server times) in ms for ``rounds`` edits of w1, after 3 warm-up edits."""
    driver = browser()
    try:
        driver.get(url)
        wait_ready(driver)
        page, server = [], []
        for k in range(rounds + 3):
            time.sleep(PAUSE)
            latency = driver.execute_async_script(EDIT, f"{0.2 + 0.01 * (k + 1):.2f}")
            if k >= 3:
                page.append(latency)
                server.append(driver.execute_script("return window.studio.last.server_ms"))
        return page, server
    finally:
        driver.quit()


def direct(url, rounds: int) -> list[float]:
    """The same request without a browser: one POST, answer read, in ms."""
    spec = json.loads(urllib.request.urlopen(url + "api/example/seed_article").read())
    times = []
    for k in range(rounds + 3):
        spec["spec"]["layers"][0]["weights"][0][0] = 0.2 + 0.01 * (k + 1)
        body = json.dumps({"spec": spec["spec"], "claims": spec["claims"], "step": 1}).encode()
        started = time.perf_counter()
        request = urllib.request.Request(url + "api/explain", body, {"Content-Type": "application/json"})
        urllib.request.urlopen(request).read()
        if k >= 3:
            times.append(1000 * (time.perf_counter() - started))
    return times


def main(rounds: int = 20) -> dict:
    with Running() as studio:
        plain = direct(studio.url, rounds)
        page, server = edit_latencies(studio.url, rounds)
    figures = {"page": page, "server": server, "request": plain}
    print(f"chainrule studio, seed network, {rounds} edits of w1 (milliseconds; target: page median under 100)")
    print(f"{'':34}{'median':>8}{'p90':>8}{'max':>8}")
    for label, key in (("edit to updated page (Chromium)", "page"), ("server: derive, audit, render", "server"),
                       ("one request, no browser", "request")):
        values = sorted(figures[key])
        print(f"{label:34}{statistics.median(values):8.1f}{values[int(0.9 * (len(values) - 1))]:8.1f}{values[-1]:8.1f}")
    return figures


if __name__ == "__main__":
    import cleanup           # here, not above: the browser test loads this file without benchmarks/ on the path

    cleanup.run(lambda: main(int(sys.argv[1]) if len(sys.argv) > 1 else 20))   # stopped, Chromium is quit too
