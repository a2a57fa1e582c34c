"""What a dossier prints for a trust-and-safety analyst (issue 14): which entries, what the team asks for and
how severe, clauses of the post's own platform, each paragraph of user text in its own direction, and a
warning for text the recipient cannot read. Real database, real PDFs (WeasyPrint, pypdf, pdftotext)."""

import io
import re
import subprocess
from html.parser import HTMLParser

import pytest
from pypdf import PdfReader

from reportkit.bidi import direction, html_dirs, markdown_dirs, paragraphs, split_mixed_lines
from reportkit.extensions import db
from reportkit.models import Entry, Event
from reportkit.services import reviews
from reportkit.services.cases import update_case
from reportkit.services.dossier.data import language_warnings, selection
from reportkit.services.dossier.job import DossierOptions, DossierRefused, build_dossier, create_dossier
from reportkit.services.entries import EntryError, add_violation, create_entry, set_rationale_en, update_entry
from reportkit.services.evidence import Limits, add_evidence_file
from reportkit.services.storage import EvidenceStore

from .conftest import png_bytes

X = "https://x.com/leader_en/status/{}"
PERSIAN_RATIONALE = "این پست خبرنگاران را به مرگ تهدید می‌کند."
MIXED_SUMMARY = "پست‌هایی که به خشونت علیه خبرنگاران فرا می‌خوانند.\nPosts that call for violence against journalists."


@pytest.fixture
def team(app, make_user, make_case):
    owner, editor, reviewer = (make_user(f"{n}@example.org", name=n.capitalize())
                               for n in ("owner", "editor", "reviewer"))
    case = make_case(owner, title="Threats against the press",
                     accounts=[{"platform": "x", "handle": "leader_en"},
                               {"platform": "telegram", "handle": "leader_fa"}],
                     members=[(editor, "editor"), (reviewer, "reviewer")])
    update_case(owner, case, summary=MIXED_SUMMARY)
    return {"owner": owner, "editor": editor, "reviewer": reviewer, "case": case,
            "store": EvidenceStore(app.config["EVIDENCE_DIR"]), "limits": Limits.from_config(app.config)}


def entry(team, url, clause=None, rationale="Threatens to kill a named journalist.", status="draft", **fields):
    """An entry moved through the real workflow to `status`."""
    editor, reviewer = team["editor"], team["reviewer"]
    e = create_entry(editor, team["case"], url, fields)
    if clause:
        add_violation(editor, e, clause, rationale)
    if status == "draft":
        return e
    if status == "withdrawn":
        reviews.withdraw_entry(editor, e, "Posted by someone else.")
        return e
    add_evidence_file(editor, e, io.BytesIO(png_bytes()), "shot.png", team["store"], team["limits"])
    reviews.transition(editor, e, "ready")
    if status != "ready":
        reviews.transition(reviewer, e, status, "Not a threat." if status == "rejected" else "")
    return e


@pytest.fixture
def catalogue(team):
    """#1 approved (remove, high), #2 approved (suspend, critical), #3 in review (label, medium), #4 rejected,
    #5 duplicate, #6 withdrawn, #7 a draft without a clause, #8 a Telegram post approved with a Persian rationale
    (restrict in DE and FR, low)."""
    threat, telegram = "x/violent_content/violent_threats", "telegram/terms_of_service/promote_violence_public"
    made = [
        entry(team, X.format(1453347171011694596), threat, status="approved", requested_action="remove", severity=3),
        entry(team, X.format(1453347171011694597), threat, status="approved", requested_action="suspend_account",
              severity=4),
        entry(team, X.format(1453347171011694598), threat, status="ready", requested_action="label", severity=2),
        entry(team, X.format(1453347171011694599), threat, status="rejected"),
        entry(team, X.format(1453347171011694600), threat, status="duplicate"),
        entry(team, X.format(1453347171011694601), threat, status="withdrawn"),
        entry(team, X.format(1453347171011694602)),
        entry(team, "https://t.me/leader_fa/12", telegram, PERSIAN_RATIONALE, status="approved",
              requested_action="restrict_in_countries", action_countries="de, FR", severity=1),
    ]
    return made


