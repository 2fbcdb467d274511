"""Service processes and their leases.

Each running service process has a row here that it renews every few seconds; the runs it runs
carry its id in their `process_id`. A process whose lease ran out, or whose row is gone, owns
nothing any more: another process takes its unfinished runs over (see `reclaim.py`).
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime
from pathlib import Path

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from dspex_gql.db.base import Base


class ServiceProcess(Base):
    __tablename__ = "service_processes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    machine: Mapped[str] = mapped_column(String(400))
    """Where `pid` means something: see `this_machine()`."""
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    renewed_at: Mapped[datetime]
    expires_at: Mapped[datetime]


def this_machine() -> str:
    """Host name, boot and pid namespace: processes with the same value see each other's pids,
    so a row naming a pid that is not running here belongs to a dead process."""
    boot = _read("/proc/sys/kernel/random/boot_id")
    namespace = _link("/proc/self/ns/pid")
    return "/".join((socket.gethostname(), boot, namespace))[:400]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, as another user's process
    return True


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def _link(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return ""
