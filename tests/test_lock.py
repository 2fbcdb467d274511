"""requirements.lock, what the Docker image installs with `--require-hashes`, keeps up with
pyproject.toml: every dependency (and those of the dspy and procrastinate extras) pinned at a
version pyproject allows, each pin with its hashes. `scripts/lock` writes it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parents[1]
IMAGE_EXTRAS = ("dspy", "procrastinate")
PIN = re.compile(r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==([^\s;\\]+)")


def pins(lock: Path) -> dict[str, tuple[str, int]]:
    """`{name: (version, number of hashes)}` of a lock written by `uv pip compile`."""
    found: dict[str, tuple[str, int]] = {}
    name = None
    for line in lock.read_text().splitlines():
        if match := PIN.match(line):
            name = canonicalize_name(match[1])
            found[name] = (match[2], 0)
        elif name is not None and line.strip().startswith("--hash=sha256:"):
            version, hashes = found[name]
            found[name] = (version, hashes + 1)
    return found


def image_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    texts = project["dependencies"] + [text for extra in IMAGE_EXTRAS for text in extras[extra]]
    return [Requirement(text) for text in texts]


def test_every_dependency_of_the_image_is_pinned_where_pyproject_allows() -> None:
    locked = pins(ROOT / "requirements.lock")

    missing = [str(r) for r in image_requirements() if canonicalize_name(r.name) not in locked]
    outside = [
        f"{r} (locked {locked[canonicalize_name(r.name)][0]})"
        for r in image_requirements()
        if canonicalize_name(r.name) in locked
        and locked[canonicalize_name(r.name)][0] not in r.specifier
    ]

    assert missing == [], "run scripts/lock"
    assert outside == [], "run scripts/lock"


def test_every_pin_has_its_hashes() -> None:
    for lock in ("requirements.lock", "requirements-build.lock"):
        unhashed = [name for name, (_, hashes) in pins(ROOT / lock).items() if hashes == 0]

        assert pins(ROOT / lock), lock
        assert unhashed == [], lock


def test_the_image_installs_from_the_lock_with_hashes_and_the_project_without_dependencies() -> (
    None
):
    dockerfile = (ROOT / "Dockerfile").read_text()

    assert "--require-hashes -r requirements-build.lock" in dockerfile
    assert "--require-hashes -r /tmp/requirements.lock" in dockerfile
    assert "--no-deps /wheels/dspex_gql-*.whl" in dockerfile
