"""A catalogued post (entry), the clauses it violates and its tags."""

from datetime import UTC, datetime
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._common import UTCDateTime, utcnow

if TYPE_CHECKING:
    from .cases import Account, Case
    from .evidence import Evidence
    from .policies import Clause
    from .reviews import Annotation, Approval, Transition
    from .users import User

POSTED_AT_SOURCES = {"id": "derived from the post id", "person": "typed by a person"}
CAPTURED_AT_SOURCES = {"upload": "from the first screenshot's upload", "person": "typed by a person"}
CAPTURE_METHODS = {"manual_screenshot": "Manual screenshot", "file_upload": "File upload", "automated": "Automated",
                   "browser_extension": "Browser extension"}
TRANSLATION_METHODS = {"human": "Human", "machine": "Machine"}
# What the team asks the platform to do about a post: the one list forms, API, services, pages and PDF read.
REQUESTED_ACTIONS = {  # the strongest first: summaries list an account's requests in this order
    "suspend_account": "Suspend the account",
    "remove": "Remove the post",
    "restrict_in_countries": "Restrict the post in named countries",
    "label": "Label the post",
}
# How urgent a post is for the platform, 1 to 4 (0: not rated), each with the sentence a reader acts on.
SEVERITIES = {
    4: ("Critical", "An imminent risk to someone's life or safety: act at once."),
    3: ("High", "Threatens, incites against or exposes identifiable people."),
    2: ("Medium", "Harassing or hateful; harm is likely if it spreads."),
    1: ("Low", "Breaks the rules; no one is at immediate risk."),
}
MAX_TEXT = 50_000  # characters of a long text field (the post's text, its translation, notes)


class Field(NamedTuple):
    """What one entry field holds: `kind` is text (several lines), line (one line, at most `max` characters),
    language (a BCP-47 tag), choice (a key of `choices`, or empty), severity (0 or a key of SEVERITIES),
    flag (true/false) or time (an aware datetime, or none). `label` is its name in messages."""
    label: str
    kind: str
    max: int = 0
    choices: tuple = ()


# The fields a person sets on an entry: the one list that the form, the API, the import, the snapshot (custody
# log), replay and the OpenAPI document read. services/entries.field_problems validates every value by it.
FIELDS: dict[str, Field] = {
    "text": Field("original text", "text", MAX_TEXT),
    "language": Field("language", "language", 35),
    "translation": Field("translation", "text", MAX_TEXT),
    "translator": Field("translator", "line", 200),
    "translation_method": Field("translation method", "choice", 10, tuple(TRANSLATION_METHODS)),
    "notes": Field("notes", "text", MAX_TEXT),
    "graphic": Field("graphic", "flag"),
    "private_info": Field("private information", "flag"),
    "captured_at": Field("capture time", "time"),
    "captured_by": Field("captured by", "line", 200),
    "capture_method": Field("capture method", "choice", 20, tuple(CAPTURE_METHODS)),
    "logged_in_as": Field("logged in as", "line", 200),
    "network_route": Field("network route", "line", 200),
    "legal_country": Field("legal ground's country", "line", 100),
    "legal_law": Field("law", "line", 300),
    "legal_article": Field("article", "line", 100),
    "requested_action": Field("requested action", "choice", 30, tuple(REQUESTED_ACTIONS)),
    "action_countries": Field("countries", "line", 200),
    "severity": Field("severity", "severity", choices=tuple(sorted(SEVERITIES))),
}
EDITABLE = tuple(FIELDS)


