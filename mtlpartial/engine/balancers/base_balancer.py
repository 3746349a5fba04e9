# Copyright (c) mtlpartial contributors. All rights reserved.
"""Base classes of the task balancers (loss weighting and gradient methods).

Two kinds of balancers share :class:`BaseBalancer`:

* **Gradient methods** (:class:`BaseGradientBalancer`) combine per-task
  gradients: ``combine(grads: Tensor[K, P], losses=None, tasks=None) ->
  Tensor[P]``. One row per task, ``K`` may be 1. Most methods are functions
  of the Gramian ``G Gᵀ`` only; they subclass :class:`GramianBalancer` and
  implement ``weights_from_gramian(gram) -> Tensor[K]``, the update being
  ``weightsᵀ G``. The optim wrapper uses this to all-reduce a K×K Gramian
  instead of K×P representation gradients under distributed training.
* **Loss weightings** (:class:`BaseLossWeighting`) scale the task losses:
  ``weights(losses: Tensor[K], tasks=None, gramian=None, epoch=None) ->
  Tensor[K]`` (detached). Learnable ones (Uncertainty, IMTL-L, GradNorm)
  define ``balancer_loss(losses, ...)``, the objective of their own
  parameters, and list those parameters in ``optimizer_parameters()`` so the
  optim wrapper adds them to the model optimizer.

Tasks that sit out a step (no labelled sample in the global batch) are
simply absent from the rows: ``tasks`` (LongTensor ``[K]``) gives the index
of every row in the full task list (default ``arange(K)``). Stateful
methods (EMA, warm starts, learnable parameters) keep their state per full
task index, sized by ``setup(num_tasks)`` (called by the optim wrapper with
``len(model.task_names)``, or lazily from the first call).

All state is in ``state_dict()`` (parameters and buffers of the
``nn.Module`` plus ``get_extra_state()``), so checkpoints resume exactly.
Randomised methods own a ``torch.Generator`` seeded by ``seed`` (its state
is checkpointed too), so every rank of a distributed run draws the same
numbers.
"""
from typing import Any, Dict, List, Optional

import torch
import torch.nn as nn
from torch import Tensor


class BaseBalancer(nn.Module):
    """Common base of all balancers.

    Subclasses override ``_init_state(num_tasks)`` to create per-task state
    and ``_extra_state()/_load_extra_state(state)`` for non-tensor state.
    """

    #: True for balancers that need per-task gradients (or their Gramian).
    needs_task_grads: bool = False

    def __init__(self) -> None:
        super().__init__()
        self.num_tasks: Optional[int] = None
        #: Weights of the last call (``[K]`` over the rows), for logging.
        self.last_weights: Optional[Tensor] = None

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

    def _extra_state(self) -> Dict[str, Any]:
        return {}

    def _load_extra_state(self, state: Dict[str, Any]) -> None:
        pass

    def get_extra_state(self) -> Dict[str, Any]:
        state = dict(self._extra_state())
        state['num_tasks'] = self.num_tasks
        return state

    def set_extra_state(self, state: Dict[str, Any]) -> None:
        self._load_extra_state(state)

    def load_state_dict(self, state_dict, strict: bool = True, assign=False):
        """Set up the per-task state from the checkpoint first, then load."""
        extra = state_dict.get('_extra_state')
        if isinstance(extra, dict) and extra.get('num_tasks') is not None:
            self.setup(int(extra['num_tasks']))
        return super().load_state_dict(state_dict, strict=strict,
                                       assign=assign)

    def optimizer_parameters(self) -> List[nn.Parameter]:
        """Parameters the *model* optimizer must train (default: none)."""
        return []

    def after_step(self) -> None:
        """Called by the optim wrapper after each optimizer step."""

    # ------------------------------------------------------------ helpers
    def _resolve_tasks(self, num_rows: int, tasks: Optional[Tensor],
                       device=None) -> Tensor:
        """Validate ``tasks`` (row -> task index), set up lazily."""
        if tasks is None:
            tasks = torch.arange(num_rows)
        else:
            tasks = torch.as_tensor(tasks, dtype=torch.long).reshape(-1).cpu()
            if tasks.numel() != num_rows:
                raise ValueError(
                    f'{type(self).__name__}: got {num_rows} rows but '
                    f'{tasks.numel()} task indices')
            if num_rows and (tasks.min() < 0
                             or len(set(tasks.tolist())) != num_rows):
                raise ValueError(f'{type(self).__name__}: task indices must '
                                 f'be distinct and >= 0, got {tasks.tolist()}')
        if self.num_tasks is None:
            self.setup(max(int(tasks.max()) + 1 if num_rows else 1, 1))
        if num_rows and int(tasks.max()) >= self.num_tasks:
            raise ValueError(
                f'{type(self).__name__}: task index {int(tasks.max())} out '
                f'of range for {self.num_tasks} tasks')
        return tasks

    def extra_repr(self) -> str:
        return f'num_tasks={self.num_tasks}'


