# Copyright (c) mtlpartial contributors. All rights reserved.
"""Import a script under ``tools/`` as a module (tools are not a package)."""
import importlib.util
import os.path as osp
from types import ModuleType

from .tiny_runs import ROOT


def load_tool(path: str, name: str = '') -> ModuleType:
    """Execute ``ROOT/<path>`` (e.g. ``tools/misc/check_dataset.py``) as a
    fresh module named ``name`` (the file's stem by default)."""
    name = name or osp.splitext(osp.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, osp.join(ROOT, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
