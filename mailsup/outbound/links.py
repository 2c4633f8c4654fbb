"""The URLs of the pages, for mail and pages alike (``[web] base_url``).

A mail says where its pages are through ``Links``; with no ``base_url`` the
links are empty and mail carries none. It lives with the mail, which needs it
first; the pages import it from here, and it imports nothing of theirs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from urllib.parse import quote, urlencode

from mailsup import tokens


@dataclass(frozen=True)
class Links:
    base_url: str
    secret: str

    @classmethod
    def of(cls, settings) -> Links:
        return cls(settings.web.base_url, settings.secret)

    @property
    def enabled(self) -> bool:
        return bool(self.base_url)

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def home(self) -> str:
        return self.url("/")

    def sup(self, sup_id: int) -> str:
        return self.url(sup_path(sup_id))

    def answer(self, sup_id: int) -> str:
        """The signed form link: usable without signing in until the SUP is reviewed."""
        return self.url(answer_path(sup_id) + "?" + urlencode(
            {"t": tokens.answer_token(self.secret, sup_id)}))

    def person(self, email: str) -> str:
        return self.url(person_path(email))

    def client(self, slug: str) -> str:
        return self.url(client_path(slug))

    def team(self, org: str, slug: str, day: date) -> str:
        return self.url(team_path(org, slug, day))

    def hr(self, client_slug: str | None = None) -> str:
        return self.url("/hr" + (f"?{urlencode({'client': client_slug})}" if client_slug else ""))

    def sign_in(self, token: str) -> str:
        return self.url(f"/login/{token}")


def sup_path(sup_id: int) -> str:
    return f"/sups/{sup_id}"


def answer_path(sup_id: int) -> str:
    return f"/sups/{sup_id}/answer"


def person_path(email: str) -> str:
    return f"/people/{quote(email, safe='@')}"


def client_path(slug: str) -> str:
    return f"/clients/{quote(slug, safe='')}"


def team_path(org: str, slug: str, day: date) -> str:
    return f"/teams/{quote(org, safe='')}/{quote(slug, safe='')}/{day.isoformat()}"
