"""Dossier options have one check (services/dossier/options.read_options): the page, the API, the CSV/JSON exports
and the command line give it their input and show its messages; a dossier is found by `access.dossier_for` with
one 404 body for "no such dossier" and "not yours"; the sections come from one list."""

import pytest
from pypdf import PdfReader

from reportkit.errors import MESSAGES
from reportkit.extensions import db
from reportkit.models import Dossier, Entry
from reportkit.services.dossier.job import build_dossier, create_dossier
from reportkit.services.dossier.options import DossierOptions, OptionsError, read_options
from reportkit.services.dossier.sections import SECTIONS, shown
from reportkit.services.entries import add_violation, update_entry
from reportkit.services.storage import EvidenceStore

X = "https://x.com/leader_en/status/{}"


@pytest.fixture
def two_cases(app, make_user, make_case, make_entry):
    owner, outsider = make_user("owner@example.org"), make_user("other@example.org")
    case = make_case(owner, title="Ours")
    theirs = make_case(outsider, title="Theirs", accounts=({"platform": "x", "handle": "someone_else"},))
    entry = make_entry(case, owner, X.format(1453347171011694596))
    add_violation(owner, entry, "x/violent_content/violent_threats", "A threat.")
    db.session.commit()
    return owner, outsider, case, theirs


def test_the_one_check_reads_every_input_and_names_every_problem(two_cases):
    owner, _, case, theirs = two_cases
    ours = case.accounts[0].id
    options = read_options(case, {"account_id": str(ours), "clause": "  x/violent_content  ", "tag": " Threat ",
                                  "date_from": "2024-01-02", "approved_only": False, "entry_numbers": [1]})
    assert (options.account_id, options.clause, options.tag) == (ours, "x/violent_content", "threat")
    assert str(options.date_from) == "2024-01-02" and options.approved_only is False and options.entry_numbers == [1]
    assert read_options(case, {}) == DossierOptions()  # nothing asked: the defaults (approved entries only)
    with pytest.raises(OptionsError) as refused:
        read_options(case, {"mode": "everything", "paper": "A0", "account_id": theirs.accounts[0].id,
                            "date_to": "31/12/2024", "entry_numbers": [1, "2"], "approved_only": "no",
                            "include_translations": 1, "tag": "t" * 61, "include_originals": True})
    assert refused.value.fields == {
        "mode": ["One of: rules, dsa."], "paper": ["One of: A4, Letter."],
        "include_translations": ["true or false."],
        "approved_only": ["true (the default) or false, to include entries not yet approved."],
        "account_id": ["Not an account of this case."], "tag": ["At most 60 characters."],
        "date_to": ["Use YYYY-MM-DD."], "entry_numbers": ["Give a list of entry numbers."],
        "include_originals": ["Originals go in an evidence package: ask for the package too."]}
    assert refused.value.status == 422 and "account_id: Not an account of this case." in str(refused.value)
    for bad in (True, "1x", 1.5):
        with pytest.raises(OptionsError, match="Give an account id"):
            read_options(case, {"account_id": bad})


def test_page_api_exports_and_command_line_say_the_same(app, two_cases, login, token_for, runner, tmp_path):
    owner, _, case, theirs = two_cases
    foreign = theirs.accounts[0].id
    message = "Not an account of this case."
    page = login(app.test_client(), owner).post(f"/dossiers/new/{case.id}", data={
        "mode": "rules", "paper": "A4", "account": str(foreign), "date_from": "soon"})
    html = page.get_data(as_text=True)
    assert page.status_code == 422 and message in html and "Use YYYY-MM-DD." in html
    api = app.test_client().post(f"/api/v1/cases/{case.id}/dossiers", headers=token_for(owner),
                                 json={"account_id": foreign, "date_from": "soon"})
    assert api.status_code == 422 and api.json["error"]["code"] == "validation_error"
    assert api.json["error"]["fields"] == {"account_id": [message], "date_from": ["Use YYYY-MM-DD."]}
    exported = app.test_client().get(f"/api/v1/cases/{case.id}/exports.csv?account={foreign}",
                                     headers=token_for(owner))
    assert exported.status_code == 422 and exported.json["error"]["fields"] == {"account": [message]}
    cli = runner.invoke(args=["export-dossier", str(case.id), "-o", str(tmp_path / "d.pdf"), "--account",
                              str(foreign)])
    assert cli.exit_code == 2 and f"--account: {message}" in cli.output
    assert db.session.scalar(db.select(db.func.count(Dossier.id))) == 0  # nothing was started anywhere


