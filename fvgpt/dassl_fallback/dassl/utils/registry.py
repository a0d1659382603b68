"""Name -> class registries, used by ``@TRAINER_REGISTRY.register()`` and friends."""
from __future__ import annotations

from typing import Any, Iterable, TypeVar

from .tools import check_availability

T = TypeVar("T")

__all__ = ["Registry", "build_from_registry"]


class Registry:
    """Maps names to objects so configs can select classes by string.

    ``reserved`` lists names that upstream Dassl pre-registers with its built-in
    trainers/datasets. Registering one of them fails here too, so a project
    class that would break under upstream Dassl already breaks in CI.
    """

    def __init__(self, name: str, reserved: Iterable[str] = ()) -> None:
        self._name = name
        self._obj_map: dict[str, Any] = {}
        self._reserved = frozenset(reserved)

    def _do_register(self, name: str, obj: Any, force: bool = False) -> None:
        if name in self._reserved and not force:
            raise KeyError(
                f'"{name}" is reserved in the "{self._name}" registry: upstream Dassl '
                "registers a built-in class under this name, so this class would fail "
                "to import there. Rename the class."
            )
        if name in self._obj_map and not force:
            raise KeyError(
                f'An object named "{name}" was already registered in the '
                f'"{self._name}" registry (pass force=True to replace it)'
            )
        self._obj_map[name] = obj

    def register(self, obj: T | None = None, force: bool = False) -> Any:
        """Register ``obj`` under its ``__name__``; without ``obj``, return a decorator."""
        if obj is None:

            def wrapper(fn_or_class: T) -> T:
                self._do_register(fn_or_class.__name__, fn_or_class, force=force)
                return fn_or_class

            return wrapper
        self._do_register(obj.__name__, obj, force=force)
        return obj

    def get(self, name: str) -> Any:
        if name not in self._obj_map:
            raise KeyError(
                f'Object name "{name}" does not exist in the "{self._name}" registry; '
                f"registered: {self.registered_names()}"
            )
        return self._obj_map[name]

    def registered_names(self) -> list[str]:
        """Names in registration order."""
        return list(self._obj_map)

    def __contains__(self, name: object) -> bool:
        return name in self._obj_map

    def __repr__(self) -> str:
        return f"Registry({self._name!r}, names={self.registered_names()})"


def build_from_registry(registry: Registry, name: str, what: str, option: str, cfg: Any, **kwargs: Any) -> Any:
    """Instantiate the class registered as ``name`` with ``cfg`` (and ``kwargs``): the ``build_*`` functions.

    An unknown ``name`` raises ValueError listing the registered names, calling
    it "``what`` (``option``)"; with ``cfg.VERBOSE``, prints "Loading ``what``: ``name``".
    Not in upstream Dassl (not re-exported by ``dassl.utils``), so only the
    fallback's own builders use it.
    """
    check_availability(name, registry.registered_names(), what=f"{what} ({option})")
    if cfg.VERBOSE:
        print(f"Loading {what}: {name}")
    return registry.get(name)(cfg, **kwargs)
