# Copyright (c) mtlpartial contributors. All rights reserved.
"""Base classes of the task balancers (loss weightings, gradient methods).

Every balancer declares what it consumes with one class attribute,
``input`` (:class:`BalancerInput`), and returns its task weights:

* ``BalancerInput.LOSSES`` (:class:`BaseLossWeighting`: EW, Uncertainty,
  DWA, RLW, IMTL-L, FAMO): ``weights(None, losses) -> [K]``. The optim
  wrapper back-propagates ``Σ_k w_k L_k`` once; no per-task gradients.
* ``BalancerInput.GRAMIAN`` (:class:`GramianBalancer`: MGDA, PCGrad,
  GradVac, CAGrad, IMTL-G, Nash-MTL, Aligned-MTL, UPGrad; and GradNorm, a
  loss weighting whose own objective needs the gradient norms):
  ``weights(G, losses) -> [K]`` with ``G = J Jᵀ`` the ``K×K`` Gramian of
  the task gradients ``J`` (``K×P``); the shared update is ``wᵀ J``
  (torchjd's "weighting" of a Gramian). Under distributed training in
  representation mode only ``G`` needs an all-reduce.
* ``BalancerInput.JACOBIAN`` (:class:`JacobianBalancer`: GradDrop,
  DB-MTL): ``combine(J, losses) -> Aggregation(update [P], weights)``.
  These methods are not functions of the Gramian: GradDrop's sign-purity
  mask is elementwise in the coordinates of ``J``, and DB-MTL keeps an EMA
  of the rows of ``J`` and rescales them by their norms, so the update is
  not ``wᵀ J`` for weights computable from ``J Jᵀ`` alone.

The three forms share the call conventions: ``losses`` ``[K]`` are the
global (all-reduced), unscaled loss values; ``tasks`` (LongTensor ``[K]``)
gives the index of each row in the full task list (tasks that sit out a
step are absent; ``K`` may be 1 or 0; default ``arange(K)``); ``epoch`` is
the runner's epoch (DWA).

A balancer is sized once with ``setup(num_tasks)`` before its first use
(``MultiTaskOptimWrapperConstructor`` does it from the model's task list);
per-task state (EMAs, warm starts, learnable parameters) is indexed by the
full task index. Learnable weightings (Uncertainty, IMTL-L, GradNorm) list
their parameters in ``optimizer_parameters()`` (a param group of the model
optimizer) and define ``balancer_loss(G, losses)``, the objective of those
parameters. ``head_weights(weights, losses)`` is the scale of each task's
own gradient in its task-specific head: the weights for loss weightings,
ones for gradient methods (DB-MTL: ``1/L``).

All state is in ``state_dict()`` (parameters, buffers and
``get_extra_state()``), so checkpoints resume exactly. Randomised methods
own a ``torch.Generator`` seeded by ``seed`` (its state is checkpointed);
``share_random_state()`` gives every rank rank 0's seed.
"""
from enum import Enum
from typing import Any, ClassVar, Dict, List, NamedTuple, Optional

import torch
import torch.nn as nn
from torch import Tensor


class BalancerInput(str, Enum):
    """What a balancer consumes (besides the loss values)."""
    LOSSES = 'losses'
    GRAMIAN = 'gramian'
    JACOBIAN = 'jacobian'


class Aggregation(NamedTuple):
    """The combined shared update ``[P]`` and the task weights ``[K]``
    (None when the method has no per-task weights, e.g. GradDrop)."""
    update: Tensor
    weights: Optional[Tensor]


