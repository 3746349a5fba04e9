# Copyright (c) mtlpartial contributors. All rights reserved.
from .backbones import *  # noqa: F401,F403
from .data_preprocessors import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .regularizers import *  # noqa: F401,F403
from .multitask_model import MultiTaskModel  # noqa: F401
from .diffusion import MTDNet  # noqa: F401
from .diffusionmtl import DiffusionMTL  # noqa: F401
