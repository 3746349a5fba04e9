# Copyright (c) mtlpartial contributors. All rights reserved.
"""SyncBN smoke test: one training step of a config with ``sync_bn='torch'``
in a distributed group: a one-process group on a free local port when run
as a plain process, or the group ``torchrun`` sets up.

The runner is built exactly as ``tools/train.py --launcher pytorch`` builds
it (mmengine converts every BatchNorm before wrapping the model when it
trains distributed); this script then counts the ``SyncBatchNorm`` modules
of the wrapped model, trains ``--iters`` iterations without validation or
checkpoints, and prints one JSON line (prefixed ``SYNCBN_RESULT``) with the
count, the backend and the last loss. It exits non-zero when no BatchNorm
was converted or the loss is not finite.

torch's ``SyncBatchNorm`` trains on CUDA tensors only, and torch DDP
refuses it in a CPU module. Without CUDA the process group is gloo, the
conversion is checked on a converted copy of the model (mmengine's
``convert_sync_batchnorm``, as the runner calls it) and the step trains
plain BatchNorm (reported as ``reverted``).
In a group of one process the module falls back to plain batch norm, so
on CUDA the script also runs torch's synchronising autograd function
itself (statistics all-gathered over the group) on a small batch and
compares its output and gradients with plain batch norm
(``sync_kernel_rel_diffs``, per tensor: the largest absolute difference
over that tensor's largest magnitude; more than 1e-4 fails). It is
relative because the weight gradient sums over the batch and the pixels,
and the two kernels reduce in different orders: the first GPU check saw
7.3e-4 absolute on a gradient of magnitude ~2e3.

Example (what ``tools/analysis_tools/gpu_check.py`` runs)::

    python tools/analysis_tools/syncbn_smoke.py configs/dgr/nyuv2_random.py \\
        --work-dir /tmp/syncbn --cfg-options \\
        train_dataloader.dataset.data_root=/tmp/nyuv2 \\
        train_dataloader.dataset.partial_labels=onelabel
"""
import argparse
import copy
import json
import math
import os
import os.path as osp
import socket
import sys
from typing import Callable, Sequence

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import torch  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.model import convert_sync_batchnorm  # noqa: E402
from mmengine.model import is_model_wrapper  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

import mtlpartial  # noqa: E402,F401
from mtlpartial.utils.dist_utils import init_cpu_distributed  # noqa: E402


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('--work-dir', required=True)
    p.add_argument('--iters', type=int, default=1)
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    p.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return p.parse_args()


def count_batchnorms(model: torch.nn.Module) -> tuple:
    """(SyncBatchNorm modules, other BatchNorm modules) in ``model``."""
    sync = sum(isinstance(m, torch.nn.SyncBatchNorm) for m in model.modules())
    plain = sum(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and
                not isinstance(m, torch.nn.SyncBatchNorm)
                for m in model.modules())
    return sync, plain


def one_process_group_env() -> None:
    """torchrun's variables for a group of this process alone, unless a
    launcher has set them."""
    if 'MASTER_PORT' not in os.environ:
        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            os.environ['MASTER_PORT'] = str(s.getsockname()[1])
    for key, value in dict(RANK='0', LOCAL_RANK='0', WORLD_SIZE='1',
                           MASTER_ADDR='127.0.0.1').items():
        os.environ.setdefault(key, value)


#: fails the check above this (float32 rounding is ~1e-7 relative)
SYNC_KERNEL_RTOL = 1e-4


def max_relative_diff(tensors: Sequence[torch.Tensor],
                      references: Sequence[torch.Tensor]) -> float:
    """Largest ``max|t - r| / max|r|`` over the pairs; a zero reference
    compares absolutely."""
    worst = 0.0
    for t, r in zip(tensors, references, strict=True):
        t, r = t.detach().double(), r.detach().double()
        scale = float(r.abs().max()) or 1.0
        worst = max(worst, float((t - r).abs().max()) / scale)
    return worst


def batch_norm_outputs(bn: Callable, x: torch.Tensor, g: torch.Tensor,
                       w: torch.Tensor, b: torch.Tensor) -> tuple:
    """``(y, dL/dx, dL/dw, dL/db)`` for ``y = bn(x, w, b)`` (training-mode
    batch statistics) and ``L = (y * g).sum()``.

    A fixed random upstream gradient ``g``: with ``L = y.square().sum()``
    the input gradient through batch norm cancels to an eps-sized residual
    (~1e-4), so two correct kernels differ there by ~1e-2 relative (2.5e-2
    on an H200; 1.2e-2 between float32 and float64 on a CPU).
    """
    xi, wi, bi = (t.clone().requires_grad_() for t in (x, w, b))
    y = bn(xi, wi, bi)
    return (y, *torch.autograd.grad((y * g).sum(), (xi, wi, bi)))


