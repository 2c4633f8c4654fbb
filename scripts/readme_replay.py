"""Replay the README's "Running it for real" steps in a fresh clone, up to a reply applied.

    python scripts/readme_replay.py [--repo PATH] [--keep]

What an operator does on day one, done by a script so CI notices when the
README stops being true: ``git clone`` the repository into a temporary
directory, read the ``sh`` block under "## Running it for real" and run each
line in the clone's root, in order, with the clone's own code (``mailsup`` is
``python -m mailsup`` with the clone on ``PYTHONPATH``; the dependencies are
the ones installed here). The only stand-ins are for what a real host has
around it: an SMTP relay (the suite's sink, which keeps what it accepts) and
the developer who answers.

- ``$EDITOR mailsup.ini`` sets what the README's comment lists: reply_address
  and ``[smtp]`` (the sink); no GitHub token, so ``check`` shows it unset.
- ``people.toml`` is the example the README points to (mailsup/demo/directory.toml).
- ``mailsup tick`` runs with the README's own example instant
  (``--now 2026-11-25T06:00:00+01:00``), so a SUP is due whatever day CI runs.

Then Alice answers her SUP mail through the door the README names first, the
MTA pipe (``mailsup inbound deliver``), and the SUP must be submitted and her
receipt in the relay. A line in the block this script does not know fails
the replay: a new README step needs a line here too.
"""

from __future__ import annotations

import argparse
import configparser
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mailsup.testing import free_port  # noqa: E402 - after the path is set
from mailsup.testing.replies import make_reply  # noqa: E402
from mailsup.testing.sink import SmtpSink  # noqa: E402

README_INSTANT = "2026-11-25T06:00:00+01:00"
REPLY_INSTANT = "2026-11-25T07:30:00+01:00"
REPLY_ADDRESS = "sup@mailsup.test"


class ReplayError(Exception):
    pass


def readme_steps(readme: str) -> list[str]:
    """The command lines of the first ``sh`` block under "## Running it for real"."""
    section = readme.split("## Running it for real", 1)
    if len(section) != 2:
        raise ReplayError("README has no '## Running it for real' section")
    match = re.search(r"```sh\n(.*?)```", section[1], re.S)
    if not match:
        raise ReplayError("no ```sh block under '## Running it for real'")
    steps = []
    for line in match.group(1).splitlines():
        command = line.split("  #", 1)[0].split(" # ", 1)[0].strip()
        if command:
            steps.append(command)
    return steps


def clone(repo: Path, into: Path) -> Path:
    target = into / "mailsup"
    if (repo / ".git").exists():
        subprocess.run(["git", "clone", "--quiet", str(repo), str(target)], check=True)
    else:  # an exported tree: copy what a clone would have
        shutil.copytree(repo, target, ignore=shutil.ignore_patterns(
            ".git", "__pycache__", "*.egg-info", "build", "*.db*", "mail", "mailsup.ini"))
        shutil.copy(repo / "mailsup" / "mailsup.ini", target / "mailsup" / "mailsup.ini")
    return target


