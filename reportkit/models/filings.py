"""Filings: which entries were reported where, with what document, and what the platform did about it.

The vocabulary of decisions is the EU DSA Transparency Database's (its statements of reasons), so a team's
figures line up with what platforms publish. A filing keeps the SHA-256 of the dossier it was sent with: the
record proves exactly what was sent, even after the dossier file is purged.
"""

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Column, ForeignKey, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._common import UTCDateTime, utcnow

if TYPE_CHECKING:
    from .dossiers import Dossier
    from .entries import Entry
    from .users import User

CHANNELS = {
    "in_app": "The platform's in-app report form",
    "dsa_notice": "The platform's EU DSA Article 16 notice form",
    "trusted_flagger": "A trusted-flagger channel",
    "email": "An email to the trust-and-safety team",
    "authority": "A law-enforcement or regulator portal",
    "other": "Other",
}
# decision_visibility, decision_account, decision_monetary, decision_provision of the Transparency Database
VISIBILITY = {"removed": "Removed", "disabled": "Disabled", "demoted": "Demoted",
              "age_restricted": "Age-restricted", "interaction_restricted": "Interaction restricted",
              "labelled": "Labelled", "other": "Other restriction"}
ACCOUNT = {"suspended": "Account suspended", "terminated": "Account terminated"}
MONETARY = {"suspended": "Monetisation suspended", "terminated": "Monetisation terminated", "other": "Other"}
PROVISION = {"partial_suspension": "Service partly suspended", "total_suspension": "Service suspended",
             "partial_termination": "Service partly terminated", "total_termination": "Service terminated"}
GROUNDS = {"illegal": "Illegal content", "terms": "Incompatible with the terms and conditions"}
# The DSA path (Art. 20, 21, 53) and, outside the EU, the same steps in plain words.
APPEAL_KINDS = {"internal_complaint": "Internal complaint (DSA Art. 20)",
                "out_of_court": "Out-of-court dispute settlement (DSA Art. 21)",
                "coordinator": "Complaint to the Digital Services Coordinator (DSA Art. 53)",
                "appeal": "Appeal", "escalation": "Escalation"}
APPEAL_OUTCOMES = {"pending": "Pending", "upheld": "Decision upheld", "reversed": "Decision reversed",
                   "partly_reversed": "Partly reversed", "withdrawn": "Withdrawn"}

filing_entry = Table(
    "filing_entry", db.metadata,
    Column("filing_id", ForeignKey("filing.id", ondelete="CASCADE"), primary_key=True),
    Column("entry_id", ForeignKey("entry.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Filing(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(30))
    channel: Mapped[str] = mapped_column(String(20))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    reference: Mapped[str] = mapped_column(String(200), default="")  # the platform's ticket or report number
    # The dossier it was sent with; its hash stays when the dossier row or file is gone. None: without a dossier.
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossier.id", ondelete="SET NULL"))
    document_id: Mapped[str] = mapped_column(String(40), default="")
    document_sha256: Mapped[str] = mapped_column(String(64), default="")
    requested_action: Mapped[str] = mapped_column(String(30), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # DSA Art. 16(4): receipt confirmed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    entries: Mapped[list["Entry"]] = relationship(secondary=filing_entry, order_by="Entry.number")
    decisions: Mapped[list["Decision"]] = relationship(back_populates="filing", cascade="all, delete-orphan",
                                                       order_by="Decision.id")
    appeals: Mapped[list["Appeal"]] = relationship(back_populates="filing", cascade="all, delete-orphan",
                                                   order_by="Appeal.id")
    dossier: Mapped["Dossier | None"] = relationship()
    filed_by: Mapped["User | None"] = relationship()
    files: Mapped[list["FilingFile"]] = relationship(cascade="all, delete-orphan", order_by="FilingFile.id")

    @property
    def channel_label(self) -> str:
        return CHANNELS.get(self.channel, self.channel)


class Decision(db.Model):
    """What the platform decided about one entry of a filing (a decision for all entries is one row each)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    filing_id: Mapped[int] = mapped_column(ForeignKey("filing.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"), index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when the answer was received
    visibility: Mapped[str] = mapped_column(String(30), default="")
    account: Mapped[str] = mapped_column(String(20), default="")
    monetary: Mapped[str] = mapped_column(String(20), default="")
    provision: Mapped[str] = mapped_column(String(30), default="")
    territorial_scope: Mapped[list] = mapped_column(JSON, default=list)  # ISO 3166-1 codes: a geo-block
    ground: Mapped[str] = mapped_column(String(10), default="")
    explanation: Mapped[str] = mapped_column(Text, default="")  # the statement of reasons, pasted
    automated: Mapped[bool | None] = mapped_column()
    no_action: Mapped[bool] = mapped_column(default=False)  # "no violation found"
    no_answer: Mapped[bool] = mapped_column(default=False)
    statement_id: Mapped[str] = mapped_column(String(200), default="")  # Transparency Database id or link
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    filing: Mapped[Filing] = relationship(back_populates="decisions")


class Appeal(db.Model):
    """A step after a decision: an internal complaint, a dispute settlement body, the coordinator, or (outside
    the EU) an appeal or escalation. `entry_id` None: about every entry of the filing."""

    id: Mapped[int] = mapped_column(primary_key=True)
    filing_id: Mapped[int] = mapped_column(ForeignKey("filing.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reference: Mapped[str] = mapped_column(String(200), default="")
    outcome: Mapped[str] = mapped_column(String(20), default="pending")
    outcome_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notes: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    filing: Mapped[Filing] = relationship(back_populates="appeals")

    @property
    def kind_label(self) -> str:
        return APPEAL_KINDS.get(self.kind, self.kind)


FILE_KINDS = {"confirmation": "The platform's confirmation (email or screenshot of the form)",
              "statement": "The platform's statement of reasons", "appeal": "A file of an appeal or escalation"}


class FilingFile(db.Model):
    """A file of a filing, kept by hash like evidence (services/byte_uses.py lists it): the confirmation, a
    decision's statement of reasons, an appeal's papers."""

    id: Mapped[int] = mapped_column(primary_key=True)
    filing_id: Mapped[int] = mapped_column(ForeignKey("filing.id", ondelete="CASCADE"), index=True)
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decision.id", ondelete="CASCADE"))
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeal.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    mime: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column()
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
