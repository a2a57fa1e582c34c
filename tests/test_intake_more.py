"""Bulk intake keeps everything: the auto-archiver's own columns (text, time, title, WACZ, replay page, hash
with its algorithm), and addresses that are not posts are reported with the reason unless the person asks
for them as "other" (page, CSV mapping, API, command line)."""

import csv
import io
import json

import pytest
from sqlalchemy import select

from reportkit.extensions import db
from reportkit.models import Entry, Import
from reportkit.services.custody import verify_case
from reportkit.services.intake import guess_mapping, import_rows, paste_urls, read_table
from reportkit.services.storage import EvidenceStore

# The header row of a CSV exported from Bellingcat's auto-archiver spreadsheet, as it writes it.
ARCHIVER_HEADERS = ["Link", "Archive status", "Destination folder", "Archive location", "Archive date", "Thumbnail",
                    "Upload timestamp", "Upload title", "Text content", "Screenshot", "Hash", "Perceptual hashes",
                    "WACZ", "ReplayWebpage"]
SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
PERSIAN = "خبرنگاران خائن را یکی‌یکی پیدا می‌کنیم و سزایشان را می‌دهیم."
NOT_POSTS = {
    "https://www.bbc.com/news/world-middle-east-12345678": "not a platform reportkit knows",
    "https://www.facebook.com/sharer/sharer.php?u=https%3A%2F%2Fnews.example.org%2Fa": "“share” button link",
    "https://x.com/leader_en": "a profile or page on X",
    "https://www.facebook.com/share/g/1AbCdEfGh/": "a Facebook group shared by link",
    "https://vm.tiktok.com/ZM6abcdef/": "a TikTok short link",
}


@pytest.fixture
def setup(app, make_user, make_case):
    user = make_user()
    case = make_case(user, accounts=[{"platform": "x", "handle": "leader_en"},
                                     {"platform": "telegram", "handle": "leader_fa"}])
    return user, case


def archiver_csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=ARCHIVER_HEADERS)
    writer.writeheader()
    for row in rows:
        writer.writerow({h: row.get(h, "") for h in ARCHIVER_HEADERS})
    return out.getvalue().encode()


def run(user, case, data: bytes, allow_other=False):
    headers, rows = read_table(data)
    job = Import(case_id=case.id, kind="csv", mapping=guess_mapping(headers), created_by_id=user.id,
                 allow_other=allow_other)
    return import_rows(user, case, job, headers, rows)


def test_every_archiver_column_with_a_place_is_mapped():
    mapping = guess_mapping(ARCHIVER_HEADERS)
    assert mapping == {
        "url": "Link", "archive_status": "Archive status", "archive_url": "Archive location",
        "captured_at": "Archive date", "thumbnail_url": "Thumbnail", "posted_at": "Upload timestamp",
        "title": "Upload title", "text": "Text content", "screenshot_url": "Screenshot", "hash": "Hash",
        "wacz_url": "WACZ", "replay_url": "ReplayWebpage"}
    # left out, and kept in the stored file: the archiver's own folder and its perceptual hashes
    assert {"Destination folder", "Perceptual hashes"}.isdisjoint(mapping.values())


