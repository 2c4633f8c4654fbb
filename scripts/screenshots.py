#!/usr/bin/env python3
"""Render every HTML mail role from sample data and screenshot it with headless Chromium.

    python3 scripts/screenshots.py                      # all roles into build/screenshots/
    python3 scripts/screenshots.py --out DIR receipt nag
    python3 scripts/screenshots.py --html-only          # just the .html files
    python3 scripts/screenshots.py --check              # exit 1 if a mail is too wide

Each role is shot whole at 800 px (a desktop mail pane) and 390 px (a phone)
as ``ROLE-800.png`` and ``ROLE-390.png``, through Playwright driving the
system Chromium. At 390 px the page is measured (every element's right edge
and the sideways scroll width, against the viewport) into ``phone-width.json``.

Every mail is built by the function of ``mailsup/outbound/messages.py`` that
the sending code calls, from unsaved model instances: no database, no network. Chromium comes from
the Debian package ``chromium`` (``apt-get install chromium``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

from mailsup.github import footprints
from mailsup.inbound.commands import REGISTRY, help_lines
from mailsup.models import Client, Person, Sup
from mailsup.outbound import compose, context, messages
from mailsup.outbound.links import Links

DEFAULT_OUT = Path("build/screenshots")
WIDTHS = (800, 390)  # a desktop mail pane and a phone (iPhone 12-15: 390 CSS px)
PHONE = 390
CHROMIUM = "/usr/bin/chromium"  # Debian's package; Playwright downloads no browser
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Without the background-networking flags Chromium keeps trying hosts this closed
# network refuses (the machine's field notes).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--hide-scrollbars"]

DAY = date(2026, 11, 25)
ALICE_ADDRESS = "sup+s42-k3j9x0q2mz7a5bcd@example.com"  # a signed reply address's shape

FOOTPRINT = {
    "repos": {
        "acme/api": {
            "issues_opened": [{"number": 141, "title": "Token refresh fails after 24 h"}],
            "issues_closed": [{"number": 130, "title": "Login redirect loops on Safari"}],
            "issues_commented": [{"number": 128, "title": "Rate limits for the export "
                                  "endpoint <and> the admin API"}],
            "prs_opened": [{"number": 142, "title": "Refresh tokens before expiry",
                            "summary": "adds a background refresher and 3 tests"}],
            "prs_merged": [{"number": 137, "title": "Fix the Safari redirect loop",
                            "summary": "cookie SameSite=Lax; regression test"},
                           {"number": 142, "title": "Refresh tokens before expiry",
                            "summary": "adds a background refresher and 3 tests"}],
            "commits": [{"sha": "3f9c2a1d0b", "message": "Bump peewee to 4.5\n\nlong body"},
                        {"sha": "a1b2c3d4e5", "message": "Typo in the README"}],
        },
        "acme/web": {
            "issues_commented": [{"number": 45, "title": "Dark mode for the dashboard"}],
            "prs_opened": [], "commits": [{"sha": "0badc0ffee", "message": "Tidy CSS"}],
        },
        "acme/infra-with-a-rather-long-repository-name": {
            "commits": [{"sha": "deadbeef00", "message": "Terraform: raise the RDS storage "
                         "alarm threshold to 85% because the nightly batch hits 80% for an "
                         "hour every night and pages the on-call engineer for nothing"}],
        },
    },
    "assigned": [
        {"repo": "acme/api", "number": 141, "title": "Token refresh fails after 24 h"},
        {"repo": "acme/web", "number": 45, "title": "Dark mode for the dashboard"},
    ],
}

FIELDS = {
    "plan": "Finish the token refresher (api#142) and get it reviewed.\n"
            "Pair with Bob on the dark-mode spike.",
    "scheduling": "part day",
    "planned_tickets": [{"repo": "acme/api", "number": 141, "title": "Token refresh fails "
                         "after 24 h", "expect_done": True},
                        {"repo": "acme/web", "number": 45, "title": "Dark mode for the "
                         "dashboard", "expect_done": False}],
    "repo_comments": {"acme/api": "the export rate limits need a product decision"},
    "blockers": "Staging database is read-only since last night's migration.",
}


def _with_urls(footprint: dict) -> dict:
    """GitHub's html_url on every item, as the collector stores it."""
    for name, repo in footprint["repos"].items():
        for key, items in repo.items():
            for item in items:
                if key == "commits":
                    item["url"] = f"https://github.com/{name}/commit/{item['sha']}"
                else:
                    kind = "pull" if key.startswith("prs") else "issues"
                    item["url"] = f"https://github.com/{name}/{kind}/{item['number']}"
    for item in footprint["assigned"]:
        item["url"] = f"https://github.com/{item['repo']}/issues/{item['number']}"
    return footprint


