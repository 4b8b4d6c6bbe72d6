"""Request bodies of the API (responses are the services' views)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class NameBody(BaseModel):
    name: str = Field(max_length=64)


class ServiceBody(BaseModel):
    name: str = Field(max_length=64)
    replicas: int = 1
    health_path: str | None = None


class ServicePatch(BaseModel):
    replicas: int | None = None
    health_path: str | None = None
    cpu: float | None = Field(default=None, description="CPU limit, in CPUs (e.g. 0.5)")
    memory_mb: int | None = Field(default=None, description="memory limit, in MB")


class ImageDeployBody(BaseModel):
    """``kubidu deploy --image``: a pre-built image; ``port`` is what it listens on."""

    image: str = Field(max_length=255)
    port: int | None = None
    message: str | None = Field(default=None, max_length=500)


class EnvChange(BaseModel):
    set: dict[str, str] = Field(default_factory=dict)
    unset: list[str] = Field(default_factory=list)
    # When given, the flag of every variable in ``set`` (secret ones stay out of PR previews).
    secret: bool | None = None


class UserBody(BaseModel):
    email: str = Field(max_length=254)
    password: str | None = Field(default=None, max_length=256)


class NewUser(BaseModel):
    id: str
    token: str


class TeamOut(BaseModel):
    id: str
    name: str
    role: str


class Whoami(BaseModel):
    user: dict[str, str]
    teams: list[TeamOut]


class RollbackBody(BaseModel):
    deployment_id: str | None = Field(default=None, max_length=32)
