"""Adam over a changing set of Gaussians: per-tensor learning rates, moments that follow rows.

Densification adds, duplicates and removes Gaussians; the optimiser's first and second moments must
follow the same rows (new rows start from zero moments, as in 3DGS). The SH DC band and the higher
bands are separate tensors because they take different learning rates.
"""

from __future__ import annotations

from typing import Callable

import torch

from tracklift.splat.render.gaussians import Gaussians

PARAM_NAMES = ("means", "log_scales", "quats", "opacity_logits", "sh_dc", "sh_rest")


def split_params(g: Gaussians) -> dict[str, torch.Tensor]:
    """The optimised tensors of `g`, keyed by PARAM_NAMES (sh split into DC [N, 1, 3] and rest [N, K-1, 3])."""
    return {
        "means": g.means,
        "log_scales": g.log_scales,
        "quats": g.quats,
        "opacity_logits": g.opacity_logits,
        "sh_dc": g.sh[:, :1],
        "sh_rest": g.sh[:, 1:],
    }


class GaussianOptimizer:
    """Adam on the tensors of one Gaussians set.

    lrs: learning rate per name in PARAM_NAMES. `gaussians()` assembles the current (differentiable)
    Gaussians from the leaf tensors; call it after every structural change.
    """

    def __init__(self, g: Gaussians, lrs: dict[str, float]) -> None:
        missing = [name for name in PARAM_NAMES if name not in lrs]
        if missing:
            raise ValueError(f"learning rates missing for {missing}")
        self.params = {name: t.detach().clone().contiguous().requires_grad_() for name, t in split_params(g).items()}
        self.adam = torch.optim.Adam(
            [{"params": [self.params[name]], "lr": lrs[name], "name": name} for name in PARAM_NAMES], eps=1e-15
        )

    @property
    def n(self) -> int:
        return int(self.params["means"].shape[0])

    def gaussians(self) -> Gaussians:
        p = self.params
        sh = torch.cat([p["sh_dc"], p["sh_rest"]], dim=1)
        return Gaussians(p["means"], p["log_scales"], p["quats"], p["opacity_logits"], sh)

    def _group(self, name: str) -> dict:
        # Looked up each time: Adam.load_state_dict replaces the group dicts.
        return next(group for group in self.adam.param_groups if group["name"] == name)

    def set_lr(self, name: str, lr: float) -> None:
        self._group(name)["lr"] = lr

    def step(self) -> None:
        self.adam.step()
        self.adam.zero_grad(set_to_none=True)

    def _replace(self, name: str, values: torch.Tensor, moments: Callable[[torch.Tensor], torch.Tensor]) -> None:
        group = self._group(name)
        old = group["params"][0]
        new = values.detach().contiguous().requires_grad_()
        state = self.adam.state.pop(old, None)
        if state:
            state["exp_avg"] = moments(state["exp_avg"]).contiguous()
            state["exp_avg_sq"] = moments(state["exp_avg_sq"]).contiguous()
            self.adam.state[new] = state
        group["params"][0] = new
        self.params[name] = new

    def keep(self, rows: torch.Tensor) -> None:
        """Keep the Gaussians selected by a [N] bool mask or an int64 index (may repeat rows)."""
        for name, t in list(self.params.items()):
            self._replace(name, t[rows], lambda m: m[rows])

    def append(self, g: Gaussians) -> None:
        """Add Gaussians (same SH degree) with zero Adam moments."""
        for name, extra in split_params(g.detach()).items():
            t = self.params[name]
            if extra.shape[1:] != t.shape[1:]:
                raise ValueError(f"cannot append {name} of shape {list(extra.shape)} to {list(t.shape)}")
            self._replace(name, torch.cat([t.detach(), extra.to(t.dtype)]), lambda m, k=len(extra): _pad_zeros(m, k))

    def set_values(self, name: str, values: torch.Tensor) -> None:
        """Overwrite one tensor (same shape) and zero its Adam moments (3DGS opacity reset)."""
        self._replace(name, values, torch.zeros_like)

    def state_dict(self) -> dict:
        return {"params": {k: v.detach().clone() for k, v in self.params.items()}, "adam": self.adam.state_dict()}

    @classmethod
    def from_state_dict(cls, state: dict, lrs: dict[str, float]) -> GaussianOptimizer:
        p = state["params"]
        sh = torch.cat([p["sh_dc"], p["sh_rest"]], dim=1)
        g = Gaussians(p["means"], p["log_scales"], p["quats"], p["opacity_logits"], sh)
        opt = cls(g, lrs)
        opt.adam.load_state_dict(state["adam"])
        return opt


def _pad_zeros(m: torch.Tensor, k: int) -> torch.Tensor:
    return torch.cat([m, m.new_zeros((k, *m.shape[1:]))])
