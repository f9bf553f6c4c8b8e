"""Whether a stale case's latency after the idle period differs from its baseline beyond
noise, from hand-made summaries: the model's verdict, its words, its CSV columns, its file."""

import csv
import io
import json

import jsonschema
from rich.console import Console

from dbbench.config.settings import PoolSettings
from dbbench.numbers import escape_markdown
from dbbench.output import csv_format, markdown, stale_table
from dbbench.output.stale_table import describe_after_idle
from dbbench.results.model import StaleCase
from dbbench.stats import Summary
from tests.unit.test_model import SCHEMA


def summary(n: int, mean_ns: float, stddev_ns: float) -> Summary:
    """Only n, mean and σ matter to the test; the quantiles are the mean."""
    value = int(mean_ns)
    return Summary(n, value, mean_ns, stddev_ns, value, value, value, value, value, value)


def case(latency: Summary | None, baseline: Summary | None, protection: str = "pre_ping"):
    return StaleCase(
        protection,
        PoolSettings(pool_size=2, max_overflow=0, pool_pre_ping=protection == "pre_ping"),
        operations=latency.n if latency else 3,
        errors_by_kind={},
        latency=latency,
        first_latency_ns=None,
        baseline=baseline,
        pool=None,
    )


#: 100 operations a side, each σ a tenth of its mean: the standard error of ln(mean) is
#: 0.01 a side, 0.01·√2 = 0.01414 of ln(ratio) = ln(4.95 / 0.411) = 2.4886, t = 176;
#: df = 198, t(0.975, 198) = 1.972: ratio · exp(±0.02789) = 11.71–12.38
SLOWER = case(summary(100, 4_950_000, 495_000), summary(100, 411_000, 41_100))
#: 20 operations a side, σ 0.2 ms on 0.40 and 0.42 ms: se² = 0.5²/20 + (0.2/0.42)²/20 =
#: 0.02384, t = ln(1.05) / 0.1544 = 0.316, df 37.9: p = 0.75
WITHIN_NOISE = case(summary(20, 420_000, 200_000), summary(20, 400_000, 200_000), "none")
#: half the baseline's mean, 100 operations a side, σ a tenth of each mean
FASTER = case(summary(100, 500_000, 50_000), summary(100, 1_000_000, 100_000), "none")


def test_a_slower_mean_beyond_the_noise_within_the_run():
    c = SLOWER.after_idle
    assert c is not None and c.beyond_noise is True and c.p_value < 1e-4
    assert abs(c.ratio - 4.95 / 0.411) < 1e-9
    assert 11.70 < c.low < 11.72 and 12.37 < c.high < 12.40
    assert describe_after_idle(SLOWER) == (
        "pool_pre_ping: mean 4.950 ms after the idle period against 0.411 ms before: "
        "12.0× slower (95% CI 11.7–12.4, noise within this one run only; Welch's t-test, "
        "p < 0.0001)"
    )


def test_a_difference_within_noise_claims_neither_slower_nor_faster():
    c = WITHIN_NOISE.after_idle
    assert c is not None and c.beyond_noise is False and 0.7 < c.p_value < 0.8
    assert c.low < 1 < c.high
    line = describe_after_idle(WITHIN_NOISE)
    assert line.startswith(
        "none: mean 0.420 ms after the idle period against 0.400 ms before: "
        "does not differ beyond noise: 1.05× the baseline (95% CI "
    )
    assert "slower" not in line and "faster" not in line and "p = 0.75)" in line


def test_a_faster_mean_is_said_as_many_times_faster():
    c = FASTER.after_idle
    assert c is not None and c.beyond_noise is True and c.ratio == 0.5
    assert ": 2.00× faster (95% CI " in describe_after_idle(FASTER)


def test_no_test_without_two_operations_a_side_or_without_successes():
    one = case(summary(1, 900_000, 0), summary(20, 400_000, 200_000))
    assert one.after_idle is not None and one.after_idle.beyond_noise is None
    assert describe_after_idle(one).endswith(": 2.25×, too few operations to test against noise")
    failed = case(None, summary(20, 400_000, 200_000))
    assert failed.after_idle is None
    assert describe_after_idle(failed) == (
        "pool_pre_ping: no operation succeeded after the idle period: no latencies to compare"
    )


def test_every_format_states_the_verdict():
    cases = [SLOWER, WITHIN_NOISE, case(None, summary(20, 400_000, 200_000))]
    table, text = io.StringIO(), io.StringIO()
    stale_table.write(cases, 2, 3.5, Console(file=table, width=300, color_system=None))
    markdown.write_stale(cases, 2, 3.5, Console(file=text, width=300))
    for one in cases:
        assert describe_after_idle(one) in table.getvalue()
        assert f"- {escape_markdown(describe_after_idle(one))}" in text.getvalue()
    for output in (table, text):
        assert "stale runs once, so the noise between runs is not measured" in output.getvalue()

    rows = io.StringIO()
    csv_format.write_stale(cases, 2, 3.5, Console(file=rows))
    slower, within, failed = csv.DictReader(io.StringIO(rows.getvalue()))
    assert (slower["after_idle_beyond_noise"], within["after_idle_beyond_noise"]) == (
        "true",
        "false",
    )
    assert float(within["after_idle_ratio"]) == 1.05 and float(within["after_idle_p_value"]) > 0.7
    assert failed["after_idle_beyond_noise"] == failed["after_idle_ratio"] == ""


def test_the_verdict_is_in_the_file_and_the_same_when_read_back():
    document = json.loads(json.dumps(SLOWER.to_document()))
    assert document["after_idle"]["beyond_noise"] is True
    assert document["after_idle"]["method"] == "welch-t (log, within run)"
    cases_schema = SCHEMA["$defs"]["stale"]["properties"]["cases"]["items"]
    jsonschema.Draft202012Validator({"$defs": SCHEMA["$defs"], **cases_schema}).validate(document)
    read = StaleCase.from_document(document)
    assert read.after_idle == SLOWER.after_idle
    assert StaleCase.from_document(WITHIN_NOISE.to_document()).after_idle.beyond_noise is False
    # a file written before the key existed reads, and computes the same verdict
    del document["after_idle"]
    assert StaleCase.from_document(document).after_idle == SLOWER.after_idle