def export(app, team, **options):
    dossier = create_dossier(team["owner"], team["case"], DossierOptions(**options))
    build_dossier(dossier, app.config["EVIDENCE_DIR"], workers=0)
    path = EvidenceStore(app.config["EVIDENCE_DIR"]).path_for(dossier.sha256)
    return dossier, PdfReader(str(path)), path


def section(full: str, start: str, end: str) -> str:
    return full[full.index(start):full.index(end, full.index(start))]


# --- which entries are printed -------------------------------------------------------------------------------

def test_default_selection_is_approved_entries_with_a_clause(team, catalogue):
    chosen = selection(team["case"], DossierOptions())
    assert [e.number for e in chosen.entries] == [1, 2, 8]
    assert dict(chosen.left_out) == {"refused": 2, "unapproved": 2}  # #4, #5; #3, #7 (withdrawn #6: in no list)

    wider = selection(team["case"], DossierOptions(approved_only=False))
    assert [e.number for e in wider.entries] == [1, 2, 3, 8]  # never #4 rejected, #5 duplicate, #6 withdrawn
    assert dict(wider.left_out) == {"refused": 2, "no_clause": 1} and wider.unapproved == 1

    dsa = selection(team["case"], DossierOptions(mode="dsa", approved_only=False))
    assert [e.number for e in dsa.entries] == [1, 2, 3, 7, 8]  # a DSA notice rests on legal grounds, not clauses


def test_the_default_pdf_prints_no_refused_or_unapproved_entry_and_says_how_many_were_left_out(app, team, catalogue):
    dossier, reader, path = export(app, team)
    full = "\n".join(page.extract_text() for page in reader.pages)
    assert dossier.entry_count == 3
    printed = sorted(int(n) for n in re.findall(r"^\s*Entry (\d+) ·", full, re.M))
    assert printed == [1, 2, 8]
    for e in catalogue[2:7]:
        assert e.canonical_url not in full
    assert "NOT YET APPROVED" not in full and "No policy clause mapped" not in full
    flat = " ".join(full.split())
    assert "Left out of this document" in flat
    assert "2 entries not yet approved" in flat and "2 entries rejected or marked as a duplicate" in flat
    assert "#3" not in flat and "#4" not in flat  # counted, never named

    # what the team asks for, per account, and the entries most severe first
    asks = section(flat, "What we ask for, by account", "Entries, most severe first")
    assert "X / Twitter @leader_en" in asks and "Suspend the account" in asks and "Remove the post" in asks
    assert asks.index("Suspend the account") < asks.index("Remove the post")  # the strongest request first
    assert "Restrict the post in named countries: DE, FR" in asks
    severe = section(flat, "Entries, most severe first", "Severity: ")
    assert re.findall(r"#(\d+)", severe) == ["2", "1", "8"]
    assert re.search(r"4 · Critical #2", severe)
    assert "Requested: Suspend the account" in flat and "Severity 4 · Critical" in flat


def test_entries_not_yet_approved_are_included_only_when_asked_and_each_is_marked(app, team, catalogue):
    dossier, reader, _ = export(app, team, approved_only=False)
    pages = [page.extract_text() for page in reader.pages]
    full = " ".join("\n".join(pages).split())
    assert dossier.entry_count == 4
    entry3 = next(p for p in pages if re.match(r"\s*Entry 3 ·", p))
    assert "NOT YET APPROVED · review status: Ready for review" in entry3
    for number in (1, 2, 8):
        assert "NOT YET APPROVED" not in next(p for p in pages if re.match(rf"\s*Entry {number} ·", p))
    assert "1 entry in this document is not yet approved" in full
    assert "1 entry no policy clause mapped" in full  # the draft #7, counted, not printed
    assert catalogue[3].canonical_url not in full and catalogue[4].canonical_url not in full


def test_nothing_to_print_is_refused_with_the_reason(team, catalogue):
    with pytest.raises(DossierRefused, match="No entry matches"):
        create_dossier(team["owner"], team["case"], DossierOptions(entry_numbers=[3, 4, 7]))


