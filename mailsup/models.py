"""The domain of design §2 as peewee models.

All instants are stored as naive UTC datetimes; local time only exists at the
edges (scheduling and rendering). Unique keys are what make every create
idempotent, so a job that runs twice or after a crash finds its earlier work.
"""

from __future__ import annotations

import json

from peewee import (
    BigIntegerField,
    BlobField,
    BooleanField,
    CharField,
    DatabaseProxy,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
    Value,
)

db = DatabaseProxy()

# "missed": still open when its developer's local day ended (a late reply still submits it).
SUP_STATUSES = ("open", "submitted", "reviewed", "skipped", "missed")
SCHEDULING_VALUES = ("full day", "part day", "emergency only", "unavailable")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class JSONField(TextField):
    """JSON in a text column: portable across SQLite and PostgreSQL."""

    def db_value(self, value):
        return None if value is None else json.dumps(value, sort_keys=True, default=str)

    def python_value(self, value):
        return None if value is None else json.loads(value)


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False


class SchemaVersion(BaseModel):
    version = IntegerField()
    applied_at = DateTimeField()


class Person(BaseModel):
    email = CharField(unique=True)
    name = CharField()
    github = CharField(null=True, index=True)
    slack = CharField(null=True)
    timezone = CharField(default="UTC")
    workdays = CharField(default="mon,tue,wed,thu,fri")
    holiday_country = CharField(null=True)

    @property
    def workday_numbers(self) -> set[int]:
        return {WEEKDAYS.index(d) for d in self.workdays.split(",") if d}

    def addresses(self) -> set[str]:
        return {self.email} | {a.email for a in self.aliases}


class Alias(BaseModel):
    person = ForeignKeyField(Person, backref="aliases", on_delete="CASCADE")
    email = CharField(unique=True)


class Leave(BaseModel):
    person = ForeignKeyField(Person, backref="leaves", on_delete="CASCADE")
    start = DateField()
    end = DateField()
    # "directory" (the operator's file, which a reload keeps in sync) or "mail"
    # (the person's own "away until …" or out-of-office reply, which it leaves alone).
    source = CharField(default="directory")

    class Meta:
        indexes = ((("person", "start", "end"), True),)


class Client(BaseModel):
    slug = CharField(unique=True)
    name = CharField()
    hr = ForeignKeyField(Person, null=True, backref="hr_for")
    hr_repo = CharField(null=True)
    schedule = JSONField(default=dict)


class DeliveryManager(BaseModel):
    client = ForeignKeyField(Client, backref="delivery_managers", on_delete="CASCADE")
    person = ForeignKeyField(Person, on_delete="CASCADE")

    class Meta:
        indexes = ((("client", "person"), True),)


class Org(BaseModel):
    login = CharField(unique=True)
    client = ForeignKeyField(Client, backref="orgs", on_delete="CASCADE")


class Repo(BaseModel):
    org = ForeignKeyField(Org, backref="repos", on_delete="CASCADE")
    name = CharField()

    class Meta:
        indexes = ((("org", "name"), True),)

    @property
    def full_name(self) -> str:
        return f"{self.org.login}/{self.name}"


class Team(BaseModel):
    org = ForeignKeyField(Org, backref="teams", on_delete="CASCADE")
    slug = CharField()
    name = CharField()
    delivery_manager = ForeignKeyField(Person, null=True)

    class Meta:
        indexes = ((("org", "slug"), True),)


class Membership(BaseModel):
    team = ForeignKeyField(Team, backref="memberships", on_delete="CASCADE")
    person = ForeignKeyField(Person, backref="memberships", on_delete="CASCADE")

    class Meta:
        indexes = ((("team", "person"), True),)


