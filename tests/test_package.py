"""The evidence package: checked by the standalone verifier and by recomputing every hash ourselves."""

import hashlib
import io
import json
import zipfile

import pytest
from pypdf import PdfReader

from reportkit.services.dossier.options import DossierOptions
from reportkit.services.entries import add_violation
from reportkit.services.evidence import Limits, add_evidence_file
from reportkit.services.package import verify_package, write_package
from reportkit.services.storage import EvidenceStore

from .conftest import png_bytes

TELEGRAM_RULE = "telegram/terms_of_service/promote_violence_public"  # a clause fits the post's own platform
UNREVIEWED = DossierOptions(approved_only=False)  # these entries are never reviewed: the package is under test


@pytest.fixture
def package(app, make_user, make_case, make_entry, tmp_path):
    user = make_user(name="Rana")
    case = make_case(user)
    store = EvidenceStore(app.config["EVIDENCE_DIR"])
    for n in (1, 2):
        entry = make_entry(case, user, url=f"https://t.me/leader_fa/{n}", text=f"post {n}")
        add_violation(user, entry, TELEGRAM_RULE, "Calls for violence.")
        add_evidence_file(user, entry, io.BytesIO(png_bytes(200 + n, 100)), f"s{n}.png", store,
                          Limits.from_config(app.config))
    out = tmp_path / "package.zip"
    result = write_package(user, case, out, app.config["EVIDENCE_DIR"], workers=0, options=UNREVIEWED)
    return out, result


def rewrite(src, dst, change):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            zout.writestr(name, change(name, zin.read(name)))


def test_package_layout_and_hashes(package):
    out, result = package
    assert verify_package(out) == []
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        assert {"README.txt", "case.json", "events.json", "manifest.json", "dossier.pdf", "SHA256SUMS",
                "entries/1/entry.json", "entries/2/events.json"} <= names
        for line in zf.read("SHA256SUMS").decode().splitlines():  # what `sha256sum -c SHA256SUMS` does
            sha, name = line.split("  ", 1)
            assert hashlib.sha256(zf.read(name)).hexdigest() == sha
        manifest = zf.read("manifest.json")
        assert hashlib.sha256(manifest).hexdigest() == result["manifest_sha256"]
        files = [n for n in names if n.startswith("files/")]
        assert len(files) == 2  # the two print copies; the originals by hash only (tests/test_package_privacy.py)
        # stored files go in as they are (already compressed, streamed from disk); what the app wrote is deflated
        assert {zf.getinfo(n).compress_type for n in [*files, "dossier.pdf"]} == {zipfile.ZIP_STORED}
        assert zf.getinfo("events.json").compress_type == zipfile.ZIP_DEFLATED
        pdf = PdfReader(io.BytesIO(zf.read("dossier.pdf")))
        assert pdf.attachments["manifest.json"][0] == manifest
        assert result["manifest_sha256"] in "".join(p.extract_text() for p in pdf.pages).replace("\n", "")
        entry = json.loads(zf.read("entries/1/entry.json"))
        assert entry["evidence"][0]["print"]["sha256"] in {n.removeprefix("files/") for n in files}
        assert entry["evidence"][0]["included"] == [entry["evidence"][0]["print"]["sha256"]]
        assert entry["evidence"][0]["sha256"] in {o["sha256"] for o in json.loads(manifest)["originals"]}


def test_verifier_catches_a_changed_file(package, tmp_path):
    out, _ = package
    bad = tmp_path / "bad.zip"
    rewrite(out, bad, lambda name, data: data + b"x" if name.startswith("files/") else data)
    problems = verify_package(bad)
    assert any("does not match SHA256SUMS" in p for p in problems)
    assert any("its content does not match its name" in p for p in problems)


def test_verifier_catches_an_edited_history(package, tmp_path):
    out, _ = package

    def edit(name, data):
        if name != "events.json":
            return data
        events = json.loads(data)
        shown = next(e for e in events if "action" in e)  # a disclosed event
        shown["explanation"] = "nothing happened"
        events[0]["explanation"] = "nothing happened"  # a withheld one, given content: checked as content
        return json.dumps(events).encode()

    bad = tmp_path / "bad.zip"
    rewrite(out, bad, edit)
    problems = verify_package(bad)
    events = json.loads(zipfile.ZipFile(out).read("events.json"))
    shown = next(e for e in events if "action" in e)
    assert events[0]["withheld"] is True and shown["id"] != events[0]["id"]
    assert "event 1: its content does not match its hash" in problems
    assert f"event {shown['id']}: its content does not match its hash" in problems


