"""Optional PDF signatures: the dossier signed with the team's certificate (pyHanko).

A recipient's PDF reader then shows who produced the dossier and that not a byte changed since. Set
SIGNING_CERT and SIGNING_KEY (PEM files; SIGNING_KEY_PASSPHRASE if the key is encrypted, SIGNING_CHAIN for
intermediate certificates). With TIMESTAMP_URLS set too, the signature carries a timestamp from the first
authority (PAdES B-T), so it stays provable after the certificate expires.
"""

from dataclasses import dataclass
from pathlib import Path


class SigningError(RuntimeError):
    pass


@dataclass
class SigningConfig:
    cert: str
    key: str
    passphrase: bytes | None = None
    chain: tuple[str, ...] = ()
    timestamp_url: str | None = None
    timeout: float = 10

    @classmethod
    def from_config(cls, config) -> "SigningConfig | None":
        from .timestamps import urls_from

        if not config.get("SIGNING_CERT") and not config.get("SIGNING_KEY"):
            return None
        if not (config.get("SIGNING_CERT") and config.get("SIGNING_KEY")):
            raise SigningError("Signing needs both SIGNING_CERT and SIGNING_KEY.")
        passphrase = config.get("SIGNING_KEY_PASSPHRASE")
        chain = config.get("SIGNING_CHAIN") or ()
        urls = urls_from(config.get("TIMESTAMP_URLS"))
        return cls(config["SIGNING_CERT"], config["SIGNING_KEY"], passphrase.encode() if passphrase else None,
                   tuple([chain] if isinstance(chain, str) else chain), urls[0] if urls else None,
                   config.get("TIMESTAMP_TIMEOUT", 10))


def sign_pdf(src: Path, dst: Path, cfg: SigningConfig, reason: str) -> str:
    """Sign `src` into `dst` (an incremental update: the signed bytes are the original ones). Returns the
    signer's name."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.sign.timestamps import HTTPTimeStamper

    for path in (cfg.cert, cfg.key, *cfg.chain):
        if not Path(path).is_file():
            raise SigningError(f"The signing file {path} does not exist.")
    signer = signers.SimpleSigner.load(cfg.key, cfg.cert, ca_chain_files=cfg.chain or None,
                                       key_passphrase=cfg.passphrase)
    if signer is None:
        raise SigningError("The signing key or certificate could not be loaded (wrong passphrase or format?).")
    timestamper = HTTPTimeStamper(cfg.timestamp_url, timeout=cfg.timeout) if cfg.timestamp_url else None
    meta = signers.PdfSignatureMetadata(field_name="reportkit", reason=reason, md_algorithm="sha256",
                                        subfilter=fields.SigSeedSubFilter.PADES)
    try:
        with open(src, "rb") as inf, open(dst, "wb") as outf:
            signers.sign_pdf(IncrementalPdfFileWriter(inf), meta, signer=signer, timestamper=timestamper,
                             output=outf)
    except Exception as exc:  # noqa: BLE001 - a failed signature must fail the export, with the reason
        dst.unlink(missing_ok=True)
        raise SigningError(f"The dossier could not be signed: {exc}") from exc
    return signer.signing_cert.subject.human_friendly