class Operator:
    """Runs the README's commands in the clone, as the operator would type them."""

    def __init__(self, clone_dir: Path, sink: SmtpSink):
        self.dir, self.sink = clone_dir, sink
        self.env = dict(os.environ, PYTHONPATH=str(clone_dir))
        for name in ("MAILSUP_CONFIG", "MAILSUP_SECRET", "MAILSUP_SMTP_PASSWORD",
                     "MAILSUP_IMAP_PASSWORD", "MAILSUP_GITHUB_TOKEN", "MAILSUP_SLACK_TOKEN"):
            self.env.pop(name, None)
        self.log: list[str] = []

    def mailsup(self, *args: str, stdin: bytes | None = None) -> str:
        argv = [sys.executable, "-m", "mailsup", *args]
        done = subprocess.run(argv, cwd=self.dir, env=self.env, input=stdin,
                              capture_output=True, timeout=300)
        out, err = done.stdout.decode(), done.stderr.decode()
        shown = out if len(out) < 2000 else out[:2000] + "…\n"
        self.log.append(f"$ mailsup {shlex.join(args)}\n{shown}{err}")
        if done.returncode != 0:
            raise ReplayError(f"`mailsup {shlex.join(args)}` exited {done.returncode}:\n"
                              f"{out}{err}")
        return out

    def step(self, line: str) -> None:
        words = shlex.split(line)
        if words == ["$EDITOR", "mailsup.ini"]:
            self.edit_config()
            self.log.append(f"$ {line}\n(reply_address, [smtp] set for the relay)\n")
            return
        if words[0] != "mailsup":
            raise ReplayError(f"README step not understood: {line!r}; teach "
                              "scripts/readme_replay.py what it means")
        args = words[1:]
        if args[:2] == ["directory", "load"]:
            example = self.dir / "mailsup" / "demo" / "directory.toml"
            shutil.copy(example, self.dir / args[2])
        if args == ["tick"]:
            args += ["--now", README_INSTANT]
        if args[:1] not in (["init"], ["check"], ["directory"], ["tick"]):
            raise ReplayError(f"README step not understood: {line!r}")
        self.mailsup(*args)

    def edit_config(self) -> None:
        path = self.dir / "mailsup.ini"
        parser = configparser.ConfigParser(inline_comment_prefixes=(";", "#"),
                                           interpolation=None, default_section="__none__")
        parser.read(path, encoding="utf-8")
        parser["mailsup"]["reply_address"] = REPLY_ADDRESS
        parser["smtp"].update({"host": "127.0.0.1", "port": str(self.sink.port),
                               "security": "none", "from": f"mailsup <{REPLY_ADDRESS}>"})
        parser["inbound"]["listen"] = ""  # nothing listens during a replay
        parser["web"]["listen"] = ""
        with open(path, "w", encoding="utf-8") as handle:
            parser.write(handle)


def replay(repo: Path, keep: bool = False) -> dict:
    work = Path(tempfile.mkdtemp(prefix="mailsup-readme-"))
    sink = SmtpSink(free_port()).start()
    try:
        clone_dir = clone(repo, work)
        steps = readme_steps((clone_dir / "README.md").read_text(encoding="utf-8"))
        operator = Operator(clone_dir, sink)
        for line in steps:
            operator.step(line)
        requests = [m for m in sink.to("alice@example.com") if "Acme Corp stand-up for" in
                    str(m["Subject"]) and not str(m["Subject"]).startswith("Re:")]
        if len(requests) != 1:
            raise ReplayError(f"expected Alice's Acme SUP mail in the relay, got "
                              f"{[str(m['Subject']) for m in sink.messages]}")
        reply = make_reply(requests[0], "plan: ship the orders endpoint\nblockers: none")
        operator.mailsup("inbound", "deliver", "-", "--now", REPLY_INSTANT, stdin=reply)
        sups = json.loads(operator.mailsup("sup", "list", "--developer", "alice@example.com",
                                           "--json"))
        submitted = [s for s in sups if s["status"] == "submitted"]
        if len(submitted) != 1 or "orders endpoint" not in (submitted[0]["plan"] or ""):
            raise ReplayError(f"the reply was not applied: {sups}")
        receipts = [m for m in sink.to("alice@example.com")
                    if str(m["Subject"]).startswith("Re:")]
        if not receipts:
            raise ReplayError("no receipt for Alice's reply in the relay")
        return {"steps": steps, "sup": submitted[0]["id"], "mails": len(sink.messages),
                "work": str(work) if keep else None, "log": operator.log}
    finally:
        sink.stop()
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=ROOT, help="repository to clone")
    parser.add_argument("--keep", action="store_true", help="keep the clone")
    args = parser.parse_args(argv)
    try:
        result = replay(args.repo, args.keep)
    except (ReplayError, subprocess.CalledProcessError) as exc:
        print(f"readme replay failed: {exc}", file=sys.stderr)
        return 1
    print("\n".join(result["log"]))
    print(f"readme replay: {len(result['steps'])} steps, SUP {result['sup']} submitted by "
          f"reply, {result['mails']} mails in the relay"
          + (f"; clone kept in {result['work']}" if result["work"] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
