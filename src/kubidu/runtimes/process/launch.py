"""How an app process is launched: its environment and its argv, built without a shell.

Used by the supervisor (every replica start) and by :class:`ProcessRuntime` (to reject a bad
command at ``apply`` time and for one-off runs). Stdlib only: the supervisor imports it.

The app's environment is built from the workload's own env alone — never from the control
plane's environment, which holds secrets such as ``KUBIDU_MASTER_KEY``.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping, Sequence

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# ``$NAME`` or ``${NAME}``, Procfile style; anything else (a lone ``$``) stays literal.
_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


class LaunchError(Exception):
    """The command cannot be launched as given (empty, or its program is not found)."""


def app_env(env: Mapping[str, str], *, port: int | None, home: str) -> dict[str, str]:
    """The complete environment of an app process: defaults, then ``env``, then ``PORT``."""
    result = {"PATH": DEFAULT_PATH, "HOME": home, "PYTHONUNBUFFERED": "1"}
    result.update(env)
    if port is not None:
        result["PORT"] = str(port)  # the runtime owns the port; the app may not pick another
    return result


def expand(value: str, env: Mapping[str, str]) -> str:
    """Replace ``$VAR`` / ``${VAR}`` with their values in ``env`` (unset → empty, as sh does)."""
    return _VAR.sub(lambda m: env.get(m.group(1) or m.group(2), ""), value)


def app_argv(command: Sequence[str], env: Mapping[str, str]) -> list[str]:
    """Expand variables in every element and resolve a bare program name through ``PATH``."""
    if not command:
        raise LaunchError("the command is empty")
    argv = [expand(part, env) for part in command]
    if not argv[0]:
        raise LaunchError(f"the program {command[0]!r} expands to nothing")
    if "/" not in argv[0]:
        found = shutil.which(argv[0], path=env.get("PATH", DEFAULT_PATH))
        if found is None:
            raise LaunchError(f"program {argv[0]!r} not found in the app's PATH")
        argv[0] = found
    return argv
