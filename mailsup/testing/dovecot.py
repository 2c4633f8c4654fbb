"""A throwaway Dovecot IMAP server for tests (field notes: "Dovecot as a test server").

Design §10 wants the IMAP door tested against a real server, so this writes a
private config, passwd file and maildirs, and runs ``dovecot -F`` on a free
loopback port. Dovecot's login processes refuse to run as root, so as root the
whole server runs as ``nobody``/``nogroup`` via ``setpriv`` out of a directory
owned by nobody; as any other user it runs with that user's own ids.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from imapclient import IMAPClient

from mailsup.testing.services import require_service

DOVECOT_SEARCH_PATH = ("/usr/sbin", "/usr/local/sbin", "/sbin")
DOVECOT_MISSING = "dovecot not installed: apt-get install dovecot-imapd"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
QUICK_STOP_GRACE = 0.2

_APPENDUID = re.compile(rb"\[APPENDUID (\d+) (\d+)\]")


class DovecotError(RuntimeError):
    """Dovecot could not be started (the message carries the end of its logs)."""


def find_dovecot() -> str | None:
    """Path of the ``dovecot`` binary, also looking in sbin dirs a normal PATH lacks."""
    found = shutil.which("dovecot")
    if found:
        return found
    return shutil.which("dovecot", path=os.pathsep.join(DOVECOT_SEARCH_PATH))


def require_dovecot() -> str:
    """Path of the dovecot binary, or skip the test (fail it under MAILSUP_REQUIRE_SERVICES=1)."""
    binary = find_dovecot()
    if binary is None:
        require_service(DOVECOT_MISSING)
    return binary


@dataclass(frozen=True)
class RunAs:
    """The account the server runs as, and the command prefix that switches to it."""

    user: str
    group: str
    uid: int
    gid: int
    prefix: tuple[str, ...]

    @classmethod
    def for_current_process(cls) -> RunAs:
        """nobody via setpriv when we are root (imap-login refuses root); else ourselves."""
        if os.geteuid() != 0:
            uid, gid = os.getuid(), os.getgid()
            return cls(pwd.getpwuid(uid).pw_name, grp.getgrgid(gid).gr_name, uid, gid, ())
        nobody = pwd.getpwnam("nobody")
        group = grp.getgrgid(nobody.pw_gid).gr_name
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            raise DovecotError("running as root needs setpriv (util-linux) to drop to nobody")
        prefix = (setpriv, "--reuid=nobody", f"--regid={group}", "--clear-groups")
        return cls("nobody", group, nobody.pw_uid, nobody.pw_gid, prefix)


class Dovecot:
    """One private Dovecot instance; use as a context manager or via ``start_dovecot``.

    Attributes: ``host``, ``port``, ``user``, ``password`` (the first of
    ``users``), ``users``, ``processed_folder``, ``directory``, ``log_path``.
    """

    def __init__(
        self,
        directory: Path | str | None = None,
        *,
        users: Mapping[str, str] | None = None,
        processed_folder: str = "Processed",
        host: str = "127.0.0.1",
        port: int | None = None,
        binary: str | None = None,
    ):
        self.run_as = RunAs.for_current_process()
        self.users = dict(users or {"sup": "secret"})
        self.user, self.password = next(iter(self.users.items()))
        self.processed_folder = processed_folder
        self.host = host
        self.port = port or free_port(host)
        self.binary = binary or find_dovecot()
        self._own_directory = directory is None or self.run_as.uid != os.geteuid()
        self.directory = self._choose_directory(directory)
        self._process: subprocess.Popen[bytes] | None = None

    # -- paths -----------------------------------------------------------

    @property
    def config_path(self) -> Path:
        return self.directory / "dovecot.conf"

    @property
    def log_path(self) -> Path:
        return self.directory / "dovecot.log"

    @property
    def stderr_path(self) -> Path:
        return self.directory / "dovecot.stderr"

    def _choose_directory(self, directory: Path | str | None) -> Path:
        """Where config and mail live; a fresh dir under /tmp when dropping privileges.

        pytest's ``tmp_path`` sits below a 0700 directory of the invoking user,
        which nobody cannot enter; /tmp itself is open to everyone.
        """
        if self._own_directory:
            return Path(tempfile.mkdtemp(prefix="mailsup-dovecot-"))
        path = Path(directory)  # type: ignore[arg-type]
        path.mkdir(parents=True, exist_ok=True)
        return path

    # -- lifecycle -------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> Dovecot:
        """Write config and passwd (idempotently) and start the server; return self."""
        if self.running:
            return self
        if self.binary is None:
            raise DovecotError(DOVECOT_MISSING)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._write_files()
        self._spawn()
        return self

    def stop(self) -> None:
        """Stop the server; a directory this object created is removed with its mail.

        A clean shutdown takes Dovecot about a second (its log process lingers), so
        when the mail is thrown away anyway the server gets only a short grace.
        """
        if self._own_directory:
            self._terminate(grace=QUICK_STOP_GRACE)
            shutil.rmtree(self.directory, ignore_errors=True)
        else:
            self._terminate()

    def restart(self) -> None:
        """Stop and start again on the same port, keeping the mail (and UIDVALIDITY)."""
        self._terminate()
        self._spawn()

    def drop_sessions(self) -> None:
        """Restart and end every session of the old server (a crash, as clients see it).

        ``restart()`` alone is no connection drop: Dovecot's imap processes outlive
        the master here (a NOOP still worked afterwards), so the old process group,
        started in its own session, is killed too.
        """
        old_group = self._process.pid if self._process is not None else None
        # Kill the old group before the new server starts: killed after, a leftover
        # old process could still take the next connection and leave it hanging
        # (seen as a timed-out APPEND on a loaded machine).
        if old_group is not None:
            try:
                os.killpg(old_group, signal.SIGKILL)
            except ProcessLookupError:
                pass
            _wait_until_group_gone(old_group)
            self._clear_dead_dotlocks()
        self.restart()

    def _clear_dead_dotlocks(self) -> None:
        """Remove the Maildir dotlocks the killed sessions held.

        An idling session often holds ``dovecot-uidlist.lock``. Killed, it leaves
        the file behind: with its pid inside, the next session overrides it after
        about 2 s; killed between creating the file and writing the pid (an empty
        file), Dovecot cannot tell it is stale and every new session waits out its
        two-minute stale timeout, which CI saw as an APPEND timing out twice. A
        real crash leaves the same; these tests are about the client's reconnect,
        so the test server clears the locks of its dead processes, as an operator
        restarting a crashed server would.
        """
        for lock in (self.directory / "mail").glob("*/Maildir/**/*.lock"):
            lock.unlink(missing_ok=True)

    def __enter__(self) -> Dovecot:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _spawn(self) -> None:
        command = [*self.run_as.prefix, self.binary, "-F", "-c", str(self.config_path)]
        with open(self.stderr_path, "ab") as stderr:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                start_new_session=True,  # keep ^C of the test run for pytest alone
            )
        self._wait_until_listening()

    def _terminate(self, grace: float = STOP_TIMEOUT) -> None:
        """SIGTERM, then after ``grace`` seconds SIGKILL the whole process group."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            _kill_group(process.pid)
            process.wait(timeout=STOP_TIMEOUT)

    def _wait_until_listening(self) -> None:
        """Wait for the IMAP greeting, which imap-login sends once auth is ready.

        Merely accepting is not enough: a server stopped before auth is ready took
        6 s instead of 1 s to shut down on this machine.
        """
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise DovecotError(f"dovecot exited with {self._process.returncode}: {self.logs()}")
            if _greets(self.host, self.port):
                return
            time.sleep(0.02)
        self._terminate()
        raise DovecotError(f"dovecot did not listen on {self.host}:{self.port}: {self.logs()}")

    def logs(self, limit: int = 2000) -> str:
        """The end of Dovecot's stderr and log file, for error messages."""
        text = ""
        for path in (self.stderr_path, self.log_path):
            if path.exists():
                text += path.read_text(errors="replace")
        return text[-limit:].strip() or "(no log output)"

    # -- files -----------------------------------------------------------

    def _write_files(self) -> None:
        for name in ("run", "state", "mail"):
            (self.directory / name).mkdir(exist_ok=True)
        (self.directory / "passwd").write_text(self._passwd_text())
        self.config_path.write_text(self._config_text())
        if self.run_as.uid != os.geteuid():
            _chown_tree(self.directory, self.run_as.uid, self.run_as.gid)

    def _passwd_text(self) -> str:
        lines = []
        for user, password in self.users.items():
            if ":" in user + password or "\n" in user + password:
                raise ValueError("user names and passwords must not contain ':' or newlines")
            home = self.directory / "mail" / user
            lines.append(f"{user}:{{PLAIN}}{password}:{self.run_as.uid}:{self.run_as.gid}::{home}")
        return "\n".join(lines) + "\n"

    def _config_text(self) -> str:
        d, r = self.directory, self.run_as
        folder = self.processed_folder.replace("\\", "\\\\").replace('"', '\\"')
        return f"""\
instance_name = mailsup-test-{self.port}
base_dir = {d}/run
state_dir = {d}/state
protocols = imap
listen = {self.host}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
log_path = {self.log_path}
default_internal_user = {r.user}
default_internal_group = {r.group}
default_login_user = {r.user}
first_valid_uid = {r.uid}
last_valid_uid = {r.uid}
first_valid_gid = {r.gid}
mail_location = maildir:~/Maildir
mail_fsync = never
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {d}/passwd
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox "{folder}" {{
    auto = create
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = {self.host}
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service auth {{
  user = {r.user}
}}
service auth-worker {{
  user = {r.user}
}}
"""

    # -- IMAP helpers ----------------------------------------------------

    def connect(self, user: str | None = None, password: str | None = None,
                timeout: float = 10) -> IMAPClient:
        """A logged-in imapclient connection (the caller logs out, or uses ``with``)."""
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=timeout)
        client.login(user or self.user, password or self.password)
        return client

    def append(
        self,
        raw: bytes,
        folder: str = "INBOX",
        flags: Iterable[str | bytes] = (),
        user: str | None = None,
    ) -> int | None:
        """Deliver a raw message into ``folder`` (as a new, unseen mail); return its UID."""
        user = user or self.user
        with self.connect(user, self.users[user], timeout=5) as client:
            response = client.append(folder, raw, flags=tuple(flags))
        match = _APPENDUID.search(response or b"")
        return int(match.group(2)) if match else None

    def list_uids(self, folder: str = "INBOX", user: str | None = None) -> list[int]:
        """UIDs in ``folder``, ascending (read-only select: flags stay untouched)."""
        user = user or self.user
        with self.connect(user, self.users[user]) as client:
            client.select_folder(folder, readonly=True)
            return sorted(client.search("ALL"))

    def uidvalidity(self, folder: str = "INBOX", user: str | None = None) -> int:
        """The folder's UIDVALIDITY, as an IMAP poller keys its state on it."""
        user = user or self.user
        with self.connect(user, self.users[user]) as client:
            return int(client.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"])


def start_dovecot(
    tmp_path: Path | str | None = None,
    *,
    users: Mapping[str, str] | None = None,
    processed_folder: str = "Processed",
) -> Dovecot:
    """Start a Dovecot for one test; call ``stop()`` (or use ``with``) when done.

    ``tmp_path`` holds config and mail when the server runs as the current user;
    as root a private directory under /tmp is used instead (see ``Dovecot``).
    """
    directory = Path(tmp_path) / "dovecot" if tmp_path is not None else None
    return Dovecot(directory, users=users, processed_folder=processed_folder).start()


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (the kernel picks it; a race is unlikely)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _greets(host: str, port: int) -> bool:
    """True when an IMAP server at host:port answers with an ``* OK`` greeting."""
    try:
        with socket.create_connection((host, port), timeout=1.0) as sock:
            greeting = sock.recv(512)
            if greeting.startswith(b"* OK"):
                sock.sendall(b"a LOGOUT\r\n")
                return True
    except OSError:
        pass
    return False


def _wait_until_group_gone(pgid: int, timeout: float = STOP_TIMEOUT) -> None:
    """Wait until no live process is left in ``pgid`` (zombies do not count).

    SIGKILL is delivered asynchronously; a session still alive for a moment could
    otherwise write its lock again after it was cleared.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_live_members(pgid)):
        time.sleep(0.01)


def _live_members(pgid: int) -> Iterable[int]:
    """Pids of the non-zombie processes in process group ``pgid`` (from /proc)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # "pid (comm) state ppid pgrp ...": comm may hold spaces, so split after ")".
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended while we looked
        if fields[0] != "Z" and int(fields[2]) == pgid:
            yield int(stat.parent.name)


def _kill_group(pid: int) -> None:
    """SIGKILL the process group led by our dovecot master (started in its own session)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    """Hand the server's directory to the unprivileged account it runs as."""
    os.chown(root, uid, gid)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            os.chown(os.path.join(dirpath, name), uid, gid, follow_symlinks=False)


def imap_ini(server: Dovecot, folder: str = "INBOX", processed: str | None = None) -> str:
    """The [imap] section of a mailsup.ini pointing at this server."""
    return f"""
        [imap]
        host = {server.host}
        port = {server.port}
        security = none
        username = {server.user}
        password = {server.password}
        folder = {folder}
        processed_folder = {processed or server.processed_folder}
        """
