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
    'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS', 'MODEL_WRAPPERS',
    'WEIGHT_INITIALIZERS', 'METRICS', 'VISUALIZERS', 'VISBACKENDS',
    'INFERENCERS', 'TASKS', 'PARTIAL_LABELS', 'BALANCERS'
]

#######################################################################
#                            engine                                   #
#######################################################################
RUNNERS = Registry(
    'runner', parent=MMENGINE_RUNNERS, locations=['mtlpartial.engine'])
LOOPS = Registry(
    'loop', parent=MMENGINE_LOOPS, locations=['mtlpartial.engine'])
# data hooks (label mask, mid-epoch resume) live in mtlpartial.datasets.hooks
HOOKS = Registry(
    'hook',
    parent=MMENGINE_HOOKS,
    locations=['mtlpartial.engine.hooks', 'mtlpartial.datasets.hooks'])
OPTIMIZERS = Registry(
    'optimizer',
    parent=MMENGINE_OPTIMIZERS,
    locations=['mtlpartial.engine.optim_wrappers'])
OPTIM_WRAPPERS = Registry(
    'optim_wrapper',
    parent=MMENGINE_OPTIM_WRAPPERS,
    locations=['mtlpartial.engine.optim_wrappers'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor',
    parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
    locations=['mtlpartial.engine.optim_wrappers'])
PARAM_SCHEDULERS = Registry(
    'parameter scheduler',
    parent=MMENGINE_PARAM_SCHEDULERS,
    locations=['mtlpartial.engine'])
BALANCERS = Registry(
    'task balancer',
    parent=None,
    scope='mtlpartial',
    locations=['mtlpartial.engine.balancers'])

#######################################################################
#                            datasets                                 #
#######################################################################
DATASETS = Registry(
    'dataset', parent=MMENGINE_DATASETS, locations=['mtlpartial.datasets'])
DATA_SAMPLERS = Registry(
    'data sampler',
    parent=MMENGINE_DATA_SAMPLERS,
    locations=['mtlpartial.datasets.samplers'])
TRANSFORMS = Registry(
    'transform',
    parent=MMENGINE_TRANSFORMS,
    locations=['mtlpartial.datasets.transforms'])
PARTIAL_LABELS = Registry(
    'partial-label setting',
    parent=None,
    scope='mtlpartial',
    locations=['mtlpartial.datasets.partial_labels'])
TASKS = Registry(
    'task spec',
    parent=None,
    scope='mtlpartial',
    locations=['mtlpartial.tasks'])

#######################################################################
#                             models                                  #
#######################################################################
MODELS = Registry(
    'model', parent=MMENGINE_MODELS, locations=['mtlpartial.models'])
MODEL_WRAPPERS = Registry(
    'model_wrapper',
    parent=MMENGINE_MODEL_WRAPPERS,
    locations=['mtlpartial.engine.model_wrappers'])
WEIGHT_INITIALIZERS = Registry(
    'weight initializer',
    parent=MMENGINE_WEIGHT_INITIALIZERS,
    locations=['mtlpartial.models'])

#######################################################################
#                          evaluation                                 #
#######################################################################
METRICS = Registry(
    'metric', parent=MMENGINE_METRICS, locations=['mtlpartial.evaluation'])

#######################################################################
#                         visualization                               #
#######################################################################
VISUALIZERS = Registry(
    'visualizer',
    parent=MMENGINE_VISUALIZERS,
    locations=['mtlpartial.visualization'])
VISBACKENDS = Registry(
    'vis_backend',
    parent=MMENGINE_VISBACKENDS,
    locations=['mtlpartial.visualization'])

#######################################################################
#                             apis                                    #
#######################################################################
INFERENCERS = Registry(
    'inferencer', parent=MMENGINE_INFERENCERS, locations=['mtlpartial.apis'])
