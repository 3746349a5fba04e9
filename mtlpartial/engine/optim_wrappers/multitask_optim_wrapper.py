# Copyright (c) mtlpartial contributors. All rights reserved.
"""Optim wrappers that balance the tasks of a multi-task model.

``MultiTaskOptimWrapper`` (fp32) and ``MultiTaskAmpOptimWrapper`` (AMP) add
``update_multitask(model, losses) -> log_vars`` to mmengine's wrappers; the
model's ``train_step`` calls it instead of ``update_params``. Config::

    optim_wrapper = dict(
        type='MultiTaskOptimWrapper',
        optimizer=dict(type='Adam', lr=1e-4),
        balancer=dict(type='PCGrad'),   # any mtlpartial.registry.BALANCERS
        rep_grad=False,                 # gradients w.r.t. the shared params
        clip_grad=None, accumulative_counts=1)

Model contract (``MultiTaskModel``): ``task_names``, ``shared_parameters()``,
``shared_representation()`` (rep-grad mode), ``task_active`` ((K,) bool,
global) and the loss dict with ``loss_<task>`` per task (a zero tensor
without graph when the task had no labelled sample) and regularizer terms
(every other key containing 'loss'), which are never balanced: their
gradients are added after combining.

One step:

* **Loss weightings** without gradient needs (EW, Uncertainty, DWA, RLW,
  IMTL-L, FAMO): one backward of ``Σ_k w_k L_k + Σ reg`` (weights from the
  global loss values); learnable weightings also back-propagate their
  ``balancer_loss`` into their own parameters (a param group of the model
  optimizer, or their own optimizer for FAMO).
* **Gradient methods** (and GradNorm): the per-task gradients ``J`` (K×P)
  w.r.t. the shared parameters (``rep_grad=False``) or the shared
  representation (``rep_grad=True``) come from one vmap-batched VJP over the
  stacked task losses. Task heads and other non-shared parameters receive
  ``Σ_k h_k ∇L_k + ∇reg`` from an ordinary backward restricted to them
  (``h_k = 1``: each head gets exactly its own task's gradient; DB-MTL and
  GradNorm use their weights). The shared parameters receive the combined
  update plus the regularizer gradient (parameter mode: an extra row of the
  batched VJP; rep mode: one backward of the representation with the
  combined representation gradient, plus the regularizer).
* Tasks with ``task_active`` False sit out (their rows are dropped).

Distributed (losses normalised by *global* counts, gradients summed, see
``mtlpartial.utils.dist_utils``): loss values given to balancers are
``global_sum``-med; in parameter mode ``J`` (and the regularizer row) is
all-reduced before ``combine``; in rep mode only the K×K Gramian is
all-reduced (the global representation is the concatenation of the ranks'
ones, so ``Σ_r J_r J_rᵀ`` is its Gramian) and each rank applies the weights
to its own rows — exact for Gramian-based methods, per-rank for GradDrop and
DB-MTL. Other gradients are all-reduced (SUM) right before the optimizer
step, so gradient accumulation stays exact. Balancer parameters are updated
identically on every rank and are never all-reduced.

Gradient accumulation: ``_inner_count`` grows by one per call; the combined
update is computed per micro-batch on unscaled gradients and then divided
by the accumulation factor (so scale-invariant methods such as Nash-MTL
keep their meaning). Clipping happens in ``step()``.

AMP: task losses are multiplied by the loss scale before the VJP and ``J``
is unscaled before combining; everything written to ``.grad`` is scaled, so
``AmpOptimWrapper.step`` unscales and skips non-finite steps as usual.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.dist import (broadcast_object_list, get_world_size,
                           is_distributed)
from mmengine.logging import MessageHub
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from torch import Tensor

from mtlpartial.engine.balancers import BaseBalancer, BaseLossWeighting
from mtlpartial.registry import BALANCERS, OPTIM_WRAPPERS
from mtlpartial.utils.dist_utils import all_reduce_grads, global_sum
from .task_gradients import nested_pairs, split_like, task_jacobian


def _distributed() -> bool:
    return is_distributed() and get_world_size() > 1


def _all_reduce_(tensor: Tensor) -> Tensor:
    if _distributed():
        torch.distributed.all_reduce(tensor, op=torch.distributed.ReduceOp.SUM)
    return tensor


class MultiTaskOptimWrapperMixin:
    """Task balancing for mmengine optim wrappers (see module docstring).

    Args:
        balancer (dict | BaseBalancer): a ``BALANCERS`` config or instance.
            Defaults to ``dict(type='EW')``.
        rep_grad (bool): per-task gradients w.r.t. the shared
            representation (MGDA-UB style) instead of the shared parameters.
            Only used by methods that need task gradients. Defaults to
            False.
        batched_vjp (bool): one vmap-batched VJP for all tasks (falls back
            to a loop on ops without vmap support). Defaults to True.
        num_tasks (int, optional): set up the balancer at construction
            (learnable weightings then join the optimizer before the param
            schedulers are built). Otherwise it is set up at the first
            ``update_multitask`` or when a checkpoint is loaded.
        balancer_param_cfg (dict, optional): options of the param group of
            learnable balancer parameters (e.g. ``lr``). Defaults to
            ``weight_decay=0``.
        **kwargs: arguments of the mmengine wrapper (``optimizer``,
            ``accumulative_counts``, ``clip_grad``, ...).
    """

    def __init__(self,
                 *args,
                 balancer: Union[dict, BaseBalancer, None] = None,
                 rep_grad: bool = False,
                 batched_vjp: bool = True,
                 num_tasks: Optional[int] = None,
                 balancer_param_cfg: Optional[dict] = None,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if balancer is None:
            balancer = dict(type='EW')
        if isinstance(balancer, dict):
            balancer = BALANCERS.build(balancer)
        if not isinstance(balancer, BaseBalancer):
            raise TypeError(f'optim_wrapper.balancer must be a BALANCERS '
                            f'config or a BaseBalancer, got '
                            f'{type(balancer).__name__}')
        self.balancer = balancer
        self.rep_grad = bool(rep_grad)
        self.batched_vjp = bool(batched_vjp)
        self.balancer_param_cfg = dict(balancer_param_cfg or {})
        if 'weight_decay' in self.optimizer.defaults:
            self.balancer_param_cfg.setdefault('weight_decay', 0.0)
        self._seed_synced = False
        if num_tasks is not None:
            self.setup_balancer(num_tasks)

    # ------------------------------------------------------------- set up
    def _optimizer_device(self) -> torch.device:
        for group in self.optimizer.param_groups:
            for p in group['params']:
                return p.device
        return torch.device('cpu')

    def setup_balancer(self, num_tasks: int,
                       device: Optional[torch.device] = None) -> None:
        """Size the balancer and add its learnable parameters (once)."""
        self.balancer.setup(int(num_tasks))
        self.balancer.to(device or self._optimizer_device())
        params = self.balancer.optimizer_parameters()
        known = {
            id(p)
            for group in self.optimizer.param_groups for p in group['params']
        }
        new = [p for p in params if id(p) not in known]
        if new:
            self.optimizer.add_param_group(
                dict(params=new, **self.balancer_param_cfg))

    def _sync_seed(self) -> None:
        """Give every rank rank 0's seed for unseeded random balancers."""
        if self._seed_synced:
            return
        self._seed_synced = True
        b = self.balancer
        if _distributed() and hasattr(b, 'seed') and b.seed is None and \
                getattr(b, '_gen', None) is None and \
                getattr(b, '_gen_state', None) is None:
            obj = [torch.initial_seed()]
            broadcast_object_list(obj, src=0)
            b.seed = int(obj[0])

    # -------------------------------------------------------------- state
    def state_dict(self) -> dict:
        state = super().state_dict()
        state['balancer'] = self.balancer.state_dict()
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state_dict = dict(state_dict)
        balancer_state = state_dict.pop('balancer', None)
        if balancer_state is not None:
            extra = balancer_state.get('_extra_state') or {}
            if extra.get('num_tasks') is not None:
                self.setup_balancer(int(extra['num_tasks']))
            self.balancer.load_state_dict(balancer_state)
        super().load_state_dict(state_dict)

    # ------------------------------------------------------------ scaling
    def _grad_scale(self, device) -> float:
        """AMP loss scale (1 without a loss scaler)."""
        scaler = getattr(self, 'loss_scaler', None)
        if scaler is None:
            return 1.0
        # ``scale`` also initialises the scaler lazily (needed by ``step``)
        return float(scaler.scale(torch.ones((), device=device)))

    # ----------------------------------------------------------- the step
    @staticmethod
    def _split_losses(losses: Dict[str, Union[Tensor, List[Tensor]]],
                      task_names: Sequence[str]
                      ) -> Tuple[List[Tensor], Optional[Tensor]]:
        task_losses = []
        for t in task_names:
            key = f'loss_{t}'
            if key not in losses:
                raise KeyError(
                    f'MultiTaskOptimWrapper: the model loss dict has no '
                    f'"{key}" for task "{t}"; keys are {sorted(losses)}')
            value = losses[key]
            if not isinstance(value, Tensor) or value.numel() != 1:
                raise ValueError(
                    f'MultiTaskOptimWrapper: "{key}" must be a scalar tensor, '
                    f'got {type(value).__name__} '
                    f'{getattr(value, "shape", "")}')
            task_losses.append(value.reshape(()))
        task_keys = {f'loss_{t}' for t in task_names}
        reg_terms = []
        for key, value in losses.items():
            if 'loss' not in key or key in task_keys:
                continue
            if isinstance(value, Tensor):
                reg_terms.append(value.mean())
            elif isinstance(value, (list, tuple)):
                reg_terms.extend(v.mean() for v in value)
            else:
                raise TypeError(f'MultiTaskOptimWrapper: "{key}" must be a '
                                f'tensor or a list of tensors, got '
                                f'{type(value).__name__}')
        reg = sum(reg_terms) if reg_terms else None
        return task_losses, reg

    @staticmethod
    def _active_tasks(model: nn.Module, task_losses: List[Tensor]) -> Tensor:
        active = getattr(model, 'task_active', None)
        if active is None:
            flags = torch.tensor([float(v.requires_grad) for v in task_losses])
            return global_sum(flags) > 0
        active = torch.as_tensor(active).detach().reshape(-1).bool().cpu()
        if active.numel() != len(task_losses):
            raise ValueError(
                f'model.task_active has {active.numel()} entries for '
                f'{len(task_losses)} tasks {tuple(model.task_names)}')
        return active

    def update_multitask(self, model: nn.Module,
                         losses: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """Balance the task losses of one iteration and update.

        Args:
            model (nn.Module): the multi-task model (see module docstring).
            losses (dict): the model's loss dict.

        Returns:
            dict: ``log_vars`` (``model.parse_losses``; local values) plus
            ``weight_<task>`` for the active tasks when the balancer exposes
            weights.
        """
        task_names = tuple(model.task_names)
        if not task_names:
            raise ValueError('MultiTaskOptimWrapper: model.task_names is '
                             'empty')
        task_losses, reg = self._split_losses(losses, task_names)
        _, log_vars = model.parse_losses(losses)
        model_params = [p for p in model.parameters() if p.requires_grad]
        device = model_params[0].device if model_params else \
            task_losses[0].device
        self.setup_balancer(len(task_names), device)
        self._sync_seed()

        active = self._active_tasks(model, task_losses)
        idx = active.nonzero().flatten()
        values = torch.stack([v.detach() for v in task_losses])
        values = global_sum(
            values.to(torch.promote_types(values.dtype, torch.float32)))
        act_values = values[idx.to(values.device)]
        inv_factor = float(self.scale_loss(torch.ones(())))
        grad_scale = self._grad_scale(device)
        hub = MessageHub.get_current_instance()
        epoch = hub.get_info('epoch') if hub is not None else None

        b = self.balancer
        self.balancer.last_weights = None
        if b.needs_task_grads:
            self._gradient_update(model, task_losses, reg, idx, act_values,
                                  epoch, inv_factor, grad_scale)
            shared_ids = {id(p) for p in model.shared_parameters()}
            sync = model_params if self.rep_grad else [
                p for p in model_params if id(p) not in shared_ids
            ]
        else:
            self._weighting_update(task_losses, reg, idx, act_values, epoch,
                                   inv_factor * grad_scale)
            sync = model_params

        self._inner_count += 1
        if self.should_update():
            all_reduce_grads(sync)
            self.step()
            self.zero_grad()
            b.after_step()

        weights = b.last_weights
        if weights is not None and weights.numel() == idx.numel():
            for k, w in zip(idx.tolist(), weights.detach().cpu().tolist()):
                log_vars[f'weight_{task_names[k]}'] = torch.tensor(
                    float(w))
        return log_vars

    @staticmethod
    def _weighted_sum(task_losses: List[Tensor], idx: Tensor,
                      weights: Tensor, reg: Optional[Tensor]
                      ) -> Optional[Tensor]:
        terms = [
            weights[r].to(task_losses[k]) * task_losses[k]
            for r, k in enumerate(idx.tolist())
            if task_losses[k].requires_grad
        ]
        if reg is not None and reg.requires_grad:
            terms.append(reg)
        return sum(terms) if terms else None

    def _weighting_update(self, task_losses, reg, idx, act_values, epoch,
                          factor: float) -> None:
        b = self.balancer
        weights = b.weights(act_values, idx, epoch=epoch)
        total = self._weighted_sum(task_losses, idx, weights, reg)
        if total is not None:
            (total * factor).backward()
        if isinstance(b, BaseLossWeighting) and idx.numel():
            own = b.balancer_loss(act_values, idx)
            if own is not None:
                (own * factor).backward()

    def _gradient_update(self, model, task_losses, reg, idx, act_values,
                         epoch, inv_factor: float, scale: float) -> None:
        b = self.balancer
        factor = inv_factor * scale
        shared = [p for p in model.shared_parameters() if p.requires_grad]
        shared_ids = {id(p) for p in shared}
        others = [
            p for p in model.parameters()
            if p.requires_grad and id(p) not in shared_ids
        ]
        rows = idx.tolist()
        graph_rows = [
            r for r, k in enumerate(rows) if task_losses[k].requires_grad
        ]
        outputs = [task_losses[rows[r]] for r in graph_rows]
        reg_graph = reg is not None and reg.requires_grad
        if self.rep_grad:
            inputs = [t for t in model.shared_representation()
                      if t.requires_grad]
            if graph_rows and not inputs:
                raise ValueError(
                    'MultiTaskOptimWrapper(rep_grad=True): '
                    'model.shared_representation() returned no tensor that '
                    'requires grad')
            nested = nested_pairs(inputs) if len(inputs) > 1 else []
            if nested:
                raise ValueError(
                    'MultiTaskOptimWrapper(rep_grad=True): the shared '
                    'representation tensors must not depend on each other, '
                    f'but tensor {nested[0][0]} of '
                    'model.shared_representation() is computed from tensor '
                    f'{nested[0][1]} (heads reading several nested backbone '
                    'levels); use rep_grad=False')
        else:
            inputs = shared
            if reg_graph:
                outputs = outputs + [reg]
        dtype = torch.promote_types(
            torch.float32, inputs[0].dtype if inputs else torch.float32)
        # ``scale`` is the AMP loss scale: keep fp16 VJPs in range
        local = task_jacobian([o * scale for o in outputs]
                              if scale != 1.0 else outputs,
                              inputs, self.batched_vjp, dtype)
        if scale != 1.0:
            local = local / scale
        num_p = local.shape[1]
        jac = local.new_zeros(len(rows), num_p)
        if graph_rows:
            jac[graph_rows] = local[:len(graph_rows)]
        reg_row = None
        if not self.rep_grad and reg is not None:
            reg_row = local[len(graph_rows)] if reg_graph else \
                local.new_zeros(num_p)
            if _distributed():
                buf = _all_reduce_(torch.cat([jac, reg_row[None]]))
                jac, reg_row = buf[:-1], buf[-1]
        elif not self.rep_grad:
            _all_reduce_(jac)

        # combine
        if isinstance(b, BaseLossWeighting) or b.gramian_based:
            gram = jac @ jac.T
            if self.rep_grad:
                _all_reduce_(gram)
            if isinstance(b, BaseLossWeighting):
                weights = b.weights(act_values, idx, gramian=gram,
                                    epoch=epoch)
                head_w = weights
            else:
                weights = b.gramian_weights(gram, act_values, idx)
                head_w = b.head_weights(act_values, idx)
            update = weights.to(jac) @ jac if rows else jac.new_zeros(num_p)
        else:
            update = b.combine(jac, act_values, idx)
            head_w = b.head_weights(act_values, idx)

        # task-specific (and other non-shared) parameters
        head_total = self._weighted_sum(task_losses, idx, head_w, reg)
        if others and head_total is not None:
            torch.autograd.backward(
                head_total * factor, inputs=others,
                retain_graph=self.rep_grad)
        if isinstance(b, BaseLossWeighting) and rows:
            own = b.balancer_loss(act_values, idx, gramian=gram)
            if own is not None:
                (own * factor).backward()

        # shared parameters
        if self.rep_grad:
            tensors, grads = [], []
            if graph_rows:
                for t, g in zip(inputs, split_like(update * factor, inputs)):
                    tensors.append(t)
                    grads.append(g.to(t.dtype))
            if reg_graph:
                tensors.append(reg)
                grads.append(torch.full_like(reg, factor))
            if tensors and shared:
                torch.autograd.backward(tensors, grads, inputs=shared)
        else:
            total = update if reg_row is None else update + reg_row
            total = total * factor
            for p, g in zip(shared, split_like(total, shared)):
                g = g.to(p.dtype)
                if p.grad is None:
                    p.grad = g.clone()
                else:
                    p.grad.add_(g)


@OPTIM_WRAPPERS.register_module()
class MultiTaskOptimWrapper(MultiTaskOptimWrapperMixin, OptimWrapper):
    """fp32 ``OptimWrapper`` with task balancing (``update_multitask``)."""


@OPTIM_WRAPPERS.register_module()
class MultiTaskAmpOptimWrapper(MultiTaskOptimWrapperMixin, AmpOptimWrapper):
    """``AmpOptimWrapper`` with task balancing (needs CUDA/NPU/MLU)."""


__all__ = [
    'MultiTaskOptimWrapperMixin', 'MultiTaskOptimWrapper',
    'MultiTaskAmpOptimWrapper'
]