def sync_kernel_check() -> dict:
    """Relative difference (:func:`max_relative_diff`) between torch's
    sync-BN function (world size 1) and ``F.batch_norm`` on CUDA, per
    tensor of :func:`batch_norm_outputs`."""
    from torch.nn.modules._functions import SyncBatchNorm as SyncBNFunction
    gen = torch.Generator(device='cuda').manual_seed(0)
    x = torch.randn(4, 8, 16, 16, device='cuda', generator=gen)
    g = torch.randn(4, 8, 16, 16, device='cuda', generator=gen)
    w = torch.rand(8, device='cuda', generator=gen) + 0.5
    b = torch.randn(8, device='cuda', generator=gen)

    def stats():  # fresh running statistics for each kernel
        return torch.zeros(8, device='cuda'), torch.ones(8, device='cuda')

    def sync_bn(xi, wi, bi):
        return SyncBNFunction.apply(xi, wi, bi, *stats(), 1e-5, 0.1,
                                    torch.distributed.group.WORLD, 1)

    def plain_bn(xi, wi, bi):
        return torch.nn.functional.batch_norm(xi, *stats(), wi, bi, True,
                                              0.1, 1e-5)

    outs = [batch_norm_outputs(bn, x, g, w, b) for bn in (sync_bn, plain_bn)]
    return {name: max_relative_diff([a], [c]) for name, a, c in zip(
        ('output', 'grad_input', 'grad_weight', 'grad_bias'), *outs)}


def main() -> None:
    args = parse_args()
    one_process_group_env()
    cuda = torch.cuda.is_available()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.work_dir = args.work_dir
    cfg.launcher = 'pytorch'
    # torch DDP refuses SyncBatchNorm in a CPU module
    cfg.sync_bn = 'torch' if cuda else None
    cfg.env_cfg.dist_cfg = dict(backend='nccl' if cuda else 'gloo')
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=args.iters)
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.param_scheduler = []
    cfg.log_processor = dict(by_epoch=False)
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint = None  # a smoke test: nothing to keep
    init_cpu_distributed('pytorch')
    runner = Runner.from_cfg(cfg)
    model = runner.model
    if not cuda:
        model = convert_sync_batchnorm(copy.deepcopy(
            model.module if is_model_wrapper(model) else model), 'torch')
    sync, plain = count_batchnorms(model)
    if sync == 0:
        raise SystemExit(f'{args.config}: sync_bn=torch converted no '
                         f'BatchNorm ({plain} left unconverted)')
    runner.train()
    kernel_diffs = kernel_diff = kernel_error = None
    if cuda:
        try:
            kernel_diffs = sync_kernel_check()
            kernel_diff = max(kernel_diffs.values())
        except Exception as e:  # reported below, after the step's result
            kernel_error = f'{type(e).__name__}: {e}'
    loss = float(runner.message_hub.get_scalar('train/loss').current())
    result = dict(
        config=args.config, syncbn_modules=sync, batchnorm_left=plain,
        backend=torch.distributed.get_backend(),
        world_size=torch.distributed.get_world_size(),
        device=torch.cuda.get_device_name() if cuda else 'cpu',
        reverted_for_cpu=not cuda, iters=runner.iter, loss=loss,
        sync_kernel_rel_diffs=kernel_diffs, sync_kernel_error=kernel_error)
    print('SYNCBN_RESULT ' + json.dumps(result), flush=True)
    torch.distributed.destroy_process_group()
    if not math.isfinite(loss):
        raise SystemExit(f'error: non-finite loss {loss} after '
                         f'{runner.iter} steps')
    if kernel_error:
        raise SystemExit(f'error: sync-BN function failed: {kernel_error}')
    if kernel_diff is not None and not kernel_diff <= SYNC_KERNEL_RTOL:
        raise SystemExit(
            f'error: sync-BN function differs from batch norm by '
            f'{kernel_diff:.3g} (relative; at most {SYNC_KERNEL_RTOL:g}) '
            f'in a group of one process: {kernel_diffs}')


if __name__ == '__main__':
    main()
