"""Use-cases for reading logs: search a service's logs, follow them live, read a build log.

Authorization happens before anything is read or streamed. Following is "backlog, then live":
the caller subscribes to the hub first and reads the stored backlog second, so no line can
fall between the two; lines already sent from the backlog are skipped when they come live.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import datetime

from kubidu.core.errors import InvalidInput
from kubidu.core.states import IN_FLIGHT, DeploymentStatus, Role
from kubidu.logs.model import STREAMS, LogQuery, StoredLine
from kubidu.services import access
from kubidu.services.context import Actor, Platform
from kubidu.store.models import Deployment

MAX_LIMIT = 10_000
Item = StoredLine | int  # an int says how many lines a lagging follower skipped


@dataclass(frozen=True)
class LogFilter:
    """What a user can narrow service logs by (the CLI's and dashboard's filters)."""

    since: datetime | None = None
    until: datetime | None = None
    grep: str | None = None
    deployment_id: str | None = None
    replica: str | None = None
    stream: str | None = None
    limit: int = 1000


def _query(service_id: str, wanted: LogFilter) -> LogQuery:
    if wanted.stream is not None and wanted.stream not in STREAMS:
        raise InvalidInput(f"stream must be one of {', '.join(STREAMS)}")
    if not 1 <= wanted.limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")
    if wanted.grep is not None and not 0 < len(wanted.grep) <= 200:
        raise InvalidInput("grep must be 1 to 200 characters")
    return LogQuery(
        service_id=service_id,
        deployment_id=wanted.deployment_id,
        replica=wanted.replica,
        stream=wanted.stream,
        grep=wanted.grep,
        since=wanted.since,
        until=wanted.until,
        limit=wanted.limit,
    )


def _service_query(
    p: Platform, actor: Actor, path: tuple[str, str, str], wanted: LogFilter, team: str | None
) -> LogQuery:
    with p.db.transaction() as session:
        ref = access.service(session, actor, path, team=team, needed=Role.VIEWER)
        return _query(ref.service.id, wanted)


def search(
    p: Platform,
    *,
    actor: Actor,
    path: tuple[str, str, str],
    wanted: LogFilter,
    team: str | None = None,
) -> list[StoredLine]:
    return p.logs.search(_service_query(p, actor, path, wanted, team))


def follow(
    p: Platform,
    *,
    actor: Actor,
    path: tuple[str, str, str],
    wanted: LogFilter,
    team: str | None = None,
) -> AsyncIterator[Item]:
    """Authorizes now (raising before any byte is streamed), then streams forever."""
    query = _service_query(p, actor, path, wanted, team)
    return _backlog_then_live(p, query, ended=lambda: False)


def build_log(
    p: Platform, *, actor: Actor, deployment_id: str, follow_live: bool
) -> AsyncIterator[Item]:
    """A deployment's build log; when following, it ends once the deployment has ended."""
    with p.db.transaction() as session:
        row = access.deployment(session, actor, deployment_id, Role.VIEWER)
        query = LogQuery(
            service_id=row.service_id,
            deployment_id=row.id,
            source="build",
            after_id=0,
            limit=MAX_LIMIT,
        )
    if not follow_live:
        return _backlog(p, query)
    return _backlog_then_live(p, query, ended=lambda: _ended(p, deployment_id))


def _ended(p: Platform, deployment_id: str) -> bool:
    with p.db.transaction() as session:
        status = session.get_one(Deployment, deployment_id).status
    return DeploymentStatus(status) not in IN_FLIGHT


async def _backlog(p: Platform, query: LogQuery) -> AsyncIterator[Item]:
    for line in await asyncio.to_thread(p.logs.search, query):
        yield line


async def _backlog_then_live(
    p: Platform, query: LogQuery, *, ended: Callable[[], bool]
) -> AsyncIterator[Item]:
    with p.log_hub.subscribe(query) as subscription:
        last = 0
        for line in await asyncio.to_thread(p.logs.search, query):
            last = line.id
            yield line
        subscription.query = replace(query, after_id=last)
        while True:
            item = await subscription.next(timeout=0.25)
            if item is None:
                if await asyncio.to_thread(ended):
                    return
            elif isinstance(item, int) or item.id > last:
                yield item
