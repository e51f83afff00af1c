"""Headless Chromium driven over the DevTools protocol: open the viewer, type into it, take screenshots.

Used by the browser test and to make the README's picture; needs Debian's `chromium` (no browser is
downloaded). WebGL renders on the CPU through SwiftShader.
"""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

CHROMIUM = "/usr/bin/chromium"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--hide-scrollbars",
    "--mute-audio",
)


class Browser:
    """A headless Chromium with one page; use as a context manager. size: window (W, H) in pixels."""

    def __init__(self, executable: str = CHROMIUM, size: tuple[int, int] = (1280, 800), timeout: float = 30.0) -> None:
        if not Path(executable).is_file():
            raise FileNotFoundError(f"{executable}: no Chromium (apt-get install chromium)")
        self.executable, self.size, self.timeout = executable, size, timeout
        self._ids = itertools.count(1)

    def __enter__(self) -> Browser:
        from websockets.sync.client import connect

        self.profile = tempfile.mkdtemp(prefix="tracklift-chromium-")
        self.process = subprocess.Popen(
            [
                self.executable,
                *FLAGS,
                f"--user-data-dir={self.profile}",
                "--remote-debugging-port=0",
                f"--window-size={self.size[0]},{self.size[1]}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            port = self._devtools_port()
            pages = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=self.timeout))
            page = next(p for p in pages if p.get("type") == "page")
            self.ws = connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=self.timeout)
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.ws.close()
        self._stop()

    def _stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)

    def _devtools_port(self) -> int:
        """Chromium writes the port it chose into its profile folder."""
        marker = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if marker.is_file() and marker.read_text().strip():
                return int(marker.read_text().split()[0])
            if self.process.poll() is not None:
                raise RuntimeError(f"chromium exited with code {self.process.returncode}")
            time.sleep(0.1)
        raise TimeoutError("chromium did not open its DevTools port")

    def call(self, method: str, *, until: str | None = None, **params) -> dict:
        """Send one DevTools command and return its result; with `until`, also wait for that event (other
        events are dropped)."""
        cid = next(self._ids)
        self.ws.send(json.dumps({"id": cid, "method": method, "params": params}))
        result, waiting = None, until is not None
        while result is None or waiting:
            message = json.loads(self.ws.recv(timeout=self.timeout))
            if message.get("id") == cid:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result = message.get("result", {})
            elif message.get("method") == until:
                waiting = False
        return result

    def open(self, url: str) -> None:
        """Load `url` and wait for its load event."""
        self.call("Page.enable")
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=self.size[0],
            height=self.size[1],
            deviceScaleFactor=1,
            mobile=False,
        )
        self.call("Page.navigate", url=url, until="Page.loadEventFired")

    def evaluate(self, expression: str):
        """The value of a JavaScript expression in the page (awaited when it is a promise)."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float | None = None, poll: float = 0.2):
        """Poll a JavaScript expression until it is truthy; returns its value."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(poll)
        raise TimeoutError(f"page never satisfied: {expression}")

    def _input(self, label: str, selector: str, action: str) -> None:
        """Run `action` (JavaScript on `input`) on the first element matching `selector` next to the viser
        GUI label whose text is `label`."""
        found = self.evaluate(
            "(() => { const label = [...document.querySelectorAll('label, p, div')]"
            f".find(e => e.childElementCount === 0 && e.textContent.trim() === {json.dumps(label)});"
            " if (!label) return false; let node = label;"
            " for (let i = 0; i < 6 && node; i++, node = node.parentElement) {"
            f"  const input = node.querySelector({json.dumps(selector)});"
            f"  if (input) {{ {action}; return true; }} }}"
            " return false; })()"
        )
        if not found:
            raise RuntimeError(f"no {selector} labelled {label!r} in the page")

    def type_into(self, label: str, text: str) -> None:
        """Focus the text input labelled `label` and type `text` into it (real key input)."""
        self._input(label, "input[type=text], input:not([type])", "input.focus(); input.select()")
        self.call("Input.insertText", text=text)

    def click_checkbox(self, label: str) -> None:
        """Click the checkbox labelled `label`."""
        self._input(label, "input[type=checkbox]", "input.click()")

    def screenshot(self) -> np.ndarray:
        """[H, W, 3] uint8 RGB of the page."""
        import cv2

        data = base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])
        bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        return bgr[..., ::-1].copy()


def colour_pixels(image: np.ndarray, colour, tolerance: int = 12) -> int:
    """How many pixels of an [H, W, 3] uint8 image are within `tolerance` (per channel) of `colour`."""
    diff = np.abs(image.astype(np.int16) - np.asarray(colour, np.int16)[None, None, :])
    return int((diff.max(axis=2) <= tolerance).sum())


def hue_pixels(image: np.ndarray, colour, hue_tolerance: int = 8, min_saturation: int = 100) -> int:
    """How many saturated pixels of an [H, W, 3] uint8 RGB image have the hue of `colour` (OpenCV hue units,
    0..180): shading changes a lit surface's brightness, not its hue."""
    import cv2

    hsv = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2HSV).reshape(-1, 3).astype(int)
    hue = int(cv2.cvtColor(np.asarray(colour, np.uint8).reshape(1, 1, 3), cv2.COLOR_RGB2HSV)[0, 0, 0])
    d = np.abs(hsv[:, 0] - hue)
    d = np.minimum(d, 180 - d)
    return int(((d <= hue_tolerance) & (hsv[:, 1] >= min_saturation) & (hsv[:, 2] >= 60)).sum())
