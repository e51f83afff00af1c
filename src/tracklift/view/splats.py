"""The viewer of a Gaussian model folder: the Gaussians as splats, coloured by instance (or in their own
colours), with extract / remove toggles that call `splat.trace3d.objects.extract` / `remove`, and the training cameras;
clicking a camera renders its view of what is shown."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tracklift.view.scenery import add_frustum, frame_scene

log = logging.getLogger(__name__)

UNASSIGNED = np.array([110, 110, 110], np.uint8)
ALL = "all instances"


@dataclass
class GaussianScene:
    """gaussians: `splat.render.gaussians.Gaussians`; cameras: `splat.render.camera.Camera`s; instances:
    `splat.io.instances.Instances` or None (a model not lifted yet)."""

    name: str
    gaussians: object
    cameras: list
    instances: object | None


def load_gaussians(model_dir: str | Path) -> GaussianScene:
    """A model folder of `tracklift splat train` (and `splat lift`), checked by `splat.io.model.load_model`."""
    from tracklift.splat.io.instances import INFO_FILE
    from tracklift.splat.io.model import FLAT, load_model

    model_dir = Path(model_dir)
    lifted = (model_dir / INFO_FILE).is_file()
    if not lifted:
        log.warning(
            "%s: no %s; showing the Gaussians without instances (run `tracklift splat lift` first)",
            model_dir,
            INFO_FILE,
        )
    g, cameras, _, inst = load_model(model_dir, FLAT if lifted else None)
    return GaussianScene(model_dir.resolve().name, g, cameras, inst)


def splat_arrays(g) -> dict[str, np.ndarray]:
    """viser's splat inputs from Gaussians: centers [N, 3] float32 metres (world), covariances [N, 3, 3]
    float32 (R diag(s²) Rᵀ), rgbs [N, 3] float32 in [0, 1] (the view-independent DC colour), opacities
    [N, 1] float32."""
    import torch

    from tracklift.splat.render.gaussians import quat_to_rotmat

    with torch.no_grad():
        R = quat_to_rotmat(g.quats)
        cov = R @ torch.diag_embed(torch.exp(2 * g.log_scales)) @ R.transpose(1, 2)
        rgb = (0.28209479177387814 * g.sh[:, 0] + 0.5).clamp(0, 1)
        return {
            "centers": g.means.numpy().astype(np.float32),
            "covariances": cov.numpy().astype(np.float32),
            "rgbs": rgb.numpy().astype(np.float32),
            "opacities": torch.sigmoid(g.opacity_logits)[:, None].numpy().astype(np.float32),
        }


def instance_rgbs(instance: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """[N, 3] float32 in [0, 1]: each Gaussian's instance colour (`palette` [I, 3] uint8), grey for -1."""
    out = np.tile(UNASSIGNED, (len(instance), 1))
    out[instance >= 0] = palette[instance[instance >= 0]]
    return out.astype(np.float32) / 255.0


class GaussianViewer:
    """Builds and drives the viser scene of one `GaussianScene`."""

    def __init__(self, server, scene: GaussianScene, frustums: int = 8) -> None:
        from tracklift.splat.trace3d.objects import palette

        self.server, self.scene = server, scene
        inst = scene.instances
        self.palette = palette(inst.count) if inst is not None else np.zeros((0, 3), np.uint8)
        self.by_instance = inst is not None
        self.shown = None  # extracted instance, None = all
        self.removed: set[int] = set()
        self.lock = threading.Lock()
        self.node = None
        self.current = scene.gaussians, inst
        frame_scene(server, scene.gaussians.means.detach().numpy())
        self._gui(frustums)
        self.refresh()

    def _labels(self) -> list[str]:
        inst = self.scene.instances
        return [f"{k}: {inst.labels[k] or '?'} ({n} Gaussians)" for k, n in enumerate(inst.sizes())]

    def _gui(self, frustums: int) -> None:
        gui, inst = self.server.gui, self.scene.instances
        count = "no instances (run `tracklift splat lift`)" if inst is None else f"{inst.count} instances"
        gui.add_markdown(f"**{self.scene.name}**: {self.scene.gaussians.n} Gaussians, {count}")
        if inst is not None:
            colour = gui.add_checkbox("colour by instance", True)
            colour.on_update(lambda ev: self.set_colour_by_instance(ev.target.value))
            labels = self._labels()
            extract = gui.add_dropdown("extract", [ALL, *labels], initial_value=ALL)
            extract.on_update(
                lambda ev: self.extract(None if ev.target.value == ALL else labels.index(ev.target.value))
            )
            with gui.add_folder("remove"):
                for k, label in enumerate(labels):
                    box = gui.add_checkbox(label, False)
                    box.on_update(lambda ev, k=k: self.set_removed(k, ev.target.value))
        self.image = gui.add_image(np.zeros((1, 1, 3), np.uint8), label="view (click a camera)", visible=False)
        cams = self.scene.cameras
        if cams:
            extent = np.ptp(np.array([c.pose[:3, 3] for c in cams]), axis=0).max() if len(cams) > 1 else 1.0
            for i in np.unique(np.linspace(0, len(cams) - 1, min(frustums, len(cams))).astype(int)):
                cam = cams[i]
                handle = add_frustum(
                    self.server,
                    f"/cameras/{i}",
                    cam.K,
                    cam.pose,
                    (cam.width, cam.height),
                    float(np.clip(0.05 * extent, 0.05, 0.3)),
                )
                handle.on_click(lambda _, i=int(i): self.show_view(i))

    # -- actions (also called by tests) -------------------------------------------------------------

    def set_colour_by_instance(self, on: bool) -> None:
        self.by_instance = on
        self.refresh()

    def extract(self, k: int | None) -> None:
        """Show only instance k (`splat.trace3d.objects.extract`), or everything again (None)."""
        self.shown = k
        self.refresh()

    def set_removed(self, k: int, removed: bool) -> None:
        """Remove instance k from the scene (`splat.trace3d.objects.remove`) or put it back."""
        (self.removed.add if removed else self.removed.discard)(k)
        self.refresh()

    def refresh(self) -> None:
        """Re-send the splats: extraction or removals applied, coloured by instance or by their own colour."""
        from tracklift.splat.trace3d.objects import extract, remove

        with self.lock:
            g, inst = self.scene.gaussians, self.scene.instances
            ids = None if inst is None else inst.instance
            if inst is not None and self.shown is not None:
                g, ids = extract(g, inst, [self.shown]), np.full(int(inst.sizes()[self.shown]), self.shown, np.int32)
            elif inst is not None and self.removed:
                g, rest = remove(g, inst, sorted(self.removed))
                ids = rest.instance
            self.current = g, ids
            arrays = splat_arrays(g)
            if ids is not None and self.by_instance:
                arrays["rgbs"] = instance_rgbs(ids, self.palette)
            if self.node is not None:
                self.node.remove()
            self.node = self.server.scene.add_gaussian_splats("/gaussians", **arrays)

    def show_view(self, i: int) -> None:
        """Render camera i's view of the Gaussians shown now into the panel."""
        import torch

        from tracklift.splat.render.rasterizer import rasterize

        g, _ = self.current
        cam = self.scene.cameras[i]
        with torch.no_grad():
            color = rasterize(g, cam).color.clamp(0, 1).numpy() if g.n else np.zeros((cam.height, cam.width, 3))
        self.image.image = (color * 255 + 0.5).astype(np.uint8)
        self.image.label = f"view {cam.name}"
        self.image.visible = True
