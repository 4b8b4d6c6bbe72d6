"""Identity use-cases: first-start admin, API tokens, dashboard password sessions, teams, users.

Tokens and session secrets are returned once and stored only as hashes; passwords only as
argon2 hashes.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from kubidu.core.errors import Conflict, Forbidden, InvalidInput, Unauthorized
from kubidu.core.names import validate_name
from kubidu.core.states import Role
from kubidu.security.passwords import hash_password, verify_password
from kubidu.security.tokens import hash_token, new_token
from kubidu.services import audit
from kubidu.services.context import Actor, Platform
from kubidu.store.db import Database
from kubidu.store.models import ApiToken, Membership, Team, User, WebSession, new_id, utcnow

ADMIN_EMAIL = "admin@kubidu.local"
SESSION_LIFETIME = timedelta(hours=12)


@dataclass(frozen=True)
class NewAdmin:
    token: str
    password: str


@dataclass(frozen=True)
class WebLogin:
    session_token: str
    csrf_token: str


@dataclass(frozen=True)
class TeamView:
    id: str
    name: str
    role: str


def ensure_admin(db: Database) -> NewAdmin | None:
    """On first start create the admin, its team ``default`` and a token; later: None."""
    with db.transaction() as session:
        if session.scalars(select(User.id).where(User.is_admin.is_(True))).first():
            return None
        password, token = secrets.token_urlsafe(12), new_token()
        user = User(
            id=new_id("usr"),
            email=ADMIN_EMAIL,
            is_admin=True,
            password_hash=hash_password(password),
        )
        team = Team(id=new_id("team"), name="default")
        session.add_all([user, team])
        session.flush()
        session.add(Membership(team_id=team.id, user_id=user.id, role=Role.OWNER))
        session.add(
            ApiToken(id=new_id("tok"), user_id=user.id, name="admin", token_hash=hash_token(token))
        )
        audit.record(
            session, actor=None, team_id=team.id, action="admin.bootstrap", obj=("user", user.id)
        )
        return NewAdmin(token=token, password=password)


def authenticate_token(db: Database, token: str, *, remote_addr: str | None) -> Actor:
    with db.transaction() as session:
        row = session.scalars(
            select(ApiToken).where(
                ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None)
            )
        ).first()
        if row is None:
            raise Unauthorized("invalid or revoked API token")
        user = session.get_one(User, row.user_id)
        return Actor(user_id=user.id, email=user.email, remote_addr=remote_addr)


def is_platform_admin(db: Database, actor: Actor) -> bool:
    with db.transaction() as session:
        return bool(session.get_one(User, actor.user_id).is_admin)


def whoami(p: Platform, *, actor: Actor) -> list[TeamView]:
    with p.db.transaction() as session:
        rows = session.scalars(select(Membership).where(Membership.user_id == actor.user_id)).all()
        return [TeamView(m.team.id, m.team.name, m.role) for m in rows]


def create_team(p: Platform, *, actor: Actor, name: str) -> TeamView:
    validate_name(name, kind="team")
    with p.db.transaction() as session:
        if session.scalars(select(Team.id).where(Team.name == name)).first():
            raise Conflict(f"team {name!r} already exists")
        team = Team(id=new_id("team"), name=name)
        session.add(team)
        session.flush()
        session.add(Membership(team_id=team.id, user_id=actor.user_id, role=Role.OWNER))
        audit.record(
            session,
            actor=actor,
            team_id=team.id,
            action="team.create",
            obj=("team", team.id),
            details={"name": name},
        )
        return TeamView(team.id, team.name, Role.OWNER)


def create_user(p: Platform, *, actor: Actor, email: str, password: str | None) -> tuple[str, str]:
    """Platform admins add users; returns (user id, a first API token shown once)."""
    if not is_platform_admin(p.db, actor):
        raise Forbidden("only the platform admin can create users")
    _check_email(email)
    token = new_token()
    with p.db.transaction() as session:
        if session.scalars(select(User.id).where(User.email == email)).first():
            raise Conflict(f"user {email!r} already exists")
        user = User(
            id=new_id("usr"),
            email=email,
            password_hash=hash_password(password) if password else None,
        )
        session.add(user)
        session.flush()
        session.add(
            ApiToken(id=new_id("tok"), user_id=user.id, name="first", token_hash=hash_token(token))
        )
        audit.record(
            session,
            actor=actor,
            team_id=None,
            action="user.create",
            obj=("user", user.id),
            details={"email": email},
        )
        return user.id, token


def _check_email(email: str) -> None:
    if len(email) > 254 or email.count("@") != 1 or not email.isprintable() or " " in email:
        raise InvalidInput(f"invalid e-mail address {email!r}")


def login_password(db: Database, *, email: str, password: str, remote_addr: str | None) -> WebLogin:
    """Dashboard login; the same error whether the user or the password is wrong."""
    with db.transaction() as session:
        user = session.scalars(select(User).where(User.email == email)).first()
        if (
            user is None
            or not user.password_hash
            or not verify_password(user.password_hash, password)
        ):
            raise Unauthorized("wrong e-mail or password")
        login = WebLogin(secrets.token_urlsafe(32), secrets.token_urlsafe(32))
        session.add(
            WebSession(
                id=new_id("ses"),
                user_id=user.id,
                token_hash=hash_token(login.session_token),
                csrf_token=login.csrf_token,
                expires_at=utcnow() + SESSION_LIFETIME,
            )
        )
        actor = Actor(user.id, user.email, remote_addr)
        audit.record(session, actor=actor, team_id=None, action="user.login", obj=("user", user.id))
        return login


def authenticate_session(
    db: Database, session_token: str, *, remote_addr: str | None
) -> tuple[Actor, str]:
    """The actor and CSRF token of a live dashboard session."""
    with db.transaction() as session:
        row = session.scalars(
            select(WebSession).where(WebSession.token_hash == hash_token(session_token))
        ).first()
        if row is None or row.expires_at < utcnow():
            raise Unauthorized("session expired: log in again")
        user = session.get_one(User, row.user_id)
        return Actor(user.id, user.email, remote_addr), row.csrf_token


def logout_session(db: Database, session_token: str) -> None:
    with db.transaction() as session:
        row = session.scalars(
            select(WebSession).where(WebSession.token_hash == hash_token(session_token))
        ).first()
        if row is not None:
            session.delete(row)