def test_export_page_defaults_to_approved_and_counts_the_unapproved(app, team, catalogue, client, login):
    login(client, team["owner"])
    page = client.get(f"/dossiers/new/{team['case'].id}").get_data(as_text=True)
    assert 'name="include_unapproved"' in page and 'name="include_unapproved" type="checkbox" value="y">' in page
    assert "Include entries not yet approved (1)" in page and "1 entry of this selection is not yet approved" in page
    assert "This selection prints <strong>3</strong> entries" in page
    assert "2 entries rejected or marked as a duplicate" in page
    # the same default through the API and the command line
    from reportkit.cli import options_from
    case = team["case"]
    assert options_from(case, "rules", "A4", False, None, "", "", False, None, None).approved_only is True
    assert options_from(case, "rules", "A4", False, None, "", "", False, None, None, include_unapproved=True
                        ).approved_only is False


def test_api_defaults_to_approved_and_validates_the_option(app, team, catalogue, client, token_for):
    headers = token_for(team["owner"])
    url = f"/api/v1/cases/{team['case'].id}/dossiers"
    bad = client.post(url, json={"approved_only": "no"}, headers=headers)
    assert bad.status_code == 422 and "approved_only" in bad.json["error"]["fields"]
    made = client.post(url, json={}, headers=headers)
    assert made.status_code == 202 and made.json["entries"] == 3 and made.json["options"]["approved_only"] is True
    wider = client.post(url, json={"approved_only": False}, headers=headers)
    assert wider.status_code == 202 and wider.json["entries"] == 4


# --- requested action and severity ---------------------------------------------------------------------------

@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"requested_action": "delete_everything"}, "requested_action", "must be one of"),
    ({"requested_action": "restrict_in_countries"}, "action_countries", "Name the countries"),
    ({"requested_action": "remove", "action_countries": "DE"}, "action_countries", "only"),
    ({"requested_action": "restrict_in_countries", "action_countries": "Germany"}, "action_countries",
     "not a two-letter country code"),
    ({"severity": 5}, "severity", "must be one of"),
    ({"severity": True}, "severity", "must be one of"),
    ({"severity": "3"}, "severity", "must be one of"),
])
def test_the_service_refuses_a_bad_request_and_saves_nothing(team, fields, field, message):
    with pytest.raises(EntryError, match=message) as refused:
        create_entry(team["editor"], team["case"], X.format(1453347171011694596), fields)
    assert refused.value.field == field
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Entry.id))) == 0
    assert db.session.scalar(db.select(Event).where(Event.action == "entry.created")) is None


def test_request_and_severity_are_in_the_custody_log_and_replay_checks_them(team):
    e = create_entry(team["editor"], team["case"], X.format(1453347171011694596),
                     {"requested_action": "restrict_in_countries", "action_countries": "tr de;TR", "severity": 2})
    assert (e.requested_action, e.action_countries, e.severity) == ("restrict_in_countries", "TR, DE", 2)
    created = db.session.scalar(db.select(Event).where(Event.action == "entry.created"))
    assert created.data["fields"]["action_countries"] == "TR, DE" and created.data["fields"]["severity"] == 2
    update_entry(team["editor"], e, {"requested_action": "suspend_account", "action_countries": "", "severity": 4})
    edited = db.session.scalar(db.select(Event).where(Event.action == "entry.edited"))
    assert edited.data["severity"] == [2, 4] and edited.data["requested_action"] == ["restrict_in_countries",
                                                                                     "suspend_account"]
    # someone with database access changes the request behind the application: replay sees it
    from reportkit.services.replay import replay_case
    assert replay_case(team["case"].id).problems == []
    db.session.execute(db.update(Entry).where(Entry.id == e.id).values(severity=1))
    db.session.commit()
    db.session.expire_all()
    assert any("severity differs" in p for p in replay_case(team["case"].id).problems)


