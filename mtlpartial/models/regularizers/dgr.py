# Copyright (c) mtlpartial contributors. All rights reserved.
"""DGR: Dummy Gradient norm Regularization (Shin, Do, Son, ECCV 2024),
adapted to partially labelled batches."""
import copy
from functools import partial
from typing import Dict, List, Mapping, Tuple

import torch
import torch.nn as nn
from torch import Tensor
from torch.func import functional_call

from mtlpartial.registry import MODELS
from mtlpartial.tasks import BaseTask
from .base_regularizer import BaseRegularizer, RegularizerContext

MODES = ('fd', 'exact')


def reset_parameters(module: nn.Module) -> None:
    """Re-initialise every submodule with PyTorch's default init (the
    official dummies use it: ``initialize_decodersdummy`` is never
    called)."""
    for m in module.modules():
        if hasattr(m, 'reset_parameters'):
            m.reset_parameters()


@MODELS.register_module()
class DGR(BaseRegularizer):
    """``λ ‖∇_{θ_dummy} L_d‖²`` with fixed random dummy heads.

    ``setup(tasks, heads)`` copies the architecture of every ``heads[t]``
    into ``num_dummy`` sets of randomly re-initialised dummy heads. Their
    tensors are registered as **buffers** (``dummy{n}.{task}.{name}``):
    never in the optimizer, never trained, but saved in checkpoints, so a
    resumed run uses the same dummies. The heads themselves are kept as
    tensor-less templates (on the ``meta`` device) run with
    ``torch.func.functional_call``.

    Dummy loss (partial labels): ``L_d = Σ_t ctx.task_loss(t, d_t, 0)``
    with ``d_t = ctx.head_forward(t, dummy_head_t, ctx.head_inputs[0])``:
    only labelled (image, task) pairs, normalised exactly as the model's
    task losses. The penalty's gradient reaches the shared encoder only
    (through ``head_inputs``); real heads are not involved, dummy tensors
    are leaves created per step.

    Modes:

    * ``'fd'`` (paper / official): forward finite difference. With
      ``d = ∇_{θd} L_d``, ``u = d/‖d‖`` (held constant) and ``Lp = L_d(θd +
      h u)``, the official encoder update ``2 (Lp − L)(∇E Lp − ∇E L) / h²``
      is the gradient of the surrogate ``((Lp − L) / h)²``, which is returned
      (so any optim wrapper can back-propagate it). Only the dummy heads are
      re-run at ``θd + h u``: the encoder output does not depend on dummy
      parameters, so the official second forward of the whole network
      (which also updates BN running statistics a second time) is saved.
      Computed in fp32 with autocast disabled (``h = 1e-3`` is meaningless
      in half precision).
    * ``'exact'``: double backward, ``g = ∇_{θd} L_d`` with
      ``create_graph=True`` and ``λ/N Σ_n ‖g_n‖²``.

    The value of both losses is ``λ/N Σ_n ‖∇_{θd_n} L_d‖²`` (FD: its finite
    difference estimate), returned as ``loss_dgr``.

    Args:
        lambda_ (float): λ (``--dummyweight``). Defaults to 0.1.
        h (float): finite-difference step (``--eps``). Defaults to 1e-3.
        num_dummy (int): number of dummy head sets (code default 1; the
            paper uses 3). Defaults to 1.
        mode (str): 'fd' or 'exact'. Defaults to 'fd'.
        name (str), loss_weight (float), init_cfg, warmup_iters (int),
            rampup_epochs (float), rampup_iters (int): see BaseRegularizer.
    """
    default_name = 'dgr'
    num_views = 1

    def __init__(self,
                 lambda_: float = 0.1,
                 h: float = 1e-3,
                 num_dummy: int = 1,
                 mode: str = 'fd',
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(f'DGR.mode must be one of {MODES}, got {mode!r}')
        if int(num_dummy) < 1:
            raise ValueError(f'DGR.num_dummy must be >= 1, got {num_dummy}')
        if float(h) <= 0:
            raise ValueError(f'DGR.h must be > 0, got {h}')
        self.lambda_ = float(lambda_)
        self.h = float(h)
        self.num_dummy = int(num_dummy)
        self.mode = mode
        # task -> tensor-less template module (not a registered submodule)
        self._templates: Dict[str, nn.Module] = {}
        # (dummy set, task) -> [(tensor name in template, buffer name)]
        self._slots: Dict[Tuple[int, str], List[Tuple[str, str]]] = {}
        self._trainable: Dict[Tuple[int, str], set] = {}

    # ------------------------------------------------------------- building
    def build(self, tasks: Mapping[str, BaseTask],
              heads: Mapping[str, nn.Module]) -> None:
        """Create the dummy heads from the model's ``heads``."""
        missing = [t for t in tasks if t not in heads]
        if missing:
            raise ValueError(f'DGR: no head to copy for tasks {missing}')
        for task in tasks:
            head = heads[task]
            for n in range(self.num_dummy):
                dummy = copy.deepcopy(head)
                reset_parameters(dummy)
                slots, trainable = [], set()
                named = list(dummy.named_parameters()) + \
                    list(dummy.named_buffers())
                params = {k for k, _ in dummy.named_parameters()}
                for key, tensor in named:
                    buf = f'dummy{n}__{task}__' + key.replace('.', '__')
                    self.register_buffer(buf, tensor.detach().clone())
                    slots.append((key, buf))
                    if key in params:
                        trainable.add(key)
                self._slots[(n, task)] = slots
                self._trainable[(n, task)] = trainable
            self._templates[task] = copy.deepcopy(head).to('meta')

    # ------------------------------------------------------------ dummies
    def dummy_tensors(self, n: int, task: str,
                      leaf: bool) -> Tuple[Dict[str, Tensor], List[str]]:
        """Tensors of dummy set ``n`` for ``task`` (parameters as fresh
        leaves requiring grad when ``leaf``) and the parameter keys."""
        tensors, keys = {}, []
        trainable = self._trainable[(n, task)]
        for key, buf in self._slots[(n, task)]:
            value = getattr(self, buf)
            if key in trainable:
                value = _at_least_fp32(value.detach()).requires_grad_(leaf)
                keys.append(key)
            tensors[key] = value
        return tensors, keys

    def dummy_loss(self, ctx: RegularizerContext, n: int,
                   tensors: Dict[str, Dict[str, Tensor]],
                   head_inputs) -> Tensor:
        """``L_d`` of dummy set ``n`` over the labelled (image, task)
        pairs."""
        total = None
        for task in ctx.tasks:
            template = self._templates[task]
            template.train(self.training)
            head = partial(_call, template, tensors[task])
            pred = ctx.head_forward(task, head, head_inputs)
            loss = ctx.task_loss(task, pred, 0)
            total = loss if total is None else total + loss
        return total

    # ---------------------------------------------------------------- loss
    def forward(self, ctx: RegularizerContext) -> Dict[str, Tensor]:
        head_inputs = tuple(ctx.head_inputs[0])
        device_type = head_inputs[0].device.type
        with torch.autocast(device_type=device_type, enabled=False):
            head_inputs = tuple(_at_least_fp32(x) for x in head_inputs)
            total = head_inputs[0].new_zeros(())
            for n in range(self.num_dummy):
                total = total + self.penalty(ctx, n, head_inputs)
        scale = self.loss_weight * self.lambda_ / self.num_dummy
        return dict(loss_dgr=scale * total)

    def penalty(self, ctx: RegularizerContext, n: int,
                head_inputs) -> Tensor:
        """``‖∇_{θd_n} L_d‖²`` (exact) or its FD surrogate."""
        tensors, leaves = {}, []
        for task in ctx.tasks:
            t, keys = self.dummy_tensors(n, task, leaf=True)
            tensors[task] = t
            leaves += [t[k] for k in keys]
        loss = self.dummy_loss(ctx, n, tensors, head_inputs)
        if not loss.requires_grad:  # no labelled pair in the batch
            return loss.detach() * 0.0
        grads = torch.autograd.grad(
            loss, leaves, create_graph=self.mode == 'exact',
            retain_graph=True, allow_unused=True)
        grads = [torch.zeros_like(p) if g is None else g
                 for p, g in zip(leaves, grads)]
        if self.mode == 'exact':
            return sum(g.pow(2).sum() for g in grads)
        norm = torch.sqrt(sum(g.detach().pow(2).sum() for g in grads))
        if float(norm) == 0.0:
            return loss * 0.0
        step = {id(p): self.h * g.detach() / norm
                for p, g in zip(leaves, grads)}
        shifted = {
            task: {
                k: (v.detach() + step[id(v)]) if id(v) in step else v
                for k, v in t.items()
            }
            for task, t in tensors.items()
        }
        loss_p = self.dummy_loss(ctx, n, shifted, head_inputs)
        return ((loss_p - loss) / self.h).pow(2)


def _at_least_fp32(x: Tensor) -> Tensor:
    """Half / bfloat16 to fp32; fp32 and fp64 unchanged."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def _call(module: nn.Module, tensors: Dict[str, Tensor], inputs):
    return functional_call(module, tensors, (inputs, ))
