"""benchmarks/run.py still produces every figure, with sane values, at a tiny size.

The real benchmarks are not part of the timed suite (design §10): this only
proves that the entry point, every benchmark module and the code they drive
still fit together. ``--tiny`` scales our benchmarks to a few percent; the
footprint benchmark has no size knob, so its repo list is cut to five here.
"""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from benchmarks import footprint_bench, run, trim_bench

UPSTREAM_KEYS = (
    "footprint_requests_per_cycle", "footprint_requests_unchanged_cycle",
    "footprint_naive_requests_100",
)
BENCH_NAMES = {"trim", "footprint", "tick", "outbound", "inbound", "relay", "burst"}
RATES = (
    "inbound_msgs_per_s", "inbound_store_msgs_per_s", "inbound_process_msgs_per_s",
    "outbound_msgs_per_s", "outbound_enqueue_msgs_per_s", "outbound_flush_msgs_per_s",
    "outbound_naive_msgs_per_s", "sink_accept_msgs_per_s",
    "relay_outbound_msgs_per_s", "relay_naive_msgs_per_s", "relay_ceiling_msgs_per_s",
)


@pytest.fixture(scope="module")
def figures() -> dict:
    stdout = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(stdout):
        patch.setattr(footprint_bench, "REPOS", footprint_bench.REPOS[:5])
        code = run.main(["--tiny"])
    result = json.loads(stdout.getvalue())  # stdout is exactly one JSON object
    result["_exit"] = code
    return result


def test_no_benchmark_failed(figures):
    if not trim_bench.corpora_dir().is_dir():
        assert set(figures["errors"]) == {"trim"}
        return
    assert figures["errors"] == {} and figures["_exit"] == 0
    for key in ("trim_accuracy_discourse", "trim_accuracy_talon"):
        assert 0.5 < figures[key] <= 1.0
    assert figures["trim_msgs_per_s"] > 0


def test_machine_and_mode_are_recorded(figures):
    assert figures["mode"] == "tiny"
    assert figures["machine"]["cpu_count"] >= 1 and figures["machine"]["python"].startswith("3.")
    assert set(figures["bench_seconds"]) == BENCH_NAMES


def test_footprint_figures_pass_through(figures):
    for key in UPSTREAM_KEYS:
        assert key in figures
    assert set(figures["footprint_requests_per_cycle"]) == {"10", "100", "1000"}
    assert figures["footprint_requests_unchanged_cycle"] == 0
    assert figures["footprint_naive_requests_100"] > max(
        figures["footprint_requests_per_cycle"].values())
    assert figures["footprint_repos"] == 5


def test_rates_are_positive_and_baselines_beside_them(figures):
    for key in RATES:
        assert isinstance(figures[key], float) and figures[key] > 0, key
    # The whole path cannot be faster than either of its halves.
    assert figures["outbound_msgs_per_s"] <= figures["outbound_flush_msgs_per_s"]
    assert figures["inbound_msgs_per_s"] <= figures["inbound_process_msgs_per_s"]
    assert figures["inbound_messages"] >= 5 and figures["outbound_messages"] >= 5


def test_tick_figures(figures):
    assert 0 < figures["tick_noop_ms"] < 10_000
    created, measured = figures["tick_create_s"], figures["tick_create_measured"]
    assert set(created) == set(measured) == {"1000", "10000"}
    # Tiny runs the full-run shape: both sizes measured, the bigger one taking longer.
    assert measured["10000"] > measured["1000"] > 0
    assert 0 < created["1000"] < created["10000"]
    # The late tick queued a reminder and a team digest for every developer.
    assert figures["tick_catch_up_s"] > 0
    assert figures["tick_catch_up_mails"] == 2 * figures["tick_noop_developers"]


def test_relay_figures(figures):
    assert figures["relay_delay_ms"] == 25.0 and figures["relay_connections"] == 4
    ceiling = figures["relay_ceiling_by_connections"]
    assert str(figures["relay_ceiling_connections"]) in ceiling
    assert figures["relay_ceiling_msgs_per_s"] == max(ceiling.values())
    assert "4" in figures["relay_outbound_by_connections"]
    assert figures["relay_naive_messages"] >= 4 and figures["relay_messages"] >= 8
    # The pool starts at 4 and grows, never past its cap.
    assert 1 <= figures["relay_outbound_connections_reached"] \
        <= figures["relay_max_connections"] == 64


def test_outbound_flush_figures(figures):
    assert figures["outbound_flush_cpu_us_per_msg"] > 0
    assert 1 <= figures["outbound_flush_connections"] <= 64


def test_burst_and_memory_figures(figures):
    if figures["tick_burst_postgres_s"] is None:  # no PostgreSQL here: said, not failed
        assert "not reachable" in figures["tick_burst_postgres_note"]
    else:
        assert figures["tick_burst_postgres_s"] > 0 and figures["tick_burst_flush_s"] > 0
        assert sum(figures["tick_burst_created_by"]) == figures["tick_burst_developers"]
        assert sum(figures["tick_burst_sent_by"]) == figures["tick_burst_developers"]
    assert set(figures["peak_rss_mb"]) == BENCH_NAMES
    assert all(v is None or v > 10 for v in figures["peak_rss_mb"].values())
    assert 1 <= figures["inbound_queries_per_reply"] < 50