def test_verifier_catches_a_withheld_event_relinked(package, tmp_path):
    """A withheld event's content cannot be checked, but its links can: a changed hash breaks the next link."""
    out, _ = package

    def relink(name, data):
        if name != "events.json":
            return data
        events = json.loads(data)
        events[0]["hash"] = "f" * 64
        return json.dumps(events).encode()

    bad = tmp_path / "bad.zip"
    rewrite(out, bad, relink)
    events = json.loads(zipfile.ZipFile(out).read("events.json"))
    assert f"event {events[1]['id']}: the chain is broken before it" in verify_package(bad)


def test_verify_package_command(package, runner, tmp_path):
    out, _ = package
    good = runner.invoke(args=["verify-package", str(out)])
    assert good.exit_code == 0 and "OK" in good.output
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    bad = runner.invoke(args=["verify-package", str(junk)])
    assert bad.exit_code == 1 and "not a readable ZIP" in bad.output


def test_package_of_a_selection_and_its_cli(app, make_user, make_case, make_entry, runner, tmp_path):
    user = make_user()
    case = make_case(user)
    for n in (1, 2, 3):
        entry = make_entry(case, user, url=f"https://t.me/leader_fa/{n}", text=f"post {n}",
                           tags=["keep"] if n != 2 else [])
        add_violation(user, entry, TELEGRAM_RULE, "Calls for violence.")
    out = tmp_path / "selection.zip"
    made = runner.invoke(args=["export-package", str(case.id), "-o", str(out), "--tag", "keep",
                                   "--include-unapproved"])
    assert made.exit_code == 0, made.output
    assert verify_package(out) == []
    with zipfile.ZipFile(out) as zf:
        assert sorted(n for n in zf.namelist() if n.endswith("entry.json")) == [
            "entries/1/entry.json", "entries/3/entry.json"]
    none = runner.invoke(args=["export-package", str(case.id), "-o", str(tmp_path / "none.zip"), "--tag", "absent"])
    assert none.exit_code != 0 and "No entry matches" in none.output
    assert not (tmp_path / "none.zip").exists() and not (tmp_path / "none.zip.partial").exists()
    missing = runner.invoke(args=["export-package", "999", "-o", str(tmp_path / "x.zip")])
    assert missing.exit_code != 0 and "No case with id 999" in missing.output


def test_the_package_carries_a_stdlib_only_verifier(package, tmp_path):
    """verify.py runs with a bare Python (-I: no site-packages, no reportkit) on the ZIP and on the folder."""
    import subprocess
    import sys

    out, _ = package
    folder = tmp_path / "unzipped"
    with zipfile.ZipFile(out) as zf:
        zf.extractall(folder)
    for target, cwd in ((str(out), tmp_path), (".", folder)):
        ok = subprocess.run([sys.executable, "-I", str(folder / "verify.py"), target], cwd=cwd,
                            capture_output=True, text=True)
        assert ok.returncode == 0 and ": OK" in ok.stdout, ok.stdout + ok.stderr
    events = json.loads((folder / "events.json").read_text())
    shown = next(e for e in events if "action" in e)  # a disclosed event
    shown["explanation"] = "edited"
    (folder / "events.json").write_text(json.dumps(events))
    bad = subprocess.run([sys.executable, "-I", "verify.py"], cwd=folder, capture_output=True, text=True)
    assert bad.returncode == 1
    assert "PROBLEM: events.json: its SHA-256 does not match SHA256SUMS" in bad.stdout
    assert f"PROBLEM: event {shown['id']}: its content does not match its hash" in bad.stdout