def test_api_takes_the_request_and_validates_it(app, team, client, token_for):
    headers = token_for(team["editor"])
    url = f"/api/v1/cases/{team['case'].id}/entries"
    made = client.post(url, headers=headers, json={"url": X.format(1453347171011694596),
                                                   "requested_action": "restrict_in_countries",
                                                   "action_countries": "DE, FR", "severity": 3})
    assert made.status_code == 201, made.json
    assert (made.json["requested_action"], made.json["action_countries"], made.json["severity"]) == \
        ("restrict_in_countries", "DE, FR", 3)
    for body, field in (({"severity": 9}, "severity"), ({"requested_action": "ban"}, "requested_action"),
                        ({"requested_action": "label", "action_countries": "DE"}, "action_countries")):
        resp = client.patch(f"/api/v1/entries/{made.json['id']}", headers=headers, json=body)
        assert resp.status_code == 422 and field in resp.json["error"]["fields"], resp.json
    ok = client.patch(f"/api/v1/entries/{made.json['id']}", headers=headers,
                      json={"requested_action": "label", "action_countries": ""})
    assert ok.status_code == 200 and ok.json["requested_action"] == "label" and ok.json["severity"] == 3


def test_the_entry_form_takes_the_request(app, team, client, login):
    login(client, team["editor"])
    case = team["case"]
    form = client.get(f"/entries/new/{case.id}").get_data(as_text=True)
    assert 'name="requested_action"' in form and "4 · Critical: An imminent risk" in form
    bad = client.post(f"/entries/new/{case.id}", data={"url": X.format(1453347171011694596),
                                                       "requested_action": "restrict_in_countries", "severity": "2"})
    assert bad.status_code == 200 and "Name the countries" in bad.get_data(as_text=True)
    good = client.post(f"/entries/new/{case.id}", data={"url": X.format(1453347171011694596),
                                                        "requested_action": "restrict_in_countries",
                                                        "action_countries": "ir", "severity": "2"})
    assert good.status_code == 302
    page = client.get(good.headers["Location"]).get_data(as_text=True)
    assert "Restrict the post in named countries: IR" in page and "2 · Medium" in page


# --- clauses belong to the post's platform ------------------------------------------------------------------

def test_a_clause_of_another_platform_is_refused_everywhere(app, team, client, login, token_for):
    insta = "https://www.instagram.com/p/C1a2b3c4d5e/"
    e = create_entry(team["editor"], team["case"], insta, {})
    with pytest.raises(EntryError, match="is a rule of X") as refused:
        add_violation(team["editor"], e, "x/violent_content/violent_threats", "A threat.")
    assert refused.value.field == "clause"
    db.session.rollback()
    with pytest.raises(EntryError, match="is a rule of X"):  # the import path (create_entry's check)
        create_entry(team["editor"], team["case"], "https://www.instagram.com/p/Cxyzxyzxyz1/", {},
                     [("x/violent_content/violent_threats", "A threat.")])
    db.session.rollback()
    resp = client.post(f"/api/v1/cases/{team['case'].id}/entries", headers=token_for(team["editor"]), json={
        "url": "https://www.instagram.com/p/Cxyzxyzxyz2/",
        "violations": [{"clause": "x/violent_content/violent_threats", "rationale": "A threat."}]})
    assert resp.status_code == 422 and "rule of X" in resp.json["error"]["fields"]["clause"][0]
    # the legal grounds fit any platform
    legal = db.session.scalar(db.select(db.text("clause.key")).select_from(db.text(
        "clause JOIN policy ON clause.policy_id = policy.id JOIN platform ON policy.platform_id = platform.id"))
        .where(db.text("platform.kind = 'legal_basis'")).limit(1))
    assert legal, "the catalogue ships legal grounds"
    assert add_violation(team["editor"], e, legal, "Criminal threat under the law cited.").clause.key == legal
    login(client, team["editor"])
    page = client.post(f"/entries/{e.id}/violations", data={"clause": "x/violent_content/violent_threats",
                                                             "rationale": "A threat."}, follow_redirects=True)
    assert "is a rule of X" in page.get_data(as_text=True)
    db.session.expire_all()
    assert [v.clause.key for v in db.session.get(Entry, e.id).violations] == [legal]


