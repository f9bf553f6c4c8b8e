"""What every dialect's stale-scenario tests check the same way: a whole run whose file
grows case by case, and each case's operations accounted for."""

from __future__ import annotations

from dbbench.config.settings import Settings
from dbbench.errors import ExitStatus
from dbbench.results.model import StaleCase, StaleResult
from dbbench.scenarios.stale import PROTECTIONS, StaleRequest, run_stale


def run_every_protection(settings: Settings, request: StaleRequest) -> StaleResult:
    """``run_stale`` of all the protections, its cases started in order and its document
    grown case by case, then complete."""
    started, documents = [], []
    result = run_stale(
        settings,
        request,
        on_case=started.append,
        on_result=lambda partial: documents.append(partial.to_document()),
    )
    assert started == list(PROTECTIONS)
    # the document grows case by case, then the final one is complete
    assert [len(d["cases"]) for d in documents] == [1, 2, 3, 3]
    assert [d["complete"] for d in documents] == [False, False, False, True]
    assert documents[-1] == result.to_document() and result.exit_status == ExitStatus.SUCCESS
    assert documents[-1]["settings"]["stale"]["protections"] == list(PROTECTIONS)
    return result


def assert_accounted_for(case: StaleCase, request: StaleRequest) -> None:
    """Each operation after the idle period succeeded or failed, the first was timed, and
    the baseline ran 3 per pooled connection."""
    succeeded = case.latency.n if case.latency else 0
    assert succeeded + case.errors == case.operations == request.operations
    assert case.first_latency_ns is not None and case.first_latency_ns > 0
    assert case.baseline.n == request.pool_size * 3
