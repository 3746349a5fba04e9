# Copyright (c) mtlpartial contributors. All rights reserved.
from .partial_labels import *  # noqa: F401,F403
from .samplers import *  # noqa: F401,F403
from .transforms import *  # noqa: F401,F403
