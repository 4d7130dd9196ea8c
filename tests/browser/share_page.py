#!/usr/bin/env python3
"""Opens a Dashkeep share page in Debian's Chromium (headless, driven by the system chromedriver
through Selenium) and reports what a viewer sees, as JSON on stdout:

    share_page.py PAGE_LINK TAMPERED_LINK EXPIRED_LINK SCREENSHOT.png

- the page's link: the video plays, its currentTime passes 2 s, and the chart's cursor and the
  track's marker move with it; every request the page made is to the page's own origin;
- the tampered and the expired link: the text the server answered with.

Needs: chromium, chromium-driver (Debian), selenium (PyPI). Exits 2 naming what is missing.
"""

import json
import shutil
import sys
import time
from urllib.parse import urlsplit

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(2)


try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
except ImportError:
    fail("selenium is not installed: python3 -m pip install selenium")
if not CHROMIUM or not DRIVER:
    fail("Debian's chromium and chromium-driver are needed: apt-get install chromium chromium-driver")


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--mute-audio",
                "--autoplay-policy=no-user-gesture-required", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-background-networking", "--disable-sync",
                "--disable-component-update", "--disable-default-apps"):
        options.add_argument(arg)
    # A phone's screen: 412 x 915 CSS pixels at 2.625 device pixels each (a Pixel 7).
    options.add_experimental_option("mobileEmulation", {
        "deviceMetrics": {"width": 412, "height": 915, "pixelRatio": 2.625}})
    return webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)


def state(d):
    return d.execute_script("""
        const v = document.getElementById('video'), c = document.getElementById('cursor'),
              m = document.getElementById('marker'), msg = document.getElementById('message');
        return {t: v.currentTime, ready: v.readyState, paused: v.paused,
                error: v.error ? v.error.code : null,
                cursor: c ? parseFloat(c.getAttribute('x1')) : null,
                marker: m ? [parseFloat(m.getAttribute('cx')), parseFloat(m.getAttribute('cy'))] : null,
                message: msg.hidden ? null : msg.textContent,
                title: document.getElementById('title').textContent,
                when: document.getElementById('when').textContent,
                where: document.getElementById('where').textContent,
                width: document.documentElement.scrollWidth};
    """)


def watch_page(d, link, screenshot):
    d.get(link)
    deadline = time.time() + 20
    while state(d)["ready"] < 1 and state(d)["error"] is None and time.time() < deadline:
        time.sleep(0.1)
    before = state(d)
    d.execute_script("const v = document.getElementById('video'); v.muted = true; v.play();")
    deadline = time.time() + 25
    now = state(d)
    while now["t"] <= 2.3 and now["error"] is None and time.time() < deadline:
        time.sleep(0.1)
        now = state(d)
    time.sleep(0.4)  # let the cursor follow the last frame
    now = state(d)
    d.execute_script("document.getElementById('video').pause();")
    d.execute_script("window.scrollTo(0, 0);")
    d.save_screenshot(screenshot)
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(d.current_url))
    requests = d.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name);")
    requests.append(d.current_url)
    return {"before": before, "after": now,
            "foreign_requests": [r for r in requests if not r.startswith(origin)],
            "requests": len(requests)}


def refusal(d, link):
    d.get(link)
    return d.execute_script("return document.body ? document.body.innerText : '';")


def main():
    if len(sys.argv) != 5:
        fail(__doc__)
    page, tampered, expired, screenshot = sys.argv[1:]
    d = browser()
    try:
        report = {"page": watch_page(d, page, screenshot),
                  "tampered": refusal(d, tampered),
                  "expired": refusal(d, expired),
                  "chromium": d.capabilities.get("browserVersion")}
    finally:
        d.quit()
    print(json.dumps(report))


main()
