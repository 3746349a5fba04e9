# Copyright (c) mtlpartial contributors. All rights reserved.
"""Pure, accumulating meters of dense-prediction metrics (no runner)."""
from .base_meter import BaseMeter, BinaryMapMeter, PixelPooledMeter
from .delta import delta_percent
from .depth_meter import DepthMeter
from .edge_meter import EdgeMeter, disk_max_filter
from .normal_meter import NormalMeter, angle_error_deg
from .saliency_meter import SaliencyMeter
from .semseg_meter import SemSegMeter

__all__ = [
    'BaseMeter', 'BinaryMapMeter', 'PixelPooledMeter', 'SemSegMeter',
    'DepthMeter', 'NormalMeter', 'SaliencyMeter', 'EdgeMeter',
    'delta_percent', 'disk_max_filter', 'angle_error_deg'
]