def test_the_archivers_csv_keeps_text_time_title_links_and_hash(setup, app):
    user, case = setup
    replay = ("https://replayweb.page/?source=https%3A%2F%2Fs3.example.org%2Fa%2Fp.wacz"
              "#view=pages&url=https%3A%2F%2Ft.me%2Fleader_fa%2F7")
    data = archiver_csv([
        {"Link": "https://t.me/leader_fa/7", "Archive status": "telegram: success",
         "Destination folder": "threats/2024", "Archive location": "https://s3.example.org/a/p.html",
         "Archive date": "2024-05-28T09:15:00+00:00", "Thumbnail": '=IMAGE("https://s3.example.org/a/thumb.jpg")',
         "Upload timestamp": "2024-05-27 21:40:05+00:00", "Upload title": "Channel post 7", "Text content": PERSIAN,
         "Screenshot": "https://s3.example.org/a/shot.png", "Hash": f"SHA-256:{SHA.upper()}",
         "Perceptual hashes": "[{'phash': 'ff00'}]", "WACZ": "https://s3.example.org/a/p.wacz",
         "ReplayWebpage": replay},
        {"Link": "https://t.me/leader_fa/8", "Archive location": "archived/leader_fa_8.html", "Hash": SHA,
         "Upload timestamp": "1716846005"},
        {"Link": "https://t.me/leader_fa/9", "Hash": "SHA3-512:" + "ab" * 64},
    ])
    job = run(user, case, data)
    assert [r["status"] for r in job.results] == ["created"] * 3, job.results
    first, second, third = db.session.scalars(select(Entry).where(Entry.case_id == case.id).order_by(Entry.number))
    assert first.text == PERSIAN and first.language == "fa"
    assert first.posted_at.isoformat() == "2024-05-27T21:40:05+00:00"
    assert first.captured_at.isoformat() == "2024-05-28T09:15:00+00:00"
    assert "title: Channel post 7" in first.notes and "archiver status: telegram: success" in first.notes
    assert f"archiver hash: sha256:{SHA}" in first.notes
    assert f"replay page: {replay}" in first.notes  # its #fragment (the page to show) is not lost
    assert [e.archive_url for e in first.evidence] == [
        "https://s3.example.org/a/p.html", "https://s3.example.org/a/p.wacz",
        "https://replayweb.page/?source=https%3A%2F%2Fs3.example.org%2Fa%2Fp.wacz",
        "https://s3.example.org/a/shot.png", "https://s3.example.org/a/thumb.jpg"]
    assert second.posted_at.isoformat() == "2024-05-27T21:40:05+00:00"
    assert f"archiver hash: sha256:{SHA}" in second.notes  # a bare hex: its length names the algorithm
    assert "archive location (not a web address): archived/leader_fa_8.html" in second.notes
    assert second.evidence == []
    assert "archiver hash: sha3-512:" + "ab" * 64 in third.notes
    assert verify_case(case.id, EvidenceStore(app.config["EVIDENCE_DIR"])).ok  # the history holds it all


def test_a_bad_archive_date_refuses_its_row_with_the_reason(setup):
    user, case = setup
    job = run(user, case, archiver_csv([{"Link": "https://t.me/leader_fa/7", "Archive date": "last Tuesday-ish"}]))
    assert job.results[0]["status"] == "error" and "archive date" in job.results[0]["reason"].lower()
    assert db.session.scalar(select(Entry).where(Entry.case_id == case.id)) is None


def test_pasted_addresses_that_are_not_posts_are_reported_with_the_reason(setup):
    user, case = setup
    job = paste_urls(user, case, "\n".join([*NOT_POSTS, "https://t.me/leader_fa/5"]))
    results = {r["url"]: r for r in job.results}
    assert results["https://t.me/leader_fa/5"]["status"] == "created"
    for url, reason in NOT_POSTS.items():
        assert results[url]["status"] == "invalid" and reason in results[url]["reason"], results[url]
    assert job.created == 1


def test_web_pages_are_added_as_other_only_when_asked(setup):
    user, case = setup
    job = paste_urls(user, case, "\n".join(NOT_POSTS), allow_other=True)
    results = {r["url"]: r["status"] for r in job.results}
    assert results.pop("https://www.bbc.com/news/world-middle-east-12345678") == "created"
    assert set(results.values()) == {"invalid"}  # a profile or a share button names no post, whatever is ticked
    entry = db.session.scalar(select(Entry).where(Entry.case_id == case.id))
    assert entry.platform == "other" and entry.canonical_url.startswith("https://www.bbc.com/news/")


def test_the_paste_page_has_the_option(setup, client, login):
    user, case = setup
    login(client, user)
    assert "not posts as “other”" in client.get(f"/imports/new/{case.id}").data.decode()
    news = "https://news.example.org/2024/05/28/minister-threatens-press"
    client.post(f"/imports/new/{case.id}", data={"paste-text": news, "paste-submit": "1"})
    assert db.session.scalar(select(Entry).where(Entry.case_id == case.id)) is None
    page = client.get(f"/imports/{db.session.scalar(select(Import.id).order_by(Import.id.desc()))}").data.decode()
    assert "Not a post URL: news.example.org is not a platform reportkit knows" in page
    client.post(f"/imports/new/{case.id}", data={"paste-text": news, "paste-allow_other": "y", "paste-submit": "1"})
    assert db.session.scalar(select(Entry.platform).where(Entry.case_id == case.id)) == "other"


