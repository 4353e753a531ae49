"""The one interface every detector implements, and the registry that names them.

A detector turns a batch of items into signals, one list per item, in order. Batches let model
detectors amortise inference; rule-like detectors simply loop. Detectors are registered by name
(as spaCy's pipeline components are) so configuration and policies can refer to them.
"""

from __future__ import annotations

from typing import Callable, Protocol, Sequence, runtime_checkable

from tidebreak.model import Item, Signal


@runtime_checkable
class Detector(Protocol):
    name: str
    version: str

    def detect(self, items: Sequence[Item]) -> list[list[Signal]]:
        """Return, for each item in order, the signals it raised (possibly none)."""
        ...


DetectorFactory = Callable[..., Detector]
_REGISTRY: dict[str, DetectorFactory] = {}


def register(name: str) -> Callable[[DetectorFactory], DetectorFactory]:
    """Class or function decorator: `@register("bank")` makes `create("bank", ...)` build it."""

    def deco(factory: DetectorFactory) -> DetectorFactory:
        _REGISTRY[name] = factory
        return factory

    return deco


def create(name: str, **kwargs: object) -> Detector:
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown detector {name!r}; known: {', '.join(sorted(_REGISTRY))}") from None
    return factory(**kwargs)


def registered() -> list[str]:
    return sorted(_REGISTRY)
