"""``--cluster``: the processes as tasks on a Dask scheduler's workers, against the
throwaway server, on a scheduler and workers of the tests' own (``DaskCluster``)."""

from __future__ import annotations

import csv
import io
import json
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from dbbench.histogram import LatencyHistogram
from tests.integration.conftest import (
    DaskCluster,
    free_port,
    reaped,
    run_dbbench,
    wait_for_result,
)

HERE = Path(__file__).parent
NO_TLS = ("--ssl-mode", "disabled")


def cluster_run(server, cluster: DaskCluster, *args: str, timeout_s: float = 300):
    return run_dbbench(
        "run", "--cluster", cluster.address, *NO_TLS, *args, env=server.env(), timeout_s=timeout_s
    )


def histogram(document: dict) -> LatencyHistogram:
    return LatencyHistogram.from_dict(document)


def test_two_workers_account_for_every_operation_and_merge_exactly(server, dask_cluster):
    result = cluster_run(
        server, dask_cluster, "--processes", "2", "-c", "2", "-n", "3000",
        "--runner", "pool,persistent", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["complete"]
    cluster = doc["cluster"]
    assert cluster["scheduler"] == dask_cluster.address
    assert cluster["start_skew_s"] is not None and cluster["start_skew_s"] >= 0
    workers = cluster["workers"]
    assert sorted(w["worker"] for w in workers) == ["w1", "w2"]
    assert all(w["status"] == "finished" and w["host"] for w in workers), workers
    for r in doc["results"]:
        # every operation accounted for, and the run's histogram the workers' exact sum
        assert r["n"] + r["errors"] == 3000, r["runner"]
        own = [x for w in workers for x in w["results"] if x["runner"] == r["runner"]]
        assert len(own) == 2 and sum(x["n"] for x in own) == r["n"]
        assert sum(x["errors"] for x in own) == r["errors"]
        merged = LatencyHistogram()
        for x in own:
            merged.merge(histogram(x["histogram"]))
        run = histogram(r["histograms"]["latency"])
        assert merged.count == run.count == r["n"]
        assert (merged.sum_ns, merged.min_ns, merged.max_ns) == (run.sum_ns, run.min_ns, run.max_ns)
        for q in (0.5, 0.9, 0.99, 0.999):
            assert merged.percentile(q) == run.percentile(q), q


def test_the_password_reaches_the_workers_and_no_log(server, dask_cluster):
    """A user of its own, with a canary password: the workers log in with it (the run
    succeeds), and neither the scheduler nor a worker writes it anywhere."""
    user, canary = f"dbb_cluster_{uuid.uuid4().hex[:6]}", f"Canary-{uuid.uuid4().hex}"
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (user, canary))
        cursor.execute(f"GRANT SELECT ON `{server.database}`.* TO %s@'%%'", (user,))
    try:
        env = server.env() | {"DBBENCH_USER": user, "DBBENCH_PASSWORD": canary}
        result = run_dbbench(
            "run", "--cluster", dask_cluster.address, *NO_TLS, "--processes", "2", "-c", "2",
            "-n", "100", "--runner", "pool,raw", "--json", env=env, timeout_s=300,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert canary not in result.stdout + result.stderr
        assert canary not in dask_cluster.log_text()
    finally:
        with server.connect() as connection, connection.cursor() as cursor:
            cursor.execute("DROP USER %s@'%%'", (user,))


def test_every_format_names_each_worker(server, dask_cluster, tmp_path):
    for args in ((), ("--format", "markdown")):
        result = cluster_run(
            server, dask_cluster, "--processes", "2", "-c", "2", "-n", "200",
            "--runner", "persistent", *args,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert f"Dask workers (scheduler {dask_cluster.address}" in result.stdout
        for name in ("w1", "w2"):
            assert f" {name} " in result.stdout, result.stdout
    saved = tmp_path / "run.json"
    result = cluster_run(
        server, dask_cluster, "--processes", "2", "-c", "2", "-n", "200",
        "--runner", "persistent", "--format", "csv", "-o", str(saved),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    workers = [r for r in rows if r["row"] == "worker"]
    assert sorted(r["worker"] for r in workers) == ["w1", "w2"], result.stdout
    assert sum(int(r["n"]) for r in workers) == int(rows[0]["n"])
    page = tmp_path / "report.html"
    result = run_dbbench("report", str(saved), "-o", str(page), env=server.env())
    assert result.returncode == 0, result.stderr
    assert f"Dask workers (scheduler {dask_cluster.address}" in page.read_text()


def test_open_loop_divides_the_rate_among_the_workers(server, dask_cluster):
    result = cluster_run(
        server, dask_cluster, "--processes", "2", "-c", "2", "--rate", "200", "-n", "300",
        "--runner", "persistent", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    (r,) = doc["results"]
    assert r["n"] + r["errors"] == 300
    assert r["target_rate_per_s"] == 200
    assert sorted(x["n"] for w in doc["cluster"]["workers"] for x in w["results"]) == [150, 150]


def test_a_scheduler_that_cannot_be_reached_is_one_line(server):
    address = f"tcp://127.0.0.1:{free_port()}"
    result = run_dbbench(
        "run", "--cluster", address, "-n", "10", *NO_TLS, env=server.env(), timeout_s=120
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"dbbench: error: cannot reach the Dask scheduler at {address}")
    assert "--cluster" in lines[0]


def test_more_processes_than_worker_threads_is_refused(server, dask_cluster):
    result = cluster_run(server, dask_cluster, "--processes", "3", "-c", "3", "-n", "30")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"dbbench: error: the Dask cluster at {dask_cluster.address} has 2 worker threads "
        "(w1: 1, w2: 1); --processes = 3 needs one for each process, all at once"
    ]


def test_a_worker_with_another_dbbench_is_refused(server, tmp_path):
    # its preload makes this worker's dbbench say it is another version
    preload = HERE / "dask_other_version.py"
    with DaskCluster.started(tmp_path / "logs", names=("old",), preload=preload) as cluster:
        result = cluster_run(server, cluster, "-n", "30", "--runner", "persistent")
        assert result.returncode == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("dbbench: error: Dask worker old (tcp://127.0.0.1:")
        assert "is refused: dbbench 0.0.0-other here, " in lines[0]
        assert "on the client" in lines[0]


def started_run(server, cluster: DaskCluster, duration: str, output: Path) -> subprocess.Popen:
    """A run of two processes on ``cluster`` for ``duration``, writing ``output`` at each
    checkpoint: started, not waited for."""
    command = [
        sys.executable, "-m", "dbbench", "run", "--cluster", cluster.address, *NO_TLS,
        "--processes", "2", "-c", "2", "--duration", duration, "--runner", "persistent",
        "--output", str(output), "--quiet",
    ]  # fmt: skip
    return subprocess.Popen(
        command, env=server.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_a_lost_worker_is_reported_and_the_rest_finish(server, tmp_path):
    output = tmp_path / "run.json"
    with DaskCluster.started(tmp_path / "logs") as cluster:
        with reaped(started_run(server, cluster, "6s", output)) as process:
            # measuring, and w2's checkpoint has come: then w2's host goes away
            wait_for_result(output, _measured_by_both, process, timeout_s=120)
            cluster.kill("w2")
            _, stderr = process.communicate(timeout=180)
        assert process.returncode == 5, stderr
        doc = json.loads(output.read_text())
        assert not doc["complete"]
        workers = {w["worker"]: w for w in doc["cluster"]["workers"]}
        assert workers["w1"]["status"] == "finished"
        lost = workers["w2"]
        assert lost["status"] == "lost" and lost["lost_at"]
        # its host's name, as the finished one's (both on this machine), not its IP
        assert lost["host"] == workers["w1"]["host"] == socket.gethostname()
        assert lost["operations"] > 0  # its last checkpoint's
        (r,) = doc["results"]
        assert r["n"] == workers["w1"]["operations"] + lost["operations"]
        assert any("Dask worker w2" in note and "was lost" in note for note in doc["notes"])
        # the other worker is idle again, and can run the next task
        with cluster.client() as client:
            assert _idle(client)


def test_a_lost_scheduler_keeps_what_was_measured_and_says_so(server, tmp_path):
    """The scheduler dies mid-run: every task is lost with its last checkpoint, the
    result is written, incomplete (exit 5), and nothing of Dask's logging reaches stderr."""
    output = tmp_path / "run.json"
    with DaskCluster.started(tmp_path / "logs") as cluster:
        with reaped(started_run(server, cluster, "8s", output)) as process:
            wait_for_result(output, _measured_by_both, process, timeout_s=120)
            cluster.scheduler.kill()
            cluster.scheduler = None
            _, stderr = process.communicate(timeout=180)
        assert process.returncode == 5, stderr
        assert "Traceback" not in stderr and "distributed." not in stderr, stderr
        doc = json.loads(output.read_text())
        assert not doc["complete"]
        workers = doc["cluster"]["workers"]
        assert {w["status"] for w in workers} == {"lost"}
        assert all("stopped answering" in w["failure"] for w in workers)
        (r,) = doc["results"]
        assert r["n"] == sum(w["operations"] for w in workers) > 0


def _measured_by_both(document: dict) -> bool:
    """Each worker's checkpoint has come with operations measured (the file's
    ``cluster``, rewritten at each checkpoint, holds them)."""
    workers = (document.get("cluster") or {}).get("workers", [])
    return len(workers) == 2 and all(w["operations"] > 0 for w in workers)


def _idle(client, timeout_s: float = 30) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not any(client.processing().values()):
            return client.submit(sum, [1, 2], pure=False).result(timeout=30) == 3
        time.sleep(0.2)
    return False


def test_ctrl_c_stops_every_remote_task(server, dask_cluster, tmp_path):
    output = tmp_path / "run.json"
    with reaped(started_run(server, dask_cluster, "60s", output)) as process:
        wait_for_result(output, _measured_by_both, process, timeout_s=120)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    doc = json.loads(output.read_text())
    assert not doc["complete"]
    workers = doc["cluster"]["workers"]
    assert sorted(w["status"] for w in workers) == ["stopped", "stopped"], workers
    (r,) = doc["results"]
    assert r["n"] == sum(w["operations"] for w in workers) > 0
    with dask_cluster.client() as client:
        assert _idle(client)


def test_sweeps_and_repetitions_run_each_cell_and_repetition_on_the_cluster(
    server, dask_cluster
):
    sweep = run_dbbench(
        "compare", "--cluster", dask_cluster.address, *NO_TLS, "--processes", "2",
        "-c", "2,4", "--pool-size", "1,2", "-n", "100", "--json",
        env=server.env(), timeout_s=300,
    )  # fmt: skip
    assert sweep.returncode == 0, sweep.stderr
    cells = json.loads(sweep.stdout)["cells"]
    assert len(cells) == 4
    for cell in cells:
        result = cell["result"]
        workers = result["cluster"]["workers"]
        assert sorted(w["worker"] for w in workers) == ["w1", "w2"]
        for r in result["results"]:
            own = [x["n"] for w in workers for x in w["results"] if x["runner"] == r["runner"]]
            assert sum(own) == r["n"] and r["n"] + r["errors"] == 100
    repeated = cluster_run(
        server, dask_cluster, "--processes", "2", "-c", "2", "-n", "100", "--repeat", "2",
        "--runner", "pool", "--json",
    )  # fmt: skip
    assert repeated.returncode == 0, repeated.stderr
    doc = json.loads(repeated.stdout)
    assert [len(r["results"]) for r in doc["repetitions"]] == [1, 1]
    (r,) = doc["results"]
    assert r["n"] + r["errors"] == 200
    # each worker's figures add up over the repetitions: 50 a repetition each
    assert [w["operations"] for w in doc["cluster"]["workers"]] == [100, 100]
