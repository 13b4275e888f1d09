"""A timm-style model registry: architectures by name, so a model card can rebuild its model.

Why a registry: a checkpoint is data (safetensors + JSON), never code. The card names the
architecture and its arguments; ``create_model`` turns that name back into a module.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from torch import nn

Task = Literal["image", "video"]
Factory = TypeVar("Factory", bound=Callable[..., nn.Module])


class UnknownModelError(ValueError):
    """``create_model`` was asked for a name nobody registered."""


@dataclass(frozen=True)
class ModelEntry:
    name: str
    factory: Callable[..., nn.Module]
    task: Task  # what forward() returns: image -> logits [B]; video -> (track [B], frames [B,T])


_REGISTRY: dict[str, ModelEntry] = {}


def _same_factory(a: Callable[..., Any], b: Callable[..., Any]) -> bool:
    return (a.__module__, a.__qualname__) == (b.__module__, b.__qualname__)


def register_model(name: str, *, task: Task = "image") -> Callable[[Factory], Factory]:
    """Register ``factory(**kwargs) -> nn.Module`` under ``name``.

    A second, different factory under the same name is an error (two modules fighting over a
    name would silently change what a checkpoint loads). Re-registering the same function (a
    module reload) only warns and replaces it.
    """
    if not name or not isinstance(name, str):
        raise ValueError("a model name must be a non-empty string")
    if task not in ("image", "video"):
        raise ValueError(f"task must be 'image' or 'video', not {task!r}")

    def decorator(factory: Factory) -> Factory:
        previous = _REGISTRY.get(name)
        if previous is not None:
            if not _same_factory(previous.factory, factory):
                raise ValueError(
                    f"model name {name!r} is already registered by "
                    f"{previous.factory.__module__}.{previous.factory.__qualname__}"
                )
            warnings.warn(f"model {name!r} registered again; replacing it", stacklevel=2)
        _REGISTRY[name] = ModelEntry(name=name, factory=factory, task=task)
        return factory

    return decorator


def _entry(name: str) -> ModelEntry:
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise UnknownModelError(f"unknown model architecture {name!r} (registered: {known})") from None


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build a registered architecture; ``kwargs`` go to its factory (e.g. ``pretrained=False``).

    Raises:
        UnknownModelError: no such name.
        ValueError / TypeError: the factory rejected the arguments (with the factory's message).
    """
    entry = _entry(name)
    try:
        return entry.factory(**kwargs)
    except TypeError as exc:  # unexpected keyword: say which model refused it
        raise TypeError(f"{name}: {exc}") from exc


def list_models(task: Task | None = None) -> list[str]:
    """Registered names, sorted; ``task`` keeps only image or only video models."""
    return sorted(n for n, e in _REGISTRY.items() if task is None or e.task == task)


def model_task(name: str) -> Task:
    """Whether ``name`` is an image classifier or a video (track) model."""
    return _entry(name).task
