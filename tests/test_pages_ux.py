"""Pages an activist should not have to fight (issue 14): the clause picker takes the words it suggests, a refusal
keeps what was typed next to its field, uploads say size and limit, the entry page puts the next step first,
the activity log reads as sentences. Real database, real requests."""

import io
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from reportkit.entries.forms import match_clauses
from reportkit.extensions import db
from reportkit.models import Clause, Event, Violation
from reportkit.services import activity
from reportkit.services.entries import add_violation
from reportkit.services.reviews import transition

from .conftest import png_bytes

X_URL = "https://x.com/leader_en/status/1453347171011694596"
RATIONALE = "Threatens to kill a named journalist: «تو را می‌کشیم»."


@pytest.fixture
def owner(make_user):
    return make_user("owner@example.org", name="Rana")


@pytest.fixture
def entry(make_case, make_entry, owner):
    case = make_case(owner, accounts=({"platform": "x", "handle": "leader_en"},
                                      {"platform": "telegram", "handle": "leader_fa"}))
    return make_entry(case, owner, X_URL)


@pytest.fixture
def client(app, login, owner):
    return login(app.test_client(), owner)


def _keys(entry_id):
    return sorted(db.session.scalars(select(Clause.key).join(Violation).where(Violation.entry_id == entry_id)))


# The clause picker ---------------------------------------------------------------------------------------------

def test_the_placeholders_words_map_the_clause(client, entry):
    page = client.get(f"/entries/{entry.id}").get_data(as_text=True)
    assert 'placeholder="e.g. violent threats"' in page
    resp = client.post(f"/entries/{entry.id}/violations", data={"clause": "Violent threats", "rationale": RATIONALE})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/entries/{entry.id}#violations")
    assert _keys(entry.id) == ["x/violent_content/violent_threats"]
    assert db.session.scalar(select(Violation.rationale).where(Violation.entry_id == entry.id)) == RATIONALE


def test_a_key_still_works_and_words_only_match_the_posts_platform(client, entry):
    resp = client.post(f"/entries/{entry.id}/violations", data={"clause": "x/hateful_conduct/dehumanization",
                                                                 "rationale": "Calls them vermin."})
    assert resp.status_code == 302
    x_clauses = db.session.scalars(select(Clause).where(Clause.key.like("x/%"))).all()
    tiktok = db.session.scalars(select(Clause).where(Clause.key.like("tiktok/%"))).all()
    assert [c.key for c in match_clauses("violent threats", x_clauses)] == ["x/violent_content/violent_threats"]
    assert all(c.key.startswith("tiktok/") for c in match_clauses("threats", tiktok))
    assert match_clauses("   ", x_clauses) == [] and match_clauses("zzzz qqqq", x_clauses) == []


def _field_error(page: str, field: str) -> str:
    tag = re.search(rf'<(?:input|textarea)[^>]*\bid="{field}"[^>]*>', page).group(0)
    assert 'aria-invalid="true"' in tag, tag
    described = re.search(r'aria-describedby="([^"]+)"', tag).group(1).split()
    assert f"{field}-error" in described, described
    return re.search(rf'<div class="error" id="{field}-error" role="alert">(.*?)</div>', page, re.S).group(1)


