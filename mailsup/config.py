"""Load ``mailsup.ini`` plus environment overrides into typed settings.

The section and key names are a contract with operators (design §8): add keys,
never rename them. Every default lives in one place, the packaged
``mailsup/mailsup.ini``: it is read first, then the operator's file, then the
environment, so the sample, the embedded demo and the tests all agree on one
set of values.
"""

from __future__ import annotations

import configparser
import os
import re
from dataclasses import dataclass
from datetime import time
from pathlib import Path

from mailsup.errors import UserError

DEFAULT_PATH = "mailsup.ini"

# The defaults: every key with its default value and a comment, read before the
# operator's file (Mailman's schema.cfg). `mailsup init` copies it.
PACKAGED = Path(__file__).resolve().parent / "mailsup.ini"

# Secrets may stay out of the file (design §8).
ENV_OVERRIDES = {
    "MAILSUP_SECRET": ("mailsup", "secret"),
    "MAILSUP_SMTP_PASSWORD": ("smtp", "password"),
    "MAILSUP_IMAP_PASSWORD": ("imap", "password"),
    "MAILSUP_GITHUB_TOKEN": ("github", "token"),
    "MAILSUP_SLACK_TOKEN": ("slack", "token"),
}

REQUIRED = (("mailsup", "database"), ("mailsup", "secret"), ("mailsup", "reply_address"))
SECURITY_MODES = ("none", "starttls", "tls")
_TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class ConfigError(UserError):
    """A configuration problem, phrased as one line an operator can act on."""


@dataclass(frozen=True)
class Schedule:
    sup_time: time
    create_until: time
    nag_time: time
    team_digest_time: time
    hr_digest_time: time
    review_sla_days: int

    def override(self, values: dict[str, str], where: str) -> Schedule:
        """Apply a client's ``[clients.schedule]`` overrides, validated like the file."""
        merged = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for key, raw in values.items():
            if key not in merged:
                raise ConfigError(f"{where}: unknown schedule key {key!r}")
            if key == "review_sla_days":
                merged[key] = _parse_int(str(raw), f"{where}.{key}")
            else:
                merged[key] = parse_time(str(raw), f"{where}.{key}")
        return Schedule(**merged)


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int
    security: str
    username: str
    password: str
    sender: str
    outbox_dir: Path
    timeout: float
    give_up_hours: int
    connections: int  # parallel SMTP connections a flush starts with
    connect_timeout: float = 5.0  # connect + greeting; the packaged ini holds the default
    max_connections: int = 64  # what the pool may grow to; the packaged ini holds the default


@dataclass(frozen=True)
class Imap:
    host: str
    port: int
    security: str
    username: str
    password: str
    folder: str
    processed_folder: str


@dataclass(frozen=True)
class Inbound:
    listen: str
    max_message_bytes: int
    require_dmarc: bool
    authserv_id: str
    auto_reply_interval_minutes: int
    message_seconds: int = 10


@dataclass(frozen=True)
class Service:
    token: str
    base_url: str


@dataclass(frozen=True)
class Web:
    """The pages (design §12): where they listen and how mail links reach them."""

    listen: str
    base_url: str
    proxy_hops: int
    session_days: int
    sign_in_mails_per_address: int
    sign_in_mails_per_ip: int

    @property
    def secure(self) -> bool:
        """Behind TLS: the session cookie is Secure and browsers are told to stay on HTTPS."""
        return self.base_url.startswith("https://")


@dataclass(frozen=True)
class Settings:
    path: Path
    database: str
    secret: str
    reply_address: str
    management: tuple[str, ...]
    smtp: Smtp
    imap: Imap
    inbound: Inbound
    schedule: Schedule
    github: Service
    slack: Service
    web: Web
    token_days: int = 14
    operator: str = ""  # [mailsup] operator: named in a person's first SUP mail
    lock_wait_seconds: int = 30


def parse_time(value: str, where: str) -> time:
    match = _TIME_RE.match(value.strip())
    if not match:
        raise ConfigError(f"{where}: {value!r} is not a time of day; use HH:MM, e.g. 09:30")
    return time(int(match.group(1)), int(match.group(2)))


