"""Dates and times users can trust (issue 14): Solar Hijri dates read and shown as converted, impossible dates
refused, the post id's time against a typed one, each user's time zone, and the capture time defaulted from
the first screenshot's upload."""

import io
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from sqlalchemy import select, update

from reportkit.extensions import db
from reportkit.models import Entry, Event, Import, User
from reportkit.services import dates
from reportkit.services.custody import verify_case
from reportkit.services.dossier.job import DossierOptions, build_dossier, create_dossier
from reportkit.services.entries import EntryError, add_violation, create_entry, update_entry
from reportkit.services.evidence import Limits, add_evidence_file
from reportkit.services.intake import guess_mapping, import_rows, preview_rows, read_table
from reportkit.services.storage import EvidenceStore
from reportkit.services.urls import parse_post_url

from .conftest import PASSWORD, png_bytes

TEHRAN = ZoneInfo("Asia/Tehran")
X_URL = "https://x.com/leader_en/status/1453347171011694596"  # its id says 2021-10-27 12:56:19 UTC
X_TIME = parse_post_url(X_URL).posted_at


# --- the service -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("typed", ["1403/03/08 10:30", "۱۴۰۳/۰۳/۰۸ ۱۰:۳۰", "١٤٠٣/٠٣/٠٨ ١٠:٣٠", "1403-3-8 10:30",
                                   "08/03/1403 10:30"])
def test_solar_hijri_in_any_digits_is_converted_and_described(typed):
    found = dates.parse_time(typed, "auto", TEHRAN)
    assert found.utc == datetime(2024, 5, 28, 7, 0, tzinfo=UTC)
    assert found.calendar == "solar_hijri" and found.converted
    assert found.description == f"{typed} (Solar Hijri, Asia/Tehran) → 2024-05-28 07:00 UTC"


@pytest.mark.parametrize("typed", ["۸ خرداد ۱۴۰۳ - ۱۰:۳۰", "چهارشنبه ۸ خرداد ۱۴۰۳ ساعت ۱۰:۳۰", "8 Khordad 1403 10:30",
                                   "8 khordad 1403, 10:30"])
def test_solar_month_names_say_the_calendar(typed):
    for calendar in ("auto", "gregorian"):  # the name is unambiguous, and the description says how it was read
        found = dates.parse_time(typed, calendar, TEHRAN)
        assert found.utc == datetime(2024, 5, 28, 7, 0, tzinfo=UTC) and found.calendar == "solar_hijri"
    assert dates.parse_time("۱ دي ۱۴۰۲", "auto").utc == datetime(2023, 12, 22, tzinfo=UTC)  # Arabic yeh
    assert dates.parse_time("8 May 2024", "auto").calendar == "gregorian"


def test_calendar_choice_and_the_auto_rule():
    assert dates.parse_time("1403/03/08", "solar_hijri").utc == datetime(2024, 5, 28, tzinfo=UTC)
    assert dates.parse_time("1403/03/08", "gregorian").utc.year == 1403  # as told: the plausibility check catches it
    assert dates.parse_time("2024/05/28 10:30", "auto", TEHRAN).utc == datetime(2024, 5, 28, 7, tzinfo=UTC)
    assert dates.parse_time("1499/01/01", "auto").calendar == "solar_hijri"
    assert dates.parse_time("1500/01/01", "auto").calendar == "gregorian"
    assert dates.parse_time("1403/03/08 10:30 +03:30", "auto").utc == datetime(2024, 5, 28, 7, tzinfo=UTC)
    assert dates.parse_time("  ", "auto") is None
    assert not dates.parse_time("2024-05-28 07:00", "auto").converted  # UTC to UTC: nothing to show
    with pytest.raises(dates.DateError, match="not a Solar Hijri date"):
        dates.parse_time("1402/12/30", "solar_hijri")  # 1402 is not a leap year
    with pytest.raises(dates.DateError, match="cannot be read"):
        dates.parse_time("1403 Khordad", "solar_hijri")
    with pytest.raises(dates.DateError, match="out of range"):
        dates.parse_time("۱۴۰۳/۰۳/۰۸ ۱۰:۳۰ +99:99", "auto")
    with pytest.raises(dates.DateError, match="out of range"):
        dates.parse_time("9999-12-31 23:59 -12:00", "gregorian")
    with pytest.raises(dates.DateError, match="Unknown calendar"):
        dates.parse_time("2024-01-01", "julian")


