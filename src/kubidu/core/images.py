"""Validation of container image references given by users (``kubidu deploy --image REF``).

Pure: called by ``services/image_deploys.py`` at the boundary, before anything is written, and
by ``builds/docker_image.py`` for the images a Dockerfile names. The grammar is Docker's
reference grammar (registry host[:port]/path[:tag][@sha256:digest]), kept lowercase for the
path as Docker requires; anything else — spaces, a leading dash that a program could read as an
option, shell characters — is refused with the reason. Image IDs (``sha256:…`` or bare hex,
which the Engine also resolves from a short prefix) are refused too: one Engine holds every
team's images, and an ID prefix would let a caller probe for another team's.

``BUILT_FOR_TEAM_LABEL`` marks each image Kubidu builds with the team it was built for; the
docker runtime and the image builder refuse such an image for any other team.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from kubidu.core.errors import InvalidInput

MAX_LENGTH = 255
BUILT_FOR_TEAM_LABEL = "io.kubidu.built-for-team"
_IMAGE_ID = re.compile(r"^(?:sha256:)?[a-f0-9]{1,64}(?:@.*)?$")
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
    if _IMAGE_ID.fullmatch(ref):
        raise InvalidInput(f"{ref!r} looks like an image ID; name the image by repository and tag")
    return ref


def built_for_other_team(labels: Mapping[str, str] | None, team: str) -> bool:
    """True when image ``labels`` say Kubidu built the image for a team other than ``team``."""
    built_for = (labels or {}).get(BUILT_FOR_TEAM_LABEL)
    return built_for is not None and built_for != team
