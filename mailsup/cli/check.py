"""``mailsup check [--send-to ADDRESS] [--create-folders] [--json]``: try every configured part.

Before the first morning an operator wants to know that each part works for
real, not that the ini file parses: the database and its migrations, the
relay (connect, STARTTLS, login), the IMAP mailbox (login, folders), the
reply address, the GitHub token and its scopes, the Slack token. Each probe
talks to the real thing with the same settings the service uses and returns
one line: ✓ with what it found, ✗ with what to do, or · for a part that is
not configured. ``--send-to`` also sends a test mail through the outbox and,
with IMAP configured, waits for its copy to come back to the mailbox.

Nothing is changed without asking: folders are created only with
``--create-folders``; the database is not migrated (``mailsup init`` does).
"""

from __future__ import annotations

import asyncio
import secrets
import ssl
import sys
import time
from dataclasses import asdict, dataclass
from urllib.parse import urlparse

import aiosmtplib
from peewee import DatabaseError, InterfaceError

from mailsup import database
from mailsup import slack as slack_mod
from mailsup.cli.common import EXIT_ERROR, missing_sqlite_file, print_json, shown_url
from mailsup.clock import stamp, utc_now
from mailsup.config import ConfigError, Settings
from mailsup.config import load as load_config
from mailsup.github import api as github_api
from mailsup.models import Client, Keys, OutboundMessage
from mailsup.outbound import compose, messages, outbox, sender
from mailsup.tokens import reply_address, sign

OK, FAIL, SKIP = "ok", "fail", "skip"
MARKS = {OK: "✓", FAIL: "✗", SKIP: "·"}

# What mailsup does with GitHub, and the classic-token scope each needs.
GITHUB_SCOPES = {
    "repo": "footprints of private repositories and the overdue-review issues in hr_repo",
    "read:org": "`directory sync-github` (org teams and members)",
}
# A broader scope grants the narrower one (GitHub's scope hierarchy).
IMPLIED = {"admin:org": {"write:org", "read:org"}, "write:org": {"read:org"}}
SAMPLE_DOMAINS = ("example.com", "example.org", "example.net")
IMAP_TIMEOUT = 10.0


@dataclass
class Line:
    part: str
    status: str
    message: str

    def text(self) -> str:
        return f"{MARKS[self.status]} {self.part}: {self.message}"


def ok(part: str, message: str) -> Line:
    return Line(part, OK, message)


def fail(part: str, message: str) -> Line:
    return Line(part, FAIL, message)


def skip(part: str, message: str) -> Line:
    return Line(part, SKIP, message)


def first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


# --- database ------------------------------------------------------------------------

def check_database(settings: Settings) -> Line:
    where = shown_url(settings.database)
    missing = missing_sqlite_file(settings.database)
    if missing is not None:
        return fail("database", f"no database file at {missing}; run `mailsup init`")
    try:
        database.bind(settings.database)
        version = database.current_version()
    except ConfigError as exc:
        return fail("database", str(exc))
    except (DatabaseError, InterfaceError) as exc:
        return fail("database", f"cannot open {where}: {first_line(exc)}; check [mailsup] "
                                "database and that the server is running")
    latest = len(database.MIGRATIONS)
    if version == 0:
        return fail("database", f"{where} has no mailsup tables; run `mailsup init`")
    if version < latest:
        return fail("database", f"{where} is at schema version {version} of {latest}; run "
                                "`mailsup init` to migrate")
    return ok("database", f"{where}, schema version {version} (current)")


# --- relay -------------------------------------------------------------------------

def check_relay(settings: Settings) -> Line:
    cfg = settings.smtp
    if not cfg.host:
        return skip("relay", f"no [smtp] host: mail is written to {cfg.outbox_dir} as .eml "
                             "files; set [smtp] host to send it")
    try:
        return asyncio.run(_probe_relay(settings))
    except Exception as exc:  # noqa: BLE001 - every failure becomes a line with a fix
        return fail("relay", _relay_advice(settings, exc))