_with_urls(FOOTPRINT)


def _people() -> dict[str, Person]:
    return {
        "alice": Person(id=1, email="alice@example.com", name="Alice Smith",
                        timezone="Europe/Berlin"),
        "bob": Person(id=2, email="bob@example.com", name="Bob Jones",
                      timezone="America/New_York"),
        "chandra": Person(id=3, email="chandra@example.com", name="Chandra Rao",
                          timezone="Asia/Kolkata"),
        "erin": Person(id=4, email="erin@example.com", name="Erin O'Neill",
                       timezone="Europe/Dublin"),
        "hana": Person(id=5, email="hana@example.com", name="Hana HR",
                       timezone="Europe/Berlin"),
    }


def _sample() -> tuple[dict[str, Person], Client, dict[str, Sup]]:
    people = _people()
    client = Client(id=1, slug="acme", name="Acme Corp", hr=people["hana"])
    created = datetime(2026, 11, 25, 5, 0)

    def sup(sup_id: int, who: str, status: str, **fields) -> Sup:
        return Sup(id=sup_id, developer=people[who], client=client, status=status,
                   created_at=created, **({"day": DAY} | fields))

    sups = {
        "alice": sup(42, "alice", "submitted", footprint=FOOTPRINT,
                     previous_plan="Fix the Safari redirect loop (api#130).\n"
                                   "Review Chandra's export PR.",
                     footprint_note=None, plan=FIELDS["plan"], scheduling="part day",
                     planned_tickets=FIELDS["planned_tickets"],
                     repo_comments=FIELDS["repo_comments"], blockers=FIELDS["blockers"],
                     hr_notes=[{"text": "asked about the staging outage in the 1:1"}],
                     flags=[{"reason": "third blocker on staging this week"}]),
        "bob": sup(43, "bob", "reviewed", plan="Dark-mode spike with Alice.",
                   scheduling="full day", footprint={"repos": {"acme/web": {
                       "commits": [{"sha": "1234567", "message": "spike"}]}}},
                   amendments=[{"fields": {"plan": "Dark-mode spike, then the release notes."}}],
                   amendments_reviewed=0),
        "chandra": sup(44, "chandra", "open"),
        "chandra_monday": sup(47, "chandra", "submitted", late=True, day=date(2026, 11, 24)),
        "erin": sup(45, "erin", "skipped", skip_reason="public holiday (IE)"),
    }
    return people, client, sups


