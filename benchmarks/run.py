"""The one benchmark entry point: every benchmark, one JSON object on stdout.

Usage: ``python benchmarks/run.py [--quick] [--compare REV]``. Progress goes to stderr, so
``python benchmarks/run.py > figures.json`` keeps only the figures. ``--quick``
shrinks every benchmark to well under a minute in total; the full run takes a
few minutes. A benchmark that fails is reported under ``errors`` (the others
still run) and the exit status is 1.

``--compare REV`` also runs REV's own tick, outbound and inbound benchmarks (a
``git worktree`` of REV, in a subprocess that imports REV's mailsup) in the same
run and at the same size, and reports them under ``compare`` with the speed-up
of each shared key: a before/after ratio measured side by side, not remembered.

``--tiny`` (hidden, for tests/test_benchmarks_smoke.py) runs every benchmark at
a few percent of its size: the figures mean nothing, the keys and their shapes
are what is checked.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import (  # noqa: E402
    burst_bench,
    footprint_bench,
    inbound_bench,
    outbound_bench,
    relay_bench,
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
    Bench("relay", lambda m: relay_bench.run(m.quick, m.scale)),
    Bench("burst", lambda m: burst_bench.run(m.quick, m.scale)),
)


def parse_args(argv: list[str] | None) -> tuple[Mode, str | None]:
    parser = argparse.ArgumentParser(prog="benchmarks/run.py", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    parser.add_argument("--compare", metavar="REV",
                        help="also run REV's tick/outbound/inbound benchmarks, same size")
    parser.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.tiny:
        return Mode("tiny", quick=False, scale=TINY_SCALE, upstream_quick=True), args.compare
    mode = Mode("quick" if args.quick else "full", args.quick, 1.0, upstream_quick=args.quick)
    return mode, args.compare


# The benchmarks whose modules an older revision has too, each run as a script there.
COMPARED = ("tick_bench", "outbound_bench", "inbound_bench")
ROOT = Path(__file__).resolve().parents[1]


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True,
                          text=True).stdout.strip()


def run_revision(rev: str, quick: bool) -> dict[str, Any]:
    """REV's own benchmarks from a temporary worktree; its mailsup, not ours, imported."""
    sha = _git("rev-parse", "--verify", f"{rev}^{{commit}}")
    tree = Path(tempfile.mkdtemp(prefix="mailsup-compare-")) / sha[:12]
    _git("worktree", "add", "--detach", str(tree), sha)
    try:
        env = {**os.environ, "PYTHONPATH": str(tree)}
        where = subprocess.run([sys.executable, "-c", "import mailsup; print(mailsup.__file__)"],
                               cwd=tree, env=env, check=True, capture_output=True, text=True)
        if not Path(where.stdout.strip()).resolve().is_relative_to(tree.resolve()):
            raise RuntimeError(f"{rev}: imported {where.stdout.strip()}, not the worktree's")
        figures: dict[str, Any] = {}
        for module in COMPARED:
            if not (tree / "benchmarks" / f"{module}.py").exists():
                continue
            progress(f"compare: {sha[:12]} {module} ...")
            done = subprocess.run([sys.executable, f"benchmarks/{module}.py",
                                   *(["--quick"] if quick else [])], cwd=tree, env=env,
                                  check=True, stdout=subprocess.PIPE, text=True)
            figures.update(json.loads(done.stdout))
        return {"rev": rev, "commit": sha, "figures": figures}
    finally:
        _git("worktree", "remove", "--force", str(tree))
        shutil.rmtree(tree.parent, ignore_errors=True)


def speedups(now: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    """now ÷ before for rates (``*_per_s``), before ÷ now for times (``*_s``, ``*_ms``):
    above 1 is faster either way."""
    def ratio(key: str, new: Any, old: Any) -> Any:
        if isinstance(new, dict) and isinstance(old, dict):
            return {k: ratio(key, new[k], old.get(k)) for k in new if old.get(k) is not None}
        if not isinstance(new, int | float) or not isinstance(old, int | float) or not new \
                or not old:
            return None
        return round(new / old if key.endswith("_per_s") else old / new, 2)

    def same_size(key: str) -> bool:
        size = SIZE_KEYS.get(key) or SIZE_KEYS.get(key.split("_", 1)[0])
        return size is None or now.get(size) == before.get(size)

    timed = ("_per_s", "_s", "_ms")
    return {key: ratio(key, now[key], before[key]) for key in before
            if key in now and key.endswith(timed) and same_size(key)}


# A ratio is only a ratio over the same denominator (key, or key prefix → its size key).
SIZE_KEYS = {"tick_noop_ms": "tick_noop_developers", "outbound": "outbound_messages",
             "inbound": "inbound_messages", "sink": "outbound_messages",
             "tick_catch_up_s": "tick_catch_up_mails"}


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


def reset_peak_rss() -> None:
    """Linux: forget this process's high-water mark, so each benchmark's is its own."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_rss_mb() -> float | None:
    """Peak resident memory since the last reset (VmHWM), in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def run_all(mode: Mode, benches: tuple[Bench, ...] = BENCHES) -> dict[str, Any]:
    """Run each benchmark in turn; one failing does not lose the others' figures."""
    result: dict[str, Any] = {"mode": mode.name, "machine": machine()}
    seconds: dict[str, float] = {}
    errors: dict[str, str] = {}
    started = time.perf_counter()
    peaks: dict[str, float | None] = {}
    for bench in benches:
        progress(f"{bench.name} ...")
        start = time.perf_counter()
        reset_peak_rss()
        try:
            figures = bench.run(mode)
            result.update(figures)
        except Exception as exc:  # noqa: BLE001 - reported in the JSON, the rest still run
            traceback.print_exc(file=sys.stderr)
            errors[bench.name] = f"{type(exc).__name__}: {exc}"
            figures = {}
        seconds[bench.name] = round(time.perf_counter() - start, 2)
        children = figures.get("tick_burst_peak_rss_mb") or {}
        peaks[bench.name] = max([peak_rss_mb(), *children.values()], key=lambda v: v or 0)
        progress(f"{bench.name} done in {seconds[bench.name]} s")
    result["bench_seconds"] = seconds
    result["peak_rss_mb"] = peaks
    result["total_s"] = round(time.perf_counter() - started, 2)
    result["errors"] = errors
    return result


def main(argv: list[str] | None = None) -> int:
    """Print the single JSON object; 1 if any benchmark failed."""
    mode, rev = parse_args(argv)
    result = run_all(mode)
    if rev:
        try:
            before = run_revision(rev, quick=mode.name != "full")
        except Exception as exc:  # noqa: BLE001 - the figures of this run still count
            traceback.print_exc(file=sys.stderr)
            result["errors"]["compare"] = f"{type(exc).__name__}: {exc}"
        else:
            result["compare"] = before | {"speedup": speedups(result, before["figures"])}
    print(json.dumps(result, indent=2))
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