async def _probe_relay(settings: Settings) -> Line:
    cfg = settings.smtp
    where = f"{cfg.host}:{cfg.port}"
    client = aiosmtplib.SMTP(hostname=cfg.host, port=cfg.port, timeout=cfg.timeout,
                             use_tls=cfg.security == "tls", start_tls=False)
    await client.connect(timeout=cfg.connect_timeout)
    try:
        # Say what was spoken, not the ini word: "(none)" read as if nothing answered.
        spoken = {"none": "plain SMTP", "tls": "TLS"}.get(cfg.security, cfg.security)
        done = [f"{where} answered ({spoken})"]
        await client.ehlo()
        if cfg.security == "starttls":
            if not client.supports_extension("starttls"):
                return fail("relay", f"{where} does not offer STARTTLS; set [smtp] security = "
                                     "tls (port 465) or none (port 25 inside your network)")
            await client.starttls()
            await client.ehlo()
            done.append("STARTTLS done")
        if cfg.username:
            if not client.supports_extension("auth"):
                return fail("relay", f"{where} offers no login (AUTH) "
                                     f"{'after STARTTLS' if cfg.security != 'none' else ''}; "
                                     "remove [smtp] username, or use the submission port "
                                     "(587 starttls)")
            await client.login(cfg.username, cfg.password)
            done.append(f"logged in as {cfg.username}")
        else:
            done.append("no login ([smtp] username empty)")
        return ok("relay", ", ".join(done))
    finally:
        try:
            await client.quit()
        except Exception:  # noqa: BLE001 - the answer is already known
            client.close()


def _relay_advice(settings: Settings, exc: Exception) -> str:
    cfg = settings.smtp
    where = f"{cfg.host}:{cfg.port}"
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return (f"{where} refused the login of {cfg.username!r} ({exc.code} "
                f"{' '.join(exc.message.split())}); check [smtp] username and password "
                "(or MAILSUP_SMTP_PASSWORD)")
    if isinstance(exc, aiosmtplib.SMTPTimeoutError):
        return (f"no SMTP greeting from {where} within {cfg.connect_timeout:g}s; is it the "
                "relay's SMTP port (587 starttls, 465 tls, 25 none)? check [smtp] host, port "
                "and security")
    if isinstance(exc, ssl.SSLError) or "SSL" in type(exc).__name__ or \
            isinstance(exc.__cause__, ssl.SSLError):
        return (f"TLS with {where} failed ({first_line(exc)}); security = tls is for port "
                "465, starttls for 587; check the relay's certificate")
    if isinstance(exc, aiosmtplib.SMTPConnectError | OSError):
        return (f"cannot connect to {where} ({first_line(exc)}); check [smtp] host and port, "
                "and that the relay is running and reachable from here")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return (f"{where} answered {exc.code} {' '.join(exc.message.split())}; check [smtp] "
                "security and the relay's settings")
    return f"{where}: {first_line(exc)}; check [smtp] host, port and security"


# --- IMAP --------------------------------------------------------------------------

def check_imap(settings: Settings, create_folders: bool) -> list[Line]:
    imap = settings.imap
    if not imap.host:
        door = (f"the SMTP listener on {settings.inbound.listen}" if settings.inbound.listen
                else "`mailsup inbound deliver` (an MTA pipe)")
        return [skip("imap", f"no [imap] host: replies come in through {door}")]
    from imapclient.exceptions import LoginError

    from mailsup.inbound.doors.imap import (
        discard,
        ensure_folder,
        hierarchy_separator,
        open_client,
        server_name,
    )

    where = f"{imap.host}:{imap.port}"
    try:
        client = open_client(settings, IMAP_TIMEOUT)
    except LoginError as exc:
        return [fail("imap", f"{where} refused the login of {imap.username!r} "
                             f"({first_line(exc)}); check [imap] username and password (or "
                             "MAILSUP_IMAP_PASSWORD)")]
    except Exception as exc:  # noqa: BLE001 - refused, timeout, TLS: all need the same fix
        return [fail("imap", f"cannot connect to {where} ({first_line(exc)}); check [imap] "
                             "host, port and security (993 tls, 143 starttls or none)")]
    lines = [ok("imap", f"{where} ({imap.security}), logged in as {imap.username}")]
    try:
        separator = hierarchy_separator(client)
        for key, name in (("folder", imap.folder), ("processed_folder", imap.processed_folder)):
            folder = server_name(name, separator)
            part = f"imap {key}"
            if client.folder_exists(folder):
                lines.append(ok(part, f"{folder!r} exists"))
            elif create_folders:
                ensure_folder(client, folder)
                lines.append(ok(part, f"{folder!r} created (--create-folders)"))
            else:
                lines.append(fail(part, f"{folder!r} does not exist on {imap.host}; fix [imap] "
                                        f"{key}, create it in the mail server, or run "
                                        "`mailsup check --create-folders`"))
    finally:
        discard(client)
    return lines


# --- reply address -------------------------------------------------------------------

