# Copyright (c) mtlpartial contributors. All rights reserved.
"""Write the training set's partial-label mask into the work dir."""
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from mtlpartial.registry import HOOKS


def unwrap_dataset(dataset):
    """Find the dataset that owns ``label_mask`` (through wrappers)."""
    seen = 0
    while not hasattr(dataset, 'label_mask') and hasattr(dataset, 'dataset') \
            and seen < 10:
        dataset = dataset.dataset
        seen += 1
    return dataset


@HOOKS.register_module()
class SaveLabelMaskHook(Hook):
    """Save ``label_mask`` of the training set to ``work_dir/<filename>``.

    The mask depends only on (setting, seed); saving it documents exactly
    which (image, task) labels a run used, and the file can be fed back with
    ``partial_labels=dict(type='MaskFile', file=...)``.

    Args:
        filename (str): Defaults to 'label_mask.npz'.
    """
    priority = 'LOW'

    def __init__(self, filename: str = 'label_mask.npz') -> None:
        self.filename = filename

    def before_train(self, runner) -> None:
        if not is_main_process():
            return
        dataset = unwrap_dataset(runner.train_dataloader.dataset)
        if not hasattr(dataset, 'label_mask'):
            runner.logger.warning('SaveLabelMaskHook: the training dataset '
                                  'has no label_mask; nothing saved')
            return
        from mtlpartial.datasets.partial_labels import save_mask
        path = osp.join(runner.work_dir, self.filename)
        save_mask(
            path,
            dataset.label_mask,
            dataset.task_names,
            image_ids=getattr(dataset, 'image_ids', None),
            meta=dict(setting=repr(getattr(dataset, 'partial_labels_cfg',
                                           None))))
        counts = dataset.label_mask.sum(0).tolist()
        runner.logger.info(
            f'partial labels: {len(dataset.label_mask)} images, labelled per '
            f'task {dict(zip(dataset.task_names, counts))}; mask saved to '
            f'{path}')
