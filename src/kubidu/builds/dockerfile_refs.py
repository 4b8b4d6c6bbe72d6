"""The images a Dockerfile reads from: its ``FROM`` lines and ``COPY``/``ADD --from=`` sources.

Called by ``docker_image.py`` before each build. One Engine holds every team's images, and the
Engine resolves any local image by name or ID for a build, so a Dockerfile could start from, or
copy files out of, an image Kubidu built for another team; the builder checks each image this
module finds. Pure: text in, references out.

Only the classic builder's syntax matters (it is the builder Kubidu runs): line continuations
(with the ``# escape=`` parser directive), comments, stage names and indexes, and the global
``ARG`` defaults that ``FROM`` may use (no build args are ever passed, so the defaults are the
values). Anything this module cannot resolve with certainty — a variable it cannot expand, a
``--from`` built from variables — is refused rather than guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from kubidu.core.errors import InvalidInput

_DIRECTIVE = re.compile(r"^#\s*escape\s*=\s*(\S)\s*$", re.IGNORECASE)
_INSTRUCTION = re.compile(r"^\s*([A-Za-z]+)(?:\s+(.*))?$", re.DOTALL)
# $NAME, ${NAME}, ${NAME:-word}, ${NAME-word}, ${NAME:+word}, ${NAME+word}; word without "$".
_VARIABLE = re.compile(r"\$(?:\{(\w+)(?:(:?[-+])([^}$]*))?\}|(\w+))")
_ARG = re.compile(r"^(\w+)(?:=(.*))?$", re.DOTALL)
_FROM_FLAG = re.compile(r"^--from=(.*)$", re.IGNORECASE)


def referenced_images(dockerfile: str) -> list[str]:
    """Every image (not a stage, not ``scratch``) the Dockerfile builds from or copies from."""
    global_args: dict[str, str | None] = {}
    stages: list[str] = []
    found: list[str] = []
    for keyword, rest in instructions(dockerfile):
        if keyword == "ARG" and not stages:
            name, value = _arg(rest)
            global_args[name] = None if value is None else _expand(value, global_args)
        elif keyword == "FROM":
            image, alias = _from(rest, global_args)
            if image.lower() not in {*stages, "scratch"}:
                found.append(image)
            stages.append(alias or f"#{len(stages)}")
        elif keyword in ("COPY", "ADD") and (source := _from_flag(rest)) is not None:
            found += [] if source.lower() in stages or source.isdigit() else [source]
    return found


def instructions(dockerfile: str) -> Iterator[tuple[str, str]]:
    """(KEYWORD, arguments) of each instruction, continuation lines joined, comments skipped."""
    lines = dockerfile.splitlines()
    escape = _escape_char(lines)
    pending: list[str] = []
    for line in lines:
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if pending and line.lstrip().startswith("#"):
            continue  # comment lines inside a continued instruction are dropped
        stripped = line.rstrip()
        if stripped.endswith(escape):
            pending.append(stripped[: -len(escape)])
            continue
        yield from _instruction(" ".join([*pending, stripped]))
        pending = []
    if pending:
        yield from _instruction(" ".join(pending))


def _escape_char(lines: list[str]) -> str:
    for line in lines:
        if not line.strip():
            continue
        match = _DIRECTIVE.match(line.strip())
        if match is None:
            break
        return match.group(1)
    return "\\"


def _instruction(text: str) -> Iterator[tuple[str, str]]:
    match = _INSTRUCTION.match(text)
    if match is not None:
        yield match.group(1).upper(), (match.group(2) or "").strip()


def _arg(rest: str) -> tuple[str, str | None]:
    match = _ARG.match(rest.strip())
    if match is None:
        raise InvalidInput(f"Dockerfile: cannot read 'ARG {rest}'")
    value = match.group(2)
    return match.group(1), None if value is None else value.strip().strip('"')


def _from(rest: str, args: dict[str, str | None]) -> tuple[str, str | None]:
    words = [w for w in rest.split() if not w.startswith("--")]
    if len(words) not in (1, 3) or (len(words) == 3 and words[1].lower() != "as"):
        raise InvalidInput(f"Dockerfile: cannot read 'FROM {rest}'")
    alias = words[2].lower() if len(words) == 3 else None
    return _expand(words[0], args), alias


def _from_flag(rest: str) -> str | None:
    for word in rest.split():
        if not word.startswith("--"):
            return None  # flags come first; the sources start here
        match = _FROM_FLAG.match(word)
        if match is not None:
            if "$" in match.group(1):
                raise InvalidInput("Dockerfile: --from must name a stage or an image literally")
            return match.group(1).strip('"')
    return None


def _expand(text: str, args: dict[str, str | None]) -> str:
    expanded = _VARIABLE.sub(lambda m: _value(m, args), text)
    if "$" in expanded:
        raise InvalidInput(f"Dockerfile: cannot resolve the image name {text!r}")
    return expanded


def _value(match: re.Match[str], args: dict[str, str | None]) -> str:
    name = match.group(1) or match.group(4)
    operator, word = match.group(2), match.group(3) or ""
    value = args.get(name)
    if operator is None:
        if value is None:
            raise InvalidInput(f"Dockerfile: ${name} has no value before FROM")
        return value
    present = value is not None and (value != "" or not operator.startswith(":"))
    if operator.endswith("-"):
        return value if present and value is not None else word
    return word if present else ""
