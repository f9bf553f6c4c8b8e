"""``--cluster``'s pieces that need no cluster: the turn barrier, the placement, the
version check, the job's disguise, and the result's per-worker section (model, formats,
repetitions, exit status), on figures computed by hand."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import re
import sys

import pytest
from rich.console import Console

from dbbench.config.settings import DatabaseSettings, Settings
from dbbench.engine.cluster import (
    ClusterError,
    ClusterRun,
    Job,
    TurnBarrier,
    WorkerPart,
    connect,
    place,
    version_refusal,
)
from dbbench.engine.harness import Plan, RunnerRecord, run_interleaved
from dbbench.errors import ExitStatus
from dbbench.output import csv_format, markdown, report, table
from dbbench.results import validation
from dbbench.results.model import RunResult
from dbbench.scenarios.repetitions import merge_clusters
from dbbench.scenarios.summary import build_result, cluster_summary
from tests.fakes import FakeClock, FakeRunner
from tests.unit.test_formats import settings

# --- the turn barrier ------------------------------------------------------------------


def barrier(processes=(0, 1, 2)):
    answers: list[tuple[int, tuple]] = []
    turns = TurnBarrier(lambda process, answer: answers.append((process, answer)), processes)
    return turns, answers


def test_a_turn_goes_once_every_running_task_is_ready_with_any_ones_work():
    turns, answers = barrier()
    turns.arrive(0, 1, False)
    turns.arrive(2, 1, False)
    assert answers == []
    turns.arrive(1, 1, True)  # one has work left: all take the turn
    assert answers == [(0, ("go", 1, True)), (1, ("go", 1, True)), (2, ("go", 1, True))]


def test_a_task_that_leaves_no_longer_holds_the_turn_up():
    turns, answers = barrier()
    turns.arrive(0, 4, False)
    turns.arrive(1, 4, False)
    turns.leave(2)  # lost: the others go on without it
    assert answers == [(0, ("go", 4, False)), (1, ("go", 4, False))]


def test_a_stop_answers_every_task_and_every_later_arrival():
    turns, answers = barrier((0, 1))
    turns.arrive(0, 2, True)
    turns.stop()
    turns.arrive(1, 2, True)
    assert answers == [(0, ("stop",)), (1, ("stop",)), (1, ("stop",))]


# --- placement and versions -----------------------------------------------------------


WORKERS = {
    "tcp://b:1": {"name": "w2", "nthreads": 2, "host": "b"},
    "tcp://a:1": {"name": "w1", "nthreads": 1, "host": "a"},
}


def test_processes_go_round_the_workers_by_name_one_thread_at_a_time():
    assert place(WORKERS, 1, "tcp://s:8786") == ["tcp://a:1"]
    assert place(WORKERS, 2, "tcp://s:8786") == ["tcp://a:1", "tcp://b:1"]
    assert place(WORKERS, 3, "tcp://s:8786") == ["tcp://a:1", "tcp://b:1", "tcp://b:1"]


def test_more_processes_than_threads_is_one_line_naming_the_cluster():
    with pytest.raises(ClusterError) as caught:
        place(WORKERS, 4, "tcp://s:8786")
    assert str(caught.value) == (
        "the Dask cluster at tcp://s:8786 has 3 worker threads (w1: 1, w2: 2); "
        "[benchmark] processes = 4 needs one for each process, all at once"
    )


def test_versions_that_differ_are_each_named():
    wanted = {"dbbench": "0.2.0", "PyMySQL": "1.1.1", "SQLAlchemy": "2.0.1"}
    assert version_refusal(wanted, dict(wanted)) is None
    found = {"dbbench": "0.1.0", "SQLAlchemy": "2.0.1"}
    assert version_refusal(wanted, found) == (
        "dbbench 0.1.0 here, 0.2.0 on the client; PyMySQL not installed here, 1.1.1 on the client"
    )


def test_a_job_shows_nothing_of_its_settings():
    settings = Settings(database=DatabaseSettings(password="s3cret-canary"))
    job = Job(0, settings, ("pool",), Plan(), "abc", {})
    assert "s3cret-canary" not in repr(job) + str(job)
    assert "s3cret-canary" not in job.messages + job.go + job.stop


def test_without_distributed_the_cluster_is_one_line_saying_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails
    with pytest.raises(ClusterError) as caught:
        connect("tcp://127.0.0.1:8786")
    assert str(caught.value) == (
        "[cluster] scheduler needs Dask's distributed package: pip install 'dbbench[cluster]'"
    )
    assert caught.value.render(lambda name: "--cluster").startswith("--cluster needs")


# --- the result's per-worker section ---------------------------------------------------


def records(cost_ns: int, iterations: int) -> list[RunnerRecord]:
    clock = FakeClock()
    runner = FakeRunner("pool", [], clock, cost_ns=cost_ns)
    return run_interleaved([runner], Plan(iterations=iterations, warmup=0), clock=clock).records


def cluster_result(lost: bool = False) -> RunResult:
    """Two workers: w1's 3 operations of 100 µs, w2's 2 of 300 µs (lost, with ``lost``)."""
    parts = [
        WorkerPart(0, "w1", "a", "tcp://a:1", "finished", records(100_000, 3), 1000.0),
        WorkerPart(1, "w2", "b", "tcp://b:1", "lost" if lost else "finished",
                   records(300_000, 2), 1000.002, 1005.0 if lost else None),
    ]  # fmt: skip
    outcome = run_interleaved([FakeRunner("pool", [], FakeClock())], Plan(iterations=1, warmup=0))
    merged = [RunnerRecord("pool")]
    for part in parts:
        merged[0].merge(part.records[0])
    outcome.records, outcome.complete = merged, not lost
    outcome.cluster = ClusterRun("tcp://s:8786", parts)
    return build_result("run", outcome, settings(), {})


def test_each_worker_is_in_the_document_and_the_run_is_their_exact_sum():
    result = cluster_result()
    document = json.loads(json.dumps(result.to_document()))
    validation.check(document, "run", "<test>")
    cluster = document["cluster"]
    assert cluster["scheduler"] == "tcp://s:8786"
    assert cluster["start_skew_s"] == pytest.approx(0.002)
    w1, w2 = cluster["workers"]
    assert (w1["worker"], w1["host"], w1["operations"], w1["status"]) == ("w1", "a", 3, "finished")
    assert w2["results"][0]["ops_per_s"] == pytest.approx(2 / 600e-6)
    assert document["results"][0]["n"] == 5
    assert RunResult.from_document(document).cluster == result.cluster


def test_the_table_and_markdown_show_a_row_per_worker_and_runner():
    result = cluster_result()
    assert table.worker_lines(result) == [
        ("0", "w1", "a", "finished", "pool", "3", "0", "10,000"),
        ("1", "w2", "b", "finished", "pool", "2", "0", "3,333"),
    ]
    for write in (table.write, markdown.write_run):
        out = io.StringIO()
        write(result, Console(file=out, width=200))
        assert "Dask workers (scheduler tcp://s:8786; start skew 2 ms)" in out.getvalue()


def test_the_csv_has_a_row_per_worker_and_runner_after_the_runners():
    out = io.StringIO()
    csv_format.write_run(cluster_result(lost=True), Console(file=out, width=200))
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    header = out.getvalue().splitlines()[0].split(",")
    # the run's columns as they always were, between ``row`` and the workers'
    assert header == ["row", *csv_format.RUN_COLUMNS, "process", "worker", "host", "status"]
    runner, w1, w2 = rows
    assert (runner["row"], runner["runner"], runner["n"], runner["worker"]) == (
        "runner", "pool", "5", ""
    )  # fmt: skip
    mine = ("row", "process", "worker", "host", "status", "runner", "n", "errors")
    assert tuple(w1[k] for k in mine) == ("worker", "0", "w1", "a", "finished", "pool", "3", "0")
    assert tuple(w2[k] for k in mine) == ("worker", "1", "w2", "b", "lost", "pool", "2", "0")
    # 3 operations of 100 µs, 2 of 300 µs
    assert float(w1["ops_per_s"]) == pytest.approx(10_000)
    assert float(w2["ops_per_s"]) == pytest.approx(2 / 600e-6)
    assert w1["mean_us"] == w1["speedup"] == ""  # the runner's alone


def test_a_worker_that_measured_nothing_is_one_csv_row_without_a_runner():
    result = cluster_result()
    assert result.cluster is not None
    idle = dataclasses.replace(result.cluster.workers[1], runners=())
    cluster = dataclasses.replace(result.cluster, workers=(result.cluster.workers[0], idle))
    rows = list(csv_format.worker_rows(cluster))
    assert [(r["worker"], r.get("runner"), r["n"]) for r in rows] == [
        ("w1", "pool", 3), ("w2", None, 0)
    ]  # fmt: skip


def test_a_run_elsewhere_keeps_its_csv_columns():
    result = dataclasses.replace(cluster_result(), cluster=None)
    out = io.StringIO()
    csv_format.write_run(result, Console(file=out, width=200))
    assert out.getvalue().splitlines()[0].split(",") == list(csv_format.RUN_COLUMNS)


def test_the_report_has_the_dask_workers_table():
    result = cluster_result(lost=True)
    page = report.build_report([("run.json", result)])
    heading = "<h3>Dask workers (scheduler tcp://s:8786; start skew 2 ms)</h3>"
    assert page.count(heading) == 1
    workers = page.split(heading)[1].split("</table>")[0]
    cells = re.findall(r"<t[hd][^>]*>([^<]*)</t[hd]>", workers)
    assert cells == [
        "process", "worker", "host", "status", "runner", "n", "errors", "ops/s",
        "0", "w1", "a", "finished", "pool", "3", "0", "10,000",
        "1", "w2", "b", "lost", "pool", "2", "0", "3,333",
    ]  # fmt: skip
    elsewhere = report.build_report([("run.json", dataclasses.replace(result, cluster=None))])
    assert "Dask workers" not in elsewhere


def test_a_lost_worker_makes_the_run_exit_5_with_a_note_saying_when():
    result = cluster_result(lost=True)
    assert result.exit_status == ExitStatus.WORKER_LOST == 5
    (note,) = [n for n in result.notes if "was lost" in n]
    assert note.startswith("Dask worker w2 (b, process 1) was lost at 1970-01-01T00:16:45.000")
    assert "(2 operations, 0 errors)" in note
    out = io.StringIO()
    table.write(result, Console(file=out, width=200))
    assert "incomplete: a Dask worker was lost" in out.getvalue()
    assert "interrupted" not in out.getvalue()


def test_repetitions_add_each_workers_figures():
    one, two = cluster_result().cluster, cluster_result(lost=True).cluster
    merged = merge_clusters([one, two])
    w1, w2 = merged.workers
    assert w1.operations == 6 and w1.status == "finished"
    assert w2.operations == 4 and w2.status == "lost"  # its worst ending
    assert w2.runners[0].latency.histogram.count == 4
    assert w2.runners[0].measured_s == pytest.approx(2 * 600e-6)
    assert merged.start_skew_s == pytest.approx(0.002)


def test_a_summary_of_parts_that_never_started_has_no_skew():
    run = ClusterRun("tcp://s:8786", [WorkerPart(0, "w1", "a", "tcp://a:1")])
    assert cluster_summary(run).start_skew_s is None


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:28999x", "tcp://h:99999", "tcp://h:0"])
def test_a_scheduler_address_with_a_port_out_of_range_is_refused(address):
    from dbbench.config.schema import scheduler_address

    with pytest.raises(ValueError, match="is not a whole number in 1..65535"):
        scheduler_address(address)


def test_a_service_that_is_no_scheduler_is_one_line_at_once_and_nothing_after(capfd):
    """What answers on the port speaks another protocol (a database's greeting): one
    line, and the half-made client is closed, not left to print a traceback later."""
    import gc
    import socket
    import threading

    pytest.importorskip("distributed")
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def greet() -> None:
        with contextlib.suppress(OSError):
            while True:
                peer, _ = server.accept()
                peer.sendall(b"\xff" * 64 + b"not dask at all" * 8)

    threading.Thread(target=greet, daemon=True).start()
    try:
        with pytest.raises(ClusterError) as caught:
            connect(f"tcp://127.0.0.1:{port}")
    finally:
        server.close()
    message = str(caught.value)
    assert message.startswith(f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}")
    assert "\n" not in message and "EiB" not in message
    gc.collect()
    assert "Traceback" not in capfd.readouterr().err