class Sup(BaseModel):
    developer = ForeignKeyField(Person, backref="sups")
    client = ForeignKeyField(Client, backref="sups")
    day = DateField()
    status = CharField(default="open", index=True)
    skip_reason = CharField(null=True)
    created_at = DateTimeField()
    due_at = DateTimeField()
    nag_at = DateTimeField()
    window_start = DateTimeField()
    window_end = DateTimeField(null=True)
    submitted_at = DateTimeField(null=True)
    late = BooleanField(default=False)  # submitted after it was missed
    away = BooleanField(default=False)
    footprint = JSONField(null=True)
    footprint_note = TextField(null=True)
    previous_plan = TextField(null=True)
    repo_comments = JSONField(default=dict)
    planned_tickets = JSONField(default=list)
    scheduling = CharField(null=True)
    # What followed the scheduling value ("part day (dentist at 15:00)").
    scheduling_note = TextField(null=True)
    plan = TextField(null=True)
    blockers = TextField(null=True)
    # The developer's own lines that fit no field: kept, never dropped (design §5).
    comment = TextField(null=True)
    # What a refused reply (no plan) did say, so a reply with just the plan completes it:
    # {"fields": {...}, "inbound": id}. Cleared when the SUP is submitted.
    draft = JSONField(null=True)
    amendments = JSONField(default=list)
    amendments_reviewed = IntegerField(default=0)
    # HR-only: never rendered into anything a developer or a team receives.
    hr_notes = JSONField(default=list)
    flags = JSONField(default=list)
    reviewed_by = ForeignKeyField(Person, null=True)
    reviewed_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("developer", "client", "day"), True),)

    @property
    def reference(self) -> str:
        return f"SUP {self.id}" if self.id is not None else "SUP preview"


class InboundMessage(BaseModel):
    """Every message received, stored raw before anything else happens."""

    received_at = DateTimeField()
    source = CharField()  # imap | smtp | cli
    mailbox = CharField(null=True)
    # IMAP allows 32-bit unsigned values: a signed INTEGER would overflow.
    uidvalidity = BigIntegerField(null=True)
    uid = BigIntegerField(null=True)
    message_id = CharField(null=True, index=True)
    content_hash = CharField(unique=True)
    envelope_from = CharField(null=True)
    envelope_to = TextField(null=True)
    raw = BlobField()
    status = CharField(default="new", index=True)  # new|applied|refused|ignored|quarantined
    kind = CharField(null=True)
    reasons = JSONField(default=list)
    sup = ForeignKeyField(Sup, null=True, backref="inbound")
    processed_at = DateTimeField(null=True)
    # Who holds a "processing" claim: host:pid:process-start. A restart can tell
    # a claim of a dead process (reclaimed at once) from one still at work.
    claimed_by = CharField(null=True)


class ImapState(BaseModel):
    mailbox = CharField()
    uidvalidity = BigIntegerField()
    last_uid = BigIntegerField(default=0)

    class Meta:
        indexes = ((("mailbox", "uidvalidity"), True),)


class OutboundMessage(BaseModel):
    """The outbox: every mail is a row first, then sent, never twice."""

    key = CharField(unique=True)
    kind = CharField(index=True)
    sup = ForeignKeyField(Sup, null=True, backref="outbound")
    message_id = CharField(unique=True)
    recipients = JSONField()
    mail_from = CharField()
    subject = TextField()
    text_body = TextField()
    raw = BlobField()
    status = CharField(default="pending", index=True)  # pending|sending|sent|failed
    attempts = IntegerField(default=0)
    created_at = DateTimeField()
    next_attempt_at = DateTimeField()
    lease_until = DateTimeField(null=True)
    sent_at = DateTimeField(null=True)
    last_error = TextField(null=True)


