"""RFC 3161 timestamps of an evidence package's manifest, from local test authorities made here."""

import hashlib
import io
import shutil
import subprocess
import zipfile

import pytest
from pypdf import PdfReader

from reportkit.models import Event
from reportkit.services.dossier.options import DossierOptions
from reportkit.services.entries import add_violation
from reportkit.services.evidence import Limits, add_evidence_file
from reportkit.services.package import verify_package, write_package
from reportkit.services.storage import EvidenceStore
from reportkit.services.timestamps import TimestampError, check, request_stamps, urls_from

from .conftest import png_bytes
from .pki import LocalTSA, root


def mapped(user, entry):
    """A dossier prints only entries with a clause: these tests are about signing and stamps, not content."""
    add_violation(user, entry, "telegram/terms_of_service/promote_violence_public", "Calls for violence.")
    return entry


@pytest.fixture(scope="module")
def ca():
    return root()


@pytest.fixture
def stamped(app, make_user, make_case, make_entry, tmp_path, ca):
    user = make_user(name="Rana")
    case = make_case(user)
    entry = mapped(user, make_entry(case, user, url="https://t.me/leader_fa/1", text="post"))
    add_evidence_file(user, entry, io.BytesIO(png_bytes(200, 100)), "s.png", EvidenceStore(app.config["EVIDENCE_DIR"]),
                      Limits.from_config(app.config))
    out = tmp_path / "package.zip"
    with LocalTSA(ca, "First Test TSA") as first, LocalTSA(ca, "Second Test TSA") as second:
        result = write_package(user, case, out, app.config["EVIDENCE_DIR"], workers=0,
                               options=DossierOptions(approved_only=False), timestamp_urls=[first.url, second.url])
        assert first.requests == second.requests == 1
    return out, result, case


def test_manifest_is_timestamped_by_each_authority_and_printed(stamped, ca):
    out, result, case = stamped
    with zipfile.ZipFile(out) as zf:
        manifest = zf.read("manifest.json")
        replies = [zf.read(f"timestamps/manifest.{n}.tsr") for n in (1, 2)]
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(zf.read("dossier.pdf"))).pages)
    for reply in replies:
        assert check(reply, manifest, [ca.pem]) == []
    text, compact = " ".join(text.split()), "".join(text.split())  # table cells wrap long serials and names
    assert "Common Name: First Test TSA" in text and "Common Name: Second Test TSA" in text
    assert "timestamps/manifest.2.tsr" in compact and str(result["timestamps"][0].serial) in compact
    event = Event.query.filter_by(case_id=case.id, action="package.exported").one()
    assert [t["sha256"] for t in event.data["timestamps"]] == [s.sha256 for s in result["timestamps"]]
    assert verify_package(out, [ca.pem]) == []


def test_verifier_catches_a_timestamp_of_other_data_or_an_untrusted_authority(stamped, ca, tmp_path):
    out, _, _ = stamped
    assert verify_package(out, [root().pem]) == [
        f"timestamps/manifest.{n}.tsr: the authority's certificate does not lead to a trusted root" for n in (1, 2)]
    assert request_stamps([], b"") == []  # no authorities configured: nothing is asked
    with LocalTSA(ca) as tsa:
        foreign = request_stamps([tsa.url], b"some other manifest")[0].reply
    swapped = tmp_path / "swapped.zip"
    with zipfile.ZipFile(out) as zin, zipfile.ZipFile(swapped, "w") as zout:
        for name in zin.namelist():
            data = foreign if name == "timestamps/manifest.1.tsr" else zin.read(name)
            if name == "SHA256SUMS":  # a forger would fix the sums too: the imprint check still catches it
                lines = [line for line in data.decode().splitlines() if not line.endswith("manifest.1.tsr")]
                tsr_line = f"{hashlib.sha256(foreign).hexdigest()}  timestamps/manifest.1.tsr"
                data = ("\n".join(lines) + f"\n{tsr_line}\n").encode()
            zout.writestr(name, data)
    assert verify_package(swapped, [ca.pem]) == [
        "timestamps/manifest.1.tsr: it timestamps other data than this manifest"]
    junk = check(b"not a reply", b"x")
    assert len(junk) == 1 and junk[0].startswith("not a timestamp reply")


