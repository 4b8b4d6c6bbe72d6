"""API routes for custom domains of a service, and the edge's certificate ``ask`` endpoint.

``GET /api/v1/edge/ask?domain=NAME`` is what Caddy's on-demand TLS calls before it obtains a
certificate: 200 only for verified custom domains and the platform's own hostnames (with a real
base domain); anything else 403, so an attacker pointing random names at the edge causes no
ACME order. It needs no token (Caddy has none) and reveals no more than public DNS does.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from kubidu.api.deps import ActorDep, PlatformDep
from kubidu.services import domain_states, domains
from kubidu.services.domains import DomainView

router = APIRouter()
_DOMAINS = "/projects/{project}/environments/{env}/services/{service}/domains"


class DomainBody(BaseModel):
    hostname: str = Field(max_length=1000)


@router.get(_DOMAINS, response_model=list[DomainView])
def list_domains(
    project: str,
    env: str,
    service: str,
    p: PlatformDep,
    actor: ActorDep,
    team: str | None = Query(default=None),
) -> object:
    return domains.list_domains(p, actor=actor, path=(project, env, service), team=team)


@router.post(_DOMAINS, response_model=DomainView, status_code=201)
def add_domain(
    project: str,
    env: str,
    service: str,
    body: DomainBody,
    p: PlatformDep,
    actor: ActorDep,
    team: str | None = Query(default=None),
) -> object:
    path = (project, env, service)
    return domains.add_domain(p, actor=actor, path=path, hostname=body.hostname, team=team)


@router.post(_DOMAINS + "/{hostname}/verify", response_model=DomainView)
async def verify_domain(
    project: str,
    env: str,
    service: str,
    hostname: str,
    p: PlatformDep,
    actor: ActorDep,
    team: str | None = Query(default=None),
) -> object:
    path = (project, env, service)
    return await domains.verify_domain(p, actor=actor, path=path, hostname=hostname, team=team)


@router.delete(_DOMAINS + "/{hostname}", status_code=204)
def remove_domain(
    project: str,
    env: str,
    service: str,
    hostname: str,
    p: PlatformDep,
    actor: ActorDep,
    team: str | None = Query(default=None),
) -> Response:
    path = (project, env, service)
    domains.remove_domain(p, actor=actor, path=path, hostname=hostname, team=team)
    return Response(status_code=204)


@router.get("/edge/ask", include_in_schema=False)
def ask(p: PlatformDep, domain: str = Query(default="", max_length=300)) -> Response:
    allowed = domain_states.issuance_allowed(p.db, domain, base_domain=p.base_domain)
    return Response(status_code=200 if allowed else 403)
