#!/usr/bin/env python3
"""Drives the runtime UI (/ui/) in headless Chromium (Debian's, via Playwright for Python;
no browser download) against a running stack. Called by query/tests/ui.rs with a JSON
argument:

  {"url", "token", "project", "python", "app", "workdir", "shots", "bom", "chromium"}
  {"mode": "clickhouse-down", "url", "token", "project", "shots", "chromium"}: with ClickHouse
  stopped, the projects page and the Runtime tab must show the 503 and what to do.

It signs in with the token, opens the project's Runtime tab, starts a 10 s scan from the form
with the keyboard only, runs the example app's load phase while the scan runs (the live feed
must move), waits for the scan to complete and list the example's held model with its license
and sha256, opens the artifact and downloads the CycloneDX BOM (to `bom`; the caller validates
it). A second scan is stopped early with the Stop button. Screenshots of each page go to
`shots`. Any console error, page error or failed request of the page fails the run.
Exits 0 and prints `UI OK` on success; else prints what failed and exits 1.
"""
import json
import re
import subprocess
import sys
import time

from playwright.sync_api import expect, sync_playwright

cfg = json.loads(sys.argv[1])
BASE = cfg["url"].rstrip("/")
SHA = re.compile(r"^[0-9a-f]{64}$")
problems = []


def step(msg):
    print(f"ui: {msg}", flush=True)


def shot(page, name):
    page.screenshot(path=f"{cfg['shots']}/{name}.png", full_page=True)


