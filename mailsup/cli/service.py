"""``mailsup init|tick|run|demo``: set up, run the day once, run the service, show it."""

from __future__ import annotations

import argparse
import re
import secrets
import sys
import threading
import time
from pathlib import Path

from mailsup import config as config_mod
from mailsup import database
from mailsup.cli.common import (
    EXIT_ERROR,
    EXIT_TEMPFAIL,
    Progress,
    note_when_far_from_the_clock,
    open_settings,
    parse_now,
    print_json,
    shown_url,
)
from mailsup.cli.outbox import last_error, waiting_after_failure
from mailsup.demo import run_demo
from mailsup.errors import UserError
from mailsup.jobs.tick import tick
from mailsup.models import Membership, Person
from mailsup.service import Service, run_once


def cmd_init(args) -> int:
    path = config_mod.resolve_path(args.config)
    if path.resolve() == config_mod.PACKAGED:
        raise UserError(f"{path} is mailsup's packaged defaults, read before your file; init "
                        "writes your own: `mailsup init` (./mailsup.ini) or `mailsup --config "
                        "/etc/mailsup/mailsup.ini init`")
    existed = path.exists()
    if not existed:
        sample = config_mod.PACKAGED.read_text(encoding="utf-8")
        sample = re.sub(r"^secret = ", f"secret = {secrets.token_urlsafe(32)}", sample,
                        count=1, flags=re.MULTILINE)
        config_mod.private_dir(path.parent)
        config_mod.write_private(path, sample.encode())  # it holds the secret
        print(f"wrote {path} (edit reply_address, [smtp] and [github] before going live, "
              "then run `mailsup check`)")
    try:
        settings = open_settings(args, need_schema=False)
    except config_mod.ConfigError as exc:
        if existed and "secret" in str(exc):
            # A copy of the packaged sample: init never rewrites an operator's file.
            raise UserError(f"{exc}; {path} looks like a copy of the sample, which init does "
                            "not overwrite: set secret there, or move the file away and run "
                            "`mailsup init` to write one with a random secret") from None
        raise
    _warn_world_readable(settings)
    version = database.migrate()
    print(f"database ready: {shown_url(settings.database)} (schema version {version})")
    return 0


def _warn_world_readable(settings) -> None:
    """The config holds the secret, the database HR notes, the outbox HR digests."""
    paths = [settings.path, settings.smtp.outbox_dir]
    if settings.database.startswith("sqlite:///"):
        paths.append(Path(settings.database[len("sqlite:///"):]))
    for path in paths:
        if config_mod.world_readable(path):
            print(f"mailsup: warning: {path} is readable by every user on this machine; "
                  f"chmod {'700' if path.is_dir() else '600'} {path}", file=sys.stderr)


def cmd_tick(args) -> int:
    settings = open_settings(args)
    now = parse_now(args.now)
    if args.now:
        note_when_far_from_the_clock(settings, now)
    result = tick(settings, now, progress=TickProgress.start(args, now))
    empty_directory_hint()
    if args.json:
        print_json(result.as_dict())
    else:
        jobs = ", ".join(f"{k}={v}" for k, v in result.done.items())
        print(f"tick {result.now.isoformat()}: {jobs}; sent={result.sent} "
              f"retrying={result.retrying} failed={result.failed}")
        for name, error in result.errors.items():
            print(f"mailsup: job {name} failed: {error}", file=sys.stderr)
    return exit_code(bool(result.errors), result.failed)


def exit_code(job_failed: bool, failed_now: int) -> int:
    """1 when a job failed; 75 when mail waits for (or was refused by) the relay; else 0.

    Every tick that leaves tried-but-unsent mail behind says so, not only the one
    whose attempt failed, so cron keeps alerting until the relay takes it.
    """
    if job_failed:
        return EXIT_ERROR
    waiting = waiting_after_failure()
    if waiting or failed_now:
        parts = [f"{waiting} mail(s) wait for the relay"] if waiting else []
        if failed_now:
            parts.append(f"{failed_now} refused for good")
        error = " ".join(last_error().split())[:200]
        print(f"mailsup: warning: {' and '.join(parts)}"
              + (f" (last error: {error})" if error else "")
              + "; see `mailsup outbox list` and `mailsup check`", file=sys.stderr)
        return EXIT_TEMPFAIL
    return 0


