"""The policy catalogue: platform -> policy -> clause, loaded from the data file shipped in the package."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._common import UTCDateTime, utcnow

# A Mastodon server's address is part of its policy's key ("mastodon/<host>"), which is at most 120 characters.
MAX_SERVER_HOST = 100


class Platform(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="platform")  # platform | legal_basis
    rules_url: Mapped[str] = mapped_column(String(2048), default="")
    custom: Mapped[bool] = mapped_column(default=False)

    policies: Mapped[list["Policy"]] = relationship(back_populates="platform", order_by="Policy.id")


class Policy(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platform.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)  # "x/violent_content"
    title: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(2048), default="")
    checked_on: Mapped[str] = mapped_column(String(40), default="")  # the date its text was checked
    page_date: Mapped[str] = mapped_column(String(40), default="")
    former_titles: Mapped[list] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    custom: Mapped[bool] = mapped_column(default=False)
    # A Mastodon server's own rules: the server's address (lower case, IDNA). Who added them: the actor of the
    # policy's "server_rules.added" CatalogueEvent.
    server_host: Mapped[str | None] = mapped_column(String(120), index=True)

    platform: Mapped[Platform] = relationship(back_populates="policies")
    clauses: Mapped[list["Clause"]] = relationship(back_populates="policy", order_by="Clause.id")


class Clause(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policy.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)  # "x/violent_content/violent_threats"
    heading: Mapped[str] = mapped_column(String(300))
    group: Mapped[str] = mapped_column(String(200), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    custom: Mapped[bool] = mapped_column(default=False)

    policy: Mapped[Policy] = relationship(back_populates="clauses")

    @property
    def path(self) -> str:
        """The breadcrumb a reader sees: X › Violent Content › Violent Threats."""
        return f"{self.policy.platform.name.split(' (')[0].split(' –')[0]} › {self.policy.title} › {self.heading}"


class CatalogueEvent(db.Model):
    """A change of the catalogue made by a person (Mastodon server rules): no case owns the catalogue, so its
    changes are logged here, with what the policy said before and after."""

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    via: Mapped[str] = mapped_column(String(20), default="page")  # page | command line (no actor)
    action: Mapped[str] = mapped_column(String(40))  # server_rules.added | server_rules.edited | server_rules.deleted
    policy_key: Mapped[str] = mapped_column(String(120))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
