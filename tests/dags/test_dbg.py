from tests.dags.test_run_control import HELD, Socket
from tests.dags.runs_support import program, active_dag, call, started
from tests.dags.runs_support import NODES_UPDATED
async def test_dbg(app, client, tenant):
    held = await program(client, "question -> answer", **HELD)
    dag_id = await active_dag(client, [call("held", held, {"question": "$context.question"})])
    run_id = await started(client, dag_id, {"question": "q"})
    async with Socket(app, tenant.admin_key) as socket:
        op = await socket.start(NODES_UPDATED, {"id": run_id})
        for _ in range(3):
            print(await socket.next_of(op))