def check_reply_address(settings: Settings) -> Line:
    address = settings.reply_address
    local, _, domain = address.partition("@")
    if "+" in local:
        return fail("reply address", f"{address} has a '+'; give the bare address (sup@…): "
                                     "mailsup adds +TOKEN for each mail itself")
    if domain in SAMPLE_DOMAINS:
        return fail("reply address", f"{address} is the sample; set [mailsup] reply_address to "
                                     "the address replies reach (its domain's MX must deliver "
                                     "to mailsup)")
    example = reply_address(address, sign(settings.secret, "s", 42))
    sender_domain = compose.domain_of(settings.smtp.sender)
    note = "" if sender_domain == domain else \
        f"; note: [smtp] from is @{sender_domain} (SPF/DKIM must cover it)"
    return ok("reply address", f"{address}; replies go to e.g. {example}, so the mailbox for "
                               f"@{domain} must accept plus-addressing (Postfix: "
                               f"recipient_delimiter = +){note}")


# --- GitHub ------------------------------------------------------------------------

def _granted(scopes: set[str]) -> set[str]:
    granted = set(scopes)
    for scope in scopes:
        granted |= IMPLIED.get(scope, set())
    return granted


def check_github(settings: Settings, hr_repos: list[str]) -> list[Line]:
    if not github_api.configured(settings):
        return [skip("github", "no [github] token: no footprints, no overdue-review issues, no "
                               "`directory sync-github`")]
    from github import BadCredentialsException, GithubException

    base = settings.github.base_url
    host = urlparse(base).hostname or ""
    gh = github_api.make_github(settings.github.token, base,
                                for_tests=host in ("127.0.0.1", "localhost", "::1"))
    try:
        _headers, me = gh.requester.requestJsonAndCheck("GET", "/user")
    except BadCredentialsException:
        return [fail("github", f"{base} refused the token (401 Bad credentials); create a "
                               f"token with scopes {', '.join(GITHUB_SCOPES)} and set [github] "
                               "token (or MAILSUP_GITHUB_TOKEN)")]
    except GithubException as exc:
        return [fail("github", f"{base} answered {exc.status}; check [github] base_url "
                               "(Enterprise: https://HOST/api/v3)")]
    except Exception as exc:  # noqa: BLE001 - DNS, refused, timeout
        return [fail("github", f"cannot reach {base} ({first_line(exc)}); check [github] "
                               "base_url and this host's network")]
    login = (me or {}).get("login", "?")
    listed = gh.oauth_scopes
    if listed is None:
        line = ok("github", f"token of {login}; GitHub lists no scopes (a fine-grained or app "
                            "token): it needs read access to the client orgs' repositories and "
                            "members, and Issues write on each hr_repo")
    else:
        have = {s.strip() for s in listed if s.strip()}
        missing = [s for s in GITHUB_SCOPES if s not in _granted(have)]
        if missing:
            needs = "; ".join(f"{s} for {GITHUB_SCOPES[s]}" for s in missing)
            return [fail("github", f"token of {login} lacks scope {', '.join(missing)} (has: "
                                   f"{', '.join(sorted(have)) or 'none'}); {needs}: add it to "
                                   "the token (github.com/settings/tokens) or make a new one")]
        line = ok("github", f"token of {login}, scopes {', '.join(sorted(have))}")
    lines = [line]
    for repo in hr_repos:
        try:
            gh.requester.requestJsonAndCheck("GET", f"/repos/{repo}")
        except GithubException as exc:
            lines.append(fail("github hr_repo", f"{repo} is not visible to {login} (HTTP "
                                                f"{exc.status}); fix the client's hr_repo or "
                                                "give the token access to it"))
        except Exception as exc:  # noqa: BLE001
            lines.append(fail("github hr_repo", f"{repo}: {first_line(exc)}"))
        else:
            lines.append(ok("github hr_repo", f"{repo} visible to {login}"))
    return lines


# --- Slack -------------------------------------------------------------------------

def check_slack(settings: Settings) -> Line:
    client = slack_mod.make_client(settings.slack.token, settings.slack.base_url)
    if client is None:
        return skip("slack", "no [slack] token: reminders by email only")
    try:
        who = slack_mod.auth_test(client)
    except slack_mod.SlackError as exc:
        if exc.error:
            return fail("slack", f"Slack refused the token ({exc.error}); use the bot token "
                                 "(xoxb-…) of an app with chat:write and im:write in [slack] "
                                 "token (or MAILSUP_SLACK_TOKEN)")
        return fail("slack", f"{exc.reason}; check [slack] base_url and this host's network")
    return ok("slack", f"token of {who.get('user', '?')} in {who.get('team', '?')}")


# --- a test mail -------------------------------------------------------------------

