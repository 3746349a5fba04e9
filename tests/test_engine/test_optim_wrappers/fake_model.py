# Copyright (c) mtlpartial contributors. All rights reserved.
"""A tiny BN-free model implementing the MultiTaskModel contract, and an
independent (loop-based) computation of the gradients it should get."""
from typing import Dict, List, Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModel
from torch import Tensor

from mtlpartial.structures import MultiTaskLosses


class FakeMultiTaskModel(BaseModel):
    """Shared MLP trunk, one linear head per task, one regularizer.

    Losses are normalised by *global* counts (``counts``/``batch``
    arguments), like ``MultiTaskModel`` under distributed training:
    ``loss_t = Σ_{labelled i} (head_t(f_i) − y_it)² / n_t`` and
    ``reg.loss_smooth = s · Σ_i (‖f_i‖² + head_0(f_i)²) / B``; ``s`` is a
    regularizer-only parameter.
    """

    def __init__(self, num_tasks: int = 3, in_dim: int = 5,
                 hidden: int = 6, reg: bool = True) -> None:
        super().__init__()
        self.backbone = nn.Sequential(
            nn.Linear(in_dim, hidden), nn.Tanh(), nn.Linear(hidden, hidden),
            nn.Tanh())
        self.heads = nn.ModuleList(
            nn.Linear(hidden, 1) for _ in range(num_tasks))
        self.reg_scale = nn.Parameter(torch.tensor(0.3))
        self.use_reg = reg
        self.task_names = tuple(f't{k}' for k in range(num_tasks))

    def shared_parameters(self) -> List[nn.Parameter]:
        return list(self.backbone.parameters())

    def step(self, wrapper, *data, **kwargs) -> Dict[str, Tensor]:
        """``MultiTaskModel.train_step`` without the data preprocessor:
        the logged values and the wrapper's update."""
        losses = self.compute_losses(*data, **kwargs)
        _, log_vars = self.parse_losses(losses)
        log_vars.update(wrapper.update_multitask(losses))
        return log_vars

    def forward(self, *args, **kwargs):  # pragma: no cover - unused
        return self.compute_losses(*args, **kwargs)

    def compute_losses(self,
                       x: Tensor,
                       y: Tensor,
                       labelled: Tensor,
                       counts: Optional[Tensor] = None,
                       batch: Optional[float] = None) -> MultiTaskLosses:
        feat = self.backbone(x)
        counts = labelled.sum(0).to(x) if counts is None else counts.to(x)
        batch = float(x.shape[0]) if batch is None else float(batch)
        task_losses = []
        for k in range(len(self.task_names)):
            m = labelled[:, k]
            if m.any():
                pred = self.heads[k](feat[m]).squeeze(-1)
                task_losses.append(((pred - y[m, k])**2).sum() / counts[k])
            else:
                task_losses.append(feat.new_zeros(()))
        reg = {}
        if self.use_reg:
            head0 = self.heads[0](feat).squeeze(-1)
            per_sample = feat.pow(2).sum(1) + head0**2
            reg['reg.loss_smooth'] = \
                self.reg_scale * per_sample.sum() / batch
        return MultiTaskLosses(
            task_names=self.task_names,
            task_losses=task_losses,
            task_active=(counts > 0).cpu(),
            regularizer_losses=reg,
            shared_representation=[feat],
            log_values={'acc_metric': feat.detach().mean()})


def make_data(batch: int = 8, num_tasks: int = 3, in_dim: int = 5,
              seed: int = 0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, in_dim, generator=g, dtype=dtype)
    y = torch.randn(batch, num_tasks, generator=g, dtype=dtype)
    labelled = torch.rand(batch, num_tasks, generator=g) < 0.6
    labelled[0] = True
    return x, y, labelled


def reference_pieces(model: FakeMultiTaskModel, x, y, labelled, counts=None,
                     batch=None):
    """Loop-based per-task gradients (independent of the wrapper).

    Returns dict with ``jac`` (K×P shared), ``rep_jac`` (K×R), ``rep``,
    per-task head grads ``head`` [K][params], regularizer grads ``reg`` for
    every parameter (name -> grad), loss values.
    """
    losses = model.compute_losses(x, y, labelled, counts, batch)
    shared = model.shared_parameters()
    feat = losses.shared_representation[0]
    named = dict(model.named_parameters())
    jac, rep_jac, heads, values = [], [], [], []
    for k, t in enumerate(model.task_names):
        loss = losses[f'loss_{t}']
        values.append(float(loss))
        if not loss.requires_grad:
            jac.append(torch.zeros(sum(p.numel() for p in shared)).to(x))
            rep_jac.append(torch.zeros(feat.numel()).to(x))
            heads.append(None)
            continue
        gs = torch.autograd.grad(loss, shared, retain_graph=True)
        jac.append(torch.cat([g.reshape(-1) for g in gs]))
        (gr, ) = torch.autograd.grad(loss, feat, retain_graph=True)
        rep_jac.append(gr.reshape(-1))
        heads.append([
            g.clone() for g in torch.autograd.grad(
                loss, list(model.heads[k].parameters()), retain_graph=True)
        ])
    reg = {}
    if 'reg.loss_smooth' in losses:
        names = list(named)
        gs = torch.autograd.grad(
            losses['reg.loss_smooth'], [named[n] for n in names],
            retain_graph=True, allow_unused=True)
        reg = {
            n: torch.zeros_like(named[n]) if g is None else g
            for n, g in zip(names, gs)
        }
    return dict(
        jac=torch.stack(jac),
        rep_jac=torch.stack(rep_jac),
        feat=feat,
        head=heads,
        reg=reg,
        values=torch.tensor(values, dtype=x.dtype),
        losses=losses)


def flat_shared_reg(model, pieces) -> Tensor:
    names = [
        n for n, _ in model.named_parameters() if n.startswith('backbone')
    ]
    if not pieces['reg']:
        return torch.zeros(sum(p.numel() for p in model.shared_parameters()),
                           dtype=torch.float64)
    return torch.cat([pieces['reg'][n].reshape(-1) for n in names])


def param_deltas(before: Dict[str, Tensor], model: nn.Module):
    return {
        n: before[n] - p.detach()
        for n, p in model.named_parameters()
    }


def snapshot(model: nn.Module) -> Dict[str, Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters()}
