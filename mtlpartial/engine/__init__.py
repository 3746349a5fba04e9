# Copyright (c) mtlpartial contributors. All rights reserved.
from .balancers import *  # noqa: F401,F403
from .hooks import *  # noqa: F401,F403
from .model_wrappers import *  # noqa: F401,F403
from .optim_wrappers import *  # noqa: F401,F403
from .runner import *  # noqa: F401,F403
