"""``mailsup directory load|show|sync-github``: the reference data."""

from __future__ import annotations

import sys
from pathlib import Path

from mailsup import directory
from mailsup.cli.common import EXIT_ERROR, Progress, open_settings, print_json
from mailsup.github import directory_sync


def cmd_load(args) -> int:
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


def cmd_show(args) -> int:
    open_settings(args)
    print(directory.show())
    return 0


def cmd_sync(args) -> int:
    settings = open_settings(args)
    progress = Progress.for_args(args)
    try:
        result = directory_sync.sync_directory(
            settings, progress=lambda m: progress(f"directory sync-github: {m}"))
    finally:
        progress.done()
    if args.json:
        print_json(result)
    else:
        for line in result["lines"]:
            print(line)
    if result["not_synced"]:
        print(f"mailsup: error: {len(result['not_synced'])} org(s) not synced "
              f"({', '.join(result['not_synced'])}); the directory keeps their previous teams "
              "and repos; run `mailsup check` and sync again", file=sys.stderr)
        return EXIT_ERROR
    return 0


def add_commands(sub) -> None:
    dir_parser = sub.add_parser("directory", help="clients, orgs, teams, people")
    dir_sub = dir_parser.add_subparsers(dest="directory_command", required=True)
    load = dir_sub.add_parser("load", help="create/update the directory from a TOML file")
    load.add_argument("file")
    load.add_argument("--json", action="store_true")
    load.set_defaults(func=cmd_load)
    dir_sub.add_parser("show", help="print the directory").set_defaults(func=cmd_show)
    sync = dir_sub.add_parser("sync-github", help="pull org teams, members, repos from GitHub")
    sync.add_argument("--json", action="store_true")
    sync.set_defaults(func=cmd_sync)
