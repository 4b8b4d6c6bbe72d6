"""Validation of container image references given by users (``kubidu deploy --image REF``).

Pure: called by ``services/image_deploys.py`` at the boundary, before anything is written. The
grammar is Docker's reference grammar (registry host[:port]/path[:tag][@sha256:digest]), kept
lowercase for the path as Docker requires; anything else — spaces, a leading dash that a
program could read as an option, shell characters — is refused with the reason.
"""

from __future__ import annotations

import re

from kubidu.core.errors import InvalidInput

MAX_LENGTH = 255
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_HOST = rf"(?:{_LABEL}(?:\.{_LABEL})*(?::[0-9]{{1,5}})?/)"
_REFERENCE = re.compile(
    rf"^{_HOST}?{_COMPONENT}(?:/{_COMPONENT})*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$"
)


def validate_image_ref(ref: str) -> str:
    """Return ``ref`` when it is a well-formed image reference, else raise InvalidInput."""
    if not ref or len(ref) > MAX_LENGTH:
        raise InvalidInput(f"image reference must be 1 to {MAX_LENGTH} characters")
    if not _REFERENCE.fullmatch(ref):
        raise InvalidInput(
            f"{ref!r} is not a valid image reference "
            "(expected e.g. nginx:1.27, ghcr.io/acme/web:v2 or name@sha256:<64 hex>)"
        )
    return ref
