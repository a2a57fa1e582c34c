"""The demo case: loads on an empty database, twice without duplicates, renders a dossier, resets cleanly."""

from sqlalchemy import func, select

from reportkit.extensions import db
from reportkit.models import Case, Decision, Entry, Filing, Observation, User
from reportkit.services.outcomes import outcomes


def count(model) -> int:
    return db.session.scalar(select(func.count(model.id)))


def test_demo_loads_once_and_resets_only_itself(runner, make_user, make_case, make_entry, app):
    mine = make_user("me@example.org")
    other_case = make_case(mine, title="My real case")
    make_entry(other_case, mine)
    result = runner.invoke(args=["demo", "--owner", "me@example.org"])
    assert result.exit_code == 0, result.output
    assert "25 fictional posts" in result.output and result.output.count("(shown once)") == 2
    demo = db.session.scalar(select(Case).where(Case.is_demo.is_(True)))
    assert demo.role_of(mine) == "owner" and len(demo.accounts) == 3
    statuses = {s for (s,) in db.session.execute(select(Entry.status).where(Entry.case_id == demo.id))}
    assert statuses >= {"draft", "ready", "changes_requested", "approved", "rejected"}
    languages = {lang for (lang,) in db.session.execute(select(Entry.language).where(Entry.case_id == demo.id))}
    assert {"fa", "ar", "en"} <= languages
    x = next(r for r in outcomes([demo.id]) if r.platform == "x")  # the first minute shows reporting too
    assert x.count("filed") >= 3 and x.actions.get("removed") and x.count("no_action") == 1
    assert x.count("still_online") == 1 and count(Observation) == 2
    before = (count(Case), count(Entry), count(User))
    again = runner.invoke(args=["demo"])
    assert "already loaded" in again.output and (count(Case), count(Entry), count(User)) == before

    reset = runner.invoke(args=["demo", "--reset"])
    assert reset.exit_code == 0 and "Removed 1 demo case" in reset.output
    db.session.expire_all()
    assert [c.title for c in db.session.scalars(select(Case))] == ["My real case"]
    assert count(Entry) == 1 and {u.email for u in db.session.scalars(select(User))} == {"me@example.org"}
    assert (count(Filing), count(Decision), count(Observation)) == (0, 0, 0)


def test_demo_dossier_renders(runner, app, tmp_path):
    from pypdf import PdfReader

    assert runner.invoke(args=["demo"]).exit_code == 0
    demo = db.session.scalar(select(Case).where(Case.is_demo.is_(True)))
    out = tmp_path / "demo.pdf"
    result = runner.invoke(args=["export-dossier", str(demo.id), "-o", str(out), "--approved-only"])
    assert result.exit_code == 0, result.output
    text = "\n".join(p.extract_text() for p in PdfReader(str(out)).pages)
    assert "Kaveh Nadershahi (fictional minister)" in text and "Approved by Demo Reviewer" in text
    assert "خبرنگاران" in text  # Persian post text, extractable


def test_ids_are_not_reused_after_reset(runner, make_user, make_case):
    from reportkit.models import Event

    assert runner.invoke(args=["demo"]).exit_code == 0
    demo_id = db.session.scalar(select(Case.id).where(Case.is_demo.is_(True)))
    assert runner.invoke(args=["demo", "--reset"]).exit_code == 0
    new = make_case(make_user("new@example.org"), title="After the demo")
    assert new.id > demo_id  # the custody log of the removed demo never mixes with a new case's
    assert [e.action for e in db.session.scalars(select(Event).where(Event.case_id == new.id))] == ["case.created"]
