# Copyright (c) mtlpartial contributors. All rights reserved.
"""Continue a resumed epoch where it stopped instead of replaying it."""
from mmengine.hooks import Hook

from mtlpartial.registry import HOOKS


def _sampler_of(dataloader):
    sampler = getattr(dataloader, 'sampler', None)
    if hasattr(sampler, 'set_start_iter'):
        return sampler
    batch_sampler = getattr(dataloader, 'batch_sampler', None)
    sampler = getattr(batch_sampler, 'sampler', None)
    if hasattr(sampler, 'set_start_iter'):
        return sampler
    return None


@HOOKS.register_module()
class MidEpochResumeHook(Hook):
    """Make a run resumed in the middle of an epoch see the same batches.

    mmengine 0.10 restores ``runner.epoch`` and ``runner.iter`` from the
    checkpoint. ``EpochBasedTrainLoop`` then starts the interrupted epoch
    from its first batch again (the batches before the checkpoint are seen
    twice, and the epoch is longer than ``len(dataloader)``).
    ``IterBasedTrainLoop`` instead advances its dataloader ``runner.iter``
    times, which gives the same batches with a deterministic sampler, so
    this hook does nothing there.

    For an epoch loop this hook, in ``before_train`` (after the checkpoint
    is loaded), tells the train sampler (which must have
    ``set_start_iter``, e.g. :class:`TaskBalancedSampler`) to skip the
    ``runner.iter - runner.epoch * len(dataloader)`` batches already done.
    Note that the loop's ``batch_idx`` restarts at 0 in the resumed epoch.
    """
    priority = 'NORMAL'

    def before_train(self, runner) -> None:
        # imported here: mmengine.runner is slow to import
        from mmengine.runner import EpochBasedTrainLoop
        loop = runner.train_loop
        if not isinstance(loop, EpochBasedTrainLoop):
            return
        per_epoch = len(loop.dataloader)
        done = runner.iter - runner.epoch * per_epoch
        if done == 0:
            return
        if not 0 < done < per_epoch:
            runner.logger.warning(
                f'MidEpochResumeHook: iter {runner.iter} does not fall '
                f'inside epoch {runner.epoch} ({per_epoch} iterations per '
                'epoch); not skipping')
            return
        sampler = _sampler_of(loop.dataloader)
        if sampler is None:
            runner.logger.warning(
                'MidEpochResumeHook: the train sampler has no '
                f'set_start_iter; epoch {runner.epoch} restarts from its '
                f'first batch ({done} batches are seen twice)')
            return
        sampler.set_start_iter(done)
        runner.logger.info(
            f'MidEpochResumeHook: epoch {runner.epoch} continues at batch '
            f'{done} of {per_epoch}')