class Entry(db.Model):
    __table_args__ = (
        UniqueConstraint("case_id", "canonical_url", name="uq_entry_case_canonical"),
        UniqueConstraint("case_id", "number", name="uq_entry_case_number"),
        Index("ix_entry_case_posted", "case_id", "posted_at"),
        Index("ix_entry_case_post", "case_id", "platform", "post_id"),
        Index("ix_entry_case_status", "case_id", "status"),
        {"sqlite_autoincrement": True},  # ids are never reused: the custody log refers to them
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column()  # 1, 2, 3 … within the case
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"), index=True)
    submitted_url: Mapped[str] = mapped_column(String(2048))
    canonical_url: Mapped[str] = mapped_column(String(2048))
    platform: Mapped[str] = mapped_column(String(20), index=True)
    post_id: Mapped[str] = mapped_column(String(100), default="")
    handle: Mapped[str] = mapped_column(String(200), default="")
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    posted_at_source: Mapped[str] = mapped_column(String(10), default="")  # "id" | "person" | ""
    posted_at_warning = ""  # not stored: set by a write whose typed time lost to the id's (services/entries.py)
    posted_at_conflict = None  # not stored: (typed, id's) times of that write

    text: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(FIELDS["language"].max), default="", index=True)
    translation: Mapped[str] = mapped_column(Text, default="")
    translator: Mapped[str] = mapped_column(String(FIELDS["translator"].max), default="")
    translation_method: Mapped[str] = mapped_column(String(FIELDS["translation_method"].max), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    graphic: Mapped[bool] = mapped_column(default=False)
    private_info: Mapped[bool] = mapped_column(default=False)

    captured_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    captured_by: Mapped[str] = mapped_column(String(FIELDS["captured_by"].max), default="")
    # "upload": captured_at/captured_by defaulted from the first screenshot's upload; "person": typed; "": none
    captured_at_source: Mapped[str] = mapped_column(String(10), default="", server_default="")
    capture_method: Mapped[str] = mapped_column(String(FIELDS["capture_method"].max), default="")
    logged_in_as: Mapped[str] = mapped_column(String(FIELDS["logged_in_as"].max), default="")
    network_route: Mapped[str] = mapped_column(String(FIELDS["network_route"].max), default="")

    legal_country: Mapped[str] = mapped_column(String(FIELDS["legal_country"].max), default="")
    legal_law: Mapped[str] = mapped_column(String(FIELDS["legal_law"].max), default="")
    legal_article: Mapped[str] = mapped_column(String(FIELDS["legal_article"].max), default="")

    # What the team asks for (REQUESTED_ACTIONS), the countries a restriction covers ("DE, FR": ISO 3166-1
    # alpha-2, only with restrict_in_countries) and how severe the post is (SEVERITIES; 0 = not rated).
    requested_action: Mapped[str] = mapped_column(String(FIELDS["requested_action"].max), default="",
                                                  server_default="")
    action_countries: Mapped[str] = mapped_column(String(FIELDS["action_countries"].max), default="",
                                                  server_default="")
    severity: Mapped[int] = mapped_column(default=0, server_default="0")

    status: Mapped[str] = mapped_column(String(20), default="draft")
    review_round: Mapped[int] = mapped_column(default=1)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # last sent to review, for the queue
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # never deleted: withdrawn, with a reason
    withdrawn_reason: Mapped[str] = mapped_column(Text, default="")

    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    case: Mapped["Case"] = relationship()
    account: Mapped["Account | None"] = relationship()
    created_by: Mapped["User | None"] = relationship()
    violations: Mapped[list["Violation"]] = relationship(
        back_populates="entry", cascade="all, delete-orphan", order_by="Violation.id"
    )
    tags: Mapped[list["Tag"]] = relationship(cascade="all, delete-orphan", order_by="Tag.name")
    evidence: Mapped[list["Evidence"]] = relationship(back_populates="entry", order_by="Evidence.id")
    transitions: Mapped[list["Transition"]] = relationship(cascade="all, delete-orphan", order_by="Transition.id")
    approvals: Mapped[list["Approval"]] = relationship(cascade="all, delete-orphan", order_by="Approval.id")
    annotations: Mapped[list["Annotation"]] = relationship(cascade="all, delete-orphan", order_by="Annotation.id")

    @property
    def sealed(self) -> bool:
        """Approval seals an entry: changing it needs a reopen with a reason."""
        return self.status == "approved"

    def snapshot(self) -> dict:
        """The fields a person sets, as the custody log records them (times in UTC): `verify` replays these."""
        values = {name: getattr(self, name) for name in EDITABLE}
        values.update(account=self.account.label if self.account else "", posted_at=self.posted_at,
                      tags=", ".join(sorted(self.tag_names)), captured_at_source=self.captured_at_source or "")
        return {k: v.astimezone(UTC).isoformat() if isinstance(v, datetime) else v for k, v in values.items()}

    @property
    def request_label(self) -> str:
        """“Restrict the post in named countries: DE, FR”, or "" when no action is requested."""
        label = REQUESTED_ACTIONS.get(self.requested_action, "")
        return f"{label}: {self.action_countries}" if label and self.action_countries else label

    @property
    def severity_label(self) -> str:
        return SEVERITIES[self.severity][0] if self.severity in SEVERITIES else ""

    @property
    def current_approvals(self) -> list["Approval"]:
        return [a for a in self.approvals if a.review_round == self.review_round]

    @property
    def tag_names(self) -> list[str]:
        return [t.name for t in self.tags]

    @property
    def thumbnail(self) -> "Evidence | None":
        return next((e for e in self.evidence if e.print_copy is not None), None)


class Violation(db.Model):
    """One clause an entry breaks, with the reason written by a person."""

    __table_args__ = (UniqueConstraint("entry_id", "clause_id", name="uq_violation_entry_clause"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"), index=True)
    clause_id: Mapped[int] = mapped_column(ForeignKey("clause.id", ondelete="RESTRICT"), index=True)
    rationale: Mapped[str] = mapped_column(Text)
    # The rationale in English when it was written in another language: printed next to it in the dossier.
    rationale_en: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    entry: Mapped[Entry] = relationship(back_populates="violations")
    clause: Mapped["Clause"] = relationship()


class Tag(db.Model):
    __table_args__ = (UniqueConstraint("entry_id", "name", name="uq_tag_entry_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60), index=True)
