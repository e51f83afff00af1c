"""The viewer of a segmented scene: instances (points or mesh) coloured by instance, toggled per instance;
boxes with labels and scores; the camera trajectory with frustums that show their frame when clicked; a
query box that highlights the best matches; a slider that replays how the map grew frame by frame.

Instance colours are those of the PLY and the PNG pictures (`io.pictures.instance_colors`). After a query,
the matches turn HIGHLIGHT and the rest DIM towards grey.
"""

from __future__ import annotations

import logging
import threading

import numpy as np

from tracklift.outputs.pictures import instance_colors
from tracklift.view.outputs import SegmentedOutput
from tracklift.view.scenery import Cameras, frame_scene, point_size

log = logging.getLogger(__name__)

BACKGROUND = np.array([110, 110, 110], np.uint8)
HIGHLIGHT = np.array([255, 0, 255], np.uint8)  # never an instance colour: those keep every channel in 49..230
DIM_SHARE = 0.15  # a dimmed instance keeps this share of its colour, the rest is BACKGROUND
TOP = 3  # query matches highlighted
MATCH_SHARE = 0.5  # ... of those scoring at least this share of the best


def element_steps(output: SegmentedOutput) -> np.ndarray:
    """[E] int32 step at which each drawn element (a point, or a mesh face) appears on the slider.

    A point takes its history step; a face the latest of its vertices'; never-tracked points appear at the
    last step. Without history everything is there from step 0.
    """
    n = len(output.points)
    if output.history is None:
        steps = np.zeros(n, np.int32)
    else:
        steps = np.where(output.history.point_step < 0, output.history.steps - 1, output.history.point_step)
    return steps.astype(np.int32) if output.faces is None else steps[output.faces].max(axis=1).astype(np.int32)


def element_owner(output: SegmentedOutput) -> np.ndarray:
    """[E] int64 instance of each drawn element: a point's owner, or a face's when all three vertices agree
    (-1 otherwise, drawn as background)."""
    if output.faces is None:
        return output.owner
    corners = output.owner[output.faces]
    return np.where((corners == corners[:, :1]).all(axis=1), corners[:, 0], -1)


def match_colours(palette: np.ndarray, matches: list[int] | None) -> np.ndarray:
    """[I, 3] uint8 colours of the instances: their palette colour, or after a query (`matches`, possibly
    empty) HIGHLIGHT for the matches and the others dimmed."""
    if matches is None:
        return palette.copy()
    out = (DIM_SHARE * palette + (1 - DIM_SHARE) * BACKGROUND).astype(np.uint8)
    out[list(matches)] = HIGHLIGHT
    return out


