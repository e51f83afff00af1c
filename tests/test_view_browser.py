"""End to end in a real browser: `tracklift view` of a tiny segmented scene in headless Chromium (Debian's
`chromium`, WebGL on SwiftShader). The canvas must show the instance colours, and typing a query into the
viewer's text box must turn the matching instance the highlight colour and dim the others. A Gaussian model
must show its splats in the instance colours, and ticking an instance's "remove" box must take it away.

Rendered colours are not the sent bytes (three.js colour management and tone mapping lighten them), so
instance colours are recognised by hue: a saturated pixel belongs to the instance whose palette hue is
within HUE_TOLERANCE. The highlight (255, 0, 255) has saturated channels, which render exactly.
"""

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from tracklift.outputs.pictures import instance_colors
from tracklift.view.headless import CHROMIUM, Browser, colour_pixels
from tracklift.view.segmented import HIGHLIGHT

from .test_pipeline_cli import scene  # noqa: F401  (module fixture: a scene folder and its masks)
from .view_helpers import free_port, segment

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).is_file(), reason=f"{CHROMIUM} missing: `make browser` (apt-get install chromium) to run it"
)

HUE_TOLERANCE = 8  # OpenCV hue units (0..180); the palette's nearest hues are ≥ 14 apart for 8 instances
MIN_PIXELS = 30
# The scene area of the screenshot: without the control panel on the right (its blue checkboxes share a
# hue with an instance), the "software WebGL" notice at the top left and the axes gizmo at the bottom left.
PANEL, BANNER, GIZMO = 360, 160, 80


def scene_area(image: np.ndarray) -> np.ndarray:
    return image[BANNER:-GIZMO, GIZMO:-PANEL]


def instance_pixels(image: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """[I] saturated pixels of the scene area whose hue is that of each palette colour (not the highlight's)."""
    area = np.ascontiguousarray(scene_area(image))
    hsv = cv2.cvtColor(area, cv2.COLOR_RGB2HSV).reshape(-1, 3).astype(int)
    not_highlight = np.abs(area.reshape(-1, 3).astype(int) - HIGHLIGHT).max(axis=1) > 40
    colourful = hsv[(hsv[:, 1] > 80) & (hsv[:, 2] > 80) & not_highlight]
    hues = cv2.cvtColor(palette[None], cv2.COLOR_RGB2HSV)[0, :, 0].astype(int)
    d = np.abs(colourful[:, :1] - hues[None, :])
    d = np.minimum(d, 180 - d)
    near = d.argmin(axis=1)[d.min(axis=1) <= HUE_TOLERANCE]
    return np.bincount(near, minlength=len(palette))


def poll(condition, timeout: float = 90.0, step: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value is not None:
            return value
        time.sleep(step)
    raise TimeoutError("the page never showed what the test waits for")


@pytest.fixture(scope="module")
def served(scene, tmp_path_factory):  # noqa: F811
    """`tracklift view OUT --port P` running in a thread of this process (so the test can watch its state)."""
    pytest.importorskip("viser")
    from tracklift.view.cli import open_viewer
    from tracklift.view.server import start_server

    root, masks_dir = scene
    out = tmp_path_factory.mktemp("browser") / "out"
    segment(root, masks_dir, out, "--no-mesh")  # the fixture's "mesh" is a far-reaching floor: draw the objects
    port = free_port()
    server = start_server(None, port)
    viewer = open_viewer(out, server)
    yield f"http://127.0.0.1:{port}", viewer
    server.stop()


def test_viewer_renders_instances_and_a_query_highlights_one(served, tmp_path):
    url, viewer = served
    palette = instance_colors(len(viewer.output.entries))
    labels = [e["label"] for e in viewer.output.entries]
    with Browser(size=(900, 640)) as browser:
        browser.open(url)

        def coloured():
            image = browser.screenshot()
            counts = instance_pixels(image, palette)
            return (image, counts) if (counts >= MIN_PIXELS).sum() >= 2 else None

        image, before = poll(coloured)
        cv2.imwrite(str(tmp_path / "before.png"), image[..., ::-1])
        assert colour_pixels(image, HIGHLIGHT) == 0
        assert (scene_area(image) != 255).any(axis=2).mean() > 0.01  # not a blank page

        browser.type_into("query", "cabinet")
        matches = poll(lambda: viewer.matches)
        assert matches and {labels[k] for k in matches} == {"cabinet"}

        def highlighted():
            image = browser.screenshot()
            cv2.imwrite(str(tmp_path / "after.png"), image[..., ::-1])
            return image if colour_pixels(scene_area(image), HIGHLIGHT) >= MIN_PIXELS else None

        image = poll(highlighted)
        after = instance_pixels(image, palette)
        others = [k for k in range(len(palette)) if k not in matches and labels[k] != "cabinet"]
        # the other instances lost their colour (dimmed), the match changed colour
        assert after[others].sum() < 0.2 * before[others].sum(), (before, after)


def test_gaussian_viewer_renders_splats_by_instance_and_removes_one(tmp_path):
    pytest.importorskip("viser")
    from tracklift.splat.io.camera_file import write_cameras
    from tracklift.splat.io.instances import Instances, write_instances
    from tracklift.splat.io.ply import write_gaussians_ply
    from tracklift.splat.trace3d.objects import palette
    from tracklift.view.cli import open_viewer
    from tracklift.view.headless import hue_pixels
    from tracklift.view.server import start_server

    from .splat_toy import toy_cameras, toy_gaussians

    g, obj = toy_gaussians(spacing=0.1)
    write_gaussians_ply(tmp_path / "point_cloud.ply", g)
    write_cameras(tmp_path / "cameras.json", toy_cameras(4), [False] * 4)
    write_instances(tmp_path, Instances(obj.astype(np.int32), ["chair", "table", "box"]), "point_cloud.ply")
    colours = palette(3)
    port = free_port()
    server = start_server(None, port)
    try:
        viewer = open_viewer(tmp_path, server)
        with Browser(size=(900, 640)) as browser:
            browser.open(f"http://127.0.0.1:{port}")

            def counts(condition):
                image = browser.screenshot()
                found = np.array([hue_pixels(scene_area(image), c) for c in colours])
                return found if condition(found) else None

            before = poll(lambda: counts(lambda found: (found > 1000).all()))  # three splatted boxes
            label = f"0: chair ({(obj == 0).sum()} Gaussians)"
            browser.click_checkbox(label)
            poll(lambda: True if 0 in viewer.removed else None)
            after = poll(lambda: counts(lambda found: found[0] < 0.05 * before[0]))
            assert (after[1:] > 1000).all()  # the other two are still there
    finally:
        server.stop()