def test_plausibility_per_platform():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert "before X / Twitter existed (2006-03-21). Is it a Solar Hijri date?" in dates.plausibility_problem(
        datetime(1403, 3, 8, tzinfo=UTC), "x", now)
    assert dates.plausibility_problem(datetime(2006, 3, 21, 21, tzinfo=UTC), "x", now) is None
    assert "before Threads existed" in dates.plausibility_problem(datetime(2023, 7, 4, tzinfo=UTC),
                                                                    "threads", now)
    assert "in the future" in dates.plausibility_problem(now + timedelta(hours=1), "telegram", now)
    assert dates.plausibility_problem(now + timedelta(minutes=5), "telegram", now) is None  # clocks differ a little
    assert "before the web existed" in dates.plausibility_problem(datetime(1990, 1, 1, tzinfo=UTC),
                                                                    "other", now)
    assert set(dates.FOUNDED) >= {"x", "facebook", "youtube", "instagram", "telegram", "tiktok", "threads",
                                  "bluesky", "mastodon", "other"}


def test_zone_labels():
    assert dates.zone_label(TEHRAN) == "Tehran time (UTC+03:30)"
    assert dates.zone_label(ZoneInfo("UTC")) == "UTC"
    winter, summer = datetime(2024, 1, 15, tzinfo=UTC), datetime(2024, 7, 15, tzinfo=UTC)
    assert dates.zone_label(ZoneInfo("Europe/Berlin"), winter) == "Berlin time (UTC+01:00)"
    assert dates.zone_label(ZoneInfo("Europe/Berlin"), summer) == "Berlin time (UTC+02:00)"
    with pytest.raises(dates.DateError):
        dates.zone_named("Mars/Olympus")


# --- import ------------------------------------------------------------------------------------------------

@pytest.fixture
def setup(app, make_user, make_case):
    user = make_user()
    case = make_case(user, accounts=[{"platform": "x", "handle": "leader_en"},
                                     {"platform": "telegram", "handle": "leader_fa"}])
    return user, case


SOLAR_CSV = ("url,posted_at\n"
             "https://t.me/leader_fa/1,1403/03/08 10:30\n"
             "https://t.me/leader_fa/2,۱۴۰۳/۰۳/۱۵ ۰۸:۰۰\n"
             f"{X_URL},2021-10-27 18:30\n"
             "https://t.me/leader_fa/3,2031-01-01 00:00\n")


def _job(user, case, text, calendar, tz="Asia/Tehran"):
    headers, rows = read_table(text.encode())
    job = Import(case_id=case.id, kind="csv", mapping=guess_mapping(headers), timezone=tz, calendar=calendar,
                 created_by_id=user.id)
    db.session.add(job)
    return job, headers, rows


def test_import_converts_solar_hijri_and_refuses_impossible_dates(setup):
    user, case = setup
    job, headers, rows = _job(user, case, SOLAR_CSV, "auto")
    preview = preview_rows(case, job, headers, rows)
    assert preview[0]["conversion"] == "1403/03/08 10:30 (Solar Hijri, Asia/Tehran) → 2024-05-28 07:00 UTC"
    assert preview[0]["problems"] == [] and preview[1]["posted_at"] == datetime(2024, 6, 4, 4, 30,
                                                                                 tzinfo=UTC)
    assert "differs from the time in the post id" in preview[2]["warnings"][0]  # 18:30 Tehran is 15:00 UTC
    assert "in the future" in preview[3]["problems"][0] and "not imported" in preview[3]["problems"][0]
    job = import_rows(user, case, job, headers, rows)
    by_line = {r["line"]: r for r in job.results}
    assert [by_line[n]["status"] for n in (2, 3, 4, 5)] == ["created", "created", "created", "error"]
    assert "the id's time is kept" in by_line[4]["reason"]
    got = {e.post_id: e for e in db.session.scalars(select(Entry).where(Entry.case_id == case.id))}
    assert got["1"].posted_at == datetime(2024, 5, 28, 7, tzinfo=UTC)
    assert got["1453347171011694596"].posted_at == X_TIME and got["1453347171011694596"].posted_at_source == "id"
    assert "3" not in got  # never stored silently


