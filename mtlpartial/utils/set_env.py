# Copyright (c) mtlpartial contributors. All rights reserved.
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Register all modules of mtlpartial (and mmseg) into the registries.

    Args:
        init_default_scope (bool): Whether to set the default scope to
            ``mtlpartial``. Defaults to True.
    """
    import mmseg.models  # noqa: F401  (reused with the ``mmseg.`` prefix)

    import mtlpartial.datasets  # noqa: F401,F403
    import mtlpartial.engine  # noqa: F401,F403
    import mtlpartial.evaluation  # noqa: F401,F403
    import mtlpartial.models  # noqa: F401,F403
    import mtlpartial.tasks  # noqa: F401,F403
    import mtlpartial.visualization  # noqa: F401,F403
    if init_default_scope:
        never_created = DefaultScope.get_current_instance() is None \
            or not DefaultScope.check_instance_created('mtlpartial')
        if never_created:
            DefaultScope.get_instance('mtlpartial', scope_name='mtlpartial')
            return
        current_scope = DefaultScope.get_current_instance()
        if current_scope.scope_name != 'mtlpartial':
            warnings.warn('The current default scope '
                          f'"{current_scope.scope_name}" is not "mtlpartial", '
                          '`register_all_modules` will force the current '
                          'default scope to be "mtlpartial". If this is not '
                          'expected, please set `init_default_scope=False`.')
            new_instance_name = f'mtlpartial-{datetime.datetime.now()}'
            DefaultScope.get_instance(
                new_instance_name, scope_name='mtlpartial')
