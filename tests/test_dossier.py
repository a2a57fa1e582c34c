"""The PDF dossier, checked by parsing the real PDF that WeasyPrint and pypdf make."""

import io
import re

import pytest
from PIL import Image, ImageDraw
from pypdf import PdfReader

from reportkit.extensions import db
from reportkit.services.dossier.fetcher import EvidenceFetcher
from reportkit.services.dossier.job import DossierOptions, DossierRefused, build_dossier, create_dossier
from reportkit.services.entries import add_violation, create_entry
from reportkit.services.evidence import Limits, add_evidence_file
from reportkit.services.exports import entries_csv, safe_cell
from reportkit.services.storage import EvidenceStore

PERSIAN = "ما آن‌ها را نابود خواهیم کرد. این پیام برای X.com است، «هشدار» ۱۴۰۲."
HOSTILE = ('<img src="file:///etc/passwd"> <link rel=attachment href="file:///etc/passwd"> '
           '<img src="http://127.0.0.1:9/track.png"> <style>body{background:url(file:///etc/passwd)}</style>')


def screenshot(n: int) -> bytes:
    img = Image.new("RGB", (1600, 1000), (240, 244, 248))
    ImageDraw.Draw(img).rectangle((40, 40, 1560, 960), outline=(90, 90, 90), width=5)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def case_with_entries(app, make_user, make_case):
    user = make_user(name="Rana")
    case = make_case(user, title="Threats by A. Leader",
                     accounts=[{"platform": "x", "handle": "leader_en"},
                               {"platform": "telegram", "handle": "leader_fa", "display_name": "رهبر"}])
    case.summary = "Summary with **bold** and ![x](file:///etc/passwd) " + HOSTILE
    case.prepared_by_name, case.prepared_by_org, case.prepared_by_email = "Rana", "Example Watch", "r@example.org"
    case.public_interest = "Direct threats are enforced regardless of public interest."
    store = EvidenceStore(app.config["EVIDENCE_DIR"])
    entries = []
    for n in range(5):
        url = (f"https://x.com/leader_en/status/{1453347171011694596 + n * 10**15}" if n % 2
               else f"https://t.me/leader_fa/{100 + n}")
        entry = create_entry(user, case, url, {"text": PERSIAN if n % 2 == 0 else HOSTILE,
                                               "language": "fa" if n % 2 == 0 else "en",
                                               "translation": "We will destroy them.", "translation_method": "human"})
        add_violation(user, entry, "x/violent_content/violent_threats" if n % 2 else  # each post its platform's rule
                      "telegram/terms_of_service/promote_violence_public", f"Rationale for {n}: calls for harm.")
        add_evidence_file(user, entry, io.BytesIO(screenshot(n)), f"shot{n}.png", store,
                          Limits.from_config(app.config))
        entries.append(entry)
    db.session.commit()
    return user, case, entries


def export(app, user, case, workers=0, **options):
    options.setdefault("approved_only", False)  # these tests are about rendering: drafts too (each marked)
    dossier = create_dossier(user, case, DossierOptions(**options))
    build_dossier(dossier, app.config["EVIDENCE_DIR"], workers=workers)
    path = EvidenceStore(app.config["EVIDENCE_DIR"]).path_for(dossier.sha256)
    return dossier, PdfReader(str(path)), path


def drawn_images(page) -> int:
    """Image XObjects the page's content draws (its resources may list more: WeasyPrint shares them)."""
    xobjects = page["/Resources"].get("/XObject") or {}
    images = {name.encode() for name, ref in xobjects.items() if ref.get_object().get("/Subtype") == "/Image"}
    return sum(1 for name in re.findall(rb"(/[^\s/]+) Do", page.get_contents().get_data()) if name in images)


def texts(reader) -> list[str]:
    return [page.extract_text() for page in reader.pages]


def entry_pages(pages: list[str]) -> dict[int, int]:
    """1-based page where each entry's section starts, found in the text itself."""
    found = {}
    for index, text in enumerate(pages):
        match = re.match(r"\s*Entry (\d+) ·", text)
        if match and int(match[1]) not in found:
            found[int(match[1])] = index + 1
    return found


def contents_numbers(text: str) -> list[int]:
    return [int(line) for line in text.splitlines() if line.strip().isdigit()]


