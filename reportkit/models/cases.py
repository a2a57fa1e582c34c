"""A case gathers the accounts of one subject and the team (members with roles) working on it."""

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..platforms import LABELS
from ._common import UTCDateTime, utcnow

if TYPE_CHECKING:
    from .users import User

# Each role: its label and what it may do, in one sentence (forms, the members page and the README read this).
# Least right first: the form offers them in this order and defaults to the first.
ROLE_INFO: dict[str, tuple[str, str]] = {
    "viewer": ("Viewer", "Reads the case, its entries, evidence and dossiers; changes nothing."),
    "reviewer": ("Reviewer", "Reads, annotates, marks up screenshots and approves or sends back entries; "
                             "does not edit them."),
    "editor": ("Editor", "Adds and edits entries, evidence and clause mappings, and annotates; does not approve."),
    "editor-reviewer": ("Editor and reviewer", "Edits like an editor and approves like a reviewer, but never "
                                               "approves an entry they created or changed (four eyes)."),
    "owner": ("Owner", "Everything above, and manages the case, its members and invitations."),
}
ROLES = tuple(ROLE_INFO)

# What each role may do. Approving what one changed is refused by the four-eyes rule in services/reviews.py.
PERMISSIONS: dict[str, frozenset[str]] = {
    "owner": frozenset({"read", "edit", "annotate", "review", "manage"}),
    "editor": frozenset({"read", "edit", "annotate"}),
    "editor-reviewer": frozenset({"read", "edit", "annotate", "review"}),
    "reviewer": frozenset({"read", "annotate", "review"}),
    "viewer": frozenset({"read"}),
}


def role_label(role: str | None) -> str:
    return ROLE_INFO[role][0] if role in ROLE_INFO else (role or "")


# The case's settings a person changes (forms, API, services and `verify`'s replay read this list).
SETTINGS = ("title", "subject", "summary", "allow_new_accounts", "prepared_by_name", "prepared_by_org",
            "prepared_by_email", "confidentiality", "methodology", "public_interest", "dsa_explanation",
            "dsa_good_faith", "required_approvals", "require_two_factor")

# Platform key -> label, from the one registry of platforms (reportkit/platforms.py); forms and pages read this.
PLATFORMS = LABELS


class Case(db.Model):
    # Ids are never reused, even after a delete: the custody log refers to them.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    allow_new_accounts: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    entry_seq: Mapped[int] = mapped_column(default=0)

    # What the dossier prints about who prepares it and on what terms.
    prepared_by_name: Mapped[str] = mapped_column(String(200), default="")
    prepared_by_org: Mapped[str] = mapped_column(String(200), default="")
    prepared_by_email: Mapped[str] = mapped_column(String(254), default="")
    confidentiality: Mapped[str] = mapped_column(String(300), default="")
    methodology: Mapped[str] = mapped_column(Text, default="")
    public_interest: Mapped[str] = mapped_column(Text, default="")  # why X's public-interest exception fails
    dsa_explanation: Mapped[str] = mapped_column(Text, default="")
    dsa_good_faith: Mapped[bool] = mapped_column(default=False)
    required_approvals: Mapped[int] = mapped_column(default=1)  # four eyes: 1 or 2 approvers besides the author
    is_demo: Mapped[bool] = mapped_column(default=False)
    # Members must sign in with a second factor to open the case (services/access.check).
    require_two_factor: Mapped[bool] = mapped_column(default=False, server_default=false())

    accounts: Mapped[list["Account"]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="Account.id"
    )
    memberships: Mapped[list["Membership"]] = relationship(back_populates="case", cascade="all, delete-orphan")

    def role_of(self, user) -> str | None:
        for m in self.memberships:
            if m.user_id == user.id:
                return m.role
        return None


class Account(db.Model):
    """One account of the subject on one platform; handles change, so a stable id can be kept too."""

    __table_args__ = (UniqueConstraint("case_id", "platform", "handle_key", name="uq_account_case_handle"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(20))
    handle: Mapped[str] = mapped_column(String(200))
    handle_key: Mapped[str] = mapped_column(String(200))  # lower-cased handle for matching
    display_name: Mapped[str] = mapped_column(String(200), default="")
    profile_url: Mapped[str] = mapped_column(String(2048), default="")
    platform_account_id: Mapped[str] = mapped_column(String(100), default="")

    case: Mapped[Case] = relationship(back_populates="accounts")

    @property
    def label(self) -> str:
        return f"{PLATFORMS.get(self.platform, self.platform)} @{self.handle}"


class Membership(db.Model):
    __table_args__ = (UniqueConstraint("case_id", "user_id", name="uq_membership_case_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The name printed for this member in exports, chosen by them; empty: a pseudonym ("Reviewer 2").
    export_name: Mapped[str] = mapped_column(String(100), default="", server_default="")

    case: Mapped[Case] = relationship(back_populates="memberships")
    user: Mapped["User"] = relationship()
