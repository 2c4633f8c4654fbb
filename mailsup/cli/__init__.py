"""The operator's command line (design §7): thin — parse, call, print.

Every user mistake ends as one line on stderr and a non-zero exit; a traceback
is reserved for bugs.
"""

from __future__ import annotations

import argparse
import json
import logging
import secrets
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from peewee import DatabaseError, InterfaceError

from mailsup import config as config_mod
from mailsup import database, directory
from mailsup.cli import sups as report
from mailsup.cli.inbound import add_commands as add_inbound_commands
from mailsup.config import Settings
from mailsup.errors import UserError

EXIT_USAGE = 2
EXIT_ERROR = 1


def parse_now(value: str | None) -> datetime:
    if not value:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UserError(f"--now {value!r} is not ISO 8601, e.g. 2026-11-25T06:00:00+01:00") \
            from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_day(value: str | None, flag: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UserError(f"{flag} {value!r} is not a date (YYYY-MM-DD)") from None


def open_settings(args, *, need_schema: bool = True) -> Settings:
    settings = config_mod.load(args.config)
    database.bind(settings.database)
    if need_schema:
        database.require_schema()
    return settings


def print_json(data) -> None:
    print(json.dumps(data, indent=2, sort_keys=True, default=str))


# --- commands -------------------------------------------------------------

def cmd_init(args) -> int:
    path = config_mod.resolve_path(args.config)
    if not path.exists():
        sample = (Path(__file__).parents[1] / "mailsup.ini").read_text(encoding="utf-8")
        sample = sample.replace("secret = change-me", f"secret = {secrets.token_urlsafe(32)}", 1)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)  # it holds the secret: not world-readable
        path.write_text(sample, encoding="utf-8")
        print(f"wrote {path} (edit reply_address, [smtp] and [github] before going live)")
    settings = open_settings(args, need_schema=False)
    version = database.migrate()
    print(f"database ready: {settings.database} (schema version {version})")
    return 0


def cmd_directory_load(args) -> int:
    settings = open_settings(args)
    result = directory.load_file(Path(args.file), settings.schedule)
    if args.json:
        print_json({"created": result.created, "updated": result.updated})
    else:
        print(result.summary())
        for line in result.created:
            print(f"  + {line}")
        for line in result.updated:
            print(f"  ~ {line}")
    return 0


def cmd_directory_show(args) -> int:
    open_settings(args)
    print(directory.show())
    return 0


def cmd_directory_sync(args) -> int:
    settings = open_settings(args)
    from mailsup.github import directory_sync as github_source

    result = github_source.sync_directory(settings, progress=lambda m: print(m, file=sys.stderr))
    if args.json:
        print_json(result)
    else:
        for line in result["lines"]:
            print(line)
    return 0


def cmd_tick(args) -> int:
    settings = open_settings(args)
    from mailsup.jobs.tick import tick

    result = tick(settings, parse_now(args.now))
    if args.json:
        print_json(result.as_dict())
    else:
        jobs = ", ".join(f"{k}={v}" for k, v in result.done.items())
        print(f"tick {result.now.isoformat()}: {jobs}; sent={result.sent} "
              f"retrying={result.retrying} failed={result.failed}")
        for name, error in result.errors.items():
            print(f"mailsup: job {name} failed: {error}", file=sys.stderr)
    return EXIT_ERROR if result.errors else 0


def cmd_sup_list(args) -> int:
    open_settings(args)
    developer = resolve_developer(args.developer)
    if args.client:
        from mailsup.models import Client

        if Client.get_or_none(Client.slug == args.client) is None:
            raise UserError(f"unknown client {args.client!r}; see `mailsup directory show`")
    rows = list(report.select_sups(args.client, developer, args.status,
                                   parse_day(args.since, "--since"),
                                   parse_day(args.until, "--until")))
    if not rows and not args.json:
        print("no SUPs match", file=sys.stderr)
    if args.json:
        print_json([report.sup_as_dict(s, footprint=False) for s in rows])
    else:
        for sup in rows:
            print(report.sup_line(sup))
    return 0


def resolve_developer(address: str | None) -> str | None:
    """A developer's primary email from any of their addresses."""
    if not address:
        return None
    person = directory.person_by_address(address)
    if person is None:
        raise UserError(f"unknown developer {address!r}; see `mailsup directory show`")
    return person.email


def cmd_sup_show(args) -> int:
    open_settings(args)
    from mailsup.models import Sup

    sup = Sup.get_or_none(Sup.id == args.id)
    if sup is None:
        raise UserError(f"no SUP with id {args.id}; see `mailsup sup list`")
    if args.json:
        print_json(report.sup_as_dict(sup))
    else:
        print(report.sup_text(sup))
    return 0


def cmd_preview(args) -> int:
    settings = open_settings(args)
    from mailsup.cli.preview import preview

    rendered = preview(settings, args.kind, args.developer, args.client, parse_now(args.now))
    if args.html:
        print(rendered.html)
    else:
        print(f"Subject: {rendered.subject}\n")
        print(rendered.text)
    return 0


