"""A generated directory of many developers and the child processes that serve it.

The fault tests need a real ``mailsup`` process to kill, and many SUPs in one
tick so that a kill lands in the middle of real work; these helpers build both
without repeating the TOML or the command line in every test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from mailsup.models import Sup

HR = "hana@example.com"
DM = "dan@example.com"
ZONES = ("Europe/Berlin",)


def developer_email(n: int) -> str:
    return f"dev{n:04d}@example.com"


def directory_toml(count: int, zones: Sequence[str] = ZONES) -> str:
    """``count`` developers of one client, round-robin over ``zones``, one team per zone."""
    people = [
        f'[[people]]\nemail = "{HR}"\nname = "Hana HR"\ntimezone = "Europe/Berlin"\n',
        f'[[people]]\nemail = "{DM}"\nname = "Dan Delivery"\ntimezone = "Europe/London"\n',
    ]
    teams: dict[str, list[str]] = {zone: [] for zone in zones}
    for n in range(count):
        zone = zones[n % len(zones)]
        email = developer_email(n)
        teams[zone].append(email)
        people.append(f'[[people]]\nemail = "{email}"\nname = "Dev {n:04d}"\n'
                      f'timezone = "{zone}"\n')
    client = ('[[clients]]\nslug = "acme"\nname = "Acme Corp"\norgs = ["acme"]\n'
              f'hr = "{HR}"\nhr_repo = "acme/hr"\ndelivery_managers = ["{DM}"]\n')
    team_blocks = []
    for i, (zone, members) in enumerate(teams.items()):
        listed = ", ".join(f'"{m}"' for m in members)
        team_blocks.append(f'[[teams]]\norg = "acme"\nslug = "team{i}"\n'
                           f'name = "Team {i} ({zone})"\nmembers = [{listed}]\n'
                           f'delivery_manager = "{DM}"\n')
    repo = '[[repos]]\norg = "acme"\nname = "api"\n'
    return "\n".join([*people, client, *team_blocks, repo])


def mailsup_argv(ini: Path, *args: str) -> list[str]:
    """The command line of a real ``mailsup`` child process."""
    return [sys.executable, "-m", "mailsup", "--config", str(ini), *args]


def tick_argv(ini: Path, now: datetime) -> list[str]:
    return mailsup_argv(ini, "tick", "--now", now.isoformat())


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The test's environment, with the repository importable whatever the cwd."""
    env = dict(os.environ) | (extra or {})
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def spawn(argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=child_env(env))


def run(argv: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run a child to completion; its output is kept for the assertion message."""
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=child_env())


def message_ids(sink) -> Counter[str]:
    """How often the relay received each Message-ID (a duplicate counts twice)."""
    return Counter(str(m["Message-ID"]) for m in sink.messages)


def sups_per_developer() -> Counter[tuple[int, int, str]]:
    return Counter((s.developer_id, s.client_id, str(s.day)) for s in Sup.select())
