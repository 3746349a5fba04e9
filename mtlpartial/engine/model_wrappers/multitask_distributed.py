# Copyright (c) mtlpartial contributors. All rights reserved.
"""torch DDP around a multi-task model, with the model's own training
step."""
import inspect
from typing import Any, Dict, List, Optional, Union

import torch
import torch.nn as nn
from mmengine.model import MMDistributedDataParallel
from mmengine.optim import OptimWrapper
from torch.nn.parallel import DistributedDataParallel

from mtlpartial.registry import MODEL_WRAPPERS

#: torch >= 2.13 names DDP's ``broadcast_buffers`` ``forward_sync_buffers``
BUFFERS_ARG = 'forward_sync_buffers' if 'forward_sync_buffers' in \
    inspect.signature(DistributedDataParallel.__init__).parameters else \
    'broadcast_buffers'


@MODEL_WRAPPERS.register_module()
class MultiTaskDistributedWrapper(MMDistributedDataParallel):
    """torch ``DistributedDataParallel`` whose ``train_step`` is the
    model's.

    mmengine's ``MMDistributedDataParallel.train_step`` parses the losses
    and calls ``optim_wrapper.update_params`` itself, ignoring a custom
    ``model.train_step`` (openmmlab.md §3.5). This subclass hands the step
    to ``MultiTaskModel.train_step(data, optim_wrapper, ddp=self)``, which
    runs the forward through DDP (so that the reducer sees it) inside
    ``optim_wrapper.optim_context`` and then ``update_multitask``:

    * **loss weightings** (EW, Uncertainty, ...): DDP's bucketed all-reduce
      runs during the backward, overlapped with it. Each rank's losses are
      normalised by the *global* labelled counts and the optim wrapper
      scales them by the world size, so DDP's averaging yields exactly the
      gradient of the global-batch loss, although the ranks' labelled
      counts differ.
    * **gradient methods** (PCGrad, MGDA, ...) need the per-task gradients
      before anything is summed: their forward runs under ``no_sync`` and
      the optim wrapper sums the per-task Jacobian (or only its Gramian in
      rep-grad mode) and the other gradients itself, in buckets.
    * **gradient accumulation** (``accumulative_counts``): the inner
      micro-batches run under ``no_sync`` (mmengine's ``optim_context``).

    Select it with ``model_wrapper_cfg=dict(type='mtlpartial.
    MultiTaskDistributedWrapper')`` (the default of
    ``configs/_base_/default_runtime.py``); the options below are DDP's.

    Args:
        module (nn.Module): the model.
        find_unused_parameters (bool): let DDP find the parameters without
            a gradient at a step. Needed under partial labels: the head of a
            task without a label on a rank, a regularizer in its warm-up or
            an alternating discriminator get none on some steps (DDP would
            otherwise wait for them). It costs one walk of the autograd
            graph per step (docs/benchmarks.md). Set False only when every
            parameter gets a gradient on every rank at every step.
            Defaults to True.
        broadcast_buffers (bool): (torch DDP's ``forward_sync_buffers``
            since torch 2.13) DDP broadcasts rank 0's buffers (batch-
            norm running statistics) before every training forward; for the
            gradient methods, whose forward runs under ``no_sync``, this
            wrapper does it. False leaves each rank its own statistics
            (rank 0's are the ones checkpointed). Synchronised batch
            statistics are mmengine's ``sync_bn = 'torch'`` config option
            instead (CUDA only). Defaults to True.
        gradient_as_bucket_view (bool): gradients are views of DDP's
            buckets (no second copy of the gradients). Defaults to True.
        device_ids (list[int], optional): DDP's; mmengine passes the local
            rank, which is dropped for a model on the CPU (gloo).
        **kwargs: other arguments of ``DistributedDataParallel``
            (``bucket_cap_mb``, ...).
    """

    def __init__(self,
                 module: nn.Module,
                 find_unused_parameters: bool = True,
                 broadcast_buffers: bool = True,
                 gradient_as_bucket_view: bool = True,
                 device_ids: Optional[List[int]] = None,
                 **kwargs) -> None:
        params = list(module.parameters())
        on_cpu = bool(params) and params[0].device.type == 'cpu'
        if on_cpu and any(isinstance(m, nn.SyncBatchNorm)
                          for m in module.modules()):
            raise ValueError(
                "MultiTaskDistributedWrapper: the model has SyncBatchNorm "
                "layers (config sync_bn='torch') but trains on the CPU; "
                "torch's SyncBatchNorm needs CUDA: remove sync_bn from the "
                'config for a CPU (gloo) run')
        if device_ids is not None and on_cpu:
            device_ids = None  # CPU modules take none (gloo)
        super().__init__(
            module=module,
            device_ids=device_ids,
            find_unused_parameters=find_unused_parameters,
            gradient_as_bucket_view=gradient_as_bucket_view,
            **{BUFFERS_ARG: broadcast_buffers},
            **kwargs)
        self.sync_buffers = bool(broadcast_buffers)

    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper: OptimWrapper) -> Dict[str, torch.Tensor]:
        return self.module.train_step(data, optim_wrapper, ddp=self)

    def forward(self, *args, **kwargs) -> Any:
        """DDP's forward; under ``no_sync`` (where DDP skips it) rank 0's
        buffers are broadcast first when ``broadcast_buffers``."""
        if torch.is_grad_enabled() and not self.require_backward_grad_sync \
                and self.sync_buffers and self.modules_buffers:
            self._sync_buffers()
        return super().forward(*args, **kwargs)
