"""A set of 3D Gaussians (3DGS parameterisation) and the colour model of their spherical harmonics."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import torch

# Real spherical-harmonic constants in the basis and sign convention of the 3DGS PLY format.
_C0 = 0.28209479177387814
_C1 = 0.4886025119029199
_C2 = (1.0925484305920792, -1.0925484305920792, 0.31539156525252005, -1.0925484305920792, 0.5462742152960396)
_C3 = (
    -0.5900435899266435,
    2.890611442640554,
    -0.4570457994644658,
    0.3731763325901154,
    -0.4570457994644658,
    1.445305721320277,
    -0.5900435899266435,
)
MAX_SH_DEGREE = 3


def num_sh_coeffs(degree: int) -> int:
    """K = (degree + 1)^2 coefficients per colour channel."""
    return (degree + 1) ** 2


def sh_degree_of(k: int) -> int:
    """Inverse of num_sh_coeffs; ValueError if `k` is not a square in {1, 4, 9, 16}."""
    degree = math.isqrt(k) - 1
    if k < 1 or (degree + 1) ** 2 != k or degree > MAX_SH_DEGREE:
        raise ValueError(f"SH coefficient count must be one of 1, 4, 9, 16, got {k}")
    return degree


def rgb_to_sh_dc(rgb: torch.Tensor) -> torch.Tensor:
    """rgb: [..., 3] in [0, 1] -> the DC coefficient that renders it (colour = C0 * dc + 0.5)."""
    return (rgb - 0.5) / _C0


def sh_basis(dirs: torch.Tensor, degree: int) -> torch.Tensor:
    """The real SH basis of the 3DGS PLY convention at unit directions dirs [N, 3] -> [N, (degree + 1)^2]."""
    if degree < 0 or degree > MAX_SH_DEGREE:
        raise ValueError(f"sh degree must be in [0, {MAX_SH_DEGREE}], got {degree}")
    x, y, z = dirs.unbind(-1)
    basis = [torch.full_like(x, _C0)]
    if degree >= 1:
        basis += [-_C1 * y, _C1 * z, -_C1 * x]
    if degree >= 2:
        xx, yy, zz, xy, yz, xz = x * x, y * y, z * z, x * y, y * z, x * z
        basis += [_C2[0] * xy, _C2[1] * yz, _C2[2] * (2.0 * zz - xx - yy), _C2[3] * xz, _C2[4] * (xx - yy)]
    if degree >= 3:
        basis += [
            _C3[0] * y * (3.0 * xx - yy),
            _C3[1] * xy * z,
            _C3[2] * y * (4.0 * zz - xx - yy),
            _C3[3] * z * (2.0 * zz - 3.0 * xx - 3.0 * yy),
            _C3[4] * x * (4.0 * zz - xx - yy),
            _C3[5] * z * (xx - yy),
            _C3[6] * x * (xx - 3.0 * yy),
        ]
    return torch.stack(basis, dim=-1)


def eval_sh(sh: torch.Tensor, dirs: torch.Tensor, degree: int) -> torch.Tensor:
    """Evaluate SH colour along view directions, before the +0.5 offset.

    sh:   [N, K, C] coefficients, K >= (degree + 1)^2 (higher bands are ignored).
    dirs: [N, 3] unit vectors from the camera centre towards each Gaussian, world frame.
    Returns [N, C].
    """
    if degree < 0 or degree > MAX_SH_DEGREE:
        raise ValueError(f"sh degree must be in [0, {MAX_SH_DEGREE}], got {degree}")
    k = num_sh_coeffs(degree)
    if sh.shape[1] < k:
        raise ValueError(f"sh has {sh.shape[1]} coefficients, degree {degree} needs {k}")
    # One batched product: its backward is one [N, K, C] tensor (per-band slices would each allocate and
    # zero-fill a full-size gradient: half the step time at 40k Gaussians before this).
    return torch.bmm(sh_basis(dirs, degree)[:, None, :], sh[:, :k]).squeeze(1)


def quat_to_rotmat(quats: torch.Tensor) -> torch.Tensor:
    """quats: [N, 4] wxyz, any norm (normalised here) -> [N, 3, 3] rotation matrices."""
    q = quats / quats.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    w, x, y, z = q.unbind(-1)
    rows = (
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    )  # fmt: skip
    return torch.stack(rows, dim=-1).reshape(-1, 3, 3)


@dataclass
class Gaussians:
    """N anisotropic 3D Gaussians.

    means:          [N, 3] float, metres, world frame.
    log_scales:     [N, 3] float, log of the standard deviations along the local axes (metres).
    quats:          [N, 4] float, wxyz rotation of the local axes (normalised when used).
    opacity_logits: [N] float, opacity = sigmoid(opacity_logits).
    sh:             [N, K, 3] float, spherical-harmonic colour coefficients, K = (degree + 1)^2 with
                    degree <= 3; sh[:, 0] is the DC term (rgb = 0.28209 * dc + 0.5 seen from anywhere).
    """

    means: torch.Tensor
    log_scales: torch.Tensor
    quats: torch.Tensor
    opacity_logits: torch.Tensor
    sh: torch.Tensor

    def __post_init__(self) -> None:
        if not isinstance(self.means, torch.Tensor) or self.means.ndim != 2:
            found = list(self.means.shape) if isinstance(self.means, torch.Tensor) else type(self.means).__name__
            raise ValueError(f"Gaussians.means must be an [N, 3] tensor, got {found}")
        n = self.means.shape[0]
        expected = {
            "means": (n, 3),
            "log_scales": (n, 3),
            "quats": (n, 4),
            "opacity_logits": (n,),
        }
        for name, shape in expected.items():
            value = getattr(self, name)
            if not isinstance(value, torch.Tensor):
                raise TypeError(f"Gaussians.{name} must be a torch.Tensor, got {type(value).__name__}")
            if tuple(value.shape) != shape:
                raise ValueError(f"Gaussians.{name} must be [{', '.join(map(str, shape))}], got {list(value.shape)}")
        if self.sh.ndim != 3 or self.sh.shape[0] != n or self.sh.shape[2] != 3:
            raise ValueError(f"Gaussians.sh must be [{n}, K, 3], got {list(self.sh.shape)}")
        sh_degree_of(self.sh.shape[1])

    @property
    def n(self) -> int:
        return int(self.means.shape[0])

    @property
    def sh_degree(self) -> int:
        return sh_degree_of(self.sh.shape[1])

    @property
    def opacity(self) -> torch.Tensor:
        """[N] in (0, 1)."""
        return torch.sigmoid(self.opacity_logits)

    @property
    def scales(self) -> torch.Tensor:
        """[N, 3] standard deviations, metres."""
        return torch.exp(self.log_scales)

    def _map(self, fn) -> Gaussians:
        return Gaussians(**{f.name: fn(getattr(self, f.name)) for f in fields(self)})

    def parameters(self) -> list[torch.Tensor]:
        """The five tensors, in field order (means, log_scales, quats, opacity_logits, sh)."""
        return [getattr(self, f.name) for f in fields(self)]

    def detach(self) -> Gaussians:
        return self._map(lambda t: t.detach())

    def clone(self) -> Gaussians:
        return self._map(lambda t: t.detach().clone())

    def to(self, *args, **kwargs) -> Gaussians:
        return self._map(lambda t: t.to(*args, **kwargs))

    def requires_grad_(self, requires_grad: bool = True) -> Gaussians:
        """Make every tensor a leaf that requires grad (in place); returns self."""
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name).detach().requires_grad_(requires_grad))
        return self

    def index(self, mask_or_idx: torch.Tensor) -> Gaussians:
        """Select Gaussians by a [N] bool mask or an int64 index tensor."""
        if mask_or_idx.dtype == torch.bool and mask_or_idx.shape != (self.n,):
            raise ValueError(f"mask must be [{self.n}] bool, got {list(mask_or_idx.shape)}")
        return self._map(lambda t: t[mask_or_idx])

    def cat(self, other: Gaussians) -> Gaussians:
        """Concatenate; SH degrees must agree."""
        if other.sh.shape[1] != self.sh.shape[1]:
            raise ValueError(f"cannot concatenate SH degree {self.sh_degree} with {other.sh_degree}")
        return Gaussians(**{f.name: torch.cat([getattr(self, f.name), getattr(other, f.name)]) for f in fields(self)})

    def with_sh_degree(self, degree: int) -> Gaussians:
        """Pad with zero coefficients or truncate to `degree`."""
        k = num_sh_coeffs(degree)
        sh = self.sh[:, :k]
        if sh.shape[1] < k:
            sh = torch.cat([sh, sh.new_zeros(self.n, k - sh.shape[1], 3)], dim=1)
        return Gaussians(self.means, self.log_scales, self.quats, self.opacity_logits, sh)

    @staticmethod
    def empty(sh_degree: int = 0, dtype: torch.dtype = torch.float32) -> Gaussians:
        shapes = [(0, 3), (0, 3), (0, 4), (0,), (0, num_sh_coeffs(sh_degree), 3)]
        return Gaussians(*(torch.zeros(s, dtype=dtype) for s in shapes))