class SegmentedViewer:
    """Builds and drives the viser scene of one `SegmentedOutput` on a running server."""

    def __init__(self, server, output: SegmentedOutput, frustums: int = 8) -> None:
        self.server, self.output = server, output
        self.palette = instance_colors(len(output.entries))
        self.colours = self.palette.copy()
        self.steps = element_steps(output)
        owner = element_owner(output)
        self.parts = {k: np.flatnonzero(owner == k) for k in range(-1, len(output.entries))}
        self.step = int(self.steps.max(initial=0))
        self.point_size = point_size(output.points)
        self.matches: list[int] | None = None
        self.lock = threading.Lock()
        self.nodes: dict[int, object] = {}
        self.boxes: dict[int, object] = {}
        self.labels: dict[int, object] = {}
        owned = output.owner >= 0
        frame_scene(server, output.points[owned] if owned.any() else output.points)  # the objects, not the room
        self._scene()
        self._gui()
        self.cameras = Cameras(server, output.history, output.scene_dir, frustums) if output.history else None

    # -- scene ---------------------------------------------------------------------------------------

    def _scene(self) -> None:
        scene = self.server.scene
        for k in self.parts:
            self.nodes[k] = self._add_part(k)
        for k, entry in enumerate(self.output.entries):
            box = np.asarray(entry.get("box") or np.zeros(6), np.float32)
            colour = tuple(int(c) for c in self.palette[k])
            self.boxes[k] = scene.add_box(
                f"/boxes/{k}", colour, dimensions=np.maximum(box[3:], 1e-3), wireframe=True, position=box[:3]
            )
            top = box[:3] + np.array([0, 0, box[5] / 2], np.float32)
            self.labels[k] = scene.add_label(f"/labels/{k}", self._label_text(k), position=top)

    def _label_text(self, k: int, rank: int | None = None) -> str:
        entry = self.output.entries[k]
        text = f"{entry.get('label') or '?'} {float(entry.get('score', 0)):.2f}"
        return text if rank is None else f"#{rank} {text}"

    def _geometry(self, elements: np.ndarray):
        """Points [N, 3], or (vertices [V, 3], faces [F, 3]) re-indexed, of the drawn elements."""
        if self.output.faces is None:
            return self.output.points[elements]
        faces = self.output.faces[elements]
        used, inverse = np.unique(faces, return_inverse=True)
        return self.output.points[used], inverse.reshape(-1, 3)

    def _add_part(self, k: int):
        """Part k (an instance, or -1: the background) as it is at the current step, in its current colour."""
        name = f"/map/{'background' if k < 0 else f'instance_{k}'}"
        colour = BACKGROUND if k < 0 else self.colours[k]
        elements = self.parts[k]
        shown = elements[self.steps[elements] <= self.step]
        scene = self.server.scene
        if self.output.faces is None:
            return scene.add_point_cloud(
                name,
                self._geometry(shown),
                np.asarray(colour, np.uint8),
                point_size=self.point_size,
                point_shading="flat",
                precision="float32",
            )
        vertices, faces = self._geometry(shown)
        return scene.add_mesh_simple(name, vertices, faces, color=tuple(int(c) for c in colour))

    def _refresh(self, k: int) -> None:
        """Re-send part k's geometry at the current step and colour."""
        visible = self.nodes[k].visible
        self.nodes[k].remove()
        self.nodes[k] = self._add_part(k)
        self.nodes[k].visible = visible

    # -- GUI -----------------------------------------------------------------------------------------

    def _gui(self) -> None:
        gui = self.server.gui
        out = self.output
        gui.add_markdown(
            f"**{out.name}**: {len(out.entries)} instances, {len(out.points)} "
            f"{'mesh vertices' if out.faces is not None else 'points'}"
        )
        self.query = gui.add_text(
            "query", initial_value="", hint="e.g. 'something to sit on'; highlights the best matches"
        )
        self.results = gui.add_markdown("")
        self.query.on_update(lambda _: self.run_query(self.query.value))
        if out.history is not None and out.history.steps > 1:
            self.slider = gui.add_slider("frame", min=0, max=out.history.steps - 1, step=1, initial_value=self.step)
            self.slider.on_update(lambda _: self.set_step(int(self.slider.value)))
        with gui.add_folder("show"):
            for name, handles in (("boxes", self.boxes), ("labels", self.labels)):
                box = gui.add_checkbox(name, True)
                box.on_update(lambda ev, hs=handles: [setattr(h, "visible", ev.target.value) for h in hs.values()])
            background = gui.add_checkbox("background", True)
            background.on_update(lambda ev: setattr(self.nodes[-1], "visible", ev.target.value))
        with gui.add_folder("instances", expand_by_default=len(out.entries) <= 30):
            self.toggles = []
            for k, entry in enumerate(out.entries):
                toggle = gui.add_checkbox(f"{k}: {self._label_text(k)}", True)
                toggle.on_update(lambda ev, k=k: self.set_visible(k, ev.target.value))
                self.toggles.append(toggle)

    # -- actions (also called by tests) -------------------------------------------------------------

    def set_visible(self, k: int, visible: bool) -> None:
        for handles in (self.nodes, self.boxes, self.labels):
            handles[k].visible = visible

    def set_step(self, step: int) -> None:
        """Show the map as it was after history step `step`."""
        with self.lock:
            self.step = int(np.clip(step, 0, max(self.output.history.steps - 1, 0) if self.output.history else 0))
            for k in self.parts:
                self._refresh(k)
            if self.cameras is not None:
                self.cameras.show_step(self.step)

    def run_query(self, query: str) -> list[int]:
        """Rank the instances for `query` and highlight the best matches; '' clears. Returns the matches."""
        from tracklift.classify.query import rank_instances

        with self.lock:
            if query != self.query.value and self.query.value.strip():
                return self.matches or []  # a newer keystroke is queued; let it answer
            self.matches, lines = None, []
            if query.strip():
                ranked = rank_instances(self.output.instances, query, top=TOP)
                index = {id(inst): k for k, inst in enumerate(self.output.instances)}
                best = ranked[0][1] if ranked else 0.0
                kept = [(index[id(inst)], s) for inst, s in ranked if s > 0 and s >= MATCH_SHARE * best]
                self.matches = [k for k, _ in kept]
                lines = [f"{r}. {self._label_text(k)} — {s:.2f}" for r, (k, s) in enumerate(kept, 1)] or ["no match"]
            self.colours = match_colours(self.palette, self.matches)
            for k in range(len(self.output.entries)):
                if self.output.faces is None:
                    self.nodes[k].colors = self.colours[k]
                else:
                    self.nodes[k].color = tuple(int(c) for c in self.colours[k])
                rank = self.matches.index(k) + 1 if self.matches and k in self.matches else None
                self.labels[k].text = self._label_text(k, rank)
            self.results.content = "\n".join(f"- {line}" for line in lines)
            return self.matches or []