def test_import_told_gregorian_refuses_a_solar_year_with_its_reason(setup):
    user, case = setup
    job, headers, rows = _job(user, case, SOLAR_CSV, "gregorian")
    preview = preview_rows(case, job, headers, rows)
    assert "before Telegram existed" in preview[0]["problems"][0] and "Solar Hijri" in preview[0]["problems"][0]
    job = import_rows(user, case, job, headers, rows)
    assert [r["status"] for r in job.results[:2]] == ["error", "error"]
    assert db.session.scalar(select(Entry).where(Entry.post_id == "1")) is None


def test_mapping_page_offers_the_calendar_and_shows_the_conversion(setup, client, login):
    user, case = setup
    login(client, user)
    resp = client.post(f"/imports/new/{case.id}", data={"upload-file": (io.BytesIO(SOLAR_CSV.encode()), "fa.csv"),
                                                       "upload-submit": "1"})
    map_url = resp.headers["Location"]
    page = client.get(map_url).data.decode()
    assert "Dates in this file are" in page and "Solar Hijri (Iranian calendar)" in page
    form = {"map_url": "url", "map_posted_at": "posted_at", "timezone": "Asia/Tehran", "calendar": "auto",
            "preview": "1"}
    page = client.post(map_url, data=form).data.decode()
    assert "1403/03/08 10:30 (Solar Hijri, Asia/Tehran) → 2024-05-28 07:00 UTC" in page
    assert "2031-01-01 00:00 is in the future" not in page and "in the future" in page
    assert "Warning:" in page and "differs from the time in the post id" in page  # the X row's typed time
    page = client.post(map_url, data={**form, "calendar": "solar_hijri"}).data.decode()
    assert "2021-10-27 18:30 (Solar Hijri, Asia/Tehran) → 2643-01-17 15:00 UTC" in page  # told: read as told
    assert db.session.get(Import, int(map_url.split("/")[-2])).calendar == "solar_hijri"
    refused = client.post(map_url, data={**form, "calendar": "julian"}).data.decode()
    assert "Not a valid choice" in refused
    assert db.session.get(Import, int(map_url.split("/")[-2])).calendar == "solar_hijri"


def test_api_import_takes_the_calendar(setup, app, token_for):
    user, case = setup
    client, headers = app.test_client(), token_for(user)
    rows = [{"url": "https://t.me/leader_fa/9", "posted_at": "1403/03/08 10:30"}]
    bad = client.post(f"/api/v1/cases/{case.id}/imports", headers=headers,
                      json={"rows": rows, "calendar": ["solar_hijri"]})
    assert bad.status_code == 422 and "calendar" in bad.json["error"]["fields"]
    resp = client.post(f"/api/v1/cases/{case.id}/imports", headers=headers,
                       json={"rows": rows, "calendar": "solar_hijri", "timezone": "Asia/Tehran"})
    assert resp.status_code == 202
    deadline = time.monotonic() + 30
    while client.get(f"/api/v1/imports/{resp.json['id']}", headers=headers).json["status"] != "done":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    entry = db.session.scalar(select(Entry).where(Entry.post_id == "9"))
    assert entry.posted_at == datetime(2024, 5, 28, 7, tzinfo=UTC)


def test_cli_import_takes_the_calendar(setup, runner, tmp_path):
    user, case = setup
    path = tmp_path / "rows.csv"
    path.write_text("url,posted_at\nhttps://t.me/leader_fa/21,1403/03/08 10:30\n", encoding="utf-8")
    told = runner.invoke(args=["import", str(case.id), str(path), "--calendar", "gregorian"])
    assert "0 created" in told.output and "before Telegram existed" in told.output
    result = runner.invoke(args=["import", str(case.id), str(path), "--calendar", "solar_hijri",
                                 "--timezone", "Asia/Tehran"])
    assert result.exit_code == 0 and "1 created" in result.output, result.output
    entry = db.session.scalar(select(Entry).where(Entry.post_id == "21"))
    assert entry.posted_at == datetime(2024, 5, 28, 7, tzinfo=UTC)
    assert runner.invoke(args=["import", str(case.id), str(path), "--calendar", "julian"]).exit_code != 0


# --- the post id's time against a typed one ----------------------------------------------------------------