class BaseBalancer(nn.Module):
    """Common base of all balancers.

    Subclasses set ``input``, override ``_init_state(num_tasks)`` to
    create per-task state and ``_extra_state()/_load_extra_state(state)``
    for non-tensor state.
    """

    input: ClassVar[BalancerInput]

    def __init__(self) -> None:
        super().__init__()
        self.num_tasks: Optional[int] = None

    # -------------------------------------------------------------- state
    def setup(self, num_tasks: int) -> None:
        """Size the per-task state for ``num_tasks`` tasks (idempotent)."""
        if not isinstance(num_tasks, int) or num_tasks < 1:
            raise ValueError(f'{type(self).__name__}.setup: num_tasks must '
                             f'be a positive int, got {num_tasks!r}')
        if self.num_tasks is not None:
            if self.num_tasks != num_tasks:
                raise ValueError(
                    f'{type(self).__name__} was set up for {self.num_tasks} '
                    f'tasks, got {num_tasks}; build a new balancer')
            return
        self.num_tasks = num_tasks
        self._init_state(num_tasks)

    def _init_state(self, num_tasks: int) -> None:
        """Create per-task state (parameters, buffers)."""

    def share_random_state(self) -> None:
        """Make every rank draw the same random numbers (randomised
        methods override it; called once by the optim wrapper
        constructor)."""

    def _extra_state(self) -> Dict[str, Any]:
        return {}

    def _load_extra_state(self, state: Dict[str, Any]) -> None:
        pass

    def get_extra_state(self) -> Dict[str, Any]:
        state = dict(self._extra_state())
        state['num_tasks'] = self.num_tasks
        return state

    def set_extra_state(self, state: Dict[str, Any]) -> None:
        saved = state.get('num_tasks')
        if saved is not None and self.num_tasks is None:
            raise RuntimeError(f'{type(self).__name__}: call setup(num_tasks) '
                               'before loading a state')
        if saved is not None and saved != self.num_tasks:
            raise ValueError(
                f'{type(self).__name__}: the checkpoint holds the state of '
                f'{saved} tasks, this balancer is set up for '
                f'{self.num_tasks}; the model must have the same tasks')
        self._load_extra_state(state)

    def optimizer_parameters(self) -> List[nn.Parameter]:
        """Parameters the *model* optimizer must train (default: none)."""
        return []

    def after_step(self) -> None:
        """Called by the optim wrapper after each optimizer step."""

    def head_weights(self, weights: Optional[Tensor], losses: Tensor,
                     tasks: Tensor) -> Tensor:
        """Scale of each task's own gradient in its task-specific head."""
        raise NotImplementedError

    def balancer_loss(self,
                      gramian: Optional[Tensor],
                      losses: Tensor,
                      tasks: Optional[Tensor] = None) -> Optional[Tensor]:
        """Objective of the balancer's own parameters (None if none)."""
        return None

    # ------------------------------------------------------------ helpers
    def _resolve_tasks(self, num_rows: int,
                       tasks: Optional[Tensor]) -> Tensor:
        """Validate ``tasks`` (row -> index in the full task list)."""
        name = type(self).__name__
        if self.num_tasks is None:
            raise RuntimeError(
                f'{name} is not set up: call setup(num_tasks) first '
                '(MultiTaskOptimWrapperConstructor does it from the '
                "model's task list)")
        if tasks is None:
            tasks = torch.arange(num_rows)
        else:
            tasks = torch.as_tensor(tasks, dtype=torch.long).reshape(-1).cpu()
            if tasks.numel() != num_rows:
                raise ValueError(f'{name}: got {num_rows} rows but '
                                 f'{tasks.numel()} task indices')
            if num_rows and (tasks.min() < 0
                             or len(set(tasks.tolist())) != num_rows):
                raise ValueError(f'{name}: task indices must be distinct '
                                 f'and >= 0, got {tasks.tolist()}')
        if num_rows and int(tasks.max()) >= self.num_tasks:
            raise ValueError(f'{name}: task index {int(tasks.max())} out of '
                             f'range for {self.num_tasks} tasks')
        return tasks

    def extra_repr(self) -> str:
        return f'num_tasks={self.num_tasks}'


