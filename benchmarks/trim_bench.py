"""Accuracy and speed of reply trimming on the public corpora.

Usage: ``python benchmarks/trim_bench.py [--quick]`` prints the JSON of :func:`run`.
The corpora live beside the clone (``../shared/corpora``); ``MAILSUP_CORPORA``
points elsewhere.

How each corpus is scored, mirroring the upstream test suites:
- Discourse email_reply_trimmer: ``trim(body).strip() == expected.strip()``.
- talon ``.eml``: the text/plain part through ``trim``, compared after ``.strip()``.
- talon ``.html``: ``trim(html_to_text(html))``, compared with all whitespace removed
  (talon's own comparison for HTML). talon keeps signatures; ``trim`` removes them by
  design, so its iPhone and Sparrow fixtures cannot match.
"""

from __future__ import annotations

import email
import json
import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from email import policy
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mailsup.inbound.reading.html_text import html_to_text  # noqa: E402
from mailsup.inbound.reading.trim import trim  # noqa: E402

CORPORA_ENV = "MAILSUP_CORPORA"
DISCOURSE = "discourse-email_reply_trimmer"
TALON = "talon"
_WHITESPACE = re.compile(r"\s+")


def corpora_dir() -> Path:
    """The corpora directory (may not exist: callers decide whether to skip)."""
    override = os.environ.get(CORPORA_ENV)
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "shared" / "corpora"


@dataclass(frozen=True)
class Case:
    """One corpus mail: its input, the expected trimmed text and how to compare."""

    name: str
    body: str
    expected: str
    is_html: bool = False

    def actual(self) -> str:
        return trim(html_to_text(self.body) if self.is_html else self.body)

    def passes(self) -> bool:
        got = self.actual()
        if self.is_html:
            return _WHITESPACE.sub("", got) == _WHITESPACE.sub("", self.expected)
        return got.strip() == self.expected.strip()


def _read(path: Path) -> str:
    # newline="" keeps the CRLF fixture's line endings: normalising them is under test.
    with path.open(encoding="utf-8", newline="") as handle:
        return handle.read()


def discourse_cases(root: Path) -> list[Case]:
    base = root / DISCOURSE
    return [
        Case(f.stem, _read(f), _read(base / "trimmed" / f.name))
        for f in sorted((base / "emails").glob("*.txt"))
    ]


def _plain_part(raw: bytes) -> str:
    message = email.message_from_bytes(raw, policy=policy.default)
    part = message.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""


def talon_cases(root: Path) -> list[Case]:
    base = root / TALON
    cases: list[Case] = []
    for f in sorted((base / "emails").iterdir()):
        expected = _read(base / "trimmed" / f"{f.stem}.txt")
        if f.suffix == ".eml":
            cases.append(Case(f.stem, _plain_part(f.read_bytes()), expected))
        elif f.suffix == ".html":
            cases.append(Case(f.stem, _read(f), expected, is_html=True))
    return cases


def score(cases: list[Case]) -> tuple[int, list[str]]:
    """Number of passing cases and the names of the failing ones."""
    failed = [c.name for c in cases if not c.passes()]
    return len(cases) - len(failed), failed


def messages_per_second(
    bodies: list[str], seconds: float, rounds: int = 5, fn: Callable[[str], str] = trim
) -> float:
    """Median throughput of ``fn`` over ``rounds`` timed rounds of ``seconds`` each."""
    for body in bodies:  # warm regex caches and the interpreter before timing
        fn(body)
    rates: list[float] = []
    for _ in range(rounds):
        count, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            for body in bodies:
                fn(body)
            count += len(bodies)
        rates.append(count / elapsed)
    return statistics.median(rates)


def run(quick: bool) -> dict[str, float]:
    """Accuracy fractions on both corpora and plain-text trimming throughput."""
    root = corpora_dir()
    if not root.is_dir():
        raise FileNotFoundError(f"corpora not found at {root} (set {CORPORA_ENV})")
    discourse = discourse_cases(root)
    talon = talon_cases(root)
    discourse_ok, _ = score(discourse)
    talon_ok, _ = score(talon)
    rate = messages_per_second([c.body for c in discourse], 0.2 if quick else 1.0)
    return {
        "trim_accuracy_discourse": discourse_ok / len(discourse),
        "trim_accuracy_talon": talon_ok / len(talon),
        "trim_msgs_per_s": round(rate, 1),
    }


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv[1:]), indent=2))
