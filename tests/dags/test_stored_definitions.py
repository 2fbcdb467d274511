"""What a process keeps of stored DAG versions: bounded, least recently used dropped first."""

from __future__ import annotations

from uuid import uuid4

from dspex_gql.dags.stored_definitions import _Recent, stored_definition


def definition(*names: str) -> dict[str, object]:
    nodes = [{"name": name, "programId": str(uuid4()), "inputs": {}} for name in names]
    return {"nodes": nodes}


def test_a_version_is_parsed_once_and_another_version_anew() -> None:
    dag_id = uuid4()

    first = stored_definition(dag_id, 1, definition("a"))
    again = stored_definition(dag_id, 1, definition("ignored"))
    second = stored_definition(dag_id, 2, definition("b"))

    assert again is first
    assert [node.name for node in second.nodes] == ["b"]


def test_the_least_recently_used_go_first_once_the_sizes_pass_the_capacity() -> None:
    recent: _Recent[str, int] = _Recent(capacity=5)
    recent.put("a", 1, size=2)
    recent.put("b", 2, size=2)
    assert recent.get("a") == 1  # now more recent than b

    recent.put("c", 3, size=2)

    assert (recent.get("a"), recent.get("b"), recent.get("c")) == (1, None, 3)


def test_an_entry_larger_than_the_capacity_is_kept_alone() -> None:
    recent: _Recent[str, int] = _Recent(capacity=3)
    recent.put("small", 1)

    recent.put("large", 2, size=10)

    assert (recent.get("small"), recent.get("large")) == (None, 2)
