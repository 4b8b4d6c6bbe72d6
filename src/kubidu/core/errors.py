"""Domain errors raised by services and mapped to HTTP statuses by the API layer.

Every error carries a message meant for the user: it is shown verbatim by the CLI and the
dashboard, so it must say what was wrong and never leak secrets.
"""


class KubiduError(Exception):
    """Base class of every error the user may see."""

    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(KubiduError):
    """The request was well-formed HTTP but its content is not acceptable."""

    status_code = 422


class NotFound(KubiduError):
    """The object does not exist, or the caller may not know that it exists."""

    status_code = 404


class Conflict(KubiduError):
    """The object already exists or is in a state that forbids the action."""

    status_code = 409


class Unauthorized(KubiduError):
    """No valid credentials were presented."""

    status_code = 401


class Forbidden(KubiduError):
    """The caller is a member of the team but their role does not allow the action."""

    status_code = 403


class PayloadTooLarge(KubiduError):
    """An upload exceeds the configured size or file-count cap."""

    status_code = 413