def _parse_int(value: str, where: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise ConfigError(f"{where}: {value!r} is not a whole number") from None


def _at_least_one(value: int, where: str) -> int:
    if value < 1:
        raise ConfigError(f"{where}: {value} must be 1 or more")
    return value


def _parse_bool(value: str, where: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "yes", "true", "on"):
        return True
    if lowered in ("0", "no", "false", "off", ""):
        return False
    raise ConfigError(f"{where}: {value!r} is not yes/no")


def resolve_path(explicit: str | None) -> Path:
    """``--config`` beats ``$MAILSUP_CONFIG`` beats ``./mailsup.ini``."""
    return Path(explicit or os.environ.get("MAILSUP_CONFIG") or DEFAULT_PATH)


def missing_file_hint(path: Path) -> str:
    """What to do about a config path that is not there; a typo is not offered to init."""
    import difflib

    folder = path.parent
    names = [p.name for p in folder.glob("*.ini")] if folder.is_dir() else []
    near = difflib.get_close_matches(path.name, names, n=3, cutoff=0.6)
    if near:
        return (f"no config file at {path}; did you mean "
                + " or ".join(str(folder / n) for n in near) + "?")
    if path.name == DEFAULT_PATH:
        where = "" if str(path) == DEFAULT_PATH else f"--config {path} "
        return f"no config file at {path}; run `mailsup {where}init` to create one"
    return (f"no config file at {path}; check the path (`mailsup --config {path} init` "
            "creates a new one there)")


def _parser() -> configparser.ConfigParser:
    return configparser.ConfigParser(
        inline_comment_prefixes=(";", "#"), interpolation=None, default_section="__none__"
    )


def defaults() -> dict[str, dict[str, str]]:
    """Every section and key with its default, from the packaged ``mailsup.ini``."""
    parser = _parser()
    with open(PACKAGED, encoding="utf-8") as handle:
        parser.read_file(handle)
    return {section: dict(parser[section]) for section in parser.sections()}


def _did_you_mean(word: str, choices, shape: str = "{}") -> str:
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {shape.format(close[0])}?)" if close else ""


def _unknown(parser: configparser.ConfigParser, known: dict[str, dict[str, str]]) -> list[str]:
    """Every section and key the packaged mailsup.ini does not have: a typo
    (``reply_adress``, ``[smpt]``) must not fall back to a default in silence."""
    problems = []
    for section in parser.sections():
        if section not in known:
            problems.append(f"[{section}] is not a section{_did_you_mean(section, known, '[{}]')}")
            continue
        for key in parser[section]:
            if key not in known[section]:
                problems.append(f"[{section}] {key} is not a key"
                                f"{_did_you_mean(key, known[section])}")
    return problems