@pytest.mark.parametrize("workers", [0, 2])
def test_dossier_structure_numbers_links_and_bookmarks(app, case_with_entries, workers):
    user, case, entries = case_with_entries
    dossier, reader, path = export(app, user, case, workers=workers)
    pages = texts(reader)
    assert dossier.status == "done" and dossier.pages == len(reader.pages) == len(pages)
    assert dossier.size == path.stat().st_size

    starts = entry_pages(pages)
    assert sorted(starts) == [1, 2, 3, 4, 5]
    contents = next(t for t in pages if t.lstrip().startswith("Contents"))
    numbers = contents_numbers(contents)
    # summary, public-interest section, 5 entries, 3 appendices, in the order of the contents
    assert numbers[2:7] == [starts[n] for n in range(1, 6)]
    appendix_a = next(i + 1 for i, t in enumerate(pages) if t.lstrip().startswith("Appendix A"))
    assert numbers[7] == appendix_a

    for i, text in enumerate(pages[1:], start=2):  # running header and footer on every page but the cover
        assert f"page {i} of {len(pages)}" in text and dossier.document_id in text
    assert "page 1 of" not in pages[0]

    toc_index = pages.index(contents)
    links = [a.get_object() for a in reader.pages[toc_index]["/Annots"]]
    targets = sorted(reader.get_page_number(link["/Dest"][0].get_object()) + 1 for link in links
                     if not isinstance(link.get("/Dest"), str) and "/Dest" in link)
    assert set(starts.values()) <= set(targets)

    outline = reader.outline
    titles = [o.title for o in outline if not isinstance(o, list)]
    assert titles[:3] == ["Cover", "Contents", "Summary"] and "Entries" in titles and "Appendices" in titles
    entry_marks = outline[titles.index("Entries") + 1]
    assert [reader.get_destination_page_number(m) + 1 for m in entry_marks] == [starts[n] for n in range(1, 6)]

    meta = reader.metadata
    assert meta.title.startswith("Threats by A. Leader") and meta.author == "Rana, Example Watch"
    assert "Platform-rules report" in meta.subject and "Violent Threats" in meta["/Keywords"]
    assert meta["/CreationDate"].startswith("D:")


def test_dossier_content_urls_clauses_hashes_and_persian(app, case_with_entries):
    user, case, entries = case_with_entries
    dossier, reader, _ = export(app, user, case)
    full = "\n".join(texts(reader))
    for entry in entries:
        assert entry.canonical_url in full
        for ev in entry.evidence:
            assert ev.sha256 in full  # in the entry and in the manifest
    assert "Violent Threats" in full and "Promote violence on publicly viewable" in full and "Rationale for 3" in full
    assert "text checked 2026-07-22" in full
    for word in ("نابود", "خواهیم", "هشدار"):
        assert word in full
    assert "Why the public-interest exception does not apply" in full and "Appendix C" in full
    assert "5 entries" in full and "Rana, Example Watch" in full


def test_hostile_text_is_printed_not_fetched(app, case_with_entries):
    user, case, _ = case_with_entries
    dossier, reader, path = export(app, user, case)
    raw = path.read_bytes()
    full = "\n".join(texts(reader))
    assert "root:x:0:0" not in full and b"root:x:0:0" not in raw
    assert "/EmbeddedFile" not in raw.decode("latin-1") and "/FileAttachment" not in raw.decode("latin-1")
    assert '<img src="file:///etc/passwd">' in full  # the hostile text itself, shown as text
    # images drawn (an entry that runs onto a second page lists its screenshot in that page's resources too)
    images = sum(drawn_images(page) for page in reader.pages)
    assert images == 5  # the five screenshots, nothing pulled in from the hostile markup


@pytest.mark.parametrize("url", ["file:///etc/passwd", "http://127.0.0.1:9/x.png", "https://example.org/a.png",
                                 "data:image/png;base64,iVBORw0KGgo=", "evidence:../../etc/passwd",
                                 "evidence:" + "0" * 64])
def test_fetcher_refuses_everything_but_stored_evidence(tmp_path, url):
    with pytest.raises((ValueError, OSError)):
        EvidenceFetcher(str(tmp_path)).fetch(url)


def test_fetcher_serves_stored_evidence(tmp_path):
    store = EvidenceStore(tmp_path)
    sha, _ = store.put_bytes(b"\xff\xd8\xff jpeg bytes")
    response = EvidenceFetcher(str(tmp_path)).fetch(f"evidence:{sha}")
    assert response.read() == b"\xff\xd8\xff jpeg bytes"


def test_options_select_entries_and_paper(app, case_with_entries):
    user, case, entries = case_with_entries
    dossier, reader, _ = export(app, user, case, clause="x/violent_content/violent_threats", paper="Letter",
                                include_translations=False)
    full = "\n".join(texts(reader))
    assert dossier.entry_count == 2 and sorted(entry_pages(texts(reader))) == [2, 4]
    assert "We will destroy them." not in full
    width, height = reader.pages[0].mediabox.width, reader.pages[0].mediabox.height
    assert (round(width), round(height)) == (612, 792)