def test_openssl_verifies_the_reply_as_an_ordinary_tool(stamped, ca, tmp_path):
    out, _, _ = stamped
    if shutil.which("openssl") is None:
        pytest.fail("openssl is part of the documented check and must be installed")
    with zipfile.ZipFile(out) as zf:
        zf.extract("manifest.json", tmp_path)
        zf.extract("timestamps/manifest.1.tsr", tmp_path)
    (tmp_path / "root.pem").write_bytes(ca.pem)
    ok = subprocess.run(["openssl", "ts", "-verify", "-data", "manifest.json", "-in", "timestamps/manifest.1.tsr",
                         "-CAfile", "root.pem"], cwd=tmp_path, capture_output=True, text=True)
    assert ok.returncode == 0 and "Verification: OK" in ok.stdout
    (tmp_path / "manifest.json").write_bytes(b"{}")
    bad = subprocess.run(["openssl", "ts", "-verify", "-data", "manifest.json", "-in", "timestamps/manifest.1.tsr",
                          "-CAfile", "root.pem"], cwd=tmp_path, capture_output=True, text=True)
    assert bad.returncode != 0


def test_an_unreachable_authority_stops_the_export_with_its_address(app, make_user, make_case, make_entry, tmp_path):
    user = make_user()
    case = make_case(user)
    mapped(user, make_entry(case, user, url="https://t.me/leader_fa/1"))
    with pytest.raises(TimestampError, match="127.0.0.1:9"):
        write_package(user, case, tmp_path / "p.zip", app.config["EVIDENCE_DIR"], workers=0,
                      options=DossierOptions(approved_only=False),
                      timestamp_urls=["http://127.0.0.1:9/tsa"], timestamp_timeout=2)
    assert not (tmp_path / "p.zip").exists()


def test_cli_export_and_verify_with_timestamps(stamped, runner, ca, tmp_path, app):
    out, _, case = stamped
    (tmp_path / "root.pem").write_bytes(ca.pem)
    good = runner.invoke(args=["verify-package", str(out), "--tsa-root", str(tmp_path / "root.pem")])
    assert good.exit_code == 0, good.output
    (tmp_path / "junk.pem").write_bytes(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    junk = runner.invoke(args=["verify-package", str(out), "--tsa-root", str(tmp_path / "junk.pem")])
    assert junk.exit_code != 0 and "not a certificate" in junk.output and junk.exception.__class__ is SystemExit
    assert "timestamped by" in good.output and "First Test TSA" in good.output
    with LocalTSA(ca, "CLI TSA") as tsa:
        app.config["TIMESTAMP_URLS"] = tsa.url  # a comma-separated string works as well as a list
        made = runner.invoke(args=["export-package", str(case.id), "-o", str(tmp_path / "cli.zip"),
                                   "--include-unapproved"])
    assert made.exit_code == 0, made.output
    assert "CLI TSA" in made.output


def test_urls_setting_forms():
    assert urls_from(None) == [] and urls_from("") == []
    assert urls_from("http://a/tsa, http://b/tsa") == ["http://a/tsa", "http://b/tsa"]
    assert urls_from(["http://a/tsa"]) == ["http://a/tsa"]


def test_package_from_the_browser_is_timestamped_and_says_so(app, make_user, make_case, make_entry, login, ca):
    from .test_dossier_jobs import wait_done

    user = make_user(name="Rana")
    case = make_case(user)
    mapped(user, make_entry(case, user, url="https://t.me/leader_fa/1", text="post"))
    client = login(app.test_client(), user)
    with LocalTSA(ca, "Browser Test TSA") as tsa:
        app.config["TIMESTAMP_URLS"] = [tsa.url]
        resp = client.post(f"/dossiers/new/{case.id}", data={"mode": "rules", "paper": "A4", "account": "0",
                                                             "with_package": "y", "include_unapproved": "y"})
        dossier_id = resp.headers["Location"].rsplit("/", 1)[-1]
        assert wait_done(lambda: client.get(f"/dossiers/{dossier_id}/status.json").json)["status"] == "done"
    page = client.get(f"/dossiers/{dossier_id}").data.decode()
    assert "timestamped (RFC 3161) by" in page and "Browser Test TSA" in page
