"""The policy catalogue: platform -> policy -> clause, loaded from the data file shipped in the package."""

from sqlalchemy import ForeignKey, JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db


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