def empty_directory_hint() -> None:
    """``create_sups=0`` alone does not say that nobody is there to ask."""
    if not Membership.select().exists():
        what = "the directory is empty" if not Person.select().exists() else \
            "no one is in a team"
        print(f"mailsup: note: {what}, so no SUPs are created; load people, clients and "
              "teams with `mailsup directory load FILE.toml` (example: "
              "mailsup/demo/directory.toml)", file=sys.stderr)


class TickProgress:
    """On a terminal, which job a long tick is in and for how long (silent otherwise)."""

    AFTER = 1.0  # seconds: a quick tick prints nothing

    def __init__(self, progress: Progress):
        self.progress, self.job, self.started = progress, "", time.monotonic()
        self.lock, self.stop = threading.Lock(), threading.Event()

    @classmethod
    def start(cls, args, now) -> TickProgress | None:
        progress = Progress.for_args(args)
        if not progress.enabled:
            return None
        self = cls(progress)
        threading.Thread(target=self._show, name="progress", daemon=True).start()
        return self

    def __call__(self, job: str) -> None:
        with self.lock:
            self.job = job
            if job == "":
                self.stop.set()
                self.progress.done()

    def _show(self) -> None:
        while not self.stop.wait(0.5):
            elapsed = time.monotonic() - self.started
            with self.lock:
                if elapsed >= self.AFTER and self.job and not self.stop.is_set():
                    self.progress(f"tick: {self.job} ({elapsed:.0f} s)")


def cmd_run(args) -> int:
    settings = open_settings(args)
    if args.once:
        now = parse_now(args.now)
        if args.now:
            note_when_far_from_the_clock(settings, now)
        result = run_once(settings, now)
        if args.json:
            print_json(result)
        else:
            jobs = ", ".join(f"{k}={v}" for k, v in result["jobs"].items())
            print(f"run --once: imap_stored={result['imap_stored']}; {jobs}; "
                  f"sent={result['sent']} retrying={result['retrying']} failed={result['failed']}")
            for name, error in result["errors"].items():
                print(f"mailsup: job {name} failed: {error}", file=sys.stderr)
        return exit_code(bool(result["errors"]), result["failed"])
    service = Service(settings, smtp=not args.no_smtp, imap=not args.no_imap,
                      web=not args.no_web)
    service.check_listen()
    doors = [d for d, on in (("smtp " + settings.inbound.listen, service.use_smtp),
                             ("imap " + settings.imap.host, service.use_imap)) if on]
    pages = f"; pages on http://{settings.web.listen}" if service.use_web else ""
    print(f"mailsup running ({', '.join(doors) or 'no inbound door'}{pages}); SIGTERM or "
          "Ctrl-C stops", file=sys.stderr, flush=True)
    return service.run_forever()


def cmd_demo(args) -> int:
    return run_demo(keep=args.keep, as_json=args.json, serve=args.serve)


def add_commands(sub) -> None:
    sub.add_parser("init", help="create mailsup.ini and the database").set_defaults(func=cmd_init)

    tick_parser = sub.add_parser("tick", help="run every due job once, then flush the outbox")
    tick_parser.add_argument("--now", help="ISO 8601 instant (default: the clock); naive means "
                                           "UTC")
    tick_parser.add_argument("--json", action="store_true")
    tick_parser.set_defaults(func=cmd_tick)

    run = sub.add_parser("run", help="the service: scheduler, inbound doors, outbox sender")
    run.add_argument("--once", action="store_true", help="poll, tick and flush once, then exit")
    run.add_argument("--now", help="with --once: ISO 8601 instant (default: the clock)")
    run.add_argument("--no-smtp", action="store_true", help="do not start the SMTP listener")
    run.add_argument("--no-imap", action="store_true", help="do not poll IMAP")
    run.add_argument("--no-web", action="store_true", help="do not serve the pages")
    run.add_argument("--json", action="store_true")
    run.set_defaults(func=cmd_run)

    demo = sub.add_parser("demo", help="a simulated day on the embedded defaults")
    demo.add_argument("--keep", action="store_true", help="keep the temporary directory")
    demo.add_argument("--json", action="store_true")
    demo.add_argument("--serve", action=argparse.BooleanOptionalAction, default=None,
                      help="keep the pages up until Ctrl-C afterwards (default: in a terminal)")
    demo.set_defaults(func=cmd_demo)