def sample_messages() -> dict[str, compose.Message]:
    """Every role, built by the same ``outbound.messages`` functions that send it."""
    people, client, sups = _sample()
    alice = sups["alice"]
    re_subject = "Re: " + messages.sup_subject(alice)
    # As the collector writes it (for operators); the mail says it in a developer's words.
    alice.footprint_note = "acme/legacy: Resource not accessible by integration (403)"
    team = [context.team_entry(people[k], sups.get(k)) for k in ("alice", "bob", "chandra",
                                                                   "erin")]
    team.append(context.team_entry(Person(id=6, email="dan@example.com", name="Dan Delivery",
                                          timezone="Europe/London"), None))
    refused = {"plan": None, "scheduling": "half day-ish", "blockers": None,
               "planned_tickets": [], "repo_comments": {}}
    alice_open = Sup(id=alice.id, developer=alice.developer, client=client, day=DAY,
                     status="open", created_at=alice.created_at)
    globex_open = Sup(id=46, developer=alice.developer, day=DAY, status="open",
                      client=Client(id=2, slug="globex", name="Globex"),
                      created_at=alice.created_at)
    section = {"team_id": 1, "team_name": "Platform", "client_name": "Acme Corp", "day": DAY,
               "org": "acme", "team_slug": "platform",
               "day_long": context.day_long(DAY), "entries": team, "missing": ["Chandra Rao"],
               "previous_day": context.day_long(date(2026, 11, 24)),
               "missed": [{"name": "Chandra Rao", "late": True}]}
    week = {"team_name": "Platform", "client_name": "Acme Corp", "rows": [
        {"name": "Alice Smith", "on_time": 4, "late": 1, "missed": 0, "skipped": 0, "open": 0},
        {"name": "Chandra Rao", "on_time": 2, "late": 0, "missed": 2, "skipped": 1, "open": 0}],
        "totals": {"on_time": 6, "late": 1, "missed": 2, "skipped": 1, "open": 0}}
    links = Links("https://sup.example.com", "sample-secret-for-screenshots")
    first = Sup(id=48, developer=people["chandra"], client=client, day=DAY, status="open",
                created_at=alice.created_at, footprint=None,
                footprint_note=footprints.NOT_CONFIGURED)
    return {
        "sup_request": messages.sup_request(alice, links, ALICE_ADDRESS),
        # A person's first SUP mail: one line on what mailsup is and who set it up; no
        # GitHub yet, so no ticket examples.
        "sup_request_first": messages.sup_request(
            first, links, "sup+s48-a8b7c6d5e4f3g2h1@example.com",
            welcome="the Acme delivery team (ops@acme.example)"),
        "nag": messages.nag(people["alice"], [alice_open, globex_open],
                            ["sup+s42-k3j9x0q2mz7a5bcd@example.com",
                             "sup+s46-p5m2c8d1e0f3g4h7@example.com"], links),
        "receipt": messages.receipt(alice, FIELDS, "submitted", bool(FIELDS.get("blockers")),
                                    re_subject, links=links),
        "refusal": messages.refusal(
            alice_open, refused,
            ["no plan: write it under “Plan (required)” or as “plan: …”",
             "scheduling “half day-ish” is not one of full day, part day, emergency only, "
             "unavailable"], ["done: api#999", "see you tomorrow!"], re_subject,
            links=links, reply_address=ALICE_ADDRESS),
        "escalation": messages.escalation(alice, FIELDS["blockers"], ["Dan Delivery"], links),
        "escalation_answer": messages.escalation_answer(
            "Dan", alice, "relayed", "Re: [SUP 42] Blocker: Alice Smith (Acme Corp)",
            developer="Alice Smith", links=links),
        "blocker_reply": messages.blocker_reply(
            alice, "Dan Delivery", "I've asked ops for the staging key; expect it by noon.",
            False, FIELDS["blockers"]),
        "hr_digest": messages.hr_digest(client, [sups["alice"], sups["bob"]], {43}, DAY, links,
                                        missed=[sups["chandra_monday"]]),
        "team_digest": messages.team_digest(people["alice"], [section], links),
        "weekly_summary": messages.weekly_summary(people["alice"], date(2026, 11, 16), [week]),
        "overdue_reviews": messages.overdue_reviews(client, [sups["alice"]], links),
        "away": messages.away_answer(people["alice"], "away", "away 24 Dec - 1 Jan",
                                     start=date(2026, 12, 24), end=date(2027, 1, 1),
                                     links=links),
        "command_results": messages.command_results(
            client, ["SUP 42 reviewed", "SUP 43 reviewed", "SUP 42: note added",
                     "SUP 42 flagged: third staging blocker"],
            ["SUP 7 is not a SUP of Acme Corp"],
            ["looks good, thanks!", *help_lines(REGISTRY)[:1]], False,
            "Re: Acme Corp: 2 SUPs to review (Wed 25 Nov)"),
        "help": messages.help_answer(alice, re_subject),
        "reply_to_sup_email": messages.reply_to_sup_email(people["alice"], 42,
                                                          "Re: [SUP 42] my plan"),
        "alias_notice": messages.alias_notice(alice, "alice.phone@example.net", re_subject,
                                              links),
        "alias_answer": messages.alias_answer(
            "Alice", alice, "added", "alice.phone@example.net",
            "Re: [SUP 42] Was this you? A reply from alice.phone@example.net",
            applied=["plan", "blockers"], links=links),
        "sup_closed": messages.sup_closed(alice, 14, re_subject, links),
        "check": messages.check_mail("ops@acme.example", "sup+check-3f9a@example.com",
                                     "2026-11-25 06:00 UTC"),
        "sign_in": messages.sign_in(people["alice"], links.sign_in("k3J9x0Q2mZ7a5bcD-example"),
                                    15),
    }


ROLES = tuple(sample_messages())


