"""The operator's command line (design §7): one module per command group.

Each module holds its commands and, beside them, ``add_commands`` for its part
of the parser; this module assembles them and turns every user mistake into
one line on stderr and a non-zero exit — a traceback is reserved for bugs.
"""

from __future__ import annotations

import argparse
import os
import sys

from peewee import DatabaseError, InterfaceError

from mailsup.cli import check, directory, inbound, outbox, preview, service, status, sups, web
from mailsup.cli.common import EXIT_ERROR, EXIT_USAGE, configure_logging
from mailsup.errors import UserError

GROUPS = (service, check, status, outbox, directory, sups, preview, inbound, web)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mailsup", description="Email-first daily stand-ups.")
    parser.add_argument("--config", help="path to mailsup.ini (default: $MAILSUP_CONFIG or "
                                         "./mailsup.ini)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    parser.add_argument("--log-json", action="store_true",
                        help="log one JSON object per line (for log shippers)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.add_commands(sub)
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


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose, args.log_json, service=args.command in ("run", "web"))
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
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
