# Copyright (c) mtlpartial contributors. All rights reserved.
"""mtlpartial provides registry nodes to support using modules across
projects.

Every node that has an mmengine counterpart is a child of the mmengine root
registry (``parent=``) and lazily imports the package that fills it
(``locations=``), like mmyolo and mmpretrain. Configs use
``default_scope='mtlpartial'``; reused mmseg parts are written with the
``mmseg.`` prefix (e.g. ``type='mmseg.ResNetV1c'``).

Only the nodes something builds through are defined. Some are empty on
purpose: mmengine builds loops, optimizers, parameter schedulers, weight
initialisers (``init_cfg``), visualizers and vis backends through the
default scope, and without an ``mtlpartial`` child in their tree it logs
"Failed to search registry with scope mtlpartial" for each build (checked
with a train and a test run of the embedded config). ``RUNNERS`` is used by
the tools, ``INFERENCERS`` is the node of ``mtlpartial.apis``.

Three kinds have no mmengine root: task specs (``TASKS``), partial-label
settings (``PARTIAL_LABELS``) and task balancers (``BALANCERS``). They are
roots of their own (``parent=None`` is explicit) in the ``mtlpartial`` scope.
They cannot hang under ``TASK_UTILS``: mmengine keys children by scope, and a
second ``mtlpartial`` child of one parent would shadow the first during
``build``.
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import INFERENCERS as MMENGINE_INFERENCERS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import \
    WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

__all__ = [
    'RUNNERS', 'LOOPS', 'HOOKS', 'OPTIMIZERS', 'OPTIM_WRAPPERS',
    'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS', 'DATASETS',
    'DATA_SAMPLERS', 'FUNCTIONS', 'TRANSFORMS', 'MODELS', 'MODEL_WRAPPERS',
    'WEIGHT_INITIALIZERS', 'METRICS', 'VISUALIZERS', 'VISBACKENDS',
    'INFERENCERS', 'TASKS', 'PARTIAL_LABELS', 'BALANCERS'
]


def _child(root: Registry, *locations: str) -> Registry:
    """The ``mtlpartial`` child of an mmengine root registry (same name),
    importing ``locations`` when it is first searched."""
    return Registry(root.name, parent=root, locations=list(locations))


def _root(name: str, location: str) -> Registry:
    """A registry with no mmengine counterpart, in the ``mtlpartial``
    scope."""
    return Registry(name, parent=None, scope='mtlpartial',
                    locations=[location])


# engine (data hooks: label mask, mid-epoch resume, in mtlpartial.datasets)
RUNNERS = _child(MMENGINE_RUNNERS, 'mtlpartial.engine')
LOOPS = _child(MMENGINE_LOOPS, 'mtlpartial.engine')
HOOKS = _child(MMENGINE_HOOKS, 'mtlpartial.engine.hooks',
               'mtlpartial.datasets.hooks')
OPTIMIZERS = _child(MMENGINE_OPTIMIZERS, 'mtlpartial.engine.optim_wrappers')
OPTIM_WRAPPERS = _child(MMENGINE_OPTIM_WRAPPERS,
                        'mtlpartial.engine.optim_wrappers')
OPTIM_WRAPPER_CONSTRUCTORS = _child(MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
                                    'mtlpartial.engine.optim_wrappers')
PARAM_SCHEDULERS = _child(MMENGINE_PARAM_SCHEDULERS, 'mtlpartial.engine')
BALANCERS = _root('task balancer', 'mtlpartial.engine.balancers')
# datasets
DATASETS = _child(MMENGINE_DATASETS, 'mtlpartial.datasets')
DATA_SAMPLERS = _child(MMENGINE_DATA_SAMPLERS, 'mtlpartial.datasets.samplers')
TRANSFORMS = _child(MMENGINE_TRANSFORMS, 'mtlpartial.datasets.transforms')
# collate / worker-init functions (mmengine's Runner and BaseInferencer look
# them up in the default scope)
FUNCTIONS = _child(MMENGINE_FUNCTIONS, 'mtlpartial.datasets')
PARTIAL_LABELS = _root('partial-label setting',
                       'mtlpartial.datasets.partial_labels')
TASKS = _root('task spec', 'mtlpartial.tasks')
# models
MODELS = _child(MMENGINE_MODELS, 'mtlpartial.models')
MODEL_WRAPPERS = _child(MMENGINE_MODEL_WRAPPERS,
                        'mtlpartial.engine.model_wrappers')
WEIGHT_INITIALIZERS = _child(MMENGINE_WEIGHT_INITIALIZERS, 'mtlpartial.models')
# evaluation, visualization, apis
METRICS = _child(MMENGINE_METRICS, 'mtlpartial.evaluation')
VISUALIZERS = _child(MMENGINE_VISUALIZERS, 'mtlpartial.visualization')
VISBACKENDS = _child(MMENGINE_VISBACKENDS, 'mtlpartial.visualization')
INFERENCERS = _child(MMENGINE_INFERENCERS, 'mtlpartial.apis')