class Effect(BaseModel):
    """One record per side effect (nag, escalation, digest, ticket, Slack DM).

    The unique ``key`` is taken before the effect is queued, in the same
    transaction, so a second tick finds it and does nothing. Keys are stored in
    operators' databases, so their formats never change; ``Keys`` below is the
    only code that builds or reads them. Every format in use:

    Effect.key (and, where the same key names the mail, OutboundMessage.key):
      ``nag:{sup_id}``                      the SUP was listed in a reminder (the outbox
                                            key of a reminder mail before 2026-12)
      ``reminder:{person_id}:{day}``        a person's one reminder mail of their local
                                            day, listing every open SUP (outbox key too)
      ``escalation:{sup_id}:{inbound_id}``  a blocker escalation (outbox key too): one per
                                            blocker text while it is open; its id is the
                                            ``e`` reply token; data: to, names, blockers,
                                            norm, sups, day, acks, resolved
      ``hr_digest:{client_slug}:{day}``     the HR digest of a client's HR-local day
      ``team_digest:{team_id}:{day}``       the team digest of a day (outbox key too;
                                            one mail per team, before 2026-12)
      ``team_digests:{person_id}:{day}``    a person's one team-digest mail of their local
                                            day, covering all their teams (outbox key too)
      ``weekly_summary:{person_id}:{monday}`` a delivery manager's participation summary of
                                            their teams' previous week (outbox key too)
      ``missed:{sup_id}``                   the SUP became missed (its local day ended)
      ``overdue:{sup_id}``                  the overdue-review GitHub issue
      ``overdue_closed:{sup_id}``           that issue closed after review
      ``overdue_mail:{sup_id}``             the SUP was listed in an overdue-review mail
                                            (no GitHub token, no hr_repo, or GitHub failing)
      ``overdue_mail:{client_slug}:{day}``  a client's one overdue-review mail of an HR-local
                                            day (outbox key too)
      ``slack_nag:{sup_id}``                the Slack DM after the email reminder
      ``slack_hr:{hr_digest_effect_id}``    the Slack nudge about an HR digest
      ``applied:{inbound_id}``              an inbound message whose effects happened
      ``alias_by_mail:{address}``           an alias its person confirmed by mail (a
                                            directory reload keeps it)
      ``suppressed:{answer_kind}:{inbound_id}``  an answer not sent: loop protection held it
                                            back (data: to, answer, inbound, why)

    OutboundMessage.key only:
      ``sup_request:{sup_id}``              the SUP email
      ``hr_digest:{hr_digest_effect_id}``   the HR digest mail (an id, unlike the Effect)
      ``{answer_kind}:{inbound_id}``        an answer to inbound mail: ``receipt``,
                                            ``refusal``, ``help``, ``command_results``,
                                            ``away`` (leave set, ended or refused by mail),
                                            ``escalation_answer`` (to a manager's reply),
                                            ``blocker_reply`` (that reply relayed to the
                                            developer), ``alias_notice`` (to the person
                                            whose SUP an unregistered address answered),
                                            ``alias_answer`` (to their "yes")
      ``sign_in:{sign_in_token_id}``        a one-time sign-in link to the pages
      ``check:{nonce}``                     ``mailsup check --send-to``'s test mail

    AutoReplyLog.address (loop protection budgets):
      ``{address}``                         answers to a known reference
      ``unreferenced:{address}``            answers to mail without a valid reference
      ``daily:{budget}``                    the same budgets counted per UTC day (the
                                            daily cap), and ``daily:own:{address}``, the
                                            fuse of the answers that always go;
                                            ``daily:notice:{person_email}``: notices about
                                            replies from unregistered addresses
    """

    key = CharField(unique=True)
    kind = CharField(index=True)
    sup = ForeignKeyField(Sup, null=True, backref="effects")
    created_at = DateTimeField()
    done_at = DateTimeField(null=True)
    data = JSONField(default=dict)


