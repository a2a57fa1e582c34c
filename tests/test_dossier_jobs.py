"""Dossier exports as background jobs: pages with a progress bar, the API v1 routes and the CLI."""

import time

from pypdf import PdfReader

from reportkit.extensions import db
from reportkit.models import Dossier

from .test_dossier import case_with_entries  # noqa: F401  (fixture)


def wait_done(get, timeout=60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = get()
        if state["status"] in ("done", "failed"):
            return state
        time.sleep(0.2)
    raise AssertionError("the dossier job did not finish")


def test_api_dossier_job(app, case_with_entries, token_for, tmp_path):  # noqa: F811
    user, case, _ = case_with_entries
    client, headers = app.test_client(), token_for(user)
    resp = client.post(f"/api/v1/cases/{case.id}/dossiers", headers=headers,
                       json={"paper": "A4", "approved_only": False})
    assert resp.status_code == 202 and set(resp.json) >= {"id", "status", "progress"}
    dossier_id = resp.json["id"]
    state = wait_done(lambda: client.get(f"/api/v1/dossiers/{dossier_id}", headers=headers).json)
    assert state["status"] == "done", state
    assert state["pages"] > 5 and len(state["sha256"]) == 64 and state["progress"] == 100
    pdf = client.get(state["pdf_url"], headers=headers)
    assert pdf.headers["Content-Type"] == "application/pdf"
    out = tmp_path / "d.pdf"
    out.write_bytes(pdf.data)
    pdf.close()
    assert len(PdfReader(str(out)).pages) == state["pages"]


def test_api_dossier_errors(app, case_with_entries, token_for, make_user):  # noqa: F811
    user, case, _ = case_with_entries
    client, headers = app.test_client(), token_for(user)
    resp = client.post(f"/api/v1/cases/{case.id}/dossiers", headers=headers, json={"mode": "dsa"})
    assert resp.status_code == 422 and resp.json["error"]["code"] == "dossier_incomplete"
    assert any("good faith" in m for m in resp.json["error"]["fields"]["missing"])
    resp = client.post(f"/api/v1/cases/{case.id}/dossiers", headers=headers, json={"paper": "A3", "date_from": "x"})
    assert resp.status_code == 422 and set(resp.json["error"]["fields"]) == {"paper", "date_from"}
    outsider = token_for(make_user("out@example.org"))
    assert client.post(f"/api/v1/cases/{case.id}/dossiers", headers=outsider, json={}).status_code == 404
    dossier = Dossier(case_id=case.id, document_id="RK-X", status="running")
    db.session.add(dossier)
    db.session.commit()
    assert client.get(f"/api/v1/dossiers/{dossier.id}/pdf", headers=headers).status_code == 409
    assert client.get(f"/api/v1/dossiers/{dossier.id}", headers=outsider).status_code == 404


def test_page_export_shows_progress_then_history(app, case_with_entries, login):  # noqa: F811
    user, case, _ = case_with_entries
    client = login(app.test_client(), user)
    form = client.get(f"/dossiers/new/{case.id}").data.decode()
    assert "Export a dossier" in form and "No dossier exported yet" in form
    resp = client.post(f"/dossiers/new/{case.id}", data={"mode": "rules", "paper": "A4", "account": "0",
                                                         "include_translations": "y", "include_unapproved": "y"})
    assert resp.status_code == 302
    view_url = resp.headers["Location"]
    assert "<progress" in client.get(view_url).data.decode()
    dossier_id = view_url.rsplit("/", 1)[-1]
    state = wait_done(lambda: client.get(f"/dossiers/{dossier_id}/status.json").json)
    assert state["status"] == "done"
    history = client.get(f"/dossiers/new/{case.id}").data.decode()
    assert state["sha256"] in history and "Download" in history
    refused = client.post(f"/dossiers/new/{case.id}", data={"mode": "dsa", "paper": "A4", "account": "0"})
    assert b"cannot be exported yet" in refused.data and b"statement of good faith" in refused.data


def test_csv_and_json_downloads(app, case_with_entries, login):  # noqa: F811
    user, case, _ = case_with_entries
    client = login(app.test_client(), user)
    csv_resp = client.get(
        f"/dossiers/export/{case.id}.csv?clause=x/violent_content/violent_threats&include_unapproved=y")
    assert csv_resp.data.startswith("\ufeff".encode()) and csv_resp.data.decode("utf-8-sig").count("\n") == 3
    data = client.get(f"/dossiers/export/{case.id}.json?include_unapproved=y").json
    assert len(data["entries"]) == 5 and data["case"]["title"] == "Threats by A. Leader"


def test_cli_export_dossier(app, case_with_entries, runner, tmp_path):  # noqa: F811
    user, case, _ = case_with_entries
    out = tmp_path / "case.pdf"
    result = runner.invoke(args=["export-dossier", str(case.id), "-o", str(out), "--paper", "Letter",
                                 "--include-unapproved"])
    assert result.exit_code == 0, result.output
    assert "SHA-256" in result.output and len(PdfReader(str(out)).pages) > 5
    bad = runner.invoke(args=["export-dossier", "999", "-o", str(out)])
    assert bad.exit_code != 0 and "No case" in bad.output
    dsa = runner.invoke(args=["export-dossier", str(case.id), "-o", str(out), "--mode", "dsa"])
    assert dsa.exit_code != 0 and "good faith" in dsa.output


def test_page_export_with_an_evidence_package(app, case_with_entries, login, tmp_path, make_user):  # noqa: F811
    import io
    import zipfile

    from reportkit.services.package import verify_package

    user, case, _ = case_with_entries
    client = login(app.test_client(), user)
    assert "Also make an evidence package" in client.get(f"/dossiers/new/{case.id}").data.decode()
    resp = client.post(f"/dossiers/new/{case.id}", data={"mode": "rules", "paper": "A4", "account": "0",
                                                         "tag": "", "with_package": "y", "include_unapproved": "y"})
    dossier_id = resp.headers["Location"].rsplit("/", 1)[-1]
    assert client.get(f"/dossiers/{dossier_id}/package").status_code in (409, 200)  # 409 until it is ready
    assert wait_done(lambda: client.get(f"/dossiers/{dossier_id}/status.json").json)["status"] == "done"
    page = client.get(f"/dossiers/{dossier_id}").data.decode()
    assert "Download the evidence package" in page and "verify.py" in page
    dossier = db.session.get(Dossier, int(dossier_id))
    db.session.refresh(dossier)
    download = client.get(f"/dossiers/{dossier_id}/package")
    assert download.status_code == 200 and download.headers["Content-Type"] == "application/zip"
    assert download.headers["Cache-Control"] == "private, no-store"
    out = tmp_path / "package.zip"
    out.write_bytes(download.data)
    download.close()
    assert verify_package(out) == []
    with zipfile.ZipFile(out) as zf:  # the package holds this very dossier
        pdf = zf.read("dossier.pdf")
    assert __import__("hashlib").sha256(pdf).hexdigest() == dossier.sha256
    assert len(PdfReader(io.BytesIO(pdf)).pages) == dossier.pages
    history = client.get(f"/dossiers/new/{case.id}").data.decode()
    assert f"/dossiers/{dossier_id}/package" in history
    outsider = login(app.test_client(), make_user("out@example.org"))
    assert outsider.get(f"/dossiers/{dossier_id}/package").status_code == 404


def test_api_dossier_job_with_a_package(app, case_with_entries, token_for, tmp_path):  # noqa: F811
    from reportkit.services.package import verify_package

    user, case, _ = case_with_entries
    client, headers = app.test_client(), token_for(user)
    resp = client.post(f"/api/v1/cases/{case.id}/dossiers", headers=headers,
                       json={"with_package": True, "approved_only": False})
    assert resp.status_code == 202 and resp.json["with_package"] is True and resp.json["package_url"] is None
    state = wait_done(lambda: client.get(f"/api/v1/dossiers/{resp.json['id']}", headers=headers).json)
    assert state["status"] == "done" and len(state["package_sha256"]) == 64
    package = client.get(state["package_url"], headers=headers)
    out = tmp_path / "p.zip"
    out.write_bytes(package.data)
    package.close()
    assert verify_package(out) == [] and out.stat().st_size == state["package_size"]
    plain = client.post(f"/api/v1/cases/{case.id}/dossiers", headers=headers, json={"approved_only": False})
    done = wait_done(lambda: client.get(f"/api/v1/dossiers/{plain.json['id']}", headers=headers).json)
    assert done["package_url"] is None
    assert client.get(f"/api/v1/dossiers/{plain.json['id']}/package", headers=headers).status_code == 409


def test_a_job_lost_to_a_restart_is_shown_as_interrupted(app, case_with_entries, login, token_for):  # noqa: F811
    """No thread will ever finish these rows (as after a restart): past the time limit they say so."""
    from datetime import timedelta

    from reportkit.models import Import
    from reportkit.models._common import utcnow

    user, case, _ = case_with_entries
    long_ago = utcnow() - timedelta(seconds=max(app.config["DOSSIER_TIMEOUT"], app.config["IMPORT_TIMEOUT"]) + 600)
    lost = Dossier(case_id=case.id, document_id="RK-LOST", status="running", progress=40, stage="rendered parts")
    recent = Dossier(case_id=case.id, document_id="RK-BUSY", status="running", progress=40, stage="rendered parts")
    stuck = Import(case_id=case.id, kind="csv", status="queued")
    db.session.add_all([lost, recent, stuck])
    db.session.commit()
    for row in (lost, stuck):  # a heartbeat from long ago (an ORM update would set it to now)
        db.session.execute(type(row).__table__.update().where(type(row).id == row.id).values(updated_at=long_ago))
    db.session.commit()
    client = login(app.test_client(), user)
    state = client.get(f"/dossiers/{lost.id}/status.json").json
    assert state["status"] == "failed" and "Interrupted" in state["error"]
    assert "The export failed: Interrupted" in client.get(f"/dossiers/{lost.id}").data.decode()
    assert client.get(f"/dossiers/{recent.id}/status.json").json["status"] == "running"  # alive: left alone
    api = app.test_client().get(f"/api/v1/imports/{stuck.id}", headers=token_for(user)).json
    assert api["status"] == "interrupted" and "restarted" in api["error"]


def test_a_heartbeat_belongs_to_the_worker_that_holds_the_job(app, case_with_entries):  # noqa: F811
    """A worker's heartbeat moves the rows of the jobs it holds and no other: a queued job no worker took, or a
    running one whose worker died, still ages and is reported (before, any job starting refreshed them all)."""
    from datetime import timedelta

    from reportkit.models._common import utcnow
    from reportkit.services import jobs

    user, case, _ = case_with_entries
    old = utcnow() - timedelta(hours=2)
    waiting = Dossier(case_id=case.id, document_id="RK-WAIT", status="queued", created_at=old)
    held = Dossier(case_id=case.id, document_id="RK-HELD", status="running", created_at=old)
    orphan = Dossier(case_id=case.id, document_id="RK-ORPHAN", status="running", created_at=old)
    db.session.add_all([waiting, held, orphan])
    db.session.commit()
    db.session.execute(Dossier.__table__.update().values(updated_at=old))
    db.session.commit()
    jobs.beat(app, [("dossier", held.id)])
    db.session.expire_all()
    assert utcnow() - held.updated_at < timedelta(minutes=1)
    assert waiting.updated_at == orphan.updated_at == old
    assert jobs.expire_stalled(held, app.config["DOSSIER_TIMEOUT"]).status == "running"
    assert jobs.expire_stalled(waiting, app.config["DOSSIER_TIMEOUT"]).status == "failed"
    assert "no worker took it" in waiting.error
    assert jobs.expire_stalled(orphan, app.config["DOSSIER_TIMEOUT"]).status == "failed"
    assert "no heartbeat" in orphan.error


def test_a_job_that_finished_meanwhile_is_never_marked_interrupted(app, case_with_entries):  # noqa: F811
    """Two actors at once: a page read the row as running with an old heartbeat, then the job finished."""
    from datetime import timedelta

    from reportkit.models._common import utcnow
    from reportkit.services import jobs

    user, case, _ = case_with_entries
    old = utcnow() - timedelta(hours=2)
    seen = Dossier(case_id=case.id, document_id="RK-LATE", status="running", created_at=old, updated_at=old)
    db.session.add(seen)
    db.session.commit()
    assert seen.status == "running"  # loaded: what the page saw
    with db.engine.begin() as other:  # the job thread commits "done" through its own connection
        other.execute(Dossier.__table__.update().where(Dossier.id == seen.id).values(status="done", stage="ready"))
    assert jobs.expire_stalled(seen, app.config["DOSSIER_TIMEOUT"]).status == "done"
    assert db.session.get(Dossier, seen.id).error == ""
