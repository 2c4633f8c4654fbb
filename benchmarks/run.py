"""The one benchmark entry point: every benchmark, one JSON object on stdout.

Usage: ``python benchmarks/run.py [--quick]``. Progress goes to stderr, so
``python benchmarks/run.py > figures.json`` keeps only the figures. ``--quick``
shrinks every benchmark to well under a minute in total; the full run takes a
few minutes. A benchmark that fails is reported under ``errors`` (the others
still run) and the exit status is 1.

``--tiny`` (hidden, for tests/test_benchmarks_smoke.py) runs every benchmark at
a few percent of its size: the figures mean nothing, the keys and their shapes
are what is checked.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import (  # noqa: E402
    footprint_bench,
    inbound_bench,
    outbound_bench,
    tick_bench,
    trim_bench,
)

TINY_SCALE = 0.02


@dataclass(frozen=True)
class Mode:
    """How big to run. ``--tiny`` runs ours in their full-run shape (10,000 column
    included) at ``scale`` of the counts, and trim/footprint, which have no scale,
    at their quick size."""

    name: str
    quick: bool
    scale: float
    upstream_quick: bool


@dataclass(frozen=True)
class Bench:
    name: str
    run: Callable[[Mode], dict[str, Any]]


# trim and footprint only know quick/full; ours also take a scale for --tiny.
BENCHES: tuple[Bench, ...] = (
    Bench("trim", lambda m: trim_bench.run(m.upstream_quick)),
    Bench("footprint", lambda m: footprint_bench.run(m.upstream_quick)),
    Bench("tick", lambda m: tick_bench.run(m.quick, m.scale)),
    Bench("outbound", lambda m: outbound_bench.run(m.quick, m.scale)),
    Bench("inbound", lambda m: inbound_bench.run(m.quick, m.scale)),
)


def parse_args(argv: list[str] | None) -> Mode:
    parser = argparse.ArgumentParser(prog="benchmarks/run.py", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    parser.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.tiny:
        return Mode("tiny", quick=False, scale=TINY_SCALE, upstream_quick=True)
    return Mode("quick" if args.quick else "full", args.quick, 1.0, upstream_quick=args.quick)


def cpu_model() -> str:
    """The CPU's marketing name where Linux tells it; figures mean little without it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
    }


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def run_all(mode: Mode, benches: tuple[Bench, ...] = BENCHES) -> dict[str, Any]:
    """Run each benchmark in turn; one failing does not lose the others' figures."""
    result: dict[str, Any] = {"mode": mode.name, "machine": machine()}
    seconds: dict[str, float] = {}
    errors: dict[str, str] = {}
    started = time.perf_counter()
    for bench in benches:
        progress(f"{bench.name} ...")
        start = time.perf_counter()
        try:
            result.update(bench.run(mode))
        except Exception as exc:  # noqa: BLE001 - reported in the JSON, the rest still run
            traceback.print_exc(file=sys.stderr)
            errors[bench.name] = f"{type(exc).__name__}: {exc}"
        seconds[bench.name] = round(time.perf_counter() - start, 2)
        progress(f"{bench.name} done in {seconds[bench.name]} s")
    result["bench_seconds"] = seconds
    result["total_s"] = round(time.perf_counter() - started, 2)
    result["errors"] = errors
    return result


def main(argv: list[str] | None = None) -> int:
    """Print the single JSON object; 1 if any benchmark failed."""
    result = run_all(parse_args(argv))
    print(json.dumps(result, indent=2))
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
