"""Which images a Dockerfile reads from (``builds/dockerfile_refs.py``), and image-ID refusal.

Aspects checked: FROM images with flags, aliases and global ARG defaults (including the
``${X:-word}`` forms); stage names and indexes are not images, nor is ``scratch``; COPY/ADD
``--from=`` sources; continuation lines, comments inside them and the ``# escape=`` directive;
what cannot be resolved with certainty is refused (an ARG without a value, variables in
``--from``, a stage-scoped ARG used by FROM); image IDs and ID prefixes are not image
references a user may give.
"""

from __future__ import annotations

import pytest

from kubidu.builds.dockerfile_refs import referenced_images
from kubidu.core.errors import InvalidInput
from kubidu.core.images import BUILT_FOR_TEAM_LABEL, built_for_other_team, validate_image_ref

MULTI_STAGE = """\
# syntax is ignored by the classic builder
ARG PY=3.12
ARG BASE=python:${PY}-slim
FROM --platform=linux/amd64 ${BASE} AS Build
RUN pip wheel -w /w . \\
  # a comment inside a continued instruction
  && echo done
FROM scratch AS empty
FROM build
COPY --from=build /w /w
COPY --from=0 /w /w2
COPY --chown=1:1 --from=busybox:1.36 /bin/sh /bin/sh
ADD --from=empty / /
COPY app.py /app/
"""


def test_images_of_a_multi_stage_dockerfile() -> None:
    assert referenced_images(MULTI_STAGE) == ["python:3.12-slim", "busybox:1.36"]


def test_default_forms_resolve_like_the_builder() -> None:
    assert referenced_images("ARG T\nFROM node:${T:-20}\n") == ["node:20"]
    assert referenced_images("ARG T=\nFROM node${T:+:9}\n") == ["node"]
    assert referenced_images("ARG T=18\nFROM node:${T-20}\n") == ["node:18"]


def test_escape_directive_changes_the_continuation_character() -> None:
    text = "# escape=`\nFROM alpine:3 AS a\nCOPY --from=busybox:1 `\n  /bin/sh /sh\n"
    assert referenced_images(text) == ["alpine:3", "busybox:1"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("ARG X\nFROM $X\n", "has no value before FROM"),
        ("FROM alpine AS a\nARG X=evil\nFROM $X\n", "has no value before FROM"),
        ("ENV X=y\nFROM ${X}\n", "has no value before FROM"),
        ("FROM alpine\nARG S=alpine\nCOPY --from=$S / /\n", "--from must name a stage"),
        ("FROM alpine AS x y\n", "cannot read 'FROM"),
        ("ARG =x\nFROM alpine\n", "cannot read 'ARG"),
    ],
)
def test_what_cannot_be_resolved_is_refused(text: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        referenced_images(text)


@pytest.mark.parametrize("ref", ["ab12", "sha256:ab12", "a" * 64, "sha256:" + "b" * 64])
def test_image_ids_are_not_references(ref: str) -> None:
    with pytest.raises(InvalidInput, match="looks like an image ID"):
        validate_image_ref(ref)


def test_names_that_merely_contain_hex_are_fine() -> None:
    assert validate_image_ref("cafe:latest") == "cafe:latest"
    assert validate_image_ref("acme/beef") == "acme/beef"


def test_built_for_labels() -> None:
    assert built_for_other_team({BUILT_FOR_TEAM_LABEL: "team_a"}, "team_b")
    assert not built_for_other_team({BUILT_FOR_TEAM_LABEL: "team_a"}, "team_a")
    assert not built_for_other_team(None, "team_a")
    assert not built_for_other_team({"other": "x"}, "team_a")
