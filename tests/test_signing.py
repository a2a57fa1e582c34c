"""Optional PDF signing with a configured certificate (pyHanko), checked by pyHanko's own validator."""

import io

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader

from reportkit.models import Event
from reportkit.services.dossier.job import DossierOptions, build_dossier, create_dossier
from reportkit.services.entries import add_violation
from reportkit.services.storage import EvidenceStore

from .pki import LocalTSA, issue, root


def mapped(user, entry):
    """A dossier prints only entries with a clause: these tests are about signing and stamps, not content."""
    add_violation(user, entry, "telegram/terms_of_service/promote_violence_public", "Calls for violence.")
    return entry


@pytest.fixture(scope="module")
def ca():
    return root()


def trust(ca) -> ValidationContext:
    return ValidationContext(trust_roots=[asn1_x509.Certificate.load(ca.cert.public_bytes(serialization.Encoding.DER))])


@pytest.fixture
def signed_case(app, make_user, make_case, make_entry, tmp_path, ca):
    user = make_user(name="Rana")
    case = make_case(user)
    mapped(user, make_entry(case, user, url="https://t.me/leader_fa/1", text="post"))
    cert, key = issue("Rana Example (Example Watch)", ca).write(tmp_path, "signer", passphrase=b"s3cret")
    app.config.update(SIGNING_CERT=str(cert), SIGNING_KEY=str(key), SIGNING_KEY_PASSPHRASE="s3cret")
    return user, case


def export(app, user, case):
    dossier = create_dossier(user, case, DossierOptions(approved_only=False))
    build_dossier(dossier, app.config["EVIDENCE_DIR"], workers=0)
    return dossier, EvidenceStore(app.config["EVIDENCE_DIR"]).path_for(dossier.sha256).read_bytes()


def test_dossier_is_signed_and_the_signature_validates(app, signed_case, ca):
    user, case = signed_case
    dossier, pdf = export(app, user, case)
    signature = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0]
    status = validate_pdf_signature(signature, trust(ca))
    assert status.intact and status.valid and status.trusted
    assert "Rana Example" in status.signing_cert.subject.human_friendly
    assert len(PdfReader(io.BytesIO(pdf)).pages) == dossier.pages  # still an ordinary, parseable PDF
    event = Event.query.filter_by(action="dossier.exported").one()
    assert "Rana Example" in event.data["signed_by"] and event.data["sha256"] == dossier.sha256


def test_a_changed_byte_breaks_the_signature(app, signed_case, ca):
    user, case = signed_case
    _, pdf = export(app, user, case)
    signature = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0]
    start = signature.byte_range[0] + 2000  # inside the first signed range
    tampered = pdf[:start] + bytes([pdf[start] ^ 0x01]) + pdf[start + 1:]
    status = validate_pdf_signature(PdfFileReader(io.BytesIO(tampered)).embedded_signatures[0], trust(ca))
    assert not status.intact


def test_signature_carries_a_timestamp_when_an_authority_is_set(app, signed_case, ca):
    user, case = signed_case
    with LocalTSA(ca, "Signature TSA") as tsa:
        app.config["TIMESTAMP_URLS"] = [tsa.url]
        _, pdf = export(app, user, case)
        assert tsa.requests >= 1
    status = validate_pdf_signature(PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0], trust(ca))
    assert status.intact and status.valid
    assert status.timestamp_validity is not None and status.timestamp_validity.intact


def test_bad_signing_settings_fail_the_export_with_a_reason(app, signed_case):
    user, case = signed_case
    app.config["SIGNING_KEY_PASSPHRASE"] = "wrong"
    dossier = create_dossier(user, case, DossierOptions(approved_only=False))
    with pytest.raises(Exception, match="could not be loaded"):
        build_dossier(dossier, app.config["EVIDENCE_DIR"], workers=0)
    assert dossier.status == "failed" and "could not be loaded" in dossier.error
    app.config.update(SIGNING_KEY_PASSPHRASE="s3cret", SIGNING_CERT="/nonexistent.pem")
    second = create_dossier(user, case, DossierOptions(approved_only=False))
    with pytest.raises(Exception, match="does not exist"):
        build_dossier(second, app.config["EVIDENCE_DIR"], workers=0)