def test_id_time_wins_over_a_typed_time_unless_confirmed(setup):
    user, case = setup
    typed = X_TIME + timedelta(hours=3)
    entry = create_entry(user, case, X_URL, {"posted_at": typed})
    assert (entry.posted_at, entry.posted_at_source) == (X_TIME, "id")
    assert "differs from the time in the post id" in entry.posted_at_warning and "3 h" in entry.posted_at_warning
    update_entry(user, entry, {"posted_at": typed})  # typed again, not confirmed: still the id's
    assert (entry.posted_at, entry.posted_at_source) == (X_TIME, "id") and entry.posted_at_warning
    update_entry(user, entry, {"posted_at": typed, "confirm_posted_at": True})
    assert (entry.posted_at, entry.posted_at_source) == (typed, "person") and not entry.posted_at_warning
    close = create_entry(user, case, "https://x.com/leader_en/status/1453347171011694597",
                         {"posted_at": X_TIME + timedelta(seconds=50)})
    assert close.posted_at_source == "person" and not close.posted_at_warning  # within a minute: agrees
    with pytest.raises(EntryError, match="before X / Twitter existed"):
        update_entry(user, close, {"posted_at": datetime(1403, 3, 8, tzinfo=UTC), "confirm_posted_at": True})
    db.session.rollback()


def test_entry_form_and_api_warn_and_take_the_confirmation(setup, client, login, token_for):
    user, case = setup
    login(client, user)
    resp = client.post(f"/entries/new/{case.id}", data={"url": X_URL, "posted_at": "2021-10-27T20:00",
                                                        "account_id": 0}, follow_redirects=True)
    page = resp.data.decode()
    assert "differs from the time in the post id" in page and "the id&#39;s time is kept" in page
    entry = db.session.scalar(select(Entry).where(Entry.post_id == "1453347171011694596"))
    assert entry.posted_at == X_TIME
    form = client.get(f"/entries/{entry.id}/edit").data.decode()
    assert "The typed time is right" in form
    client.post(f"/entries/{entry.id}/edit", data={"posted_at": "2021-10-27T20:00", "confirm_posted_at": "y",
                                                   "account_id": 0})
    db.session.refresh(entry)
    assert entry.posted_at == datetime(2021, 10, 27, 20, tzinfo=UTC) and entry.posted_at_source == "person"
    assert "The post id says 2021-10-27 13:05 UTC, 6 h 54 min away; a person confirmed" in client.get(
        f"/entries/{entry.id}").data.decode()
    api, headers = client.application.test_client(), token_for(user)
    url2 = "https://x.com/leader_en/status/1453347171011694598"
    made = api.post(f"/api/v1/cases/{case.id}/entries", headers=headers,
                    json={"url": url2, "posted_at": "2021-10-27T20:00:00Z"})
    assert made.status_code == 201 and "posted_at" in made.json["warnings"]
    assert made.json["posted_at_source"] == "derived_from_id"
    fixed = api.patch(f"/api/v1/entries/{made.json['id']}", headers=headers,
                      json={"posted_at": "2021-10-27T20:00:00Z", "confirm_posted_at": True})
    assert fixed.status_code == 200 and fixed.json["posted_at"] == "2021-10-27T20:00:00Z"
    assert "warnings" not in fixed.json


# --- time zones --------------------------------------------------------------------------------------------

def test_settings_time_zone(setup, client, login):
    user, _ = setup
    assert user.time_zone == "UTC"
    assert client.post("/auth/settings/time-zone", data={"time_zone": "Asia/Tehran"}).status_code == 302
    assert db.session.get(User, user.id).time_zone == "UTC"  # not signed in: nothing changed
    login(client, user)
    page = client.get("/auth/settings").data.decode()
    assert 'id="time-zone"' in page and "Asia/Tehran (UTC+03:30)" in page
    resp = client.post("/auth/settings/time-zone", data={"time_zone": "Mars/Olympus"}, follow_redirects=True)
    assert "The time zone was not changed" in resp.data.decode()
    assert db.session.get(User, user.id).time_zone == "UTC"
    resp = client.post("/auth/settings/time-zone", data={"time_zone": "Asia/Tehran"}, follow_redirects=True)
    assert "Time zone saved: Tehran time (UTC+03:30)" in resp.data.decode()
    assert db.session.get(User, user.id).time_zone == "Asia/Tehran"
    client.post("/auth/settings/time-zone", data={"time_zone": "Iran"})  # a browser's older name for it
    assert db.session.get(User, user.id).time_zone == "Iran"