def tab_until(page, pred, limit=60):
    """Presses Tab until `pred(active element info)`; returns the focused element's info."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        info = page.evaluate(
            """() => { const e = document.activeElement;
                 const s = getComputedStyle(e);
                 return {id: e.id, tag: e.tagName, text: (e.textContent || '').trim().slice(0, 40),
                         outline: s.outlineStyle, outlineWidth: s.outlineWidth}; }"""
        )
        if pred(info):
            return info
    raise AssertionError("Tab never reached the control")


def focus_visible(info):
    assert info["outline"] != "none" and info["outlineWidth"] != "0px", f"no visible focus: {info}"


with sync_playwright() as pw:
    browser = pw.chromium.launch(
        executable_path=cfg["chromium"],
        headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    )
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = ctx.new_page()
    page.on("console", lambda m: m.type == "error" and problems.append(f"console error: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on(
        "requestfailed",
        lambda r: (r.failure or "") != "net::ERR_ABORTED" and problems.append(f"request failed: {r.url} {r.failure}"),
    )
    page.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"))

    # The page and its headers.
    resp = page.goto(f"{BASE}/ui/")
    csp = resp.headers.get("content-security-policy", "")
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, csp
    assert resp.headers.get("x-content-type-options") == "nosniff"
    assert resp.headers.get("referrer-policy") == "no-referrer"

    # Sign in: the token form, keyboard only.
    step("sign in")
    expect(page.locator("#token")).to_be_focused()
    shot(page, "sign-in")
    page.keyboard.type(cfg["token"])
    page.keyboard.press("Enter")
    assert page.evaluate("() => sessionStorage.getItem('aibom.token')") == cfg["token"]
    assert cfg["token"] not in page.url

    if cfg.get("mode") == "clickhouse-down":
        # ClickHouse stopped: the pages say so plainly (503) and what to do.
        step("ClickHouse down")
        err = page.locator(".error").first
        expect(err).to_contain_text("503", timeout=30000)
        expect(err).to_contain_text("scripts/stack")
        shot(page, "clickhouse-down")
        page.goto(f"{BASE}/ui/#/projects/{cfg['project']}")
        expect(page.locator(".error").first).to_contain_text("503", timeout=30000)
        expect(page.locator("#feed-status")).to_contain_text("503", timeout=15000)
        ctx.close()
        browser.close()
        # The 503 answers themselves are expected here; nothing else is.
        problems = [
            p for p in problems if not (p.startswith("HTTP 503") or ("console error" in p and "status of 503" in p))
        ]
        if problems:
            print("\n".join(problems), file=sys.stderr)
            sys.exit(1)
        print("UI OK (ClickHouse down)")
        sys.exit(0)

    # Projects: the example's project is listed (its held model's events arrive within seconds).
    step("projects")
    link = page.locator("a.project-link", has_text=cfg["project"])
    for _ in range(60):
        if link.count():
            break
        time.sleep(1)
        page.evaluate("() => window.dispatchEvent(new HashChangeEvent('hashchange'))")
    expect(link).to_be_visible()
    shot(page, "projects")
    # Keyboard: the main navigation is reachable with Tab, focus visible.
    page.locator("body").focus()
    focus_visible(tab_until(page, lambda i: i["id"] == "nav-projects"))
    focus_visible(tab_until(page, lambda i: i["id"] == "nav-scans"))

    # The project's Runtime tab.
    step("runtime tab")
    link.click()
    expect(page.locator("h2", has_text="By license")).to_be_visible(timeout=30000)
    expect(page.locator("#feed-status")).to_have_text("live", timeout=15000)
    time.sleep(1.5)  # a chart tick
    shot(page, "runtime")

    # Scans: the form, by keyboard only (Tab to each field, Enter starts).
    step("start a 10 s scan by keyboard")
    page.locator("#nav-scans").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#scan-form")).to_be_visible()
    page.locator("body").focus()
    focus_visible(tab_until(page, lambda i: i["id"] == "scan-project-input"))
    page.keyboard.press("Control+A")
    page.keyboard.type(cfg["project"])
    tab_until(page, lambda i: i["id"] == "scan-duration", limit=2)
    page.keyboard.press("Control+A")
    page.keyboard.type("10")
    focus_visible(tab_until(page, lambda i: i["id"] == "scan-start", limit=2))
    shot(page, "scans")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"#/scans/[0-9a-f-]{36}$"))
    scan_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("#scan-state")).to_have_text("running", timeout=30000)
    expect(page.locator("#feed-status")).to_have_text("live", timeout=15000)

    # While it runs, the example loads its artifacts: the live feed moves.
    step("the live feed moves")
    before = int(page.locator("#feed-count").inner_text().replace(",", ""))
    load = subprocess.run(
        [cfg["python"], cfg["app"], "--workdir", cfg["workdir"], "--phase", "load"],
        env={"AIBOM_PROJECT": cfg["project"], "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert load.returncode == 0, load.stderr
    deadline = time.time() + 30
    while int(page.locator("#feed-count").inner_text().replace(",", "")) <= before:
        assert time.time() < deadline, "the live feed did not move"
        time.sleep(0.5)
    assert page.locator("#feed li").count() > 0
    shot(page, "scan-running")

    # Completed: the example's held model, found by the inventory, with license and sha256.
    step("the scan completes and lists the model")
    expect(page.locator("#scan-state")).to_have_text("completed", timeout=60000)
    row = None
    deadline = time.time() + 60
    while row is None:
        for r in page.locator("table tbody tr").all():
            cells = [c.inner_text().strip() for c in r.locator("td").all()]
            # Artifact, Type, License, Format, sha256, Found by, Processes, Path
            if len(cells) == 8 and cells[3] == "safetensors" and "inventory" in cells[5]:
                row = (r, cells)
                break
        if row is None:
            assert time.time() < deadline, "the held model is not in the scan's results"
            time.sleep(1)
    r, cells = row
    assert cells[1] == "model", cells
    assert cells[2] not in ("", "(unknown)", "—"), f"no license: {cells}"
    assert SHA.match(cells[4]), f"no sha256: {cells}"
    license_, sha = cells[2], cells[4]
    shot(page, "scan")

    # The artifact: identity, sha256, who loaded it; the BOM downloads.
    step("artifact detail and BOM")
    r.locator("a.artifact-link").click()
    expect(page.locator("#artifact-identity")).to_be_visible(timeout=30000)
    expect(page.locator("#artifact-identity")).to_contain_text(license_)
    expect(page.locator("#artifact-sha256")).to_contain_text(sha)
    expect(page.locator("h2", has_text="Loaded by")).to_be_visible()
    shot(page, "artifact")
    page.locator("body").focus()
    focus_visible(tab_until(page, lambda i: i["id"] == "dl-cyclonedx"))
    with page.expect_download() as dl:
        page.keyboard.press("Enter")
    dl.value.save_as(cfg["bom"])
    bom = json.load(open(cfg["bom"]))
    assert bom.get("bomFormat") == "CycloneDX", bom.keys()
    assert sha in json.dumps(bom), "the BOM lacks the model's sha256"

    # Stop early: a 60 s scan stopped with the button is completed at once.
    step("stop a scan early")
    page.goto(f"{BASE}/ui/#/scans?project={cfg['project']}")
    page.locator("#scan-duration").fill("60")
    page.locator("#scan-start").click()
    expect(page.locator("#scan-state")).to_have_text("running", timeout=30000)
    page.locator("#scan-stop").click()
    expect(page.locator("#scan-state")).to_have_text("completed", timeout=10000)
    expect(page.locator("#scan-stop")).to_be_hidden()

    page.wait_for_timeout(500)
    ctx.close()
    browser.close()

if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
print(f"UI OK (scan {scan_id})")
