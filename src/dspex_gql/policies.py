"""Who may read and change what, in one place.

ADMIN: anything in its organization. USER: creates; reads its own and ORGANIZATION-visible
resources; changes only its own. VIEWER: reads what a USER reads, changes nothing but its own
profile (name, email), password and API keys. Nothing crosses organizations (repositories filter
by organization).

Read rules are SQL clauses, so lists just come back shorter and a forbidden `get` is not found;
write rules raise Forbidden.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, or_, select

from dspex_gql.errors import Forbidden
from dspex_gql.identity import Actor, Role


class Visibility(StrEnum):
    """Who besides its owner (and admins) may read a resource."""

    PRIVATE = "PRIVATE"
    ORGANIZATION = "ORGANIZATION"


def readable(actor: Actor | None, model: Any) -> ColumnElement[bool] | None:
    """The rows of `model` the actor may read, or None for all of them (admins, the system)."""
    if actor is None or actor.is_admin or not hasattr(model, "visibility"):
        return None
    return or_(model.created_by == actor.user_id, model.visibility == Visibility.ORGANIZATION)


def readable_through(actor: Actor | None, column: Any, parent: Any) -> ColumnElement[bool] | None:
    """Rows readable because their parent is, e.g. executions through their program."""
    clause = readable(actor, parent)
    if clause is None:
        return None
    visible: ColumnElement[bool] = column.in_(select(parent.id).where(clause).scalar_subquery())
    return visible


def ensure_can_create(actor: Actor, what: str) -> None:
    if actor.role == Role.VIEWER:
        raise Forbidden(f"Viewers cannot create {what}")


def ensure_can_run(actor: Actor, what: str) -> None:
    """Running something (a program, a call to a model) spends the organization's budget."""
    if actor.role == Role.VIEWER:
        raise Forbidden(f"Viewers cannot {what}")


def ensure_can_change(actor: Actor, row: Any, what: str) -> None:
    """Admins change anything; users only what they created; viewers nothing."""
    if actor.is_admin:
        return
    if actor.role == Role.VIEWER:
        raise Forbidden(f"Viewers cannot change {what}")
    if row.created_by != actor.user_id:
        raise Forbidden(f"Only its owner or an admin can change this {what}")


def ensure_admin(actor: Actor, what: str) -> None:
    if not actor.is_admin:
        raise Forbidden(f"Only admins can {what}")