def test_the_review_queue_shows_platform_and_clause_together(app, team, catalogue, client, login):
    login(client, team["reviewer"])
    page = client.get("/reviews/").get_data(as_text=True)
    row = page[page.index("#3</a>"):]
    row = row[:row.index("</tr>")]
    assert "<strong>X / Twitter</strong> post" in row and "X › Violent Content › Violent Threats" in row


# --- each paragraph of user text in its own direction -------------------------------------------------------

def test_direction_comes_from_the_first_strong_character():
    assert direction("«هشدار» Posts") == "rtl" and direction("123, Posts هشدار") == "ltr"
    assert direction("https://x.com/a/status/1 خبر") == "rtl"  # the address is laid out in its own span
    assert direction("12:30 — !") is None
    html = str(paragraphs("سلام دنیا.\nHello world.\n\n<b>x</b> https://x.com/a"))
    assert html.startswith('<div class="para" dir="rtl">سلام دنیا.</div><div class="para" dir="ltr">Hello world.</div>')
    assert "&lt;b&gt;x&lt;/b&gt;" in html and '<span dir="ltr" class="whole">https://x.com/a</span>' in html
    assert "\n" not in html  # the containers keep pre-wrap: no stray line breaks between paragraphs
    assert split_mixed_lines("فارسی.\nEnglish.\n- one\n- دو") == "فارسی.\n\nEnglish.\n- one\n- دو"
    assert str(html_dirs('<p>متن <a href="https://x.com">x</a></p><ul><li>one</li></ul>')) == \
        '<p dir="rtl">متن <a href="https://x.com">x</a></p><ul><li dir="ltr">one</li></ul>'
    assert "<script>" not in str(markdown_dirs("<script>alert(1)</script> سلام"))


class Blocks(HTMLParser):
    """(dir, text) of each element with a dir attribute inside the element with `scope` class."""

    def __init__(self, scope: str):
        super().__init__()
        self.scope, self.depth, self.found, self.stack = scope, 0, [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self.depth or self.scope in (attrs.get("class") or "").split():
            self.depth += 1
            self.stack.append(attrs.get("dir"))
            if attrs.get("dir") and (tag in ("p", "li") or "para" in (attrs.get("class") or "").split()):
                self.found.append([attrs["dir"], ""])

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= 1
            self.stack.pop()

    def handle_data(self, data):
        if self.depth and self.found:
            self.found[-1][1] += data


def test_pages_give_each_paragraph_its_direction(app, team, catalogue, client, login):
    login(client, team["owner"])
    case_page = client.get(f"/cases/{team['case'].id}").get_data(as_text=True)
    blocks = Blocks("summary")
    blocks.feed(case_page)
    assert [(d, t.strip()[:5]) for d, t in blocks.found] == [("rtl", "پست‌ه"), ("ltr", "Posts")]
    entry_page = client.get(f"/entries/{catalogue[7].id}").get_data(as_text=True)
    blocks = Blocks("usertext")
    blocks.feed(entry_page)
    assert ["rtl", PERSIAN_RATIONALE] in [[d, t] for d, t in blocks.found]


def test_the_pdf_lays_out_persian_right_to_left_and_english_left_to_right(app, team, catalogue, tmp_path):
    """pdftotext -bbox gives each word's box: in a right-to-left paragraph the first word is rightmost and
    the full stop is the leftmost glyph; in the English line the first word is leftmost."""
    _, reader, path = export(app, team)
    words = []
    xml = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True).stdout
    page = None
    for line in xml.splitlines():
        if "<page " in line:
            page = (page or 0) + 1
        match = re.search(r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>', line)
        if match:
            words.append((page, float(match[1]), round(float(match[2])), float(match[3]), match[4]))

    def line_of(word: str):
        hit = next(w for w in words if w[4] == word)
        return sorted((w for w in words if w[0] == hit[0] and abs(w[2] - hit[2]) <= 4), key=lambda w: w[1])

    # pdftotext names each word by its glyphs in visual order, so Persian words read reversed ("ییاهتسپ" is
    # "پست‌هایی", the summary's first word; "نیا" is "این", the rationale's).
    english = line_of("call")  # the summary's English line
    assert english[0][4] == "Posts" and english[-1][4] == "journalists." and english[0][1] < 70  # left margin
    summary_fa = line_of("ییاهتسپ")
    assert summary_fa[-1][4] == "ییاهتسپ" and summary_fa[0][4].startswith(".")  # full stop at the left end
    assert summary_fa[-1][3] > 500  # the first word at the right margin of an A4 page (595 pt, 17 mm margins)
    rationale = line_of("نیا")
    assert rationale[-1][4] == "نیا" and rationale[0][4].startswith(".")
    assert rationale[-1][3] > 450  # right-aligned, inside the rationale box


def test_look_at_the_mixed_page(app, team, catalogue, tmp_path):
    """A PNG of the summary page, for a person to look at (tests/e2e/screenshots/dossier-summary-bidi-*.png)."""
    from pathlib import Path
    _, reader, path = export(app, team)
    summary = next(i for i, p in enumerate(reader.pages) if "What we ask for" in p.extract_text()) + 1
    out = Path(__file__).parent / "e2e" / "screenshots" / "dossier-summary-bidi"
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", str(summary), "-l", str(summary), str(path), str(out)],
                   check=True)
    assert list(out.parent.glob("dossier-summary-bidi*.png"))


