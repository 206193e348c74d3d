"""The HTML report: self-contained, escaped, and rendered by headless Chromium without errors.

The Chromium checks drive the Debian ``chromium`` package through the Chrome
DevTools protocol over a pipe (``--remote-debugging-pipe``: JSON messages ending
in a NUL byte on file descriptors 3 and 4), so that no browser download or
websocket library is needed. They skip, saying why, when Chromium is absent.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import select
import shutil
import subprocess
import time

import numpy as np
import pandas as pd
import pytest

from radiomix.model.evaluation import evaluate_cohort

from test_model_cohorts import signal_cohort

#: A patient ID that would run script if it reached the page unescaped (text and attribute contexts).
PAYLOAD = "<script>window.__radiomix_xss=1</script>\"'><img src=x onerror=\"window.__radiomix_xss=2\">"
FAST = {"n_estimators": 30, "max_depth_grid": [2], "min_child_weight_grid": [1.0], "n_outer_splits": 3,
        "n_repeats": 1, "n_inner_splits": 2, "n_bootstrap": 50, "n_shap_waterfalls": 3,
        "data_description": "Synthetic data <b>for a test</b>, not patients."}
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--window-size=1400,900"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    wide, clinical, _ = signal_cohort(n_patients=60, n_noise_features=3, seed=21, missing_mr=4)
    wide.loc[5, "patient_id"] = clinical.loc[5, "patient_id"] = PAYLOAD + "-kept"
    clinical = pd.concat([clinical, pd.DataFrame([{"patient_id": PAYLOAD, "age": 60.0, "sex": "F", "stage": 2,
                                                   "site": "site_A", "outcome": np.nan}])], ignore_index=True)
    wide.to_csv(folder / "features_wide.csv", index=False)
    clinical.to_csv(folder / "clinical.csv", index=False)
    codebook = pd.DataFrame({"column": [c for c in wide.columns if c != "patient_id"]})
    codebook["modality"] = codebook["column"].str.split("__").str[0]
    codebook["feature"] = codebook["column"].str.split("__").str[1]
    codebook["family"] = "statistics"
    codebook["name"] = "mean <i>intensity</i>"
    codebook["ibsi_code"] = "Q4LE"
    codebook.to_csv(folder / "codebook.csv", index=False)
    failures = pd.DataFrame([{"patient_id": PAYLOAD, "modality": "MR", "stage": "extract",
                              "error_type": "EmptyRoiError", "message": "mask <label 1> is empty & unusable"}])
    failures.to_csv(folder / "failures.csv", index=False)
    evaluate_cohort(folder / "features_wide.csv", folder / "clinical.csv", "outcome", folder / "out",
                    batch_column="site", settings=FAST, codebook_csv=folder / "codebook.csv",
                    failures_csv=folder / "failures.csv")
    path = folder / "out" / "report.html"
    return path, path.read_text(encoding="utf-8")


def test_report_is_self_contained(report):
    _, text = report
    assert "<script" not in text.lower()
    sources = re.findall(r"""\bsrc=["']([^"']*)""", text)
    assert len(sources) >= 6 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert not re.search(r"""(href|src)=["']?(https?:|//)""", text)
    assert "Content-Security-Policy" in text


def test_inputs_are_escaped(report):
    _, text = report
    text = text.replace("<wbr>", "")  # line-break opportunities after underscores in table cells
    assert PAYLOAD not in text and "<img src=x" not in text
    assert "&lt;script&gt;window.__radiomix_xss=1&lt;/script&gt;&quot;&#x27;&gt;&lt;img" in text
    assert "mask &lt;label 1&gt; is empty &amp; unusable" in text
    assert "mean &lt;i&gt;intensity&lt;/i&gt;" in text


def test_report_sections(report):
    _, text = report
    for anchor in ("cohort", "performance", "explanation", "features", "failures", "model-card"):
        assert f"id='{anchor}'" in text
    for expected in ("DeLong", "Calibration slope", "Contribution per modality", "EmptyRoiError", "Q4LE",
                     "sha256", "xgboost", "Excluded patients"):
        assert expected in text, expected


def test_summary_says_by_how_much_the_multimodal_model_differs_from_each_source(report):
    """The first screen gives multimodal minus each single source, as comparisons.csv has it."""
    path, text = report
    summary = text[text.index("<div class='summary'>"):]
    summary = summary[:summary.index("</div>")]
    comparisons = pd.read_csv(path.parent / "comparisons.csv")
    compared = comparisons[(comparisons["model_a"] == "multimodal") & (comparisons["status"] == "compared")]
    assert len(compared) >= 3
    for row in compared.itertuples(index=False):
        assert f"{row.model_b} {row.auroc_difference:+.3f} ({row.ci_low:.3f} to {row.ci_high:.3f})" in summary, \
            row.model_b


def test_event_counts_are_whole_numbers_and_match_metrics_csv(report):
    """The sample-size table shows counts as integers (15, not 15.00) equal to metrics.csv's, ratios with decimals."""
    path, text = report
    table = text[text.index("Events (smaller outcome class)"):]
    table = table[:table.index("</table>")]
    header = [h.replace("_<wbr>", "_") for h in re.findall(r"<th>(.*?)</th>", table)]
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", table)[1:]]
    metrics = pd.read_csv(path.parent / "metrics.csv")
    assert rows and "n_candidate_features" in header
    for cells in rows:
        model = cells[0].replace("_<wbr>", "_")
        for name, cell in zip(header[1:], cells[1:]):
            value = metrics[(metrics["model"] == model) & (metrics["metric"] == name)]["value"]
            if name == "events_per_candidate_feature":
                assert cell == f"{value.iloc[0]:.2f}", (model, name, cell)
            elif len(value) and not np.isnan(value.iloc[0]):
                assert cell == str(int(value.iloc[0])), (model, name, cell)


def _chromium() -> str:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.skip("chromium not installed (Debian: apt-get install chromium; `make test` installs it)")
    return binary


class DevTools:
    """A headless Chromium driven over ``--remote-debugging-pipe``."""

    def __init__(self, binary: str, profile: str, timeout_s: float = 60.0):
        commands_read, self._commands = os.pipe()
        self._replies, replies_write = os.pipe()
        # Chromium reads commands on descriptor 3 and writes replies on 4: the shell moves the pipes
        # there from its standard input and output.
        self.process = subprocess.Popen(
            ["/bin/sh", "-c", 'exec "$0" "$@" 3<&0 4>&1 </dev/null >/dev/null', binary, *CHROMIUM_FLAGS,
             f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank"],
            stdin=commands_read, stdout=replies_write, stderr=subprocess.DEVNULL)
        os.close(commands_read)
        os.close(replies_write)
        self.deadline = time.monotonic() + timeout_s
        self.events: list[dict] = []
        self._buffer = b""
        self._next_id = 0

    def _read_message(self) -> dict:
        while b"\0" not in self._buffer:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0 or not select.select([self._replies], [], [], remaining)[0]:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self._replies, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, session: str | None = None, **params) -> dict:
        """Send a command and return its result; events read meanwhile are kept in ``events``."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read_message()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, method: str) -> dict:
        """Wait for an event (or return one already received)."""
        for event in self.events:
            if event.get("method") == method:
                return event
        while True:
            event = self._read_message()
            self.events.append(event)
            if event.get("method") == method:
                return event

    def close(self):
        try:
            self.send("Browser.close")
        except (RuntimeError, TimeoutError, OSError):
            self.process.kill()
        self.process.wait(timeout=30)
        os.close(self._commands)
        os.close(self._replies)


def _errors(events: list[dict], session: str) -> list[str]:
    """Console errors, uncaught exceptions and error log entries (failed loads, CSP violations)."""
    found = []
    for event in events:
        if event.get("sessionId") != session:
            continue
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.exceptionThrown":
            found.append(f"exception: {params['exceptionDetails'].get('text')}")
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            found.append(f"console.{params['type']}: {params.get('args')}")
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            found.append(f"log: {params['entry'].get('text')}")
    return found


def render_in_chromium(path, profile, width: int, height: int = 900) -> dict:
    """Load a report at a window width: images, page text, overflow, console errors and screenshots."""
    browser = DevTools(_chromium(), str(profile))
    try:
        target = browser.send("Target.createTarget", url="about:blank")["targetId"]
        session = browser.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            browser.send(f"{domain}.enable", session)
        browser.send("Emulation.setDeviceMetricsOverride", session, width=width, height=height,
                     deviceScaleFactor=1, mobile=False)
        browser.send("Page.navigate", session, url=path.as_uri())
        browser.wait_for("Page.loadEventFired")
        images = browser.send("Runtime.evaluate", session, returnByValue=True, expression=(
            "Array.from(document.images).map(i => ({alt: i.alt, complete: i.complete, "
            "width: i.naturalWidth, height: i.naturalHeight, shown: i.getBoundingClientRect().width, "
            "right: i.getBoundingClientRect().right}))"))["result"]["value"]
        page = browser.send("Runtime.evaluate", session, returnByValue=True, expression=(
            "({xss: typeof window.__radiomix_xss, scripts: document.scripts.length, "
            "text: document.body.innerText, first_screen: document.body.innerText.slice(0, 1500), "
            "page_width: document.documentElement.scrollWidth, window_width: window.innerWidth, "
            "scrolling_tables: Array.from(document.querySelectorAll('.scroll'))"
            ".filter(d => d.scrollWidth > d.clientWidth + 1).length})"))["result"]["value"]
        first = browser.send("Page.captureScreenshot", session, format="png")
        full = browser.send("Page.captureScreenshot", session, format="png", captureBeyondViewport=True)
        errors = _errors(browser.events, session)
    finally:
        browser.close()
    return {"images": images, "page": page, "errors": errors,
            "first_screen_png": base64.b64decode(first["data"]), "full_png": base64.b64decode(full["data"])}


@pytest.mark.parametrize("width", [1400, 800])
def test_report_renders_in_headless_chromium(report, tmp_path, width):
    from PIL import Image

    path, _ = report
    shown = render_in_chromium(path, tmp_path / "profile", width)
    images, page = shown["images"], shown["page"]
    assert shown["errors"] == []
    assert len(images) >= 6
    assert all(image["complete"] and image["width"] > 0 and image["height"] > 0 for image in images), images
    assert all(image["right"] <= page["window_width"] + 1 for image in images), images
    assert page["page_width"] <= page["window_width"], page["page_width"]
    if width >= 1400:
        assert page["scrolling_tables"] == 0
    assert page["xss"] == "undefined" and page["scripts"] == 0
    assert PAYLOAD in page["text"]
    assert "About the data: Synthetic data <b>for a test</b>, not patients." in page["first_screen"]
    (tmp_path / "report.png").write_bytes(shown["full_png"])
    shot = Image.open(io.BytesIO(shown["full_png"])).convert("L")
    assert shot.width == width
    assert shot.height > 2000 and np.asarray(shot).std() > 10