class SeededRandomMixin:
    """A private ``torch.Generator`` per balancer (checkpointed).

    ``seed=None`` uses ``torch.initial_seed()`` at the first draw; the optim
    wrapper broadcasts rank 0's generator state so that all ranks agree.
    """

    def _init_random(self, seed: Optional[int]) -> None:
        self.seed = seed
        self._gen: Optional[torch.Generator] = None
        self._gen_state: Optional[Tensor] = None

    def generator(self, device=None) -> torch.Generator:
        device = torch.device(device if device is not None else 'cpu')
        if self._gen is None or self._gen.device.type != device.type:
            gen = torch.Generator(device=device)
            if self._gen_state is not None:
                gen.set_state(self._gen_state)
            elif self._gen is not None:
                gen.set_state(self._gen.get_state())
            else:
                seed = self.seed if self.seed is not None else \
                    torch.initial_seed()
                gen.manual_seed(int(seed) % (2**63))
            self._gen = gen
            self._gen_state = None
        return self._gen

    def random_state(self) -> Optional[Tensor]:
        if self._gen is not None:
            return self._gen.get_state()
        return self._gen_state

    def set_random_state(self, state: Optional[Tensor]) -> None:
        self._gen_state = None if state is None else state.clone()
        if self._gen is not None and state is not None:
            self._gen.set_state(self._gen_state)
            self._gen_state = None

    def randperm(self, n: int) -> List[int]:
        """A random permutation of ``range(n)`` (CPU generator)."""
        return torch.randperm(n, generator=self.generator('cpu')).tolist()


class BaseGradientBalancer(BaseBalancer):
    """Gradient methods: ``combine(grads[K, P]) -> update[P]``.

    Conventions: ``combine`` returns an update on the scale of the *sum* of
    the task gradients unless the method's paper defines another (each
    subclass documents its scale). Task-specific heads receive their own,
    unmodified task gradients, scaled by ``head_weights`` (ones by
    default).
    """

    needs_task_grads = True
    #: True if ``combine`` uses the loss values (global, unscaled).
    requires_losses: bool = False
    #: True if ``combine`` is ``weights_from_gramian(G Gᵀ)ᵀ G``.
    gramian_based: bool = False

    def combine(self,
                grads: Tensor,
                losses: Optional[Tensor] = None,
                tasks: Optional[Tensor] = None) -> Tensor:
        """Combine per-task gradients.

        Args:
            grads (Tensor): ``[K, P]``, one row per (active) task.
            losses (Tensor, optional): ``[K]`` loss values of those tasks.
            tasks (Tensor, optional): ``[K]`` indices of the rows in the
                full task list (default ``arange(K)``).

        Returns:
            Tensor: ``[P]`` update direction (a gradient, to descend).
        """
        grads = check_grads(grads, type(self).__name__)
        tasks = self._resolve_tasks(grads.shape[0], tasks)
        if self.requires_losses and losses is None:
            raise ValueError(f'{type(self).__name__}.combine needs the task '
                             'loss values (`losses`)')
        if grads.shape[0] == 0:
            self.last_weights = grads.new_zeros(0)
            return grads.new_zeros(grads.shape[1])
        return self._combine(grads, losses, tasks)

    def _combine(self, grads: Tensor, losses: Optional[Tensor],
                 tasks: Tensor) -> Tensor:
        raise NotImplementedError

    def head_weights(self, losses: Tensor, tasks: Tensor) -> Tensor:
        """Scale of each task's own gradient in its task-specific head."""
        return torch.ones_like(losses)


