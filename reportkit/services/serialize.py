"""JSON shapes of the v1 API. Field names are a contract: scripts depend on them."""

from ..models import Account, Case, Entry, Evidence

SOURCES = {"id": "derived_from_id", "person": "typed_by_person", "": None}
CAPTURE_SOURCES = {"upload": "first_screenshot_upload", "person": "typed_by_person", "": None}


def iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def account(a: Account) -> dict:
    return {"id": a.id, "platform": a.platform, "handle": a.handle, "display_name": a.display_name,
            "profile_url": a.profile_url, "account_id": a.platform_account_id}


def case(c: Case, role: str | None = None) -> dict:
    return {"id": c.id, "title": c.title, "subject": c.subject, "summary": c.summary, "role": role,
            "allow_new_accounts": c.allow_new_accounts, "created_at": iso(c.created_at),
            "accounts": [account(a) for a in c.accounts]}


def evidence(e: Evidence) -> dict:
    copy = e.print_copy
    return {"id": e.id, "kind": e.kind, "sha256": e.sha256, "size": e.size, "mime": e.mime,
            "original_name": e.original_name, "archive_url": e.archive_url or None,
            "uploaded_at": iso(e.uploaded_at), "width": e.width, "height": e.height,
            "print": {"sha256": copy.sha256, "parent_sha256": copy.parent_sha256, "width": copy.width,
                      "height": copy.height} if copy else None}


def entry(e: Entry) -> dict:
    return {
        "id": e.id, "case_id": e.case_id, "number": e.number, "url": e.submitted_url,
        "canonical_url": e.canonical_url, "platform": e.platform, "post_id": e.post_id or None,
        "handle": e.handle or None, "account": account(e.account) if e.account else None,
        "posted_at": iso(e.posted_at), "posted_at_source": SOURCES.get(e.posted_at_source),
        "text": e.text, "language": e.language, "translation": e.translation, "translator": e.translator,
        "translation_method": e.translation_method or None, "notes": e.notes, "tags": e.tag_names,
        "sensitivity": {"graphic_violence": e.graphic, "private_information": e.private_info},
        "capture": {"captured_at": iso(e.captured_at), "captured_by": e.captured_by,
                    "source": CAPTURE_SOURCES.get(e.captured_at_source), "method": e.capture_method or None,
                    "logged_in_as": e.logged_in_as, "network_route": e.network_route},
        "legal_ground": {"country": e.legal_country, "law": e.legal_law, "article": e.legal_article},
        "requested_action": e.requested_action or None, "action_countries": e.action_countries,
        "severity": e.severity or None,
        "violations": [{"id": v.id, "clause": v.clause.key, "heading": v.clause.heading,
                        "policy": v.clause.policy.title, "rationale": v.rationale,
                        "rationale_en": v.rationale_en} for v in e.violations],
        "evidence": [evidence(x) for x in e.evidence],
        "status": e.status, "sealed": e.sealed, "review_round": e.review_round,
        "approvals": [approval(a) for a in e.current_approvals],
        "created_at": iso(e.created_at), "updated_at": iso(e.updated_at),
    }


def approval(a) -> dict:
    return {"by": a.user.email if a.user else None, "at": iso(a.created_at), "evidence_sha256": a.evidence_sha256}


def annotation(n) -> dict:
    return {"id": n.id, "entry_id": n.entry_id, "kind": n.kind, "body": n.body, "by": n.user.email if n.user else None,
            "include_in_dossier": n.include_in_dossier, "resolved_at": iso(n.resolved_at),
            "created_at": iso(n.created_at)}
