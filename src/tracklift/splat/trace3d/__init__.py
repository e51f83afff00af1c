"""Trace3D: per-Gaussian 3D instances from per-view 2D masks (tracing, correction, split/prune, lifting)."""

from tracklift.splat.trace3d.closed_form import lift_closed_form
from tracklift.splat.trace3d.contrastive import lift_contrastive
from tracklift.splat.trace3d.correct import correct_masks
from tracklift.splat.trace3d.instance_split import split_and_prune
from tracklift.splat.trace3d.tracing import trace_instances

__all__ = ["correct_masks", "lift_closed_form", "lift_contrastive", "split_and_prune", "trace_instances"]