# --- text the recipient cannot read ------------------------------------------------------------------------

def test_a_rationale_in_another_script_is_warned_and_an_english_version_printed(app, team, catalogue, client,
                                                                                 login):
    persian = catalogue[7]
    warned = language_warnings(selection(team["case"], DossierOptions()).entries)
    assert [(w["number"], w["script"]) for w in warned] == [(8, "Arabic script")]
    login(client, team["owner"])
    page = client.get(f"/dossiers/new/{team['case'].id}").get_data(as_text=True)
    violation = persian.violations[0]
    link = f"/dossiers/rationales/{violation.id}/english"
    assert "Text the platform may not be able to read" in page and link in page
    # the entry is approved and sealed: the English version needs a reopen (it changes what is printed)
    sealed = client.get(link).get_data(as_text=True)
    assert "reopen the entry" in sealed
    with pytest.raises(reviews.ReviewError):
        set_rationale_en(team["editor"], persian, violation, "It threatens journalists with death.")
    db.session.rollback()
    reviews.transition(team["owner"], persian, "reopen", "Add the English rationale.")
    resp = client.post(link, data={"rationale_en": "It threatens journalists with death."})
    assert resp.status_code == 302
    db.session.expire_all()
    assert violation.rationale_en == "It threatens journalists with death."
    event = db.session.scalar(db.select(Event).where(Event.action == "clause.rationale_en"))
    assert event.data["rationale_en"] == ["", "It threatens journalists with death."]
    assert language_warnings([persian]) == []
    from reportkit.services.replay import replay_case
    assert replay_case(team["case"].id).problems == []  # verify replays the English version from its event
    assert persian.status == "ready"  # reopened: its reviewers approve it again
    reviews.transition(team["reviewer"], persian, "approved")
    _, reader, _ = export(app, team)
    full = "\n".join(p.extract_text() for p in reader.pages)
    assert "Rationale in English:" in full and "It threatens journalists with death." in full
    # changed behind the application (a database edit): verify's replay says so
    db.session.execute(db.text("UPDATE violation SET rationale_en = 'It is fine.' WHERE id = :id"),
                       {"id": violation.id})
    db.session.commit()
    db.session.expire_all()
    assert any("English rationale" in p for p in replay_case(team["case"].id).problems)


def test_the_english_version_page_is_for_editors_of_the_case_only(app, team, catalogue, client, login, make_user):
    violation = catalogue[0].violations[0]
    outsider = make_user("outsider@example.org")
    login(client, outsider)
    assert client.get(f"/dossiers/rationales/{violation.id}/english").status_code == 404
    assert client.post(f"/dossiers/rationales/{violation.id}/english",
                       data={"rationale_en": "x"}).status_code in (400, 404)
    assert client.get("/dossiers/rationales/999999/english").status_code == 404