class Keys:
    """Builders and readers of the stored key formats listed in ``Effect``."""

    @staticmethod
    def in_sql(build, column, *rest):
        """The key ``build(<column's value>, *rest)`` as a SQL expression, so a query can
        look each row's key up in an index without reading the rows; built from the one
        format ``build`` knows, with the column where its first argument goes."""
        head, tail = build("\0", *rest).split("\0")
        return Value(head).concat(column.cast("TEXT")).concat(tail)

    @staticmethod
    def sup_request(sup_id: int) -> str:
        return f"sup_request:{sup_id}"

    @staticmethod
    def nag(sup_id: int) -> str:
        return f"nag:{sup_id}"

    @staticmethod
    def reminder(person_id: int, day) -> str:
        return f"reminder:{person_id}:{day}"

    @staticmethod
    def escalation(sup_id: int, inbound_id: int) -> str:
        return f"escalation:{sup_id}:{inbound_id}"

    @staticmethod
    def hr_digest(client_slug: str, day) -> str:
        return f"hr_digest:{client_slug}:{day}"

    @staticmethod
    def hr_digest_prefix(client_slug: str) -> str:
        return f"hr_digest:{client_slug}:"

    @staticmethod
    def hr_digest_mail(effect_id: int) -> str:
        return f"hr_digest:{effect_id}"

    @staticmethod
    def hr_digest_mail_effect(key: str) -> int | None:
        """The digest Effect id of an HR digest *mail* key, else None."""
        kind, _, rest = key.partition(":")
        return int(rest) if kind == "hr_digest" and rest.isdigit() else None

    @staticmethod
    def team_digest(team_id: int, day) -> str:
        return f"team_digest:{team_id}:{day}"

    @staticmethod
    def team_digests(person_id: int, day) -> str:
        return f"team_digests:{person_id}:{day}"

    @staticmethod
    def weekly_summary(person_id: int, monday) -> str:
        return f"weekly_summary:{person_id}:{monday}"

    @staticmethod
    def missed(sup_id: int) -> str:
        return f"missed:{sup_id}"

    @staticmethod
    def overdue_mail(sup_id: int) -> str:
        return f"overdue_mail:{sup_id}"

    @staticmethod
    def overdue_mail_message(client_slug: str, day) -> str:
        return f"overdue_mail:{client_slug}:{day}"

    @staticmethod
    def overdue(sup_id: int) -> str:
        return f"overdue:{sup_id}"

    @staticmethod
    def overdue_closed(sup_id: int) -> str:
        return f"overdue_closed:{sup_id}"

    @staticmethod
    def slack_nag(sup_id: int) -> str:
        return f"slack_nag:{sup_id}"

    @staticmethod
    def slack_hr(digest_id: int) -> str:
        return f"slack_hr:{digest_id}"

    @staticmethod
    def applied(inbound_id: int) -> str:
        return f"applied:{inbound_id}"

    @staticmethod
    def answer(kind: str, inbound_id: int) -> str:
        return f"{kind}:{inbound_id}"

    @staticmethod
    def unreferenced_budget(address: str) -> str:
        return f"unreferenced:{address}"

    @staticmethod
    def answer_inbound(key: str) -> int | None:
        """The inbound id an answer's outbox key (``{kind}:{inbound_id}``) answers."""
        kind, _, rest = key.partition(":")
        return int(rest) if kind and rest.isdigit() else None

    @staticmethod
    def alias_by_mail(address: str) -> str:
        return f"alias_by_mail:{address}"

    @staticmethod
    def daily_budget(address: str) -> str:
        return f"daily:{address}"

    @staticmethod
    def suppressed(kind: str, inbound_id: int) -> str:
        return f"suppressed:{kind}:{inbound_id}"

    @staticmethod
    def sign_in(token_id: int) -> str:
        return f"sign_in:{token_id}"

    @staticmethod
    def check(nonce: str) -> str:
        return f"check:{nonce}"


class GithubCache(BaseModel):
    """ETag cache between ticks, so an unchanged repo costs no rate limit."""

    url = CharField(unique=True, max_length=1000)
    etag = CharField()
    body = TextField()


class AutoReplyLog(BaseModel):
    """When mailsup last answered an address automatically (loop protection)."""

    address = CharField(unique=True)
    last_sent_at = DateTimeField()
    count = IntegerField(default=0)


class SignInToken(BaseModel):
    """A one-time sign-in link to the pages (design §12).

    Only the SHA-256 of the token is stored: the link in the mail is the one
    copy that signs in. ``used_at`` is set by a conditional update, so two
    clicks (or two workers) cannot both use it.
    """

    person = ForeignKeyField(Person, on_delete="CASCADE")
    token_hash = CharField(unique=True)
    address = CharField()  # where the link was sent (the primary email or an alias)
    client_ip = CharField(null=True, index=True)
    next_path = CharField(null=True, max_length=500)
    created_at = DateTimeField(index=True)
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)


class TickRun(BaseModel):
    """One tick: as of when, when it really ran, how long, what it did (``/ops``, ``/metrics``)."""

    now = DateTimeField()
    started_at = DateTimeField(index=True)
    duration_ms = IntegerField()
    jobs = JSONField(default=dict)
    errors = JSONField(default=dict)
    sent = IntegerField(default=0)
    failed = IntegerField(default=0)


ALL_MODELS = [
    SchemaVersion, Person, Alias, Leave, Client, DeliveryManager, Org, Repo, Team,
    Membership, Sup, InboundMessage, ImapState, OutboundMessage, Effect, GithubCache,
    AutoReplyLog, SignInToken, TickRun,
]

