# Copyright (c) mtlpartial contributors. All rights reserved.
"""Task balancers: loss weightings and gradient methods (pure math).

See :mod:`.base_balancer` for the interfaces and docs/balancers.md for the
methods, their defaults and how each is tested.
"""
from .aligned_mtl import AlignedMTL
from .base_balancer import (Aggregation, BalancerInput, BaseBalancer,
                            BaseGradientBalancer, BaseLossWeighting,
                            GramianBalancer, JacobianBalancer, aggregate)
from .cagrad import CAGrad
from .db_mtl import DBMTL
from .dwa import DWA
from .ew import EW
from .famo import FAMO
from .graddrop import GradDrop
from .gradnorm import GradNorm
from .gradvac import GradVac
from .imtl import IMTLG, IMTLL
from .mgda import MGDA
from .nash_mtl import NashMTL
from .pcgrad import PCGrad
from .rlw import RLW
from .uncertainty import Uncertainty
from .upgrad import UPGrad

__all__ = [
    'BalancerInput', 'Aggregation', 'aggregate', 'BaseBalancer',
    'BaseGradientBalancer', 'BaseLossWeighting', 'GramianBalancer',
    'JacobianBalancer', 'MGDA', 'PCGrad', 'GradDrop', 'GradVac', 'CAGrad',
    'IMTLG', 'IMTLL', 'NashMTL', 'AlignedMTL', 'UPGrad', 'DBMTL', 'EW',
    'Uncertainty', 'DWA', 'GradNorm', 'RLW', 'FAMO'
]
