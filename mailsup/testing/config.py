"""Write a small ``mailsup.ini`` for a test, a benchmark or the demo.

Only what differs from the packaged defaults is written; everything else
comes from ``mailsup/mailsup.ini`` like in a real deployment. The pages are
off (``[web] listen =``) unless ``extra`` has a ``[web]`` section.
"""

from __future__ import annotations

import textwrap
from pathlib import Path


def write_config(path: Path, db_url: str, smtp_port: int | None, extra: str = "",
                 mailsup_extra: str = "", *, secret: str = "test-secret-Vq3xT8mKp2Lw9Zr4Hn6Bd0Yc",
                 reply_address: str = "sup@mailsup.test") -> Path:
    smtp_host = "127.0.0.1" if smtp_port else ""
    domain = reply_address.rpartition("@")[2]
    text = textwrap.dedent(f"""\
        [mailsup]
        database = {db_url}
        secret = {secret}
        reply_address = {reply_address}
        {mailsup_extra}

        [smtp]
        host = {smtp_host}
        port = {smtp_port or 25}
        security = none
        from = mailsup <sup@{domain}>
        outbox_dir = outbox
        """) + textwrap.dedent(extra)
    if "[web]" not in extra:
        # No pages unless a test asks: many services share this machine's ports.
        text += "\n[web]\nlisten =\n"
    path.write_text(text, encoding="utf-8")
    return path