def read_values(path: Path) -> dict[str, dict[str, str]]:
    parser = _parser()
    try:
        with open(path, encoding="utf-8") as handle:
            parser.read_file(handle)
    except FileNotFoundError:
        raise ConfigError(missing_file_hint(path)) from None
    except IsADirectoryError:
        raise ConfigError(f"{path} is a directory; give the mailsup.ini file inside it") \
            from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except (configparser.Error, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise ConfigError(f"{path}: cannot parse: {first}") from None
    values = defaults()
    unknown = _unknown(parser, values)
    if unknown:
        raise ConfigError(f"{path}: " + "; ".join(unknown))
    for section in parser.sections():
        values[section].update(parser[section])
    for name, (section, key) in ENV_OVERRIDES.items():
        if os.environ.get(name):
            values[section][key] = os.environ[name]
    for section, key in REQUIRED:
        if not values[section].get(key, "").strip():
            hint = " (or set MAILSUP_SECRET)" if key == "secret" else ""
            raise ConfigError(f"{path}: [{section}] {key} is missing or empty{hint}")
    return values


def load(explicit: str | None = None) -> Settings:
    path = resolve_path(explicit)
    return from_values(read_values(path), path)


def _relative(base: Path, value: str) -> Path:
    candidate = Path(value)
    return candidate if candidate.is_absolute() else (base.parent / candidate)


def _database_url(base: Path, url: str) -> str:
    # Relative SQLite paths follow the config file, not the working directory.
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        rest = url[len("sqlite:///"):]
        if rest and rest != ":memory:":
            return "sqlite:///" + str(_relative(base, rest).resolve())
    return url


PLACEHOLDER_SECRETS = {"change-me", "changeme", "secret", "password"}
MIN_SECRET_CHARS = 32
MIN_SECRET_VARIETY = 12  # distinct characters: a hex secret of 32 bytes has 16
MAKE_SECRET = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


def _secret_weakness(secret: str) -> str:
    if secret.lower() in PLACEHOLDER_SECRETS:
        return "is a placeholder"
    if len(secret) < MIN_SECRET_CHARS:
        return f"has {len(secret)} characters (at least {MIN_SECRET_CHARS})"
    if len(set(secret)) < MIN_SECRET_VARIETY or secret in (secret + secret)[1:-1]:
        return "has too little variety (repeated characters or a repeated pattern)"
    return ""


def _check_secret(secret: str, path: Path) -> None:
    """Reply tokens are only as unguessable as this key: one received token is
    enough to test guesses offline, so a short or patterned key falls fast."""
    weakness = _secret_weakness(secret)
    if weakness:
        raise ConfigError(f"{path}: [mailsup] secret {weakness}; make a good one with "
                          f"{MAKE_SECRET} (or set MAILSUP_SECRET)")


def _security(value: str, where: str) -> str:
    mode = value.strip().lower()
    if mode not in SECURITY_MODES:
        raise ConfigError(f"{where}: {value!r} must be one of {', '.join(SECURITY_MODES)}")
    return mode


def parse_listen_value(value: str, where: str) -> str:
    """``host:port`` (``[::1]:8080`` for IPv6) or empty; checked here so a typo is one line."""
    value = value.strip()
    if not value:
        return ""
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{where}: {value!r} is not HOST:PORT, e.g. 127.0.0.1:8080")
    return value


def _base_url(value: str, where: str) -> str:
    url = value.strip().rstrip("/")
    if url and not re.match(r"^https?://[^/\s]+(/\S*)?$", url):
        raise ConfigError(f"{where}: {value!r} is not an http:// or https:// URL, "
                          "e.g. https://sup.example.com")
    return url


def _web(w: dict[str, str]) -> Web:
    listen = parse_listen_value(w["listen"], "[web] listen")
    base_url = _base_url(w["base_url"], "[web] base_url")
    if listen and not base_url:
        # Sign-in links are built from base_url, never from a request's Host header
        # (which anyone can set, and so steal the link).
        raise ConfigError("[web] listen needs base_url: the address people open the pages "
                          "at, e.g. https://sup.example.com")
    return Web(
        listen=listen,
        base_url=base_url,
        proxy_hops=_parse_int(w["proxy_hops"], "[web] proxy_hops"),
        session_days=_parse_int(w["session_days"], "[web] session_days"),
        sign_in_mails_per_address=_parse_int(w["sign_in_mails_per_address"],
                                             "[web] sign_in_mails_per_address"),
        sign_in_mails_per_ip=_parse_int(w["sign_in_mails_per_ip"],
                                        "[web] sign_in_mails_per_ip"),
    )


def from_values(values: dict[str, dict[str, str]], path: Path) -> Settings:
    m, s, i, inb, sch = (values[k] for k in ("mailsup", "smtp", "imap", "inbound", "schedule"))
    if "@" not in m["reply_address"]:
        raise ConfigError(f"{path}: [mailsup] reply_address must be an email address")
    schedule = Schedule(
        sup_time=parse_time(sch["sup_time"], "[schedule] sup_time"),
        create_until=parse_time(sch["create_until"], "[schedule] create_until"),
        nag_time=parse_time(sch["nag_time"], "[schedule] nag_time"),
        team_digest_time=parse_time(sch["team_digest_time"], "[schedule] team_digest_time"),
        hr_digest_time=parse_time(sch["hr_digest_time"], "[schedule] hr_digest_time"),
        review_sla_days=_parse_int(sch["review_sla_days"], "[schedule] review_sla_days"),
    )
    _check_secret(m["secret"].strip(), path)
    if _parse_bool(inb["require_dmarc"], "[inbound] require_dmarc") and \
            not inb["authserv_id"].strip():
        raise ConfigError(f"{path}: [inbound] require_dmarc needs authserv_id (your MTA's "
                          "name in Authentication-Results); any sender can forge the header")
    return Settings(
        path=path,
        database=_database_url(path, m["database"].strip()),
        secret=m["secret"].strip(),
        reply_address=m["reply_address"].strip().lower(),
        management=tuple(a.strip().lower() for a in m["management"].split(",") if a.strip()),
        smtp=Smtp(
            host=s["host"].strip(),
            port=_parse_int(s["port"], "[smtp] port"),
            security=_security(s["security"], "[smtp] security"),
            username=s["username"].strip(),
            password=s["password"],
            sender=s["from"].strip(),
            outbox_dir=_relative(path, s["outbox_dir"].strip()),
            timeout=float(_parse_int(s["timeout"], "[smtp] timeout")),
            give_up_hours=_parse_int(s["give_up_hours"], "[smtp] give_up_hours"),
            connect_timeout=float(_parse_int(s["connect_timeout"], "[smtp] connect_timeout")),
            connections=_at_least_one(_parse_int(s["connections"], "[smtp] connections"),
                                      "[smtp] connections"),
            # Never below the start: an operator who raised only ``connections``
            # gets at least that many, as before this key existed.
            max_connections=max(
                _at_least_one(_parse_int(s["max_connections"], "[smtp] max_connections"),
                              "[smtp] max_connections"),
                _parse_int(s["connections"], "[smtp] connections")),
        ),
        imap=Imap(
            host=i["host"].strip(),
            port=_parse_int(i["port"], "[imap] port"),
            security=_security(i["security"], "[imap] security"),
            username=i["username"].strip(),
            password=i["password"],
            folder=i["folder"].strip(),
            processed_folder=i["processed_folder"].strip(),
        ),
        inbound=Inbound(
            listen=inb["listen"].strip(),
            max_message_bytes=_parse_int(inb["max_message_bytes"], "[inbound] max_message_bytes"),
            require_dmarc=_parse_bool(inb["require_dmarc"], "[inbound] require_dmarc"),
            authserv_id=inb["authserv_id"].strip(),
            auto_reply_interval_minutes=_parse_int(
                inb["auto_reply_interval_minutes"], "[inbound] auto_reply_interval_minutes"
            ),
            message_seconds=_parse_int(inb["message_seconds"], "[inbound] message_seconds"),
        ),
        schedule=schedule,
        github=Service(values["github"]["token"].strip(), values["github"]["base_url"].strip()),
        slack=Service(values["slack"]["token"].strip(), values["slack"]["base_url"].strip()),
        web=_web(values["web"]),
        token_days=_parse_int(m["token_days"], "[mailsup] token_days"),
        operator=m.get("operator", "").strip(),
        lock_wait_seconds=_parse_int(m["lock_wait_seconds"], "[mailsup] lock_wait_seconds"),
    )


# --- files mailsup creates: HR notes and the secret live in them --------------------------
# 0600 files and 0700 folders whatever the umask: on a shared host the database
# and the outbox's .eml files must not be readable by every user.

def private_dir(path: Path) -> Path:
    """Create ``path`` and any missing parents as 0700 folders (existing ones are left)."""
    missing = []
    probe = path
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            continue
        os.chmod(folder, 0o700)  # mkdir's mode passes through the umask
    return path


def private_file(path: Path) -> None:
    """Create an empty 0600 file if there is none (an existing file keeps its mode)."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` as a 0600 file (replacing what was there)."""
    fd = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb", closefd=False) as handle:
            handle.write(data)
    finally:
        os.close(fd)


def world_readable(path: Path) -> bool:
    try:
        return bool(path.stat().st_mode & 0o004)
    except OSError:
        return False
