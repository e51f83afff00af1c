"""A weight-free mask descriptor: soft CIE Lab colour histogram plus gradient texture statistics.

Per mask, three blocks, each an L1-normalised soft histogram taken to its square root (Hellinger, so a
block has unit L2 norm and the dot product of two blocks is the Bhattacharyya coefficient):
* colour: joint L×a×b histogram (trilinear soft binning),
* orientation: unsigned gradient orientation of L, weighted by gradient magnitude (circular soft binning),
* magnitude: log(1 + gradient magnitude of L) (soft binning).
The texture blocks are scaled by `texture_weight`, the whole vector L2-normalised. One numba pass over
the pixels inside any mask bins each pixel and adds it to its masks (`descriptor_histograms`); its
reference composes the vectorised steps (`pixel_bins` per pixel, then `mask_histograms` per mask, itself
beside a `np.bincount` reference).
"""

from __future__ import annotations

import cv2
import numba
import numpy as np

from tracklift.core.config import config, option
from tracklift.core.masks import FrameMasks
from tracklift.data.frame import Frame
from tracklift.features.soft_hist import soft_bins

# OpenCV float Lab: L in [0, 100]; a, b rarely leave [-80, 80] for real surfaces.
LAB_RANGES = ((0.0, 100.0), (-80.0, 80.0), (-80.0, 80.0))
# Sobel of L (0..100) on 3×3: strong edges give a few hundred; log(1 + 300) ~ 5.7.
LOG_MAGNITUDE_MAX = 6.0


@config
class HandcraftedConfig:
    color_bins: tuple[int, int, int] = option((4, 8, 8), "(L, a, b) bins of the joint colour histogram", low=1, high=64)
    orientation_bins: int = option(8, "gradient orientation bins", low=1, high=64)
    magnitude_bins: int = option(6, "gradient magnitude bins", low=1, high=64)
    texture_weight: float = option(0.5, "scale of each texture block relative to the colour block", low=0.0, high=100.0)
    max_pixels: int = option(100_000, "larger frames are described at a reduced size (0 = always full)", low=0)


