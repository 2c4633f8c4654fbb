"""``mailsup init|tick|run|demo``: set up, run the day once, run the service, show it."""

from __future__ import annotations

import argparse
import re
import secrets
import sys
from pathlib import Path

from mailsup import config as config_mod
from mailsup import database
from mailsup.cli.common import EXIT_ERROR, open_settings, parse_now, print_json
from mailsup.demo import run_demo
from mailsup.jobs.tick import tick
from mailsup.service import Service, run_once


def cmd_init(args) -> int:
    path = config_mod.resolve_path(args.config)
    if not path.exists():
        sample = config_mod.PACKAGED.read_text(encoding="utf-8")
        sample = re.sub(r"^secret = ", f"secret = {secrets.token_urlsafe(32)}", sample,
                        count=1, flags=re.MULTILINE)
        config_mod.private_dir(path.parent)
        config_mod.write_private(path, sample.encode())  # it holds the secret
        print(f"wrote {path} (edit reply_address, [smtp] and [github] before going live)")
    settings = open_settings(args, need_schema=False)
    _warn_world_readable(settings)
    version = database.migrate()
    print(f"database ready: {settings.database} (schema version {version})")
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


def cmd_run(args) -> int:
    settings = open_settings(args)
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