def test_time_zone_change_needs_the_pages_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        user = User(email="z@example.org")
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
        client = app.test_client()
        page = client.get("/auth/login").data.decode()
        token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        client.post("/auth/login", data={"email": "z@example.org", "password": PASSWORD, "csrf_token": token})
        resp = client.post("/auth/settings/time-zone", data={"time_zone": "Asia/Tehran"})
        assert resp.status_code == 400  # a cross-site form without the page's token
        assert db.session.get(User, user.id).time_zone == "UTC"
        settings = client.get("/auth/settings").data.decode().split('id="time-zone"')[1]
        token = settings.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        client.post("/auth/settings/time-zone", data={"time_zone": "Asia/Tehran", "csrf_token": token})
        db.session.expire_all()
        assert db.session.get(User, user.id).time_zone == "Asia/Tehran"
        db.session.remove()


def test_registration_keeps_the_browsers_zone(app, client):
    page = client.get("/auth/register").data.decode()
    assert 'name="time_zone"' in page and "timezone.js" in page
    for email, zone, kept in (("a@example.org", "Asia/Tehran", "Asia/Tehran"),
                              ("b@example.org", "Not/AZone", "UTC"), ("c@example.org", "", "UTC")):
        client.post("/auth/register", data={"email": email, "password": PASSWORD + " x1", "confirm": PASSWORD + " x1",
                                            "time_zone": zone})
        assert db.session.scalar(select(User).where(User.email == email)).time_zone == kept


def test_forms_take_and_pages_show_local_time_while_storage_and_dossier_stay_utc(setup, app, client, login):
    user, case = setup
    user.time_zone = "Asia/Tehran"
    db.session.commit()
    login(client, user)
    form = client.get(f"/entries/new/{case.id}").data.decode()
    assert "Posted at (Tehran time (UTC+03:30))" in form and "Captured at (Tehran time (UTC+03:30))" in form
    client.post(f"/entries/new/{case.id}", data={"url": "https://t.me/leader_fa/5", "posted_at": "2024-05-28T10:30",
                                                 "captured_at": "2024-05-29T09:00", "account_id": 0})
    entry = db.session.scalar(select(Entry).where(Entry.post_id == "5"))
    assert entry.posted_at == datetime(2024, 5, 28, 7, tzinfo=UTC)  # stored UTC
    assert entry.captured_at == datetime(2024, 5, 29, 5, 30, tzinfo=UTC)
    assert entry.captured_at_source == "person"
    page = client.get(f"/entries/{entry.id}").data.decode()
    assert "2024-05-28 10:30:00 Tehran (UTC+03:30)" in page and "2024-05-29 09:00 Tehran (UTC+03:30)" in page
    edit = client.get(f"/entries/{entry.id}/edit").data.decode()
    assert 'value="2024-05-28T10:30"' in edit  # the form shows local time
    client.post(f"/entries/{entry.id}/edit", data={"posted_at": "2024-05-28T10:30", "captured_at": "2024-05-29T09:00",
                                                   "account_id": 0})
    db.session.refresh(entry)
    assert entry.posted_at == datetime(2024, 5, 28, 7, tzinfo=UTC)  # saved unchanged: no drift
    case_page = client.get(f"/cases/{case.id}").data.decode()
    assert "Tehran (UTC+03:30)" in case_page
    late = create_entry(user, case, "https://t.me/leader_fa/6", {"posted_at": datetime(2024, 5, 27, 21, 30,
                                                                                           tzinfo=UTC)})
    day = client.get(f"/cases/{case.id}?date_from=2024-05-28&date_to=2024-05-28").data.decode()
    assert f"entries/{late.id}\"" in day  # 01:00 on the 28th in Tehran: the reader's day, not UTC's
    assert f"entries/{late.id}\"" not in client.get(f"/cases/{case.id}?date_to=2024-05-27").data.decode()
    warned = client.post(f"/entries/new/{case.id}", data={"url": X_URL, "posted_at": "2021-10-27T20:00",
                                                          "account_id": 0}, follow_redirects=True).data.decode()
    assert "The typed time 2021-10-27 20:00 Tehran (UTC+03:30) differs from the time in the post id" in warned
    text = _pdf_text(app, user, case)
    assert "2024-05-28 07:00:00 UTC" in text and "Tehran" not in text  # the dossier prints UTC


