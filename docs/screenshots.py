"""The pictures in docs/, made again from the code as it is: the studio at 1300 px and on a 420 px phone, the HTML
explanation at 420 and 1100 px, and the training curves and decision regions the README shows.

Run from the repository root (headless Chromium, as the browser tests start it)::

    python docs/screenshots.py                  # docs/*.png and docs/screenshots/after-*.png
    python docs/screenshots.py --prefix before --studio-only   # docs/screenshots/before-*.png only

Point ``PYTHONPATH`` at another checkout's ``src`` to photograph that version's studio with the same script.
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DOCS = Path(__file__).resolve().parent
SHOTS = DOCS / "screenshots"
PHONE, DESKTOP = (420, 900), (1300, 1000)


def browser():
    sys.path.insert(0, str(DOCS.parent / "tests"))
    from browser import start              # the tests' own way of starting headless Chromium

    return start(*DESKTOP)


def emulate(driver, width: int, height: int):
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                                                                  "deviceScaleFactor": 1, "mobile": width < 600})


def settled(driver, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if driver.execute_script("const s = window.studio; return s && s.sent > 0 && s.done >= s.sent && "
                                 "!s.pending"):
            return
        time.sleep(0.02)
    raise TimeoutError("the studio page did not settle")


def shoot(driver, path: Path, width: int, height: int, full: bool = False, limit: int = 6000):
    """A screenshot of the viewport, or with ``full`` of the whole page (at most ``limit`` pixels tall)."""
    if full:
        emulate(driver, width, 400)        # the page's own height, not the viewport's
        time.sleep(0.2)
        height = min(limit, driver.execute_script("return document.documentElement.scrollHeight"))
    emulate(driver, width, height)
    time.sleep(0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    print(path.relative_to(DOCS.parent))


TAP = """
const label = [...document.querySelectorAll('#derivation svg text')].find((t) => t.textContent.startsWith('w₁ = '));
label.scrollIntoView({block: 'center'});
label.dispatchEvent(new MouseEvent('click', {bubbles: true}));
"""


CLOSE_DRAWER = """
window.scrollTo(0, 0);
const toggle = document.querySelector('#drawer-toggle');       // the phone's drawer, where the page has one
if (toggle && toggle.getAttribute('aria-expanded') === 'true') toggle.click();
"""


def edit_w1(driver, value: str):
    """As a learner does it: a tap on w₁ in the diagram selects its box; type the new value there."""
    from selenium.webdriver.common.keys import Keys

    driver.execute_script(TAP)
    time.sleep(0.4)                         # the page's own scrolling, and a drawer sliding up
    field = driver.switch_to.active_element
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(value)
    time.sleep(0.3)                         # past the debounce of typing, where the page has one
    settled(driver)
    time.sleep(0.3)


def studio_shots(driver, url: str, prefix: str, readme: bool):
    """The explain tab (the first screen; w₁ edited to 0.6, as the README shows it; the whole page) and the train
    tab after 60 epochs of moons, at 1300 px and on a 420 px phone."""
    for width, height in (DESKTOP, PHONE):
        emulate(driver, width, height)
        driver.get(url)
        settled(driver)
        time.sleep(0.3)
        shoot(driver, SHOTS / f"{prefix}-studio-{width}.png", width, height)
        edit_w1(driver, "0.6")
        shoot(driver, SHOTS / f"{prefix}-studio-{width}-editing.png", width, height)
        if readme and width == DESKTOP[0]:
            driver.execute_script("window.scrollTo(0, 0)")
            shoot(driver, DOCS / "studio.png", width, 857)
        driver.execute_script(CLOSE_DRAWER)
        shoot(driver, SHOTS / f"{prefix}-studio-{width}-page.png", width, height, full=True)
    for width, height in (DESKTOP, PHONE):
        emulate(driver, width, height)
        driver.get(url)
        settled(driver)
        driver.find_element("css selector", "#tab-train").click()
        driver.execute_script("""
            document.querySelector('#data').value = 'moons';
            document.querySelector('#data').dispatchEvent(new Event('change', {bubbles: true}));
            document.querySelector('#epochs').value = '60';
            document.querySelector('#train-start').click();""")
        deadline = time.monotonic() + 180
        while "done" not in driver.find_element("css selector", "#train-status").text:
            if time.monotonic() > deadline:
                raise TimeoutError("training in the studio did not finish")
            time.sleep(0.2)
        time.sleep(0.3)
        if width == PHONE[0]:              # the charts, below the controls on a phone
            driver.execute_script("document.querySelector('.charts').scrollIntoView()")
        shoot(driver, SHOTS / f"{prefix}-train-{width}.png", width, height)
        if readme and width == DESKTOP[0]:
            shoot(driver, DOCS / "studio-train.png", width, 857)


def explanation_shots(driver):
    """The HTML that ``chainrule explain --format html`` writes, at 420 and 1100 px (the README's pair)."""
    import chainrule as cr

    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / "seed.html"
        page.write_text(cr.explain().to_html(), encoding="utf-8")
        for width in (420, 1100):
            emulate(driver, width, 900)
            driver.get(page.as_uri())
            shoot(driver, DOCS / f"explain-{width}.png", width, 900, full=True, limit=2400)


def plot_shots():
    """The training curves on digits and the decision regions on moons, drawn by ``chainrule plot``."""
    chainrule = [sys.executable, "-m", "chainrule"]
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run([*chainrule, "train", "--data", "digits", "--hidden", "64", "--epochs", "15",
                        "--validation-split", "0.1", "--plot", folder, "--out", f"{folder}/digits-64.npz",
                        "--quiet"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([*chainrule, "plot", "curves", f"{folder}/history.json", "--out", str(DOCS / "curves.png")],
                       check=True)
    subprocess.run([*chainrule, "plot", "regions", "--data", "moons", "--epochs", "60", "--out",
                    str(DOCS / "regions.png")], check=True)
    print("docs/curves.png\ndocs/regions.png")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prefix", default="after", help="name of the docs/screenshots/ set (default: after)")
    parser.add_argument("--studio-only", action="store_true", help="only the studio's docs/screenshots/ set")
    args = parser.parse_args(argv)
    from chainrule.studio import Running

    driver = browser()
    try:
        with Running() as studio:
            studio_shots(driver, studio.url, args.prefix, readme=not args.studio_only)
        if not args.studio_only:
            explanation_shots(driver)
    finally:
        driver.quit()
    if not args.studio_only:
        plot_shots()
    return 0


if __name__ == "__main__":
    sys.exit(main())
