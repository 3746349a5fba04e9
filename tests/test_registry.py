# Copyright (c) mtlpartial contributors. All rights reserved.
"""The registry file: every node is in the ``mtlpartial`` scope, children of
mmengine's roots have a parent, and every node knows where its modules
live."""
import pytest
from mmengine.registry import Registry

import mtlpartial.registry as registry

NODES = [getattr(registry, name) for name in registry.__all__]


@pytest.mark.parametrize('node', NODES, ids=registry.__all__)
def test_every_node_in_scope_with_locations(node):
    assert isinstance(node, Registry)
    assert node.scope == 'mtlpartial'
    assert node._locations, f'{node.name} has no locations'


def test_mmengine_lookups_in_the_default_scope_find_a_node(capsys):
    """mmengine's Runner and BaseInferencer look up collate functions in
    the default scope; without a ``FUNCTIONS`` node they log "Failed to
    search registry with scope mtlpartial" (seen in tools/misc/image_demo.py
    before the node existed)."""
    from mmengine.registry import FUNCTIONS
    with FUNCTIONS.switch_scope_and_registry('mtlpartial') as found:
        assert found is registry.FUNCTIONS
        assert found.get('pseudo_collate') is not None
    assert 'Failed to search registry' not in capsys.readouterr().out
