"""dbbench.numbers: every figure as the formats print it, checked by hand."""

from __future__ import annotations

import pytest

from dbbench import numbers


def test_ms_from_ns_keeps_three_decimals_for_columns():
    assert numbers.ms_from_ns(1_234_567) == "1.235"
    assert numbers.ms_from_ns(41_000_000) == "41.000"
    assert numbers.ms_from_ns(1_234_567_890) == "1234.568"
    assert numbers.ms_from_ns(1_234_567_890, grouped=True) == "1,234.568"
    assert numbers.ms_from_ns(None) == "-"
    assert numbers.ms_from_ns(None, missing="–") == "–"


@pytest.mark.parametrize(
    "value_us, text",
    [(352, "0.352"), (6_350, "6.35"), (41_000, "41.0"), (1_002_400, "1,002"), (0, "0.000")],
)
def test_ms_from_us_keeps_about_three_significant_digits(value_us, text):
    assert numbers.ms_from_us(value_us) == text
    assert numbers.ms_from_us(value_us, unit=True) == text + " ms"


def test_ms_from_us_takes_only_numbers():
    assert numbers.ms_from_us(None) == "-"
    assert numbers.ms_from_us("12", missing="–") == "–"
    assert numbers.ms_value_from_us(2_500) == 2.5
    assert numbers.ms_value_from_us(None) is None


def test_us_from_ns():
    assert numbers.us_from_ns(1_500) == 1.5
    assert numbers.us_from_ns(None) is None


def test_ms_from_s():
    assert numbers.ms_from_s(0.0125) == "12.5 ms"
    assert numbers.ms_from_s(0.001) == "1 ms"
    assert numbers.ms_from_s(250.0) == "250,000 ms"  # never 2.5e+05


@pytest.mark.parametrize(
    "value_ns, text",
    [
        (350, "0.35 µs"),
        (250_000, "250 µs"),
        (999_400, "999 µs"),
        (999_600, "1 ms"),
        (6_350_000, "6.35 ms"),
        (1_002_000_000, "1,002 ms"),  # never 1e+03 ms
    ],
)
def test_duration_from_ns_never_uses_an_exponent(value_ns, text):
    assert numbers.duration_from_ns(value_ns) == text


def test_signed_ms_from_ns_has_no_negative_zero():
    assert numbers.signed_ms_from_ns(12_000) == "+0.012"
    assert numbers.signed_ms_from_ns(-250_000) == "-0.250"
    assert numbers.signed_ms_from_ns(-100) == "+0.000"


def test_signed_percent_has_no_negative_zero():
    assert numbers.signed_percent(0.012) == "+1.2%"
    assert numbers.signed_percent(-0.0384) == "-3.8%"
    assert numbers.signed_percent(-0.0004) == "+0.0%"
    assert numbers.signed_percent(0.10904, digits=2) == "+10.90%"


def test_counts_and_rates():
    assert numbers.count(12_345) == "12,345"
    assert numbers.count(12_345, grouped=False) == "12345"
    assert numbers.count(None) == "-"
    assert numbers.count(8_212.4) == "8,212"  # a float is a rate
    assert numbers.count("n/a") == "n/a"
    assert numbers.signed_count(3) == "+3"
    assert numbers.signed_count(-1_200) == "-1,200"
    assert numbers.signed_count(None, missing="–") == "–"
    assert numbers.ops_per_s(8_212.4) == "8,212"
    assert numbers.ops_per_s(3.46, unit=True) == "3.5/s"
    assert numbers.ops_per_s(None) == "-"


def test_settings_percent_ratio_overflow():
    assert numbers.number(2.0) == "2"
    assert numbers.number(0.25) == "0.25"
    assert numbers.percent(0.1234) == "12.3%"
    assert numbers.percent(0.955, 0) == "96%"
    assert numbers.percent(None) == "-"
    assert numbers.ratio(71.34) == "71.3×"
    assert numbers.ratio(1.234) == "1.23×"
    assert numbers.overflow(-1) == "unlimited"
    assert numbers.overflow(3) == "3"
    assert numbers.yes_no(True) == "yes" and numbers.yes_no(None) == "-"


def test_escape_markdown():
    assert numbers.escape_markdown("a|b *c* pool_size _x_ <br>") == (
        r"a\|b \*c\* pool_size \_x\_ \<br\>"
    )
    assert numbers.escape_markdown("two\nlines") == "two lines"
    assert numbers.escape_markdown("~[x]`") == r"\~\[x\]\`"


def test_error_kinds():
    kinds = {"TimeoutError": 1_200, "OperationalError(2006)": 2}
    assert numbers.error_kinds(kinds) == "OperationalError(2006) × 2, TimeoutError × 1200"
    assert numbers.error_kinds(kinds, grouped=True) == (
        "OperationalError(2006) × 2, TimeoutError × 1,200"
    )
    assert numbers.error_kinds({}) == ""
