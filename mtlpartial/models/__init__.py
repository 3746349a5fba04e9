# Copyright (c) mtlpartial contributors. All rights reserved.
from .backbones import *  # noqa: F401,F403
from .data_preprocessors import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .regularizers import *  # noqa: F401,F403
from .multitask_model import MultiTaskModel  # noqa: F401
