"""The docker runtime: replicas as containers of Docker Engine, driven through the docker SDK.

Chosen by ``bootstrap.py`` (``--runtime docker``). See :mod:`kubidu.runtimes.docker.runtime`.
"""

from kubidu.runtimes.docker.runtime import DockerRuntime

__all__ = ["DockerRuntime"]