def find_chromium() -> str | None:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def write_html(out: Path, roles: list[str]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    every = sample_messages()
    written = []
    for role in roles:
        rendered = compose.render(every[role])
        path = out / f"{role}.html"
        path.write_text(rendered.html, encoding="utf-8")
        (out / f"{role}.txt").write_text(f"Subject: {rendered.subject}\n\n{rendered.text}",
                                         encoding="utf-8")
        written.append(path)
    return written


# Measured in the page, as a phone's mail app lays it out: the right edge of
# every element and text run (the widest one named, so a failure says what to
# fix) and how far the document scrolls sideways — against the phone's width,
# not innerWidth: a mobile browser widens its layout viewport to fit content
# that is too wide (and shrinks the text), so innerWidth alone hides overflow.
MEASURE = r"""(width) => {
  let widest = {right: 0, what: ""};
  const consider = (right, node) => {
    if (right <= widest.right) return;
    const el = node.nodeType === 1 ? node : node.parentElement;
    const text = (node.textContent || "").replace(/\s+/g, " ").trim().slice(0, 60);
    widest = {right: Math.ceil(right), what: `<${el.tagName.toLowerCase()}> ${text}`};
  };
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    consider(box.right, el);
    // Content spilling out of its own box (an unbreakable word, a wide table).
    if (el.scrollWidth > el.clientWidth + 1) consider(box.left + el.scrollWidth, el);
  }
  // Text runs themselves: a long word or URL that does not wrap.
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  while (walker.nextNode()) {
    if (!walker.currentNode.textContent.trim()) continue;
    range.selectNodeContents(walker.currentNode);
    for (const r of range.getClientRects()) consider(r.right, walker.currentNode);
  }
  // Things to type exactly (<code>, <pre>) that the width breaks across lines: a
  // command list wrapping mid-column. A <pre> counts the visual lines its text takes.
  const wrapped = [];
  for (const el of document.body.querySelectorAll("code, pre")) {
    range.selectNodeContents(el);
    const tops = new Set([...range.getClientRects()].filter(r => r.width > 0)
                         .map(r => Math.round(r.top)));
    const lines = el.tagName === "PRE" ? el.textContent.replace(/\n$/, "").split("\n").length : 1;
    if (tops.size > lines) wrapped.push(el.textContent.replace(/\s+/g, " ").trim().slice(0, 60));
  }
  return {viewport: width, inner_width: window.innerWidth,
          scroll_width: document.scrollingElement.scrollWidth,
          widest_right: widest.right, widest: widest.what, wrapped: wrapped};
}"""


def overflows(measured: dict) -> bool:
    return max(measured["widest_right"], measured["scroll_width"],
               measured["inner_width"]) > measured["viewport"]


def illegible(measured: dict) -> bool:
    """Wider than the phone, or a command to type broken across lines."""
    return overflows(measured) or bool(measured["wrapped"])


def shoot(chromium: str, pages: list[Path], widths: tuple[int, ...] = WIDTHS,
          progress: Callable[[str], None] = print) -> dict[str, dict]:
    """Each page at each width (full page) as ``ROLE-WIDTH.png``; returns the phone
    width's measurements per role."""
    from playwright.sync_api import sync_playwright

    measured = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            for width in widths:
                phone = width < 600
                context = browser.new_context(viewport={"width": width,
                                                        "height": 844 if phone else 1000},
                                              is_mobile=phone, has_touch=phone,
                                              java_script_enabled=True)
                page = context.new_page()
                for html in pages:
                    page.goto(html.resolve().as_uri())
                    png = html.with_name(f"{html.stem}-{width}.png")
                    page.screenshot(path=str(png), full_page=True)
                    if width == min(widths):
                        measured[html.stem] = page.evaluate(MEASURE, width)
                    progress(f"{png} ({png.stat().st_size // 1024} KB)")
                context.close()
        finally:
            browser.close()
    return measured


def main(argv: list[str] | None = None, progress: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("roles", nargs="*", metavar="ROLE",
                        help=f"roles to render (default: all): {', '.join(ROLES)}")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"output directory (default: {DEFAULT_OUT})")
    parser.add_argument("--html-only", action="store_true", help="do not start Chromium")
    parser.add_argument("--check", action="store_true",
                        help=f"exit 1 when anything is wider than the {PHONE} px viewport "
                             "or a <code>/<pre> wraps there")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.roles) - set(ROLES))
    if unknown:
        parser.error(f"unknown role(s) {', '.join(unknown)}; choose from {', '.join(ROLES)}")
    roles = args.roles or list(ROLES)
    pages = write_html(args.out, roles)
    if args.html_only:
        for page in pages:
            progress(str(page))
        return 0
    chromium = find_chromium()
    if chromium is None:
        print("screenshots: chromium not found (apt-get install chromium); "
              "use --html-only for the HTML files alone", file=sys.stderr)
        return 1
    try:
        measured = shoot(chromium, pages, progress=progress)
    except ImportError:
        print("screenshots: playwright not installed (pip install -e '.[test]')",
              file=sys.stderr)
        return 1
    report = args.out / "phone-width.json"
    report.write_text(json.dumps(measured, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    wide = {role: m for role, m in measured.items() if overflows(m)}
    broken = {role for role, m in measured.items() if illegible(m)}
    for role, m in sorted(measured.items()):
        mark = "TOO WIDE" if role in wide else "ok"
        progress(f"{role} at {PHONE} px: widest element ends at {m['widest_right']} px, "
                 f"scrolls to {m['scroll_width']} px: {mark}"
                 + (f" ({m['widest']})" if role in wide else "")
                 + (f"; {len(m['wrapped'])} code/pre block(s) wrap" if m["wrapped"] else ""))
    return 1 if args.check and broken else 0


if __name__ == "__main__":
    sys.exit(main())
