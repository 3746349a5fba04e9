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
(``sync_kernel_max_diff``; more than 1e-4 fails).

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


def sync_kernel_check() -> float:
    """Largest difference between torch's sync-BN function (world size 1)
    and ``F.batch_norm``: output, input and weight gradients (CUDA)."""
    from torch.nn.modules._functions import SyncBatchNorm as SyncBNFunction
    gen = torch.Generator(device='cuda').manual_seed(0)
    x = torch.randn(4, 8, 16, 16, device='cuda', generator=gen)
    w = torch.rand(8, device='cuda', generator=gen) + 0.5
    b = torch.randn(8, device='cuda', generator=gen)
    outs = []
    for sync in (True, False):
        xi, wi = x.clone().requires_grad_(), w.clone().requires_grad_()
        mean = torch.zeros(8, device='cuda')
        var = torch.ones(8, device='cuda')
        if sync:
            y = SyncBNFunction.apply(xi, wi, b, mean, var, 1e-5, 0.1,
                                     torch.distributed.group.WORLD, 1)
        else:
            y = torch.nn.functional.batch_norm(xi, mean, var, wi, b, True,
                                               0.1, 1e-5)
        outs.append((y, *torch.autograd.grad(y.square().sum(), (xi, wi))))
    return max(float((a - c).abs().max()) for a, c in zip(*outs))


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
    kernel_diff = kernel_error = None
    if cuda:
        try:
            kernel_diff = sync_kernel_check()
        except Exception as e:  # reported below, after the step's result
            kernel_error = f'{type(e).__name__}: {e}'
    loss = float(runner.message_hub.get_scalar('train/loss').current())
    result = dict(
        config=args.config, syncbn_modules=sync, batchnorm_left=plain,
        backend=torch.distributed.get_backend(),
        world_size=torch.distributed.get_world_size(),
        device=torch.cuda.get_device_name() if cuda else 'cpu',
        reverted_for_cpu=not cuda, iters=runner.iter, loss=loss,
        sync_kernel_max_diff=kernel_diff, sync_kernel_error=kernel_error)
    print('SYNCBN_RESULT ' + json.dumps(result), flush=True)
    if not math.isfinite(loss):
        raise SystemExit(f'non-finite loss {loss} after {runner.iter} steps')
    if kernel_error:
        raise SystemExit(f'sync-BN function failed: {kernel_error}')
    if kernel_diff is not None and not kernel_diff <= 1e-4:
        raise SystemExit(f'sync-BN function differs from batch norm by '
                         f'{kernel_diff:.3g} in a group of one process')


if __name__ == '__main__':
    main()