class BaseLossWeighting(BaseBalancer):
    """Loss weightings: ``weights(None, losses[K]) -> weights[K]``.

    The optim wrapper back-propagates ``Σ_k w_k · L_k`` (heads thus receive
    their own weighted gradient) and, for learnable weightings,
    ``balancer_loss`` into ``optimizer_parameters()``. A weighting whose
    own objective needs the task-gradient Gramian sets
    ``input = BalancerInput.GRAMIAN`` (GradNorm).
    """

    input = BalancerInput.LOSSES

    def weights(self,
                gramian: Optional[Tensor],
                losses: Tensor,
                tasks: Optional[Tensor] = None,
                epoch: Optional[int] = None) -> Tensor:
        """Task weights.

        Args:
            gramian (Tensor, optional): ``[K, K]`` Gramian of the task
                gradients (required when ``input`` is GRAMIAN).
            losses (Tensor): ``[K]`` loss values of the active tasks.
            tasks (Tensor, optional): ``[K]`` indices in the full task list.
            epoch (int, optional): current epoch (DWA).

        Returns:
            Tensor: ``[K]`` detached weights (dtype/device of ``losses``).
        """
        losses = check_losses(losses, type(self).__name__)
        if self.input is BalancerInput.GRAMIAN and gramian is None:
            raise ValueError(f'{type(self).__name__}.weights needs the '
                             'Gramian of the task gradients (`gramian`)')
        tasks = self._resolve_tasks(losses.numel(), tasks)
        if losses.numel() == 0:
            return losses.new_zeros(0)
        return self._weights(losses.detach(), tasks, gramian=gramian,
                             epoch=epoch).detach().to(losses)

    def _weights(self, losses: Tensor, tasks: Tensor, gramian, epoch):
        raise NotImplementedError

    def head_weights(self, weights: Optional[Tensor], losses: Tensor,
                     tasks: Tensor) -> Tensor:
        return weights


class BaseGradientBalancer(BaseBalancer):
    """Gradient methods: the shared parameters get a combination of the
    task gradients.

    The update is on the scale of the *sum* of the task gradients unless
    the method's paper defines another (each subclass documents its
    scale). Task-specific heads receive their own, unmodified task
    gradients (``head_weights`` ones by default).
    """

    def head_weights(self, weights: Optional[Tensor], losses: Tensor,
                     tasks: Tensor) -> Tensor:
        return torch.ones_like(losses)


class GramianBalancer(BaseGradientBalancer):
    """Gradient methods that are functions of the Gramian ``G = J Jᵀ``.

    Subclasses implement ``weights_from_gramian(gram[K, K], losses, tasks)
    -> weights[K]`` (float64 on CPU); the update is ``weightsᵀ J``.
    """

    input = BalancerInput.GRAMIAN

    def weights(self,
                gramian: Tensor,
                losses: Optional[Tensor] = None,
                tasks: Optional[Tensor] = None,
                epoch: Optional[int] = None) -> Tensor:
        """Weights from a Gramian ``[K, K]`` (any device/dtype).

        The solve runs in float64 on CPU; the result has the dtype and
        device of ``gramian``. A non-finite Gramian (e.g. an AMP overflow)
        gives weights 1, so that the grad scaler sees the overflow and
        skips the step.
        """
        if not isinstance(gramian, Tensor) or gramian.dim() != 2 or \
                gramian.shape[0] != gramian.shape[1]:
            raise ValueError(f'{type(self).__name__}.weights expects a '
                             'Gramian of shape [K, K], got '
                             f'{getattr(gramian, "shape", gramian)}')
        gram_64 = gramian.detach().to('cpu', torch.float64)
        gram_64 = 0.5 * (gram_64 + gram_64.T)
        tasks = self._resolve_tasks(gram_64.shape[0], tasks)
        if gram_64.shape[0] == 0:
            w = gram_64.new_zeros(0)
        elif not torch.isfinite(gram_64).all():
            w = torch.ones(gram_64.shape[0], dtype=torch.float64)
        else:
            losses_64 = None if losses is None else losses.detach().to(
                'cpu', torch.float64).reshape(-1)
            w = self.weights_from_gramian(gram_64, losses_64, tasks)
        return w.to(device=gramian.device, dtype=gramian.dtype)

    def weights_from_gramian(self, gram: Tensor, losses: Optional[Tensor],
                             tasks: Tensor) -> Tensor:
        raise NotImplementedError