def send_test_mail(settings: Settings, address: str, wait: float) -> list[Line]:
    now = utc_now()
    nonce = secrets.token_hex(6)
    round_trip = reply_address(settings.reply_address, f"check-{nonce}") \
        if settings.imap.host else None
    rendered = compose.render(messages.check_mail(address, round_trip, stamp(now)))
    row = outbox.enqueue(settings, key=Keys.check(nonce), kind="check",
                         to=[address] + ([round_trip] if round_trip else []),
                         rendered=rendered, now=now)
    sender.flush(settings, now)
    row = OutboundMessage.get_by_id(row.id)
    if row.status != "sent":
        return [fail("test mail", f"outbox {row.id} not handed to the relay: "
                                  f"{row.last_error or row.status}; see `mailsup outbox show "
                                  f"{row.id}` (it is retried by the next tick)")]
    how = (f"written to {settings.smtp.outbox_dir}" if not settings.smtp.host
           else f"accepted by {settings.smtp.host}")
    lines = [ok("test mail", f"outbox {row.id} {row.message_id} to {address}: {how}")]
    if round_trip is None:
        return lines
    found = _await_round_trip(settings, row.message_id, wait)
    if found is None:
        lines.append(fail("round trip", f"the copy to {round_trip} did not reach IMAP "
                                        f"{settings.imap.folder!r} within {wait:g}s; check the "
                                        "MX of the reply domain and that the mailbox receives "
                                        "plus-addresses (Postfix: recipient_delimiter = +)"))
    else:
        lines.append(ok("round trip", f"the copy to {round_trip} arrived in {found} "
                                      f"(plus-addressing works); removed it"))
    return lines


def _await_round_trip(settings: Settings, message_id: str, wait: float) -> str | None:
    """Poll the mailbox for the copy; a running door may have moved it to processed already."""
    from mailsup.inbound.doors.imap import discard, hierarchy_separator, open_client, server_name

    deadline = time.monotonic() + wait
    client = open_client(settings, IMAP_TIMEOUT)
    try:
        separator = hierarchy_separator(client)
        folders = [server_name(f, separator) for f in (settings.imap.folder,
                                                       settings.imap.processed_folder)]
        while True:
            for folder in folders:
                if not client.folder_exists(folder):
                    continue
                client.select_folder(folder)
                uids = client.search(["HEADER", "Message-ID", message_id])
                if uids:
                    client.delete_messages(uids)  # a test mail is no one's reply
                    client.expunge()
                    return folder
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.5)  # waiting for another system's delivery, not for our clock
    finally:
        discard(client)


# --- the command -------------------------------------------------------------------

def run_checks(settings: Settings, *, send_to: str | None = None,
               create_folders: bool = False, wait: float = 60.0) -> list[Line]:
    lines = [check_database(settings)]
    db_ok = lines[0].status == OK
    hr_repos = [c.hr_repo for c in Client.select().order_by(Client.slug) if c.hr_repo] \
        if db_ok else []
    lines.append(check_relay(settings))
    lines.extend(check_imap(settings, create_folders))
    lines.append(check_reply_address(settings))
    lines.extend(check_github(settings, hr_repos))
    lines.append(check_slack(settings))
    if send_to:
        if not db_ok:
            lines.append(fail("test mail", "not sent: the outbox needs the database (above)"))
        else:
            lines.extend(send_test_mail(settings, send_to, wait))
    return lines


def cmd_check(args) -> int:
    settings = load_config(args.config)
    if args.send_to and "@" not in args.send_to:
        from mailsup.errors import UserError

        raise UserError(f"--send-to {args.send_to!r} is not an email address")
    lines = run_checks(settings, send_to=args.send_to, create_folders=args.create_folders,
                       wait=args.wait)
    failed = [line for line in lines if line.status == FAIL]
    if args.json:
        print_json({"ok": not failed, "checks": [asdict(line) for line in lines]})
    else:
        for line in lines:
            print(line.text())
        print(f"{len(failed)} problem(s): fix the ✗ lines above and run `mailsup check` again"
              if failed else "all configured parts work", file=sys.stderr)
    return EXIT_ERROR if failed else 0


def add_commands(sub) -> None:
    check = sub.add_parser("check", help="try every configured part for real (database, relay, "
                                         "IMAP, reply address, GitHub, Slack)")
    check.add_argument("--send-to", metavar="ADDRESS",
                       help="also send a test mail there through the outbox (and, with IMAP, "
                            "check that its copy comes back)")
    check.add_argument("--create-folders", action="store_true",
                       help="create missing IMAP folders instead of reporting them")
    check.add_argument("--wait", type=float, default=60.0,
                       help="seconds to wait for the round trip (default 60)")
    check.add_argument("--json", action="store_true")
    check.set_defaults(func=cmd_check)