class GramianBalancer(BaseGradientBalancer):
    """Gradient methods that are functions of the Gramian ``G Gᵀ``.

    Subclasses implement ``weights_from_gramian(gram[K, K], losses, tasks)
    -> weights[K]`` (float64 on CPU); the update is ``weightsᵀ G``.
    """

    gramian_based = True

    def _combine(self, grads: Tensor, losses: Optional[Tensor],
                 tasks: Tensor) -> Tensor:
        gram = grads @ grads.T
        w = self.gramian_weights(gram, losses, tasks)
        return w.to(grads) @ grads

    def gramian_weights(self,
                        gram: Tensor,
                        losses: Optional[Tensor] = None,
                        tasks: Optional[Tensor] = None) -> Tensor:
        """Weights from a Gramian ``[K, K]`` (any device/dtype).

        The solve runs in float64 on CPU; the result has the dtype and
        device of ``gram``.
        """
        gram_64 = gram.detach().to('cpu', torch.float64)
        gram_64 = 0.5 * (gram_64 + gram_64.T)
        tasks = self._resolve_tasks(gram_64.shape[0], tasks)
        if self.requires_losses and losses is None:
            raise ValueError(f'{type(self).__name__} needs the task loss '
                             'values (`losses`)')
        if gram_64.shape[0] == 0:
            w = gram_64.new_zeros(0)
        elif not torch.isfinite(gram_64).all():
            # non-finite gradients (e.g. AMP overflow): keep them visible so
            # that the grad scaler skips the step
            w = torch.ones(gram_64.shape[0], dtype=torch.float64)
        else:
            losses_64 = None if losses is None else losses.detach().to(
                'cpu', torch.float64).reshape(-1)
            w = self.weights_from_gramian(gram_64, losses_64, tasks)
        self.last_weights = w.detach().clone()
        return w.to(device=gram.device, dtype=gram.dtype)

    def weights_from_gramian(self, gram: Tensor, losses: Optional[Tensor],
                             tasks: Tensor) -> Tensor:
        raise NotImplementedError


class BaseLossWeighting(BaseBalancer):
    """Loss weightings: ``weights(losses[K]) -> weights[K]`` (detached).

    The optim wrapper back-propagates ``Σ_k weights_k · L_k`` (task heads
    thus receive their own weighted gradient) and, for learnable
    weightings, ``balancer_loss(...)`` into ``optimizer_parameters()``.
    Losses passed in are the global (all-reduced) values, unscaled.
    """

    #: True if ``weights``/``balancer_loss`` need the Gramian of the task
    #: gradients (``gramian=`` keyword).
    requires_gramian: bool = False

    @property
    def needs_task_grads(self) -> bool:  # type: ignore[override]
        return self.requires_gramian

    def weights(self,
                losses: Tensor,
                tasks: Optional[Tensor] = None,
                gramian: Optional[Tensor] = None,
                epoch: Optional[int] = None) -> Tensor:
        """Task weights.

        Args:
            losses (Tensor): ``[K]`` loss values of the active tasks.
            tasks (Tensor, optional): ``[K]`` indices in the full task list.
            gramian (Tensor, optional): ``[K, K]`` Gramian of the task
                gradients (only for ``requires_gramian`` methods).
            epoch (int, optional): current epoch (DWA).

        Returns:
            Tensor: ``[K]`` detached weights (dtype/device of ``losses``).
        """
        losses = check_losses(losses, type(self).__name__)
        tasks = self._resolve_tasks(losses.numel(), tasks)
        if self.requires_gramian and gramian is None:
            raise ValueError(f'{type(self).__name__}.weights needs the '
                             'Gramian of the task gradients (`gramian`)')
        if losses.numel() == 0:
            w = losses.new_zeros(0)
        else:
            w = self._weights(losses.detach(), tasks, gramian=gramian,
                              epoch=epoch).detach().to(losses)
        self.last_weights = w.clone()
        return w

    def _weights(self, losses: Tensor, tasks: Tensor, gramian, epoch):
        raise NotImplementedError

    def balancer_loss(self,
                      losses: Tensor,
                      tasks: Optional[Tensor] = None,
                      gramian: Optional[Tensor] = None) -> Optional[Tensor]:
        """Objective of the balancer's own parameters (None if none)."""
        return None


def check_grads(grads: Tensor, name: str) -> Tensor:
    """Validate a ``[K, P]`` gradient matrix."""
    if not isinstance(grads, Tensor):
        raise TypeError(f'{name}.combine expects a Tensor [K, P], got '
                        f'{type(grads).__name__}')
    if grads.dim() != 2:
        raise ValueError(f'{name}.combine expects grads of shape [K, P] '
                         f'(one row per task), got {tuple(grads.shape)}')
    if not grads.is_floating_point():
        raise TypeError(f'{name}.combine expects floating-point grads, got '
                        f'{grads.dtype}')
    return grads.detach()


def check_losses(losses: Tensor, name: str) -> Tensor:
    """Validate a ``[K]`` loss vector."""
    if not isinstance(losses, Tensor):
        losses = torch.as_tensor(losses, dtype=torch.float32)
    if losses.dim() != 1:
        raise ValueError(f'{name} expects losses of shape [K], got '
                         f'{tuple(losses.shape)}')
    return losses
