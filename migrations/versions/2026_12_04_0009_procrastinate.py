"""procrastinate's job queue schema, on PostgreSQL only (nothing on SQLite).

The schema is a vendored copy of procrastinate 3.10.0's `sql/schema.sql`
(`migrations/sql/procrastinate-3.10.0.sql`), so this revision stays the same whatever version is
installed; a later procrastinate gets its own revision applying its `sql/migrations/*` files.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 18:00:00
"""

from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.util import await_

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = Path(__file__).parents[1] / "sql" / "procrastinate-3.10.0.sql"

# Dropped in this order: the triggers (they call the functions), the functions (one returns a
# job row), the tables (dependents first; indexes go with them), the types (columns, arguments).
TRIGGERS = (  # all on procrastinate_jobs
    "procrastinate_jobs_notify_queue_job_inserted_v1",
    "procrastinate_jobs_notify_queue_job_aborted_v1",
    "procrastinate_trigger_status_events_update_v1",
    "procrastinate_trigger_status_events_insert_v1",
    "procrastinate_trigger_scheduled_events_v1",
    "procrastinate_trigger_abort_requested_events_v1",
    "procrastinate_trigger_delete_jobs_v1",
)
FUNCTIONS = (
    "procrastinate_defer_jobs_v1",
    "procrastinate_defer_periodic_job_v2",
    "procrastinate_fetch_job_v2",
    "procrastinate_finish_job_v1",
    "procrastinate_cancel_job_v1",
    "procrastinate_retry_job_v1",
    "procrastinate_retry_job_v2",
    "procrastinate_notify_queue_job_inserted_v1",
    "procrastinate_notify_queue_abort_job_v1",
    "procrastinate_trigger_function_status_events_insert_v1",
    "procrastinate_trigger_function_status_events_update_v1",
    "procrastinate_trigger_function_scheduled_events_v1",
    "procrastinate_trigger_abort_requested_events_procedure_v1",
    "procrastinate_unlink_periodic_defers_v1",
    "procrastinate_register_worker_v1",
    "procrastinate_unregister_worker_v1",
    "procrastinate_update_heartbeat_v1",
    "procrastinate_prune_stalled_workers_v1",
)
TABLES = (
    "procrastinate_events",
    "procrastinate_periodic_defers",
    "procrastinate_jobs",
    "procrastinate_workers",
)
TYPES = (
    "procrastinate_job_to_defer_v1",
    "procrastinate_job_event_type",
    "procrastinate_job_status",
)


def _on_postgresql() -> bool:
    return op.get_context().dialect.name == "postgresql"


def upgrade() -> None:
    if not _on_postgresql():
        return
    schema = SCHEMA.read_text()
    if context.is_offline_mode():
        op.execute(schema)
        return
    bind = op.get_bind()
    # asyncpg prepares every statement SQLAlchemy sends, and a prepared statement holds one
    # command: the script goes to the driver's own execute (the simple-query protocol).
    # SQLAlchemy's asyncpg adapter begins its transaction lazily, with the first statement it
    # sends itself: a script sent before any would commit on its own and survive a failed
    # migration. Alembic has read its version table by now, but do not rely on it.
    bind.execute(sa.text("SELECT 1"))
    driver_connection = bind.connection.driver_connection
    assert driver_connection is not None
    await_(driver_connection.execute(schema))


def downgrade() -> None:
    if not _on_postgresql():
        return
    for trigger in TRIGGERS:
        op.execute(f"DROP TRIGGER {trigger} ON procrastinate_jobs")
    for function in FUNCTIONS:
        op.execute(f"DROP FUNCTION {function}")
    for table in TABLES:
        op.execute(f"DROP TABLE {table}")
    for type_ in TYPES:
        op.execute(f"DROP TYPE {type_}")