def test_the_mapping_page_previews_and_keeps_the_choice(setup, client, login):
    user, case = setup
    login(client, user)
    data = b"url,text\nhttps://www.bbc.com/news/world-1,A report\nhttps://t.me/leader_fa/3,post\n"
    resp = client.post(f"/imports/new/{case.id}", data={"upload-file": (io.BytesIO(data), "list.csv"),
                                                        "upload-submit": "1"}, content_type="multipart/form-data")
    map_url = resp.headers["Location"]
    form = {"map_url": "url", "map_text": "text", "timezone": "UTC", "calendar": "auto", "preview": "1"}
    page = client.post(map_url, data=form).data.decode()
    assert "not a post URL: www.bbc.com is not a platform reportkit knows" in page
    page = client.post(map_url, data={**form, "allow_other": "y"}).data.decode()
    assert "not a post URL" not in page
    job = db.session.scalar(select(Import).order_by(Import.id.desc()))
    assert job.allow_other is True


def test_api_and_command_line_take_the_option(setup, client, token_for, runner, tmp_path):
    user, case = setup
    headers = token_for(user)
    news = "https://news.example.org/a"
    resp = client.post(f"/api/v1/cases/{case.id}/imports", json={"urls": [news], "allow_other": "perhaps"},
                       headers=headers)
    assert resp.status_code == 422 and "allow_other" in json.dumps(resp.json)
    resp = client.post(f"/api/v1/cases/{case.id}/imports", json={"urls": [news]}, headers=headers)
    assert resp.status_code == 202 and resp.json["failed"] == 1
    resp = client.post(f"/api/v1/cases/{case.id}/imports", json={"urls": [news], "allow_other": True},
                       headers=headers)
    assert resp.status_code == 202 and resp.json["created"] == 1
    path = tmp_path / "list.csv"
    path.write_text("url\nhttps://blog.example.org/post-about-it\n")
    result = runner.invoke(args=["import", str(case.id), str(path), "--allow-other"])
    assert result.exit_code == 0 and "1 created" in result.output, result.output
    result = runner.invoke(args=["import", str(case.id), str(path.with_name("list.csv"))])
    assert "1 duplicates" in result.output or "duplicate" in result.output


def test_the_single_entry_form_takes_a_web_page_on_purpose_but_never_a_profile(setup, client, login):
    user, case = setup
    login(client, user)
    resp = client.post(f"/entries/new/{case.id}", data={"url": "https://x.com/leader_en", "account_id": 0})
    assert resp.status_code in (200, 422) and "not the address of one post" in resp.data.decode()
    resp = client.post(f"/entries/new/{case.id}", data={"url": "https://news.example.org/a", "account_id": 0})
    assert resp.status_code == 302
    assert "it was added as “other”" in client.get(resp.headers["Location"]).data.decode()
    assert db.session.scalar(select(Entry.platform).where(Entry.case_id == case.id)) == "other"


@pytest.mark.parametrize("url, reason", [
    ("https://www.youtube.com/watch?v=bad", "post id is missing"),
    ("https://x.com/leader_en/status/abc", "post id is missing"),
    ("https://x.com/search?q=minister", "a search or list on X"),
    ("https://x.com", "the home page of X"),
    ("https://t.me/leader_fa", "a profile or page on Telegram"),
    ("https://bsky.app/profile/leader.example.org", "a profile or page on Bluesky"),
    ("https://www.facebook.com/profile.php?id=100004", "a profile or page on Facebook"),
    ("https://news.example.org/a", "news.example.org is not a platform reportkit knows"),
])
def test_why_an_address_is_not_a_post(url, reason):
    from reportkit.services.urls import not_a_post, parse_post_url

    assert reason in not_a_post(parse_post_url(url))


@pytest.mark.parametrize("url", ["https://x.com/leader_en/status/1453347171011694596", "https://t.me/leader_fa/5",
                                 "https://www.facebook.com/share/p/1AbCdEfGh/", "https://youtu.be/dQw4w9WgXcQ"])
def test_posts_are_posts(url):
    from reportkit.services.urls import not_a_post, parse_post_url

    assert not_a_post(parse_post_url(url)) == ""
