"""Evidence files (stored by hash, never altered) and the derivatives made from them."""

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._common import UTCDateTime, utcnow

if TYPE_CHECKING:
    from .entries import Entry
    from .reviews import Region
    from .users import User

EVIDENCE_KINDS = {
    "screenshot": "Screenshot",
    "pdf": "PDF",
    "page": "Saved page (HTML/MHTML)",
    "web_archive": "Web archive (WARC/WACZ)",
    "video": "Video",
    "archive_link": "Archive link",
}


class Evidence(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)  # None for an archive link
    size: Mapped[int] = mapped_column(default=0)
    mime: Mapped[str] = mapped_column(String(100), default="")
    original_name: Mapped[str] = mapped_column(String(255), default="")
    archive_url: Mapped[str] = mapped_column(String(2048), default="")
    width: Mapped[int | None] = mapped_column()
    height: Mapped[int | None] = mapped_column()
    phash: Mapped[str | None] = mapped_column(String(16), index=True)  # perceptual hash, for near-duplicates
    # 256-bit difference hash of the trimmed print copy: what near-duplicates are found on (services/images.py)
    look_hash: Mapped[str | None] = mapped_column(String(64))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_reason: Mapped[str] = mapped_column(Text, default="")
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # bytes removed; the hash and reason stay
    purge_reason: Mapped[str] = mapped_column(Text, default="")
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    entry: Mapped["Entry"] = relationship(back_populates="evidence")
    uploaded_by: Mapped["User | None"] = relationship()
    derivatives: Mapped[list["Derivative"]] = relationship(back_populates="evidence", cascade="all, delete-orphan")
    regions: Mapped[list["Region"]] = relationship(back_populates="evidence", cascade="all, delete-orphan",
                                                   order_by="Region.id")

    @property
    def print_copy(self) -> "Derivative | None":
        return next((d for d in self.derivatives if d.purpose == "print"), None)

    @property
    def marked_copy(self) -> "Derivative | None":
        """The copy with highlights outlined and redactions filled, when regions were drawn."""
        return next((d for d in self.derivatives if d.purpose == "marked"), None)

    @property
    def dossier_copy(self) -> "Derivative | None":
        return self.marked_copy or self.print_copy

    @property
    def is_file(self) -> bool:
        return self.sha256 is not None and self.purged_at is None

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None and self.purged_at is None


class Derivative(db.Model):
    """A file made from an original (e.g. the print copy); it records its parent's hash and what was done."""

    id: Mapped[int] = mapped_column(primary_key=True)
    evidence_id: Mapped[int] = mapped_column(ForeignKey("evidence.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))  # "print" | "marked"
    sha256: Mapped[str] = mapped_column(String(64))
    parent_sha256: Mapped[str] = mapped_column(String(64))
    mime: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column()
    width: Mapped[int] = mapped_column()
    height: Mapped[int] = mapped_column()
    operations: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    evidence: Mapped[Evidence] = relationship(back_populates="derivatives")


class NearDuplicate(db.Model):
    """A screenshot that looks like one of another entry of the same case (perceptual hashes `distance` bits
    apart): found once, when the later one is uploaded, and shown on both entries until a person with edit
    rights says they are not the same post (recorded in the custody log)."""

    __table_args__ = (UniqueConstraint("evidence_id", "similar_id", name="uq_near_duplicate_evidence_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    evidence_id: Mapped[int] = mapped_column(ForeignKey("evidence.id", ondelete="CASCADE"), index=True)  # the later
    similar_id: Mapped[int] = mapped_column(ForeignKey("evidence.id", ondelete="CASCADE"), index=True)  # the earlier
    distance: Mapped[int] = mapped_column()  # bits that differ, of 256 (services/images.NEAR_DUPLICATE_BITS)
    found_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    dismissed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dismissed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    evidence: Mapped[Evidence] = relationship(foreign_keys=[evidence_id])
    similar: Mapped[Evidence] = relationship(foreign_keys=[similar_id])
