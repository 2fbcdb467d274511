"""Service processes with leases, and the process running each unfinished run (so a replica
takes over only what no live process runs).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 07:48:04.155847
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "service_processes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("machine", sa.String(length=400), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("renewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_processes")),
    )
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("process_id", sa.Uuid(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_executions_status_process_id"), ["status", "process_id"], unique=False
        )

    with op.batch_alter_table("optimization_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("process_id", sa.Uuid(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_optimization_runs_status_process_id"),
            ["status", "process_id"],
            unique=False,
        )

    with op.batch_alter_table("programs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("process_id", sa.Uuid(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_programs_status_process_id"), ["status", "process_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("programs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_programs_status_process_id"))
        batch_op.drop_column("process_id")

    with op.batch_alter_table("optimization_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_optimization_runs_status_process_id"))
        batch_op.drop_column("process_id")

    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_executions_status_process_id"))
        batch_op.drop_column("process_id")

    op.drop_table("service_processes")
