"""Headless Chromium for the browser tests and the studio latency benchmark: one way to start it.

The flags keep Chromium off the network (this machine's closed network refuses its background connections) and
need no display. ``start`` raises ``BrowserMissing`` where Debian's chromium and chromium-driver are absent;
``make test`` installs them as root.
"""

import shutil

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")
MISSING = "Debian's chromium and chromium-driver are not installed (make test installs them as root)"


class BrowserMissing(RuntimeError):
    pass


def start(width: int, height: int):
    """A selenium driver of headless Chromium with a ``width`` x ``height`` window and the browser log kept."""
    from selenium import webdriver     # a test dependency; only the system browser may be absent
    from selenium.webdriver.chrome.service import Service

    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and chromedriver):
        raise BrowserMissing(MISSING)
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in FLAGS + (f"--window-size={width},{height}",):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(chromedriver), options=options)
