"""A dossier export: the options it was made with, its progress while it renders, and the PDF's hash."""

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._common import UTCDateTime, utcnow

if TYPE_CHECKING:
    from .cases import Case
    from .users import User

MODES = {"rules": "Platform-rules report", "dsa": "DSA Article 16 notice"}


class Dossier(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    document_id: Mapped[str] = mapped_column(String(40), unique=True)
    mode: Mapped[str] = mapped_column(String(10), default="rules")
    options: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default="queued")  # queued, running, done or failed
    stage: Mapped[str] = mapped_column(String(100), default="waiting to start")
    progress: Mapped[int] = mapped_column(default=0)  # percent
    error: Mapped[str] = mapped_column(Text, default="")
    entry_count: Mapped[int] = mapped_column(default=0)
    pages: Mapped[int | None] = mapped_column()
    size: Mapped[int | None] = mapped_column()
    sha256: Mapped[str | None] = mapped_column(String(64))
    seconds: Mapped[float | None] = mapped_column()
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The heartbeat: every progress update moves it; jobs.expire_stalled reads it.
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Asked for an evidence package too: the job then builds the ZIP around this dossier (services/package.py).
    with_package: Mapped[bool] = mapped_column(default=False)
    package_sha256: Mapped[str | None] = mapped_column(String(64))
    package_size: Mapped[int | None] = mapped_column()

    case: Mapped["Case"] = relationship()
    created_by: Mapped["User | None"] = relationship()

    @property
    def mode_label(self) -> str:
        return MODES.get(self.mode, self.mode)

    @property
    def filename(self) -> str:
        return f"{self.document_id}.pdf"

    @property
    def package_filename(self) -> str:
        return f"{self.document_id}-evidence-package.zip"
