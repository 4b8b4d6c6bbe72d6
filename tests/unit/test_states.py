"""State machines of ``kubidu.core.states``.

Checks:
* the happy path queued → building → deploying → active → superseded is legal, and a
  superseded deployment may become active again (rollback);
* failed and cancelled are terminal: no move out of them;
* illegal moves raise ``Conflict`` (409) naming both states, e.g. a late worker marking a
  superseded deployment ``deploying``, or an active one ``failed``;
* no state may move to itself;
* ``TERMINAL`` and ``IN_FLIGHT`` partition what they claim to;
* roles are ordered viewer < member < admin < owner.
"""

from __future__ import annotations

import itertools

import pytest

from kubidu.core.errors import Conflict
from kubidu.core.states import (
    IN_FLIGHT,
    TERMINAL,
    DeploymentStatus,
    Role,
    check_transition,
    role_allows,
)

D = DeploymentStatus

LEGAL = {
    (D.QUEUED, D.BUILDING),
    (D.QUEUED, D.DEPLOYING),
    (D.QUEUED, D.FAILED),
    (D.QUEUED, D.CANCELLED),
    (D.BUILDING, D.DEPLOYING),
    (D.BUILDING, D.FAILED),
    (D.BUILDING, D.CANCELLED),
    (D.DEPLOYING, D.ACTIVE),
    (D.DEPLOYING, D.FAILED),
    (D.ACTIVE, D.SUPERSEDED),
    (D.SUPERSEDED, D.ACTIVE),
}


def test_happy_path_and_rollback() -> None:
    path = [D.QUEUED, D.BUILDING, D.DEPLOYING, D.ACTIVE, D.SUPERSEDED, D.ACTIVE]
    for current, new in itertools.pairwise(path):
        check_transition(current, new)


@pytest.mark.parametrize(("current", "new"), sorted(LEGAL))
def test_legal_moves(current: DeploymentStatus, new: DeploymentStatus) -> None:
    check_transition(current, new)


@pytest.mark.parametrize(
    ("current", "new"),
    sorted(set(itertools.product(DeploymentStatus, repeat=2)) - LEGAL),
)
def test_every_other_move_is_refused(current: DeploymentStatus, new: DeploymentStatus) -> None:
    with pytest.raises(Conflict) as excinfo:
        check_transition(current, new)
    assert excinfo.value.status_code == 409
    assert str(current) in excinfo.value.message
    assert str(new) in excinfo.value.message


@pytest.mark.parametrize("terminal", sorted(TERMINAL))
def test_terminal_states_have_no_way_out(terminal: DeploymentStatus) -> None:
    for new in DeploymentStatus:
        with pytest.raises(Conflict):
            check_transition(terminal, new)


def test_state_sets() -> None:
    assert {D.FAILED, D.CANCELLED} == TERMINAL
    assert {D.QUEUED, D.BUILDING, D.DEPLOYING} == IN_FLIGHT
    assert not TERMINAL & IN_FLIGHT
    assert D.ACTIVE not in TERMINAL | IN_FLIGHT


def test_status_values_are_stable_strings() -> None:
    # Stored in the database and shown in `kubidu deployments --json`: never rename them.
    assert [s.value for s in DeploymentStatus] == [
        "queued",
        "building",
        "deploying",
        "active",
        "superseded",
        "failed",
        "cancelled",
    ]


ROLES_WEAK_TO_STRONG = [Role.VIEWER, Role.MEMBER, Role.ADMIN, Role.OWNER]
ROLE_PAIRS = list(itertools.product(ROLES_WEAK_TO_STRONG, repeat=2))


@pytest.mark.parametrize(("role", "needed"), ROLE_PAIRS)
def test_role_order(role: Role, needed: Role) -> None:
    expected = ROLES_WEAK_TO_STRONG.index(role) >= ROLES_WEAK_TO_STRONG.index(needed)
    assert role_allows(role, needed) is expected
