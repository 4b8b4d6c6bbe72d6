"""The process runtime: replicas as detached, supervised local process groups.

``ProcessRuntime`` is imported lazily so that the supervisor (``python -m
kubidu.runtimes.process.supervisor``), which imports this package first, stays stdlib-only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kubidu.runtimes.process.runtime import ProcessRuntime

__all__ = ["ProcessRuntime"]


def __getattr__(name: str) -> Any:
    if name == "ProcessRuntime":
        from kubidu.runtimes.process.runtime import ProcessRuntime

        return ProcessRuntime
    raise AttributeError(name)