def test_the_page_export_refuses_what_it_used_to_ignore(app, two_cases, login):
    """A date the export could not read, or originals without a package, are said, not silently dropped."""
    owner, _, case, _ = two_cases
    client = login(app.test_client(), owner)
    bad_date = client.get(f"/dossiers/export/{case.id}.csv?date_from=zz")
    assert bad_date.status_code == 422 and "date_from: Use YYYY-MM-DD." in bad_date.get_data(as_text=True)
    assert client.get(f"/dossiers/export/{case.id}.csv?date_from=2020-01-01&include_unapproved=y").status_code == 200
    originals = client.post(f"/dossiers/new/{case.id}", data={"mode": "rules", "paper": "A4", "account": "0",
                                                              "include_originals": "y", "confirm_originals": "y"})
    assert originals.status_code == 422 and "ask for the package too" in originals.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Dossier.id))) == 0


def test_a_dossier_is_found_with_one_404_for_missing_and_foreign(app, two_cases, login, token_for):
    owner, outsider, case, _ = two_cases
    dossier = Dossier(case_id=case.id, document_id="RK-ONE", status="done")
    db.session.add(dossier)
    db.session.commit()
    page, api = login(app.test_client(), outsider), app.test_client()
    headers = token_for(outsider)
    bodies = set()
    for dossier_id in (dossier.id, 10**6):  # not theirs, and no such dossier
        for path in ("", "/status.json", "/pdf", "/package"):
            resp = page.get(f"/dossiers/{dossier_id}{path}")
            assert resp.status_code == 404
            bodies.add(resp.get_data(as_text=True))
        for path in ("", "/pdf", "/package"):
            resp = api.get(f"/api/v1/dossiers/{dossier_id}{path}", headers=headers)
            assert resp.status_code == 404 and resp.json["error"]["message"] == MESSAGES[404]
    assert len(bodies) == 1  # the page's 404 reads the same whichever it was


def test_contents_bookmarks_and_body_follow_the_one_list_of_sections(app, two_cases):
    owner, _, case, _ = two_cases
    case.public_interest, case.dsa_explanation = "Threats are enforced anyway.", "Illegal threats."
    case.prepared_by_name, case.prepared_by_email, case.dsa_good_faith = "Rana", "r@example.org", True
    db.session.commit()
    update_entry(owner, db.session.scalar(db.select(Entry).where(Entry.case_id == case.id)),
                 {"legal_law": "Criminal Code"})
    dossier = create_dossier(owner, case, DossierOptions(mode="dsa", approved_only=False))
    build_dossier(dossier, app.config["EVIDENCE_DIR"], workers=0)
    reader = PdfReader(str(EvidenceStore(app.config["EVIDENCE_DIR"]).path_for(dossier.sha256)))
    contents = reader.pages[1].extract_text()
    # every section this dossier has (a follow-up section only comes with a follow-up of a filing: test_filings)
    listed = [s.title for s in SECTIONS if s.contents and s.part != "entries" and s.anchor != "follow-up"]
    assert [contents.index(title) for title in listed] == sorted(contents.index(title) for title in listed)
    # a bookmark is made only for an anchor found in the rendered body (pipeline._outline): each section is there
    top = [item.title for item in reader.outline if not isinstance(item, list)]
    assert top == ["Cover", "Contents", "Summary", "Why the public-interest exception does not apply",
                   "Notice under Article 16 DSA", "Entries", "Appendices"]
    nested = [[item.title for item in group] for group in reader.outline if isinstance(group, list)]
    assert nested == [["#1 · Violent Threats"],
                      [s.bookmark for s in SECTIONS if s.group == "Appendices"]]
    rules = {"mode": "rules", "case": {"public_interest_html": ""}}  # a rules report without public interest
    assert [s.anchor for s in shown(rules)] == ["cover", "contents", "summary", "entries", "appendix-manifest",
                                                "appendix-methodology", "appendix-verify"]
