# Copyright (c) mtlpartial contributors. All rights reserved.
from mtlpartial.datasets.samplers import MidEpochResumeHook
from .batch_composition_hook import BatchCompositionHook
from .multitask_visualization_hook import MultiTaskVisualizationHook
from .regularizer_diagnostics_hook import RegularizerDiagnosticsHook
from .rng_state_hook import RNGStateHook
from .save_label_mask_hook import SaveLabelMaskHook

__all__ = [
    'RNGStateHook', 'SaveLabelMaskHook', 'MultiTaskVisualizationHook',
    'BatchCompositionHook', 'MidEpochResumeHook', 'RegularizerDiagnosticsHook'
]