def _pdf_text(app, user, case) -> str:
    """The draft dossier of the case's entries (each given a clause, which a platform-rules report needs)."""
    for entry in db.session.scalars(select(Entry).where(Entry.case_id == case.id)):
        if not entry.violations and entry.platform == "telegram":
            add_violation(user, entry, "telegram/terms_of_service/promote_violence_public", "A call to violence.")
    dossier = create_dossier(user, case, DossierOptions(approved_only=False))
    build_dossier(dossier, app.config["EVIDENCE_DIR"], workers=0)
    reader = PdfReader(str(EvidenceStore(app.config["EVIDENCE_DIR"]).path_for(dossier.sha256)))
    return "\n".join(page.extract_text() for page in reader.pages)


# --- capture time from the first screenshot ----------------------------------------------------------------

def test_first_screenshot_sets_capture_time_and_person_and_it_can_be_corrected(setup, app, client, login,
                                                                             token_for):
    user, case = setup
    store, limits = EvidenceStore(app.config["EVIDENCE_DIR"]), Limits.from_config(app.config)
    entry = create_entry(user, case, "https://t.me/leader_fa/7", {})
    assert entry.captured_at is None
    first = add_evidence_file(user, entry, io.BytesIO(png_bytes()), "shot.png", store, limits)
    db.session.refresh(entry)
    assert entry.captured_at == first.uploaded_at and entry.captured_by == "Owner 1"  # the export-safe name
    assert entry.captured_at_source == "upload"
    event = db.session.scalars(select(Event).where(Event.entry_id == entry.id, Event.action == "entry.edited")).one()
    assert event.explanation == "from the first screenshot's upload"
    assert set(event.data) == {"captured_at", "captured_by", "captured_at_source"}
    add_evidence_file(user, entry, io.BytesIO(png_bytes(color=(1, 2, 3))), "second.png", store, limits)
    db.session.refresh(entry)
    assert entry.captured_at == first.uploaded_at  # the second changes nothing
    assert verify_case(case.id, store).ok  # the change is in the history that verify replays
    api = client.application.test_client().get(f"/api/v1/entries/{entry.id}", headers=token_for(user)).json
    assert api["capture"]["source"] == "first_screenshot_upload" and api["capture"]["captured_by"] == "Owner 1"
    login(client, user)
    page = client.get(f"/entries/{entry.id}").data.decode()
    assert '<span class="chip">from the first screenshot\'s upload' in page
    text = _pdf_text(app, user, case)
    assert "(from the first screenshot's upload)" in " ".join(text.split()) and "Owner 1" in text
    update_entry(user, entry, {"captured_by": "Field researcher 3"})  # a person corrects it
    assert entry.captured_at_source == "person"
    assert verify_case(case.id, store).ok
    page = client.get(f"/entries/{entry.id}").data.decode()
    assert '<span class="chip">from the first screenshot\'s upload' not in page and "Field researcher 3" in page


def test_a_typed_capture_time_is_kept_when_the_screenshot_arrives(setup, app):
    user, case = setup
    store, limits = EvidenceStore(app.config["EVIDENCE_DIR"]), Limits.from_config(app.config)
    typed = datetime(2024, 5, 1, 9, tzinfo=UTC)
    entry = create_entry(user, case, "https://t.me/leader_fa/8", {"captured_at": typed, "captured_by": "Sara"})
    add_evidence_file(user, entry, io.BytesIO(png_bytes()), "shot.png", store, limits)
    db.session.refresh(entry)
    assert (entry.captured_at, entry.captured_by, entry.captured_at_source) == (typed, "Sara", "person")


def test_an_impossible_time_stored_before_the_checks_is_flagged_on_the_entry_page(setup, client, login):
    user, case = setup
    entry = create_entry(user, case, "https://t.me/leader_fa/30", {})
    db.session.execute(update(Entry).where(Entry.id == entry.id).values(  # as an earlier import stored it
        posted_at=datetime(1403, 3, 8, 10, 30, tzinfo=UTC)))
    db.session.commit()
    login(client, user)
    page = client.get(f"/entries/{entry.id}").data.decode()
    assert "This time cannot be right: 1403-03-08 is before Telegram existed (2013-08-14). Is it a Solar Hijri" in page
