# Copyright (c) mtlpartial contributors. All rights reserved.
from .batch_composition_hook import BatchCompositionHook
from .multitask_visualization_hook import MultiTaskVisualizationHook
from .regularizer_diagnostics_hook import RegularizerDiagnosticsHook
from .resume_check_hook import ResumeCheckHook
from .rng_state_hook import RNGStateHook
from .task_consistency_hook import TaskConsistencyHook

__all__ = [
    'RNGStateHook', 'MultiTaskVisualizationHook', 'BatchCompositionHook',
    'ResumeCheckHook', 'TaskConsistencyHook', 'RegularizerDiagnosticsHook'
]