def description_step(height: int, width: int, max_pixels: int) -> int:
    """The integer reduction n (1 = none) after which an image of height × width has at most `max_pixels` pixels.
    A histogram of 80k pixels describes a mask as well as one of 300k, for a quarter of the cost."""
    if max_pixels <= 0:
        return 1
    step = 1
    while (height // step) * (width // step) > max_pixels:
        step += 1
    return step


def joint_bins(lab: np.ndarray, bins: tuple[int, int, int]):
    """lab: [P, 3] -> flat joint index [P, 8] int32 and weight [P, 8] float32 (trilinear corners)."""
    (il, wl), (ia, wa), (ib, wb) = (soft_bins(lab[:, c], *LAB_RANGES[c], bins[c]) for c in range(3))
    index = (il[:, :, None, None] * bins[1] + ia[:, None, :, None]) * bins[2] + ib[:, None, None, :]
    weight = wl[:, :, None, None] * wa[:, None, :, None] * wb[:, None, None, :]
    return index.reshape(-1, 8), weight.reshape(-1, 8)


def pixel_bins(color: np.ndarray, cfg: HandcraftedConfig, pixels: np.ndarray | None = None, pixel_size: float = 1.0):
    """Histogram contributions of pixels of an RGB image [H, W, 3] uint8.

    pixels: [P] flat pixel ids to describe (default: all H·W); pixel_size: see `lab_and_gradients`.
    Returns colour (index [P, 8], weight [P, 8]), orientation (index [P, 2], weight [P, 2] already
    multiplied by the gradient magnitude) and magnitude (index [P, 2], weight [P, 2]).
    """
    lab, gx, gy = lab_and_gradients(color, pixel_size)
    if pixels is not None:
        lab, gx, gy = lab[pixels], gx[pixels], gy[pixels]
    magnitude = np.hypot(gx, gy)
    orient_idx, orient_w = soft_bins(np.mod(np.arctan2(gy, gx), np.pi), 0.0, np.pi, cfg.orientation_bins, circular=True)
    mag_idx, mag_w = soft_bins(np.log1p(magnitude), 0.0, LOG_MAGNITUDE_MAX, cfg.magnitude_bins)
    return (
        joint_bins(lab, cfg.color_bins),
        (orient_idx, orient_w * magnitude[:, None]),
        (mag_idx, mag_w),
    )


@numba.njit(cache=True, nogil=True)
def _mask_histograms_kernel(flat_masks, row_of, index, weight, size):
    out = np.zeros((flat_masks.shape[0], size), np.float64)
    for n in range(flat_masks.shape[0]):
        for p in range(flat_masks.shape[1]):
            if flat_masks[n, p]:
                r = row_of[p]
                for k in range(index.shape[1]):
                    out[n, index[r, k]] += weight[r, k]
    return out


def mask_histograms(
    flat_masks: np.ndarray, row_of: np.ndarray, index: np.ndarray, weight: np.ndarray, size: int
) -> np.ndarray:
    """Per-mask sums of per-pixel histogram contributions (numba).

    flat_masks: [N, P] bool over image pixels.  row_of: [P] int64, row in `index`/`weight` of each pixel
    (read only where some mask is set).  index: [R, K] int32 bins < size.  weight: [R, K] float32.
    Returns [N, size] float64.
    """
    if index.shape != weight.shape or flat_masks.shape[1] != row_of.shape[0]:
        raise ValueError(
            f"index {index.shape}, weight {weight.shape}, masks {flat_masks.shape}, row_of {row_of.shape} disagree"
        )
    return _mask_histograms_kernel(flat_masks, row_of, index, weight, int(size))


def mask_histograms_reference(flat_masks, row_of, index, weight, size) -> np.ndarray:
    """`mask_histograms` with one `np.bincount` per mask (for tests)."""
    rows = [row_of[np.flatnonzero(m)] for m in flat_masks]
    return np.stack([np.bincount(index[r].ravel(), weights=weight[r].ravel(), minlength=size) for r in rows])


def lab_and_gradients(color: np.ndarray, pixel_size: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """RGB [H, W, 3] uint8 -> OpenCV float Lab [H·W, 3] float32 and the 3×3 Sobel derivatives of L, gx and gy
    [H·W] float32, per original pixel: `pixel_size` is how many original pixels one pixel of `color` spans (a
    reduced image's differences are divided by it, so gradients keep their scale)."""
    if color.ndim != 3 or color.shape[2] != 3 or color.dtype != np.uint8:
        raise ValueError(f"color must be [H, W, 3] uint8, got {color.shape} {color.dtype}")
    lab = cv2.cvtColor(color.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    scale = 1.0 / pixel_size
    gx = cv2.Sobel(lab[..., 0], cv2.CV_32F, 1, 0, ksize=3, scale=scale).ravel()
    gy = cv2.Sobel(lab[..., 0], cv2.CV_32F, 0, 1, ksize=3, scale=scale).ravel()
    return lab.reshape(-1, 3), gx, gy


@numba.njit(cache=True, nogil=True)
def _soft_bin(value, lo, step, bins, circular):
    """`soft_bins` for one float32 value: (first bin, second bin, first weight, second weight), with the same
    float32 / float64 steps as the vectorised version."""
    t = (value - lo) / step - np.float32(0.5)
    if circular:
        t = t % np.float32(bins)
        i0 = int(np.floor(t))
        frac = np.float64(t) - i0
        return i0 % bins, (i0 + 1) % bins, np.float32(1 - frac), np.float32(frac)
    t = min(max(t, np.float32(0)), np.float32(bins - 1))
    i0 = min(int(np.floor(t)), max(bins - 2, 0))
    frac = np.float64(t) - i0
    return i0, min(i0 + 1, bins - 1), np.float32(1 - frac), np.float32(frac)


@numba.njit(cache=True, nogil=True)
def _descriptor_kernel(
    flat_masks, lab, magnitude, angle, log_magnitude, color_bins, lo, step, orientation_bins, magnitude_bins
):
    n_masks, n_pixels = flat_masks.shape
    b0, b1, b2 = color_bins[0], color_bins[1], color_bins[2]
    colour = b0 * b1 * b2
    out = np.zeros((n_masks, colour + orientation_bins + magnitude_bins), np.float64)
    index = np.empty(12, np.int64)
    weight = np.empty(12, np.float32)
    ci = np.empty((3, 2), np.int64)
    cw = np.empty((3, 2), np.float32)
    for p in range(n_pixels):
        inside = False
        for n in range(n_masks):
            if flat_masks[n, p]:
                inside = True
                break
        if not inside:
            continue
        for c in range(3):
            ci[c, 0], ci[c, 1], cw[c, 0], cw[c, 1] = _soft_bin(lab[p, c], lo[c], step[c], color_bins[c], False)
        k = 0
        for i in range(2):
            for j in range(2):
                for m in range(2):
                    index[k] = (ci[0, i] * b1 + ci[1, j]) * b2 + ci[2, m]
                    weight[k] = cw[0, i] * cw[1, j] * cw[2, m]
                    k += 1
        o0, o1, ow0, ow1 = _soft_bin(angle[p], lo[3], step[3], orientation_bins, True)
        index[8], index[9] = colour + o0, colour + o1
        weight[8], weight[9] = ow0 * magnitude[p], ow1 * magnitude[p]
        m0, m1, mw0, mw1 = _soft_bin(log_magnitude[p], lo[4], step[4], magnitude_bins, False)
        index[10], index[11] = colour + orientation_bins + m0, colour + orientation_bins + m1
        weight[10], weight[11] = mw0, mw1
        for n in range(n_masks):
            if flat_masks[n, p]:
                for k in range(12):
                    out[n, index[k]] += weight[k]
    return out


def descriptor_histograms(
    color: np.ndarray, flat_masks: np.ndarray, cfg: HandcraftedConfig, pixel_size: float = 1.0
) -> np.ndarray:
    """Per-mask sums of every pixel's colour, orientation and magnitude contributions in one numba pass (bins
    made per pixel and added to its masks: no per-pixel bin arrays; the gradients' magnitude and angle come from
    numpy). color: [H, W, 3] uint8 RGB; flat_masks: [N, H·W]
    bool; pixel_size: see `lab_and_gradients`. Returns [N, colour + orientation + magnitude bins] float64, the
    three blocks side by side."""
    lab, gx, gy = lab_and_gradients(color, pixel_size)
    # numpy's vectorised transcendental functions are several times faster than numba's scalar ones here, and
    # they are the ones `pixel_bins` (the reference) calls
    magnitude = np.hypot(gx, gy)
    angle = np.mod(np.arctan2(gy, gx), np.pi)
    log_magnitude = np.log1p(magnitude)
    ranges = (*LAB_RANGES, (0.0, np.pi), (0.0, LOG_MAGNITUDE_MAX))
    bins = (*cfg.color_bins, cfg.orientation_bins, cfg.magnitude_bins)
    lo = np.array([r[0] for r in ranges], np.float32)
    step = np.array([np.float32((r[1] - r[0]) / b) for r, b in zip(ranges, bins)], np.float32)
    return _descriptor_kernel(
        np.ascontiguousarray(flat_masks, np.bool_),
        lab,
        magnitude,
        angle,
        log_magnitude,
        np.array(cfg.color_bins, np.int64),
        lo,
        step,
        int(cfg.orientation_bins),
        int(cfg.magnitude_bins),
    )


def descriptor_histograms_reference(
    color: np.ndarray, flat_masks: np.ndarray, cfg: HandcraftedConfig, pixel_size: float = 1.0
) -> np.ndarray:
    """`descriptor_histograms` composed of the vectorised steps: per-pixel bins (`pixel_bins`) for the pixels
    inside any mask, then `mask_histograms` with each block's bins offset by the sizes before it."""
    described = np.flatnonzero(flat_masks.any(axis=0))
    blocks = pixel_bins(color, cfg, described, pixel_size)
    # Row of each image pixel in `blocks` (only pixels inside some mask are ever looked up).
    row_of = np.zeros(flat_masks.shape[1], np.int64)
    row_of[described] = np.arange(described.size)
    sizes = (int(np.prod(cfg.color_bins)), cfg.orientation_bins, cfg.magnitude_bins)
    offsets = np.cumsum((0,) + sizes[:-1])
    index = np.concatenate([idx + off for (idx, _), off in zip(blocks, offsets)], axis=1).astype(np.int32)
    weight = np.concatenate([w for _, w in blocks], axis=1)
    return mask_histograms(flat_masks, row_of, index, weight, sum(sizes))


def _hellinger(hist: np.ndarray) -> np.ndarray:
    """[N, B] non-negative -> square roots of the L1-normalised rows (zero rows stay zero)."""
    total = hist.sum(axis=1, keepdims=True)
    return np.sqrt(hist / np.where(total > 0, total, 1))


class HandcraftedFeatures:
    """`FeatureExtractor` without weights: (frame, masks) -> [N, dim] float32, rows L2-normalised.

    A frame of more than `max_pixels` pixels is described at an integer reduction (colour area-averaged, masks
    sampled at the reduced pixels' corners); a mask no reduced pixel falls in is described at full size. An
    empty mask gets a zero row (it matches nothing).
    """

    thread_safe = True  # no state between calls; its kernels release the GIL, so frames are described in parallel

    def __init__(self, config: HandcraftedConfig | None = None):
        self.config = config or HandcraftedConfig()
        c = self.config
        self.sizes = (int(np.prod(c.color_bins)), c.orientation_bins, c.magnitude_bins)
        self.dim = sum(self.sizes)

    def __call__(self, frame: Frame, masks: FrameMasks) -> np.ndarray:
        if masks.shape != (frame.height, frame.width):
            raise ValueError(f"masks are {masks.shape}, frame {frame.name!r} is {(frame.height, frame.width)}")
        if len(masks) == 0:
            return np.zeros((0, self.dim), np.float32)
        hist = self._histograms(frame.color, masks.masks)
        offsets = np.cumsum((0,) + self.sizes[:-1])
        scales = (1.0, self.config.texture_weight, self.config.texture_weight)
        parts = [s * _hellinger(hist[:, off : off + n]) for off, n, s in zip(offsets, self.sizes, scales)]
        vectors = np.concatenate(parts, axis=1)
        norm = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.where(norm > 0, norm, 1)).astype(np.float32)

    def _histograms(self, color: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """color: [H, W, 3] uint8; masks: [N, H, W] bool -> [N, bins] float64 (see `descriptor_histograms`)."""
        n, h, w = masks.shape
        step = description_step(h, w, self.config.max_pixels)
        if step == 1:
            return descriptor_histograms(color, masks.reshape(n, -1), self.config)
        small = cv2.resize(color, (w // step, h // step), interpolation=cv2.INTER_AREA)
        sampled = masks[:, : (h // step) * step : step, : (w // step) * step : step].reshape(n, -1)
        hist = descriptor_histograms(small, sampled, self.config, pixel_size=step)
        missed = np.flatnonzero(~sampled.any(axis=1) & masks.reshape(n, -1).any(axis=1))
        if len(missed):  # masks thinner than the reduction: their own pixels at full size
            hist[missed] = descriptor_histograms(color, masks[missed].reshape(len(missed), -1), self.config)
        return hist
