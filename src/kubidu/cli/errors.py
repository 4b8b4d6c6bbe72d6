"""The one exception the CLI uses for expected failures.

Raised anywhere in the CLI (client, config, parsing, commands); `main.KubiduGroup` turns it into
a one-line `error: ...` on stderr and the exit code it carries, never a traceback.
"""

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """An expected failure: shown to the user as one line, then the process exits non-zero."""

    def __init__(self, message: str, *, exit_code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class UsageError(CliError):
    """The command line itself is wrong (malformed KEY=VALUE, bad duration, bad URL)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, exit_code=EXIT_USAGE)


class ApiError(CliError):
    """The server answered with an HTTP error; `status_code` lets callers react (409, 404)."""

    def __init__(self, message: str, *, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code