class JacobianBalancer(BaseGradientBalancer):
    """Gradient methods that need the full Jacobian ``J`` (``K×P``), not
    only its Gramian (see the module docstring for why).

    Subclasses implement ``_combine(jac, losses, tasks) -> Aggregation``.
    """

    input = BalancerInput.JACOBIAN

    def combine(self,
                jacobian: Tensor,
                losses: Optional[Tensor] = None,
                tasks: Optional[Tensor] = None) -> Aggregation:
        """Combine the per-task gradients.

        Args:
            jacobian (Tensor): ``[K, P]``, one row per (active) task.
            losses (Tensor, optional): ``[K]`` loss values of those tasks.
            tasks (Tensor, optional): ``[K]`` indices in the full task list.

        Returns:
            Aggregation: the ``[P]`` update (a gradient, to descend) and
            the ``[K]`` weights when the method has them.
        """
        jacobian = check_jacobian(jacobian, type(self).__name__)
        tasks = self._resolve_tasks(jacobian.shape[0], tasks)
        if jacobian.shape[0] == 0:
            return Aggregation(jacobian.new_zeros(jacobian.shape[1]),
                               jacobian.new_zeros(0))
        return self._combine(jacobian, losses, tasks)

    def _combine(self, jac: Tensor, losses: Optional[Tensor],
                 tasks: Tensor) -> Aggregation:
        raise NotImplementedError


def aggregate(balancer: BaseBalancer,
              jacobian: Tensor,
              losses: Optional[Tensor] = None,
              tasks: Optional[Tensor] = None,
              epoch: Optional[int] = None) -> Aggregation:
    """The update any balancer makes from an explicit Jacobian ``[K, P]``.

    ``weights(None | J Jᵀ, losses)ᵀ J`` for loss weightings and Gramian
    methods, ``combine(J, losses)`` for Jacobian methods (analysis, tests;
    the optim wrapper computes the same, reducing ``J`` or ``G`` across
    ranks in between).
    """
    jacobian = check_jacobian(jacobian, type(balancer).__name__)
    if balancer.input is BalancerInput.JACOBIAN:
        return balancer.combine(jacobian, losses, tasks)
    gram = jacobian @ jacobian.T \
        if balancer.input is BalancerInput.GRAMIAN else None
    if losses is None and balancer.input is BalancerInput.LOSSES:
        raise ValueError(f'{type(balancer).__name__} needs the loss values')
    weights = balancer.weights(gram, losses, tasks, epoch=epoch)
    if jacobian.shape[0] == 0:
        return Aggregation(jacobian.new_zeros(jacobian.shape[1]), weights)
    return Aggregation(weights.to(jacobian) @ jacobian, weights)


def check_jacobian(jacobian: Tensor, name: str) -> Tensor:
    """Validate a ``[K, P]`` gradient matrix."""
    if not isinstance(jacobian, Tensor):
        raise TypeError(f'{name} expects a Tensor [K, P], got '
                        f'{type(jacobian).__name__}')
    if jacobian.dim() != 2:
        raise ValueError(f'{name} expects task gradients of shape [K, P] '
                         f'(one row per task), got {tuple(jacobian.shape)}')
    if not jacobian.is_floating_point():
        raise TypeError(f'{name} expects floating-point gradients, got '
                        f'{jacobian.dtype}')
    return jacobian.detach()


def check_losses(losses: Tensor, name: str) -> Tensor:
    """Validate a ``[K]`` loss vector."""
    if not isinstance(losses, Tensor):
        losses = torch.as_tensor(losses, dtype=torch.float32)
    if losses.dim() != 1:
        raise ValueError(f'{name} expects losses of shape [K], got '
                         f'{tuple(losses.shape)}')
    return losses