def forge(src, dst, extra: dict[str, bytes], also_in_sums: bool = False, drop: str = "") -> None:
    """An intruder's edit of a package: files added (and maybe appended to SHA256SUMS, which nothing signs),
    or one taken out."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            data = zin.read(name)
            if name == "SHA256SUMS" and also_in_sums:
                data += "".join(f"{hashlib.sha256(d).hexdigest()}  {n}\n" for n, d in extra.items()).encode()
            if name != drop:
                zout.writestr(name, data)
        for name, data in extra.items():
            zout.writestr(name, data)


def forged_entry() -> dict[str, bytes]:
    """A forged post and forged 'evidence' bytes named by their own hash: every check of names passes."""
    shot = png_bytes(300, 200, color=(0, 0, 0))
    entry = {"number": 3, "url": "https://t.me/leader_fa/3", "text": "a post that was never catalogued",
             "evidence": [{"sha256": hashlib.sha256(shot).hexdigest()}]}
    return {"entries/3/entry.json": json.dumps(entry).encode(), f"files/{hashlib.sha256(shot).hexdigest()}": shot}


@pytest.mark.parametrize("also_in_sums", [False, True], ids=["added", "added-and-summed"])
def test_verifiers_report_every_file_the_package_did_not_list(package, runner, tmp_path, also_in_sums):
    import subprocess
    import sys

    out, _ = package
    extra = forged_entry()
    bad = tmp_path / "forged.zip"
    forge(out, bad, extra, also_in_sums)
    where = "manifest.json" if also_in_sums else "manifest.json or SHA256SUMS"
    expected = [f"{name}: an extra file, not listed in {where}" for name in sorted(extra)]
    assert verify_package(bad) == expected
    cli = runner.invoke(args=["verify-package", str(bad)])
    assert cli.exit_code == 1 and all(f"  - {line}" in cli.output for line in expected), cli.output
    folder = tmp_path / "unzipped"
    with zipfile.ZipFile(bad) as zf:
        zf.extractall(folder)
    for target in (".", str(bad)):
        run = subprocess.run([sys.executable, "-I", "verify.py", target], cwd=folder, capture_output=True, text=True)
        assert run.returncode == 1, run.stdout + run.stderr
        assert [line for line in run.stdout.splitlines() if line.startswith("PROBLEM")] == [
            f"PROBLEM: {line}" for line in expected]


def test_verifier_reports_a_listed_file_that_is_missing(package, tmp_path):
    out, _ = package
    with zipfile.ZipFile(out) as zf:
        gone = next(n for n in zf.namelist() if n.startswith("files/"))
    bad = tmp_path / "short.zip"
    forge(out, bad, {}, drop=gone)
    assert verify_package(bad) == [f"{gone}: listed in SHA256SUMS but missing",
                                   f"{gone}: listed in manifest.json but missing"]


def test_verifier_reports_a_name_held_twice_and_a_damaged_member(package, tmp_path):
    """Two members of one name (unzip tools differ on which wins) and bytes changed under their CRC."""
    import warnings

    out, _ = package
    with zipfile.ZipFile(out) as zf:
        name = next(n for n in zf.namelist() if n.startswith("files/"))
        header = zf.getinfo(name).header_offset
    twice = tmp_path / "twice.zip"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate: that is the point
        forge(out, twice, {name: b"other bytes"})
    assert f"{name}: the ZIP holds 2 files of this name" in verify_package(twice)
    damaged = tmp_path / "damaged.zip"
    raw = out.read_bytes()
    at = header + 30 + int.from_bytes(raw[header + 26:header + 28], "little") + int.from_bytes(
        raw[header + 28:header + 30], "little") + 100  # the 100th byte of the member, stored as it is
    damaged.write_bytes(raw[:at] + bytes([raw[at] ^ 1]) + raw[at + 1:])
    assert verify_package(damaged) == [f"{name}: cannot be read: BadZipFile: Bad CRC-32 for file {name!r}"]


def test_the_stdlib_verifier_runs_isolated_from_the_package_folder(package, tmp_path):
    """With -I (as the README says) a module planted in the folder is not imported in place of the stdlib's;
    it is reported as a file the package did not list."""
    import subprocess
    import sys

    out, _ = package
    folder = tmp_path / "unzipped"
    with zipfile.ZipFile(out) as zf:
        zf.extractall(folder)
    (folder / "hashlib.py").write_text("import sys\nprint('x: OK')\nsys.exit(0)\n")
    run = subprocess.run([sys.executable, "-I", "verify.py"], cwd=folder, capture_output=True, text=True)
    assert run.returncode == 1
    assert "PROBLEM: hashlib.py: an extra file, not listed in manifest.json or SHA256SUMS" in run.stdout
    with zipfile.ZipFile(out) as zf:
        assert "python3 -I verify.py" in zf.read("README.txt").decode()


def test_export_refuses_a_stored_file_changed_on_disk(app, make_user, make_case, make_entry, tmp_path):
    import os

    from reportkit.services.dossier.job import DossierRefused

    user = make_user()
    case = make_case(user)
    store = EvidenceStore(app.config["EVIDENCE_DIR"])
    entry = make_entry(case, user)
    add_violation(user, entry, "x/violent_content/violent_threats", "A threat.")
    ev = add_evidence_file(user, entry, io.BytesIO(png_bytes()), "s.png", store, Limits.from_config(app.config))
    path = store.path_for(ev.sha256)
    os.chmod(path, 0o644)
    path.write_bytes(png_bytes(color=(1, 2, 3)))
    with pytest.raises(DossierRefused, match="no longer matches its recorded hash"):
        write_package(user, case, tmp_path / "p.zip", app.config["EVIDENCE_DIR"], workers=0, options=UNREVIEWED)
    assert not (tmp_path / "p.zip").exists() and not (tmp_path / "p.zip.partial").exists()
