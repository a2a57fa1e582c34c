"""RFC 3161 trusted timestamps: an outside authority signs "this hash existed at this time".

When TIMESTAMP_URLS is set, an evidence package's manifest is timestamped by each authority listed, so that
its date does not rest on our word alone. The reply is kept as it came, a `.tsr` file that `openssl ts
-verify` reads, inside the package and in the evidence store; the dossier prints who stamped what, and when.
pyHanko is the client: it sends the request with a nonce and checks the status and the nonce of the reply.
"""

import asyncio
import hashlib
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import cms, tsp
from asn1crypto import x509 as asn1_x509


class TimestampError(RuntimeError):
    pass


@dataclass
class Stamp:
    url: str
    reply: bytes  # a DER TimeStampResp, as `openssl ts -verify -in` reads it
    time: datetime
    serial: int
    authority: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.reply).hexdigest()

    def describe(self) -> dict:
        return {"url": self.url, "time": self.time.isoformat(), "serial": str(self.serial),
                "authority": self.authority, "sha256": self.sha256}


def urls_from(setting) -> list[str]:
    """TIMESTAMP_URLS may be a list (instance/config.py, JSON in the environment) or a comma-separated string."""
    if not setting:
        return []
    items = setting if isinstance(setting, (list, tuple)) else str(setting).split(",")
    return [u.strip() for u in items if u and u.strip()]


def request_stamps(urls: list[str], data: bytes, timeout: float = 10) -> list[Stamp]:
    """Timestamp SHA-256(data) with every authority; one that fails stops the export with its address."""
    from pyhanko.sign.timestamps import HTTPTimeStamper

    digest = hashlib.sha256(data).digest()
    stamps = []
    for url in urls:
        try:
            token = asyncio.run(HTTPTimeStamper(url, timeout=timeout).async_timestamp(digest, "sha256"))
        except Exception as exc:  # noqa: BLE001 - network, protocol or refusal: all mean "no timestamp"
            raise TimestampError(f"the timestamp authority {url} did not timestamp the manifest: {exc}") from exc
        reply = tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token}).dump()
        stamps.append(read(reply, url))
    return stamps


def read(reply: bytes, url: str = "") -> Stamp:
    info = _tst_info(_token(reply))
    tsa = info["tsa"]
    authority = tsa.chosen.human_friendly if tsa.native is not None and isinstance(tsa.chosen, asn1_x509.Name) \
        else _signer_name(_token(reply))
    return Stamp(url, reply, info["gen_time"].native, info["serial_number"].native, authority)


def check(reply: bytes, data: bytes, trust_roots: list[bytes] | None = None) -> list[str]:
    """Problems with a reply for `data`: status, imprint, the authority's signature, and (given roots) trust."""
    from pyhanko.sign.validation.generic_cms import TimestampSignatureStatus, validate_tst_signed_data
    from pyhanko_certvalidator import ValidationContext

    try:
        token = _token(reply)
        info = _tst_info(token)
    except (ValueError, KeyError, TypeError) as exc:
        return [f"not a timestamp reply: {exc}"]
    imprint = info["message_imprint"]
    if imprint["hashed_message"].native != hashlib.new(imprint["hash_algorithm"]["algorithm"].native, data).digest():
        return ["it timestamps other data than this manifest"]
    roots = [load_root(root) for root in trust_roots or []]
    context = ValidationContext(trust_roots=roots, allow_fetching=False)
    try:
        with _quiet("pyhanko", "pyhanko_certvalidator"):  # they log a traceback for an untrusted path
            status = TimestampSignatureStatus(**asyncio.run(validate_tst_signed_data(
                token["content"], context, lambda algorithm: hashlib.new(algorithm, data).digest())))
    except Exception as exc:  # noqa: BLE001 - a malformed token must be reported, not crash the verifier
        return [f"its signature could not be checked: {exc}"]
    problems = []
    if not (status.intact and status.valid):
        problems.append("the authority's signature on it is not valid")
    if trust_roots and not status.trusted:
        problems.append("the authority's certificate does not lead to a trusted root")
    return problems


def load_root(data: bytes) -> asn1_x509.Certificate:
    """A trusted root certificate, PEM or DER; anything else is a TimestampError with a plain reason."""
    try:
        cert = asn1_x509.Certificate.load(_der(data))
        _ = cert.native  # asn1crypto parses lazily: reading .native makes it parse everything now
        return cert
    except (ValueError, TypeError, KeyError) as exc:
        raise TimestampError(f"not a certificate (PEM or DER): {exc}") from exc


@contextmanager
def _quiet(*names: str):
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _token(reply: bytes) -> cms.ContentInfo:
    resp = tsp.TimeStampResp.load(reply)
    if resp["status"]["status"].native not in ("granted", "granted_with_mods"):
        raise ValueError(f"the authority refused: {resp['status']['status'].native}")
    return resp["time_stamp_token"]


def _tst_info(token: cms.ContentInfo) -> tsp.TSTInfo:
    return token["content"]["encap_content_info"]["content"].parsed


def _signer_name(token: cms.ContentInfo) -> str:
    certs = token["content"]["certificates"]
    return certs[0].chosen.subject.human_friendly if certs and len(certs) else "unknown authority"


def _der(pem_or_der: bytes) -> bytes:
    if pem_or_der.lstrip().startswith(b"-----BEGIN"):
        from asn1crypto import pem

        return pem.unarmor(pem_or_der)[2]
    return pem_or_der
