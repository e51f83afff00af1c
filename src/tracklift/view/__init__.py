"""See the results: a web viewer (viser) of segmented scenes and Gaussian models, live views and rerun logs.

outputs    what `tracklift view` opens, checked (segment outputs, Gaussian model folders)
server     the viser server: loopback by default, a clear error for a taken port
scenery    shared scene pieces: point size, frustums, the camera trajectory with clickable frames
segmented  the viewer of a segmented scene (instances, boxes, cameras, query box, growth slider)
splats     the viewer of a Gaussian model (splats by instance, extract / remove toggles)
live       the viewer that follows `tracklift segment --live` frame by frame
rerun_log  `tracklift segment --rerun FILE.rrd`: frames, masks, the growing map and boxes per frame
headless   headless Chromium driven over the DevTools protocol (screenshots for tests and docs)
cli        `tracklift view OUT`
"""

from tracklift.core.lazy import lazy_exports

__all__ = ["SegmentedViewer", "load_segmented", "start_server"]
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "SegmentedViewer": "tracklift.view.segmented",
        "load_segmented": "tracklift.view.outputs",
        "start_server": "tracklift.view.server",
    },
)