@pytest.mark.parametrize(("typed", "said"), [
    ("violent", "fits"),  # several X clauses have the word: they are named, none is guessed
    ("no such words at all", "There is no policy clause"),
])
def test_a_refusal_keeps_the_rationale_next_to_the_field(client, entry, typed, said):
    resp = client.post(f"/entries/{entry.id}/violations", data={"clause": typed, "rationale": RATIONALE})
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert said in _field_error(page, "clause")
    assert " autofocus " in re.search(r'<input[^>]*id="clause"[^>]*>', page).group(0)  # the page opens there
    assert f'action="/entries/{entry.id}/violations#violations"' in page
    textarea = re.search(r'<textarea[^>]*id="rationale"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    assert "Threatens to kill a named journalist" in textarea and "تو را می‌کشیم" in textarea
    assert f'value="{typed}"' in page
    assert _keys(entry.id) == []


def test_another_platforms_clause_is_refused_next_to_the_field(client, entry):
    resp = client.post(f"/entries/{entry.id}/violations", data={"clause": "tiktok/violent_criminal_behavior/threats",
                                                                 "rationale": RATIONALE})
    assert resp.status_code == 422 and "TikTok" in _field_error(resp.get_data(as_text=True), "clause")
    assert _keys(entry.id) == []


def test_a_missing_rationale_is_said_at_the_rationale(client, entry):
    resp = client.post(f"/entries/{entry.id}/violations", data={"clause": "violent threats", "rationale": " "})
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert _field_error(page, "rationale") and 'value="violent threats"' in page
    assert " autofocus " in re.search(r'<textarea[^>]*id="rationale"[^>]*>', page).group(0)


def test_reloading_the_refused_page_goes_back_to_the_entry(client, entry):
    resp = client.get(f"/entries/{entry.id}/violations")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/entries/{entry.id}#violations")


def test_the_list_offers_the_posts_platform_then_legal_grounds(client, entry):
    page = client.get(f"/entries/{entry.id}").get_data(as_text=True)
    options = re.findall(r'<option value="([^"]+)" data-platform="[^"]*" data-policy="[^"]*" data-heading="[^"]*" '
                         r'data-summary="[^"]*" data-own="([01])">', page)
    keys = [k for k, _ in options]
    assert keys and keys[0].startswith("x/") and any(k.startswith("eu_dsa/") for k in keys)
    assert not any(k.startswith(("youtube/", "tiktok/", "meta/", "telegram/")) for k in keys)
    first_legal = next(i for i, k in enumerate(keys) if k.startswith("eu_dsa/"))
    assert all(own == "1" for _, own in options[:first_legal]) and all(own == "0" for _, own in options[first_legal:])


# The entry page ------------------------------------------------------------------------------------------------

def test_a_fresh_draft_shows_the_next_step_first_and_no_reason_box(client, entry):
    page = client.get(f"/entries/{entry.id}").get_data(as_text=True)
    assert "<th>Platform</th><td>X / Twitter</td>" in page
    assert page.index('aria-label="Next steps"') < page.index('id="evidence"') < page.index('id="violations"') \
        < page.index('id="review"') < page.index('id="notes"')
    for to in ("rejected", "changes_requested"):  # only inside a closed <details>: shown when that move is chosen
        if f'id="reason-{to}"' in page:
            before = page[:page.index(f'id="reason-{to}"')]
            assert before.rindex("<details") > before.rindex("</details>") if "</details>" in before else True
            assert re.search(rf'<details class="move move-reason" id="move-{to}">', page)
    assert 'id="reason-rejected"' in page  # the owner may reject a draft: the box exists, folded


def test_once_evidence_and_clause_are_there_review_comes_first(client, entry, owner, app):
    add_violation(owner, entry, "x/violent_content/violent_threats", RATIONALE)
    client.post(f"/evidence/upload/{entry.id}", data={"files": (io.BytesIO(png_bytes()), "shot.png")})
    page = client.get(f"/entries/{entry.id}").get_data(as_text=True)
    assert 'aria-label="Next steps"' not in page
    assert page.index('id="review"') < page.index('id="evidence"')


# Uploads -------------------------------------------------------------------------------------------------------

def test_the_upload_form_carries_the_limit_and_the_types(client, entry, app):
    page = client.get(f"/entries/{entry.id}").get_data(as_text=True)
    assert f'data-max-bytes="{app.config["MAX_CONTENT_LENGTH"]}"' in page and 'data-max-label="50.0 MB"' in page
    assert re.search(r'<input[^>]*type="file"[^>]*accept="[^"]*image/png[^"]*\.wacz', page) or \
        re.search(r'<input[^>]*accept="[^"]*image/png[^"]*\.wacz[^"]*"[^>]*type="file"', page)


@pytest.fixture
def small(make_app, make_user, make_case, make_entry, login):
    app = make_app(MAX_CONTENT_LENGTH=4096)
    with app.app_context():
        user = make_user("owner@example.org")
        case = make_case(user)
        yield app, login(app.test_client(), user), make_entry(case, user, X_URL)
        db.session.remove()
        db.engine.dispose()


def test_an_upload_over_the_limit_is_the_entry_page_with_size_and_limit(small):
    _app, client, entry = small
    resp = client.post(f"/evidence/upload/{entry.id}", data={"files": (io.BytesIO(b"x" * 10_000), "big.png")})
    assert resp.status_code == 413
    page = resp.get_data(as_text=True)
    said = _field_error(page, "files")
    assert "is larger than the 4.0 KB limit" in said and re.search(r"This upload \(\d+\.\d KB\)", said)
    assert "Nothing was saved" in said and f"Entry #{entry.number}" in page
    assert db.session.scalar(select(Event.id).where(Event.action == "evidence.uploaded")) is None
    resp = client.post(f"/evidence/upload/{entry.id}", data={"files": (io.BytesIO(b"x" * 10_000), "big.png")},
                       headers={"Accept": "application/json"})
    assert resp.status_code == 413 and "4.0 KB limit" in resp.get_json()["error"]["message"]


def test_an_upload_over_the_limit_tells_an_outsider_nothing(small, make_user, login):
    app, _client, entry = small
    outsider = login(app.test_client(), make_user("out@example.org"))
    for entry_id in (entry.id, 999_999):
        resp = outsider.post(f"/evidence/upload/{entry_id}", data={"files": (io.BytesIO(b"x" * 10_000), "a.png")})
        assert resp.status_code == 413 and b"Entry #" not in resp.data and b"larger than the" in resp.data


def test_a_wrong_type_is_said_next_to_the_file_field(client, entry):
    resp = client.post(f"/evidence/upload/{entry.id}",
                       data={"files": (io.BytesIO(b"just some notes, not a screenshot\n" * 20), "notes.txt")})
    assert resp.status_code == 415
    said = _field_error(resp.get_data(as_text=True), "files")
    assert "notes.txt" in said and "not accepted" in said and "PNG" in said
    resp = client.post(f"/evidence/upload/{entry.id}", headers={"Accept": "application/json"},
                       data={"files": (io.BytesIO(b"just some notes\n" * 20), "notes.txt")})
    assert resp.status_code == 415 and "not accepted" in resp.get_json()["results"][0]["error"]
    page = client.get(f"/entries/{entry.id}").get_data(as_text=True)
    assert "not accepted" not in page  # a refusal the script showed is not flashed again later


def test_one_good_and_one_bad_file_keeps_the_good_one_and_says_the_bad(client, entry):
    resp = client.post(f"/evidence/upload/{entry.id}", data={"files": [
        (io.BytesIO(png_bytes()), "shot.png"), (io.BytesIO(b"plain text\n" * 30), "notes.txt")]})
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert "Stored shot.png" in page and "notes.txt" in _field_error(page, "files")


# Activity ------------------------------------------------------------------------------------------------------

def _kinds_in_code() -> set[str]:
    """Every event kind a `custody.record(actor, case_id, "kind", …)` call in the package writes."""
    root = Path(__file__).resolve().parents[1] / "reportkit"
    kinds = set()
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        kinds |= set(re.findall(r'\brecord\(\s*[^,()]+(?:\([^()]*\))?,\s*[^,]+,\s*"([a-z_]+\.[a-z_.]+)"', text))
    return kinds


def test_every_kind_of_event_in_the_code_has_a_sentence():
    kinds = _kinds_in_code()
    assert {"entry.created", "status.changed", "clause.mapped", "evidence.uploaded", "member.added"} <= kinds
    assert kinds - set(activity.SENTENCES) == set()


def test_an_unknown_kind_gets_a_readable_sentence(app):
    ev = Event(case_id=1, entry_id=None, actor_id=None, actor_label="command line", action="thing.frobbed",
               target="case:1", data={"x": 1}, explanation="")
    assert activity.describe(ev).text == "Command line recorded “thing frobbed” for case:1."
    odd = Event(case_id=1, entry_id=None, actor_id=None, actor_label="command line", action="status.changed",
                target="entry:3", data={"unexpected": True}, explanation="")
    assert "recorded “status changed”" in activity.describe(odd).text  # an odd payload: generic, not a 500


def test_the_activity_page_reads_as_sentences_with_links(client, entry, owner):
    add_violation(owner, entry, "x/violent_content/violent_threats", RATIONALE)
    client.post(f"/evidence/upload/{entry.id}", data={"files": (io.BytesIO(png_bytes()), "shot.png")})
    transition(owner, entry, "ready")
    page = client.get(f"/cases/{entry.case_id}/activity").get_data(as_text=True)
    assert f'Rana moved <a href="/entries/{entry.id}#review">entry #{entry.number}</a> from Draft to Ready for ' \
           'review.' in page
    assert f'Rana mapped <a href="/entries/{entry.id}#violations">entry #{entry.number}</a> to the clause ' \
           'X › Violent Content › Violent Threats.' in page
    assert f'Rana added <a href="/entries/{entry.id}">entry #{entry.number}</a>: a post on X / Twitter' in page
    assert "Rana opened the case “Case A” with 2 accounts." in page
    assert "<summary>Raw event</summary>" in page and "status.changed · entry:1" in page
    raw = client.get(f"/cases/{entry.case_id}/activity?raw=1").get_data(as_text=True)
    assert "<td>status.changed</td>" in raw and "Show as sentences" in raw and "Rana moved" not in raw


def test_activity_sentences_escape_what_people_typed(client, entry, owner):
    from reportkit.services.reviews import add_region  # noqa: F401 - a label is typed text
    hostile = '<img src=x onerror=alert(1)>'
    client.post(f"/evidence/upload/{entry.id}", data={"files": (io.BytesIO(png_bytes()), hostile + ".png")})
    page = client.get(f"/cases/{entry.case_id}/activity").get_data(as_text=True)
    assert hostile not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_the_case_page_folds_its_filters_in_details(client, entry):
    page = client.get(f"/cases/{entry.case_id}").get_data(as_text=True)
    assert re.search(r'<details class="card filters-box" open data-fold-small>', page)
    assert re.search(r'<details class="card filters-box" open data-fold-small data-active>',
                     client.get(f"/cases/{entry.case_id}?tag=x").get_data(as_text=True))


def test_a_withdrawn_file_is_no_evidence_for_the_next_step(client, entry, owner):
    from reportkit.services.evidence import withdraw_evidence

    add_violation(owner, entry, "x/violent_content/violent_threats", RATIONALE)
    client.post(f"/evidence/upload/{entry.id}", data={"files": (io.BytesIO(png_bytes()), "shot.png")})
    assert 'aria-label="Next steps"' not in client.get(f"/entries/{entry.id}").get_data(as_text=True)
    withdraw_evidence(owner, entry.evidence[0], "Wrong post.")
    page = client.get(f"/entries/{entry.id}").get_data(as_text=True)
    assert 'aria-label="Next steps"' in page and '<a href="#evidence">Upload the screenshot</a>' in page
    assert "✔ A clause is mapped" in page and page.index('id="evidence"') < page.index('id="review"')


def test_import_sentences_count_what_was_recorded(app):
    batch = Event(case_id=1, entry_id=None, actor_id=None, actor_label="command line", action="import.batch",
                  target="import:7", data={"lines": [1, 3], "created": [4, 5], "duplicates": 1, "problems": 0},
                  explanation="")
    assert activity.describe(batch).text == \
        "Command line imported lines 1–3 in import #7: 2 entries created, 1 duplicate, 0 with problems."
    run = Event(case_id=1, entry_id=None, actor_id=None, actor_label="command line", action="import.run",
                target="import:7", data={"kind": "csv", "created": [4], "duplicates": 2, "problems": 1},
                explanation="")
    assert activity.describe(run).text == \
        "Command line finished import #7 (csv): 1 entry created, 2 duplicates, 1 with problems."


def test_real_events_of_many_kinds_read_as_their_own_sentences(client, entry, owner, make_user, app):
    """Payloads as the services write them (not hand-made): none falls back to the generic sentence."""
    from reportkit.models import Membership
    from reportkit.services import cases as case_ops
    from reportkit.services import reviews as review_ops
    from reportkit.services.custody import case_activity
    from reportkit.services.entries import remove_violation, update_entry
    from reportkit.services.evidence import add_archive_link, record_download, withdraw_evidence

    case = entry.case
    case_ops.update_case(owner, case, title="Renamed case")
    editor = make_user("ed@example.org", name="Ed")
    case_ops.add_member(owner, case, editor.email, "editor")
    membership = db.session.scalar(select(Membership).where(Membership.user_id == editor.id))
    case_ops.set_role(owner, case, membership, "reviewer")
    case_ops.set_export_name(editor, case, membership, "Reviewer E")
    invitation = case_ops.invite_member(owner, case, "new@example.org", "viewer")
    case_ops.withdraw_invitation(owner, invitation)
    update_entry(owner, entry, {"notes": "context"})
    violation = add_violation(owner, entry, "x/violent_content/violent_threats", RATIONALE)
    remove_violation(owner, entry, violation)
    add_violation(owner, entry, "x/violent_content/violent_threats", RATIONALE)
    client.post(f"/evidence/upload/{entry.id}", data={"files": (io.BytesIO(png_bytes()), "shot.png")})
    evidence = entry.evidence[0]
    record_download(owner, evidence)
    region = review_ops.add_region(owner, entry, evidence, "redact", 0.1, 0.1, 0.2, 0.2, "a face")
    review_ops.remove_region(owner, evidence, region)
    add_archive_link(owner, entry, "https://web.archive.org/web/2024/https://x.com/a/status/1")
    note = review_ops.annotate(owner, entry, "Is this the right account?", "change_request")
    review_ops.resolve(owner, entry, note)
    review_ops.set_in_dossier(owner, entry, note, True)
    transition(owner, entry, "ready")
    review_ops.transition(editor, entry, "changes_requested", "Add the translation.")
    withdraw_evidence(owner, entry.evidence[0], "Wrong file.")
    case_ops.remove_member(owner, case, membership)
    events = db.session.scalars(case_activity(case.id)).all()
    lines = activity.describe_events(events)
    generic = [line.text for line in lines if "recorded “" in line.text]
    assert generic == [] and len({ev.action for ev in events}) >= 20, sorted({ev.action for ev in events})
    page = client.get(f"/cases/{case.id}/activity").get_data(as_text=True)
    assert "Rana changed the role of Ed from editor to reviewer." in page
    assert "Rana withdrew an invitation to join as viewer." in page and "new@example.org" not in page
    assert "from Ready for review to Changes requested." in page and "Add the translation." in page


# Templates: fields tied to their errors, crumbs in the title's own direction, buttons by right (issue 15) --------

def _tag(page: str, tag: str, element_id: str) -> str:
    return re.search(rf'<{tag}[^>]*\bid="{element_id}"[^>]*>', page).group(0)


def test_an_invalid_form_ties_each_field_to_its_hint_and_error(client):
    resp = client.post("/cases/new", data={"title": "", "subject": "", "summary": "Notes",
                                           "accounts-0-platform": "x", "accounts-0-handle": ""})
    assert resp.status_code in (200, 422)
    page = resp.get_data(as_text=True)
    subject = _tag(page, "input", "subject")
    assert 'aria-invalid="true"' in subject and 'aria-describedby="subject-hint subject-error"' in subject
    assert 'id="subject-hint"' in page and re.search(r'id="subject-error" role="alert">\s*<p>', page)
    title = _tag(page, "input", "title")  # no hint: the error alone
    assert 'aria-invalid="true"' in title and 'aria-describedby="title-error"' in title
    summary = _tag(page, "textarea", "summary")  # valid: its hint, and not marked invalid
    assert 'aria-describedby="summary-hint"' in summary and "aria-invalid" not in summary
    # The accounts' own error (no single field) is tied to their fieldset the same way.
    fieldset = re.search(r"<fieldset[^>]*>", page).group(0)
    assert 'aria-describedby="accounts-hint accounts-error"' in fieldset
    assert re.search(r'id="accounts-error" role="alert"><p>Add at least one account', page)


def test_crumbs_give_user_text_its_own_direction(make_user, make_case, make_entry, login, app):
    owner = make_user("owner@example.org")
    case = make_case(owner, title="پرونده‌ی رهبر")
    entry = make_entry(case, owner, X_URL)
    client = login(app.test_client(), owner)
    for url, here in ((f"/cases/{case.id}/members", "Members"), (f"/entries/{entry.id}", f"Entry #{entry.number}"),
                      (f"/entries/{entry.id}/edit", "Edit"), (f"/cases/{case.id}/activity", "Activity")):
        page = client.get(url).get_data(as_text=True)
        nav = re.search(r'<nav class="crumbs" aria-label="Breadcrumb">(.*?)</nav>', page, re.S).group(1)
        assert f'<a href="/cases/{case.id}" dir="auto">پرونده‌ی رهبر</a> ›' in nav, url
        assert f'<span dir="auto" aria-current="page">{here}</span>' in nav, url
    assert 'class="crumbs"' not in page.replace('<nav class="crumbs"', "")  # one trail, from the macro


def test_buttons_follow_the_role_in_the_case(make_user, make_case, make_entry, login, app):
    from flask import g

    @app.before_request
    def _whose_request():  # the clients of a test share its app context and `g`: load each request's user anew
        g.pop("_login_user", None)

    owner, editor, viewer = (make_user(f"{n}@example.org") for n in ("owner", "editor", "viewer"))
    case = make_case(owner, members=[(editor, "editor"), (viewer, "viewer")])
    entry = make_entry(case, owner, X_URL)
    as_owner = login(app.test_client(), owner)
    assert as_owner.post(f"/evidence/upload/{entry.id}", data={"files": (io.BytesIO(png_bytes()), "shot.png")},
                         content_type="multipart/form-data").status_code in (200, 302)
    pages = {who: login(app.test_client(), user).get(f"/entries/{entry.id}").get_data(as_text=True)
             for who, user in (("owner", owner), ("editor", editor), ("viewer", viewer))}
    edit_link = f'href="/entries/{entry.id}/edit"'
    assert edit_link in pages["editor"] and edit_link in pages["owner"] and edit_link not in pages["viewer"]
    assert "Withdraw this file" in pages["editor"] and "Withdraw this file" not in pages["viewer"]
    assert "Withdraw or purge this file" in pages["owner"] and "purge" not in pages["editor"].lower()
    # A hand-built form gone through the macro: the reason keeps its label and takes its own direction.
    reason = _tag(pages["editor"], "textarea", r"wr-\d+")
    assert 'dir="auto"' in reason and "required" in reason and ">Why withdraw</label>" in pages["editor"]
    add_entry, edit_case = f'href="/entries/new/{case.id}"', f'href="/cases/{case.id}/edit"'
    case_page = login(app.test_client(), viewer).get(f"/cases/{case.id}").get_data(as_text=True)
    assert add_entry not in case_page and 'id="bulk-form"' not in case_page and edit_case not in case_page
    case_page = login(app.test_client(), editor).get(f"/cases/{case.id}").get_data(as_text=True)
    assert add_entry in case_page and 'id="bulk-form"' in case_page and edit_case not in case_page
    case_page = login(app.test_client(), owner).get(f"/cases/{case.id}").get_data(as_text=True)
    assert edit_case in case_page


def test_a_misspelt_right_fails_loudly(client, entry, app):
    from flask import render_template_string

    with app.test_request_context():
        with pytest.raises(ValueError, match="not a right"):
            render_template_string("{{ can('edti') }}", case=entry.case)