def cmd_run(args) -> int:
    settings = open_settings(args)
    from mailsup.service import Service, run_once

    if args.once:
        result = run_once(settings, parse_now(args.now))
        if args.json:
            print_json(result)
        else:
            jobs = ", ".join(f"{k}={v}" for k, v in result["jobs"].items())
            print(f"run --once: imap_stored={result['imap_stored']}; {jobs}; "
                  f"sent={result['sent']} retrying={result['retrying']} failed={result['failed']}")
            for name, error in result["errors"].items():
                print(f"mailsup: job {name} failed: {error}", file=sys.stderr)
        return EXIT_ERROR if result["errors"] else 0
    service = Service(settings, smtp=not args.no_smtp, imap=not args.no_imap)
    service.check_listen()
    doors = [d for d, on in (("smtp " + settings.inbound.listen, service.use_smtp),
                             ("imap " + settings.imap.host, service.use_imap)) if on]
    print(f"mailsup running ({', '.join(doors) or 'no inbound door'}); SIGTERM or Ctrl-C stops",
          file=sys.stderr, flush=True)
    return service.run_forever()


def cmd_demo(args) -> int:
    from mailsup.demo import run_demo

    return run_demo(keep=args.keep, as_json=args.json)


# --- parser ---------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mailsup", description="Email-first daily stand-ups.")
    parser.add_argument("--config", help="path to mailsup.ini (default: $MAILSUP_CONFIG or "
                                         "./mailsup.ini)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    parser.add_argument("--log-json", action="store_true",
                        help="log one JSON object per line (for log shippers)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("init", help="create mailsup.ini and the database").set_defaults(func=cmd_init)

    dir_parser = sub.add_parser("directory", help="clients, orgs, teams, people")
    dir_sub = dir_parser.add_subparsers(dest="directory_command", required=True)
    load = dir_sub.add_parser("load", help="create/update the directory from a TOML file")
    load.add_argument("file")
    load.add_argument("--json", action="store_true")
    load.set_defaults(func=cmd_directory_load)
    dir_sub.add_parser("show", help="print the directory").set_defaults(func=cmd_directory_show)
    sync = dir_sub.add_parser("sync-github", help="pull org teams, members, repos from GitHub")
    sync.add_argument("--json", action="store_true")
    sync.set_defaults(func=cmd_directory_sync)

    tick = sub.add_parser("tick", help="run every due job once, then flush the outbox")
    tick.add_argument("--now", help="ISO 8601 instant (default: the clock); naive means UTC")
    tick.add_argument("--json", action="store_true")
    tick.set_defaults(func=cmd_tick)

    sup_parser = sub.add_parser("sup", help="list and show SUPs")
    sup_sub = sup_parser.add_subparsers(dest="sup_command", required=True)
    listing = sup_sub.add_parser("list", help="SUPs, filtered")
    listing.add_argument("--client")
    listing.add_argument("--developer")
    listing.add_argument("--status", choices=["open", "submitted", "reviewed", "skipped"])
    listing.add_argument("--since", help="first day, YYYY-MM-DD")
    listing.add_argument("--until", help="last day, YYYY-MM-DD")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_sup_list)
    show = sup_sub.add_parser("show", help="one SUP with previous/next ids")
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_sup_show)

    prev = sub.add_parser("preview", help="render an email without sending it")
    prev.add_argument("--developer", required=True, help="developer's email")
    prev.add_argument("--client", required=True, help="client slug")
    prev.add_argument("--kind", default="sup_request",
                      help="sup_request (default), nag, receipt, refusal, help, escalation, "
                           "hr_digest, team_digest, command_results")
    prev.add_argument("--now", help="ISO 8601 instant (default: the clock)")
    prev.add_argument("--html", action="store_true", help="print the HTML alternative")
    prev.set_defaults(func=cmd_preview)

    run = sub.add_parser("run", help="the service: scheduler, inbound doors, outbox sender")
    run.add_argument("--once", action="store_true", help="poll, tick and flush once, then exit")
    run.add_argument("--now", help="with --once: ISO 8601 instant (default: the clock)")
    run.add_argument("--no-smtp", action="store_true", help="do not start the SMTP listener")
    run.add_argument("--no-imap", action="store_true", help="do not poll IMAP")
    run.add_argument("--json", action="store_true")
    run.set_defaults(func=cmd_run)

    demo = sub.add_parser("demo", help="a simulated day on the embedded defaults")
    demo.add_argument("--keep", action="store_true", help="keep the temporary directory")
    demo.add_argument("--json", action="store_true")
    demo.set_defaults(func=cmd_demo)

    add_inbound_commands(sub)
    _accept_config_everywhere(parser)
    return parser


def _accept_config_everywhere(parser: argparse.ArgumentParser) -> None:
    """`mailsup sup list --config X` works as well as `mailsup --config X sup list`."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                if not any("--config" in a.option_strings for a in child._actions):
                    child.add_argument("--config", default=argparse.SUPPRESS,
                                       help=argparse.SUPPRESS)
                _accept_config_everywhere(child)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {"time": self.formatTime(record), "level": record.levelname,
                "logger": record.name, "message": record.getMessage(),
                "thread": record.threadName}
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info)
        return json.dumps(data)


def configure_logging(verbose: bool, as_json: bool) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if as_json else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if verbose else logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose or args.command == "run", args.log_json)
    try:
        return args.func(args) or 0
    except UserError as exc:
        print(f"mailsup: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (DatabaseError, InterfaceError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"mailsup: error: database unavailable: {first}; check [mailsup] database",
              file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `mailsup sup list | head`: the reader left; that is not an error.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
