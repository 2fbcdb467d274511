"""A DAG run whose service process is SIGKILLed resumes in the next process from its stored node
states: the nodes that had succeeded are not run again, the node cut off mid-call runs again (its
interrupted execution FAILED, a new one COMPLETED), and the run completes. Real processes on
loopback, the embedded SQLite default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.processes import Server, clean_env, polled

PROGRAM = """mutation { createProgram(input: {name: "step", signatureSpec: "question -> answer",
  configuration: {latency_ms: 300}, initialize: true}) { ... on Program { id status } } }"""
DAG = """mutation($input: CreateDagInput!) { createDag(input: $input) {
  __typename ... on Dag { id } ... on Error { message } } }"""
ACTIVATE = "mutation($id: ID!) { activateDag(id: $id) { ... on Dag { status } } }"
EXECUTE = """mutation($id: ID!) { executeDag(dagId: $id, context: {question: "q"}) {
  __typename ... on DagRun { id } ... on Error { message } } }"""
RUN = """query($id: ID!) { dagRun(id: $id) { status error result
  nodeExecutions { nodeName status result attempts
    execution { id } executions(first: 10) { nodes { id status error } } } } }"""
STEPS = 6


def chain(program_id: str) -> dict[str, Any]:
    nodes = [{"name": "s0", "programId": program_id, "inputs": {"question": "$context.question"}}]
    for i in range(1, STEPS):
        nodes.append(
            {
                "name": f"s{i}",
                "programId": program_id,
                "inputs": {"question": f"$nodes.s{i - 1}.answer"},
                "dependencies": [f"s{i - 1}"],
            }
        )
    return {"name": "chain", "definition": {"nodes": nodes}}


async def until(server: Server, key: str, run_id: str, done: Any) -> dict[str, Any]:
    """The run once `done(run)` holds, read through `server` (another process runs it)."""
    return await polled(server, key, RUN, "dagRun", run_id, done)


def succeeded(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [n for n in state["nodeExecutions"] if n["status"] == "SUCCESS"]


async def test_a_killed_run_resumes_without_running_its_finished_nodes_again(
    tmp_path: Path,
) -> None:
    first = Server(tmp_path, clean_env())
    try:
        first.wait_ready()
        program = (await first.graphql(PROGRAM))["createProgram"]
        dag = (await first.graphql(DAG, input=chain(program["id"])))["createDag"]
        await first.graphql(ACTIVATE, id=dag["id"])
        run = (await first.graphql(EXECUTE, id=dag["id"]))["executeDag"]
        assert run["__typename"] == "DagRun", run
        key = first.printed_keys()[0]
        before = await until(first, key, run["id"], lambda s: len(succeeded(s)) >= 2)
    finally:
        first.kill()

    second = Server(tmp_path, clean_env(), log="second.log")
    try:
        second.wait_ready()
        done = await until(second, key, run["id"], lambda s: s["status"] != "RUNNING")
    finally:
        second.stop()

    finished_before = {n["nodeName"]: n for n in succeeded(before)}
    after = {n["nodeName"]: n for n in done["nodeExecutions"]}
    assert before["status"] == "RUNNING", "killed mid-run"
    assert done["status"] == "SUCCESS", done
    for name, node in finished_before.items():
        assert after[name]["execution"] == node["execution"], f"{name} did not run again"
        assert after[name]["result"] == node["result"]
        assert len(after[name]["executions"]["nodes"]) == 1
    retried = [n for n in after.values() if len(n["executions"]["nodes"]) > 1]
    for node in retried:
        statuses = sorted(e["status"] for e in node["executions"]["nodes"])
        assert statuses == ["COMPLETED", "FAILED"], node
        assert node["attempts"] == 2
    assert len(retried) <= 1, "only the node cut off mid-call runs twice"
    assert done["result"] == {f"s{STEPS - 1}": after[f"s{STEPS - 1}"]["result"]}