def test_dsa_notice_refused_until_complete(app, case_with_entries):
    user, case, entries = case_with_entries
    case.prepared_by_email = ""
    db.session.commit()
    with pytest.raises(DossierRefused) as refused:
        create_dossier(user, case, DossierOptions(mode="dsa", approved_only=False))
    problems = " ".join(refused.value.problems)
    assert "(a) an explanation" in problems and "(c) the notifier's email" in problems
    assert "(d) the statement of good faith" in problems and "legal ground" in problems and "1–5" in problems
    case.prepared_by_email, case.dsa_good_faith = "r@example.org", True
    case.dsa_explanation = "Threats of violence are criminal offences under the law cited for each item."
    for e in entries:
        e.legal_country, e.legal_law, e.legal_article = "DE", "StGB", "§ 241"
    db.session.commit()
    dossier, reader, _ = export(app, user, case, mode="dsa")
    full = "\n".join(texts(reader))
    assert "Notice under Article 16 of the Digital Services Act" in full
    assert "bona fide belief" in full and "r@example.org" in full and "StGB § 241" in full
    assert "DSA Article 16 notice" in reader.metadata.subject


def test_no_entries_is_refused(app, case_with_entries):
    user, case, _ = case_with_entries
    with pytest.raises(DossierRefused, match="No entry matches"):
        create_dossier(user, case, DossierOptions(tag="nothing-has-this"))


def test_csv_has_bom_and_escapes_formulas(app, case_with_entries):
    user, case, entries = case_with_entries
    entries[1].notes = "x"
    entries[1].translation = "=HYPERLINK(\"http://evil\")"
    db.session.commit()
    text = entries_csv(entries)
    assert text.startswith("\ufeffnumber,platform")
    assert "'=HYPERLINK" in text and PERSIAN in text
    assert [safe_cell(v) for v in ("+1", "-2", "@x", "ok", None)] == ["'+1", "'-2", "'@x", "ok", ""]


@pytest.mark.parametrize(("paper", "title"), [("A4", None), ("Letter", "تهدیدهای رهبر علیه روزنامه‌نگاران")])
def test_parts_look_exactly_like_one_pass(app, case_with_entries, tmp_path, paper, title):
    """The page numbers, running header and contents numbers stamped after the merge land where one
    WeasyPrint pass puts them: every page, rasterised, is the same pixel for pixel (also with a Persian
    title in the running header, which needs another font)."""
    import subprocess

    from reportkit.models._common import utcnow
    from reportkit.services.dossier.data import select_entries, snapshot
    from reportkit.services.dossier.pipeline import render_dossier, render_naive

    user, case, entries = case_with_entries
    case.title = title or case.title
    options = DossierOptions(paper=paper)
    data = snapshot(case, select_entries(case, options), options, "RK-TEST-1", utcnow(), app.config["EVIDENCE_DIR"])
    pages = render_naive(data, tmp_path / "one.pdf")
    assert render_dossier(data, tmp_path / "parts.pdf", workers=0).pages == pages
    for name in ("one", "parts"):
        subprocess.run(["pdftoppm", "-r", "50", "-png", str(tmp_path / f"{name}.pdf"), str(tmp_path / name)],
                       check=True)
    images = {name: sorted(tmp_path.glob(f"{name}-*.png")) for name in ("one", "parts")}
    assert len(images["one"]) == len(images["parts"]) == pages
    for page, (one, parts) in enumerate(zip(images["one"], images["parts"], strict=True), start=1):
        assert Image.open(one).tobytes() == Image.open(parts).tobytes(), f"page {page} differs"


def test_urls_in_right_to_left_text_stay_left_to_right_and_escaped():
    from reportkit.bidi import ltr_urls

    html = str(ltr_urls('سلام https://example.org/a?x=1&y=2 و <img src="file:///etc/passwd"> https://t.me/c/1"onx=1'))
    assert '<span dir="ltr" class="whole">https://example.org/a?x=1&amp;y=2</span>' in html
    assert "<img" not in html and "&lt;img src=&#34;file:///etc/passwd&#34;&gt;" in html
    assert '<span dir="ltr" class="whole">https://t.me/c/1</span>&#34;onx=1' in html  # a URL ends at a quote
    long_url = "https://example.org/" + "a" * 100
    assert f'<span dir="ltr">{long_url}</span>' in str(ltr_urls(long_url))  # too long to keep whole
    assert str(ltr_urls(None)) == ""


def test_a_long_url_in_persian_text_wraps_inside_the_page(app, case_with_entries):
    user, case, entries = case_with_entries
    long_url = "https://example.org/" + "segment/" * 60 + "end"
    entries[0].text = f"{PERSIAN} {long_url}"
    db.session.commit()
    dossier, reader, _ = export(app, user, case, entry_numbers=[entries[0].number])
    page = next(p for p in reader.pages if "Original text" in p.extract_text())
    text = page.extract_text()
    assert long_url in "".join(text.split())
    url_lines = [line for line in text.splitlines() if "segment/segment" in line]
    assert len(url_lines) >= 3  # about 500 characters: it wraps over several lines instead of running off the page
    xs = []
    page.extract_text(visitor_text=lambda text, cm, tm, *_: xs.append(tm[4] * cm[0] + tm[5] * cm[2] + cm[4])
                      if text.strip() else None)  # where each run starts, in page units
    assert xs and max(xs) < float(page.mediabox.width)
