"""Trace3D ablation with controlled 2D inconsistency: `python -m benchmarks.trace3d [--quick] [--jobs 2]`.

Per synthetic room (`tracklift.synth`): train Gaussians on the RGB-D frames (every 8th view held out),
take the exact per-view instance masks of the training views (objects only: walls, floor and ceiling stay
unmasked, i.e. background) and make them inconsistent across views on purpose: touching objects merged
into one mask, objects split in two by a line, and coarse masks covering two touching objects laid over
their own masks (a granularity change). Then lift with the closed form
(`splat.trace3d.closed_form`) under four settings, as the paper's ablation: (a) no GIT, (b) mask correction only,
(c) split/prune only, (d) both; and the same four, (e)-(h), with contrastive lifting
(`splat.trace3d.contrastive`, the setting of the paper's ablation). Reported:

* 2D mask mIoU: the label maps that are lifted (corrected or not) against the exact masks, per object
  the best-matching mask, averaged over objects and training views;
* 3D extraction mIoU: every GT object is "clicked" in the training views (the instance most of its GT
  pixels render to); that instance's Gaussians are extracted and rendered alone in the held-out views;
  silhouette (alpha >= 0.5) IoU against the GT mask, with the parts hidden behind other Gaussians of the
  full model (rendered depth more than 5 cm behind) not counted; averaged per object, then over objects.

Writes `benchmarks/results/trace3d.json` and regenerates BENCHMARKS.md (`benchmarks.run.record`).

The package: `suite` (settings), `corruption` (the inconsistency), `metrics` (the scores), `runner` (rooms,
variants, `main`), `report` (results JSON and table).
"""

from benchmarks.trace3d.corruption import inconsistent_masks
from benchmarks.trace3d.metrics import mask_miou
from benchmarks.trace3d.report import markdown_table, results_doc
from benchmarks.trace3d.suite import FULL, QUICK, Trace3DSuite

__all__ = ["FULL", "QUICK", "Trace3DSuite", "inconsistent_masks", "markdown_table", "mask_miou", "results_doc"]
