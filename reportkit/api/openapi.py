"""The OpenAPI 3.1 description of API v1, kept in one place: `OPERATIONS` below names every route (method, path,
who may call it, its body and answer), and tests/test_openapi.py checks it against the app's URL map both ways,
so a route cannot be added, renamed or removed without this file saying so.

`GET /api/v1/openapi.json` is served without a token on purpose: it describes routes and shapes only, never
data, and a script or the browser extension needs it before it has a token. It is an app-level rule, not a rule
of the API blueprint, so the blueprint's token check (base.py) does not run for it."""

import re
from dataclasses import dataclass, field

from flask import Flask, jsonify

from ..models import EVIDENCE_KINDS, REGION_KINDS, ROLES, STATUSES
from ..models.captures import CAPTURE_OUTCOMES, CAPTURE_STATUSES
from ..models.entries import EDITABLE
from ..models.filings import ACCOUNT as ACCOUNT_ACTIONS
from ..models.filings import APPEAL_KINDS, APPEAL_OUTCOMES, CHANNELS, GROUNDS, MONETARY, PROVISION, VISIBILITY
from ..models.observations import OUTCOMES
from .base import bp

PATH = "/api/v1/openapi.json"
S, INT, B, N = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}, {"type": "number"}
NS, NI = {"type": ["string", "null"]}, {"type": ["integer", "null"]}
TIME = {"type": ["string", "null"], "format": "date-time"}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(props: dict, required=(), extra: bool = True, description: str = "") -> dict:
    schema = {"type": "object", "properties": props}
    if description:
        schema["description"] = description
    if required:
        schema["required"] = list(required)
    if not extra:
        schema["additionalProperties"] = False
    return schema


def array(item: dict) -> dict:
    return {"type": "array", "items": item}


def enum_or_null(vocabulary) -> dict:
    return {"type": ["string", "null"], "enum": [*vocabulary, None]}


ACCOUNT = obj({"id": INT, "platform": S, "handle": S, "display_name": S, "profile_url": S, "account_id": S})
ACCOUNT_IN = {"platform": S, "handle": S, "display_name": S, "profile_url": S,
              "account_id": {**S, "description": "The platform's stable id of the account (handles change)."}}
VIOLATION = obj({"id": INT, "clause": S, "heading": S, "policy": S, "rationale": S, "rationale_en": S})
DERIVATIVE = obj({"purpose": {"type": "string", "enum": ["print", "marked"]}, "sha256": S, "parent_sha256": S,
                  "mime": S, "size": INT, "width": INT, "height": INT, "operations": S, "created_at": TIME})
EVIDENCE = obj({"id": INT, "kind": {"type": "string", "enum": list(EVIDENCE_KINDS)}, "sha256": NS, "size": INT,
                "mime": S, "original_name": S, "archive_url": NS, "uploaded_at": TIME, "width": NI, "height": NI,
                "print": {"type": ["object", "null"]}})
ENTRY = obj({"id": INT, "case_id": INT, "number": INT, "url": S, "canonical_url": S, "platform": S, "post_id": NS,
             "handle": NS, "account": {"oneOf": [ref("Account"), {"type": "null"}]}, "posted_at": TIME,
             "posted_at_source": NS, "text": S, "language": S, "translation": S, "notes": S, "tags": array(S),
             "requested_action": NS, "action_countries": S, "severity": NI,
             "violations": array(ref("Violation")), "evidence": array(ref("Evidence")),
             "status": {"type": "string", "enum": list(STATUSES)}, "sealed": B, "review_round": INT,
             "approvals": array(obj({"by": NS, "at": TIME, "evidence_sha256": NS})), "created_at": TIME,
             "updated_at": TIME, "warnings": {"type": "object"}},
            description="More fields may be present; names listed here do not change.")
SCHEMAS = {
    "Error": obj({"error": obj({
        "code": {**S, "description": "e.g. not_found, validation_error, unauthorized, forbidden, conflict"},
        "message": S,
        "fields": {"type": "object", "description": "field name -> list of messages (422), else usually empty",
                   "additionalProperties": True}}, ["code", "message", "fields"])}, ["error"]),
    "Account": ACCOUNT,
    "Case": obj({"id": INT, "title": S, "subject": S, "summary": S, "role": NS, "allow_new_accounts": B,
                 "created_at": TIME, "accounts": array(ref("Account"))}),
    "Violation": VIOLATION,
    "Evidence": EVIDENCE,
    "EvidenceDetail": {"allOf": [ref("Evidence"), obj({
        "withdrawn_at": TIME, "withdrawn_reason": NS, "purged_at": TIME, "regions": INT,
        "derivatives": array(DERIVATIVE)})]},
    "Entry": ENTRY,
    "Member": obj({"id": INT, "user_id": INT, "name": NS, "email": S, "role": {"type": "string", "enum": list(ROLES)},
                   "export_name": S, "added_at": TIME}),
    "Invitation": obj({"id": INT, "email": S, "role": S, "created_at": TIME, "expires_at": TIME, "open": B}),
    "Region": obj({"id": INT, "evidence_id": INT, "kind": {"type": "string", "enum": list(REGION_KINDS)}, "label": S,
                   "x": N, "y": N, "w": N, "h": N}, description="Percent of the image's width and height."),
    "Event": obj({"id": INT, "created_at": TIME, "action": S, "target": S, "entry_id": NI,
                  "actor": obj({"id": NI, "name": S}), "via_token": B, "data": {"type": "object"},
                  "explanation": S, "text": S, "prev_hash": S, "hash": S}),
    "Verification": obj({"event_id": INT, "finished_at": TIME, "by": S, "ok": B, "events_checked": NI,
                         "files_checked": NI, "problems": array(S), "chain": {"type": ["object", "null"]}}),
    "Token": obj({"id": INT, "name": S, "prefix": S, "created_at": TIME, "last_used_at": TIME, "revoked_at": TIME,
                  "current": B}),
    "Dossier": obj({"id": INT, "case_id": INT, "document_id": S, "mode": S, "status": S, "stage": NS, "progress": N,
                    "pages": NI, "size": NI, "sha256": NS, "entries": NI, "error": NS, "options": {"type": "object"},
                    "pdf_url": NS, "with_package": B, "package_sha256": NS, "package_size": NI, "package_url": NS,
                    "originals_warning": {**S, "description": "Only when include_originals was asked: what leaves "
                                                              "the tool."}}),
    "Import": obj({"id": INT, "case_id": INT, "kind": S, "status": S, "progress": N, "total": INT, "rows_done": INT,
                   "created": INT, "duplicates": INT, "failed": INT, "resumable": B,
                   "mapping": {"type": ["object", "null"]}, "error": NS, "results": array({"type": "object"})}),
    "Removed": obj({"id": INT, "removed": B}),
    "Decision": obj({"id": INT, "entry_id": INT, "decided_at": TIME, "visibility": enum_or_null(VISIBILITY),
                     "account": enum_or_null(ACCOUNT_ACTIONS), "monetary": enum_or_null(MONETARY),
                     "provision": enum_or_null(PROVISION), "territorial_scope": array(S),
                     "ground": enum_or_null(GROUNDS), "explanation": S, "automated": {"type": ["boolean", "null"]},
                     "no_action": B, "no_answer": B, "statement_id": NS, "label": S,
                     "complaint_window_closes": {**NS, "format": "date",
                                                 "description": "DSA Art. 20: six months from the decision."}}),
    "Appeal": obj({"id": INT, "entry_id": NI, "kind": {"type": "string", "enum": list(APPEAL_KINDS)},
                   "filed_at": TIME, "reference": S, "outcome": {"type": "string", "enum": list(APPEAL_OUTCOMES)},
                   "outcome_at": TIME, "notes": S}),
    "Observation": obj({"id": INT, "checked_at": TIME, "outcome": {"type": "string", "enum": list(OUTCOMES)},
                        "http_status": NI, "body_sha256": NS, "endpoint": S, "detail": S, "back_online": B},
                       description="unknown: a login wall, a rate limit, a network error; never a guess."),
    "Filing": obj({"id": INT, "case_id": INT, "platform": S, "channel": {"type": "string", "enum": list(CHANNELS)},
                   "filed_at": TIME, "filed_by": NS, "reference": S, "dossier_id": NI, "document_id": NS,
                   "document_sha256": NS, "requested_action": NS, "confirmed_at": TIME, "entry_ids": array(INT),
                   "notes": S, "decisions": array(ref("Decision")), "appeals": array(ref("Appeal"))},
                  description="Lists leave out notes, decisions and appeals."),
    "Capture": obj({"id": INT, "job_id": INT, "entry_id": INT,
                    "status": {"type": "string", "enum": list(CAPTURE_STATUSES)},
                    "outcome": enum_or_null(CAPTURE_OUTCOMES), "message": S, "method": S, "url": S,
                    "final_url": NS, "http_status": NI, "browser": NS, "user_agent": NS,
                    "proxy": {**NS, "description": "The proxy's scheme, host and port (never a password)."},
                    "created_at": TIME, "started_at": TIME, "finished_at": TIME, "poll": S,
                    "evidence": array(obj({"id": INT, "kind": S, "sha256": S, "size": INT, "mime": S,
                                           "withdrawn": B}))},
                   description="Only outcome captured stores evidence of the post; a wall's screenshot, when "
                               "asked for, is stored withdrawn (a diagnostic)."),
}

EDITABLE_TYPES = {"graphic": B, "private_info": B, "severity": INT, "captured_at": {**S, "format": "date-time"}}
ENTRY_FIELDS = {"url": S, "account_id": INT, "posted_at": {**S, "format": "date-time"}, "tags": array(S),
                "confirm_posted_at": B, **{name: EDITABLE_TYPES.get(name, S) for name in EDITABLE}}
BODIES = {
    "CaseCreate": obj({"title": S, "subject": S, "summary": S, "allow_new_accounts": B,
                       "accounts": array(obj(ACCOUNT_IN, ["platform", "handle"]))}, ["title", "subject", "accounts"]),
    "EntryCreate": obj({**ENTRY_FIELDS, "violations": array(obj({"clause": S, "rationale": S, "rationale_en": S}))},
                       ["url"]),
    "EntryPatch": obj({k: v for k, v in ENTRY_FIELDS.items() if k != "url"},
                      description="Only the fields sent change; unknown or read-only fields are a 422."),
    "AccountCreate": obj(ACCOUNT_IN, ["platform", "handle"]),
    "AccountPatch": obj({k: v for k, v in ACCOUNT_IN.items() if k != "platform"}, extra=False),
    "InvitationCreate": obj({"email": S, "role": {"type": "string", "enum": list(ROLES)}}, ["email", "role"]),
    "RoleChange": obj({"role": {"type": "string", "enum": list(ROLES)}}, ["role"], extra=False),
    "ViolationCreate": obj({"clause": {**S, "description": "A clause key from GET /policies, or words naming one "
                                                           "clause that fits the post."},
                            "rationale": S, "rationale_en": S}, ["clause", "rationale"]),
    "ViolationPatch": obj({"rationale_en": S}, ["rationale_en"], extra=False),
    "Withdraw": obj({"reason": S}, ["reason"]),
    "RegionCreate": obj({"kind": {"type": "string", "enum": list(REGION_KINDS)}, "label": S, "x": N, "y": N,
                         "w": N, "h": N}, ["x", "y", "w", "h"], description="Percent of the image (0-100)."),
    "Annotation": obj({"body": S, "kind": S, "include_in_dossier": B}, ["body"]),
    "Transition": obj({"to": {"type": "string", "enum": [*STATUSES, "reopen"]}, "reason": S}, ["to"]),
    "DossierCreate": obj({"mode": {"type": "string", "enum": ["rules", "dsa"]}, "paper": S, "date_from": S,
                          "date_to": S, "entry_numbers": array(INT), "account_id": INT, "clause": S, "tag": S,
                          "approved_only": B, "include_translations": B, "with_package": B, "include_originals": B,
                          "follow_up_filing": {**INT, "description": "A filing id: a follow-up dossier of its "
                                                                     "entries the platform did nothing about."}}),
    "ImportCreate": obj({"urls": array(S), "rows": array({"type": "object"}), "mapping": {"type": "object"},
                         "timezone": S, "calendar": S, "allow_other": B},
                        description="Either urls, or rows (with an optional mapping); or a multipart file."),
    "FilingCreate": obj({"platform": S, "channel": {"type": "string", "enum": list(CHANNELS)},
                         "entry_ids": array(INT), "dossier_id": {**NI, "description": "A finished dossier of the "
                                                                                      "case; leave out to file "
                                                                                      "without one."},
                         "filed_at": {**S, "format": "date-time"}, "reference": S, "requested_action": S,
                         "notes": S}, ["platform", "channel", "entry_ids"], extra=False),
    "FilingPatch": obj({"reference": S, "confirmed_at": TIME, "notes": S, "requested_action": S}, extra=False,
                       description="What was filed (entries, platform, channel, document) does not change."),
    "DecisionCreate": obj({"entry_ids": array(INT), "decided_at": {**S, "format": "date-time"},
                           "visibility": {"type": "string", "enum": list(VISIBILITY)},
                           "account": {"type": "string", "enum": list(ACCOUNT_ACTIONS)},
                           "monetary": {"type": "string", "enum": list(MONETARY)},
                           "provision": {"type": "string", "enum": list(PROVISION)},
                           "territorial_scope": array(S), "ground": {"type": "string", "enum": list(GROUNDS)},
                           "explanation": S, "automated": B, "no_action": B, "no_answer": B, "statement_id": S},
                          extra=False, description="One of: an action, no_action or no_answer. entry_ids: default "
                                                   "every entry of the filing."),
    "AppealPatch": obj({"outcome": {"type": "string", "enum": list(APPEAL_OUTCOMES)}, "outcome_at": TIME,
                        "reference": S, "notes": S}, extra=False),
    "AppealCreate": obj({"kind": {"type": "string", "enum": list(APPEAL_KINDS)}, "entry_id": NI,
                         "filed_at": {**S, "format": "date-time"}, "reference": S,
                         "outcome": {"type": "string", "enum": list(APPEAL_OUTCOMES)}, "outcome_at": TIME,
                         "notes": S}, ["kind"], extra=False),
}
UPLOAD = {"multipart/form-data": {"schema": obj({"file": {"type": "string", "format": "binary"},
                                                 "kind": {"type": "string", "enum": list(EVIDENCE_KINDS)},
                                                 "sha256": {**S, "pattern": "^[0-9a-fA-F]{64}$",
                                                            "description": "The SHA-256 the sender computed: the "
                                                                           "server recomputes it and refuses a "
                                                                           "mismatch (422, nothing stored)."}},
                                                ["file"])}}
IMPORT_UPLOAD = {"multipart/form-data": {"schema": obj({"file": {"type": "string", "format": "binary"},
                                                        "mapping": S, "timezone": S, "calendar": S,
                                                        "allow_other": S}, ["file"])}}
PAGING = [("page", INT, "Page number, from 1."), ("per_page", INT, "At most 200.")]
EXPORT_QUERY = [("entries", S, "Entry ids of this case, comma-separated, e.g. 12,15,18."),
                ("mode", S, "rules (default: entries without a clause are left out) or dsa."),
                ("account", INT, "Only this account's entries."), ("clause", S, "Only this clause key."),
                ("tag", S, "Only this tag."), ("date_from", S, "Posted on or after (YYYY-MM-DD)."),
                ("date_to", S, "Posted on or before (YYYY-MM-DD)."),
                ("include_unapproved", B, "Also entries not yet approved (rejected and duplicates never).")]


@dataclass(frozen=True)
class Op:
    method: str
    path: str  # OpenAPI form: /cases/{case_id}
    tag: str
    summary: str
    permission: str | None  # the case right it needs (services/access.py); None: not about a case
    body: str | dict | None = None  # a BODIES name, or a content map
    answer: str | dict | None = None  # a SCHEMAS name, or a schema
    status: int = 200
    query: list = field(default_factory=list)
    media: str = "application/json"
    description: str = ""


OPERATIONS = [
    Op("GET", "/policies", "policies", "Platforms, policies and their clause keys", None, answer=obj({})),
    Op("POST", "/cases", "cases", "Create a case (you become its owner)", None, "CaseCreate", "Case", 201),
    Op("GET", "/cases", "cases", "Your cases", None, answer=obj({"cases": array(ref("Case"))})),
    Op("GET", "/cases/{case_id}", "cases", "One case", "read", answer="Case"),
    Op("GET", "/cases/{case_id}/members", "members", "Members (and, for owners, open invitations)", "read",
       answer=obj({"members": array(ref("Member")), "invitations": array(ref("Invitation"))})),
    Op("POST", "/cases/{case_id}/invitations", "members", "Invite an email address", "manage", "InvitationCreate",
       {"allOf": [ref("Invitation"), obj({"email_sent": B})]}, 201,
       description="The answer is the same whether or not the address has an account. Adding someone directly "
                   "is only possible from the command line (`reportkit add-member`)."),
    Op("DELETE", "/cases/{case_id}/invitations/{invitation_id}", "members", "Withdraw an invitation", "manage",
       answer=obj({"id": INT, "withdrawn": B})),
    Op("PATCH", "/cases/{case_id}/members/{member_id}", "members", "Change a member's role", "manage", "RoleChange",
       "Member", description="A case keeps at least one owner (422)."),
    Op("DELETE", "/cases/{case_id}/members/{member_id}", "members", "Remove a member", "manage", answer="Removed",
       description="The last owner cannot be removed (409)."),
    Op("GET", "/cases/{case_id}/accounts", "accounts", "Accounts of the case's subject", "read",
       answer=obj({"accounts": array(ref("Account"))})),
    Op("POST", "/cases/{case_id}/accounts", "accounts", "Add an account (recorded as account.added)", "manage",
       "AccountCreate", "Account", 201),
    Op("PATCH", "/cases/{case_id}/accounts/{account_id}", "accounts", "Edit an account (not its platform)",
       "manage", "AccountPatch", "Account"),
    Op("GET", "/cases/{case_id}/entries", "entries", "Entries of a case, filtered like the case page", "read",
       answer=obj({"entries": array(ref("Entry")), "page": INT, "per_page": INT, "total": INT, "pages": INT}),
       query=PAGING + [("q", S, "Words to find."), ("account", INT, "An account id."), ("platform", S, "A platform."),
                       ("clause", S, "A clause key."), ("tag", S, "A tag."), ("language", S, "A language code."),
                       ("date_from", S, "Posted on or after (YYYY-MM-DD)."),
                       ("date_to", S, "Posted on or before (YYYY-MM-DD)."), ("status", S, "A status."),
                       ("filing", S, "Where reporting stands: not_filed, filed, no_answer, decided, appealed."),
                       ("sort", S, "e.g. number_desc (the default), number_asc.")]),
    Op("POST", "/cases/{case_id}/entries", "entries", "Add an entry", "edit", "EntryCreate", "Entry", 201,
       description="409 duplicate names the existing entry."),
    Op("GET", "/cases/{case_id}/lookup", "entries", "What reportkit makes of a post address (nothing saved)", "read",
       answer=obj({"url": S, "canonical_url": S, "platform": S, "platform_label": S, "handle": NS, "post_id": NS,
                   "posted_at": TIME, "accepted": B, "problem": NS, "language": NS,
                   "entry": {"type": ["object", "null"], "description": "The entry already holding the post: id, "
                                                                        "number, status, sealed, web_url."}}),
       query=[("url", S, "The post's address, as the browser shows it."),
              ("text", S, "Optional: the post's text, to guess its language (at most 5,000 characters).")],
       description="Used by the browser extension before it captures: the canonical address and whether the post "
                   "is already an entry of the case."),
    Op("GET", "/entries/{entry_id}", "entries", "One entry", "read", answer="Entry"),
    Op("PATCH", "/entries/{entry_id}", "entries", "Change fields of an entry", "edit", "EntryPatch", "Entry"),
    Op("GET", "/entries/{entry_id}/violations", "violations", "Clauses mapped onto the entry", "read",
       answer=obj({"violations": array(ref("Violation"))})),
    Op("POST", "/entries/{entry_id}/violations", "violations", "Map a clause", "edit", "ViolationCreate",
       "Violation", 201),
    Op("PATCH", "/entries/{entry_id}/violations/{violation_id}", "violations",
       "Set the English version of a rationale", "edit", "ViolationPatch", "Violation"),
    Op("DELETE", "/entries/{entry_id}/violations/{violation_id}", "violations", "Remove a mapped clause", "edit",
       answer="Removed"),
    Op("GET", "/entries/{entry_id}/evidence", "evidence", "Files and links with hashes and derived copies", "read",
       answer=obj({"evidence": array(ref("EvidenceDetail"))})),
    Op("POST", "/entries/{entry_id}/evidence", "evidence", "Upload a file", "edit", UPLOAD,
       obj({"id": INT, "sha256": S, "size": INT, "mime": S, "kind": S}), 201),
    Op("GET", "/evidence/{evidence_id}/original", "evidence", "Download the original (recorded)", "read",
       answer={"type": "string", "format": "binary"}, media="application/octet-stream"),
    Op("POST", "/evidence/{evidence_id}/withdraw", "evidence", "Withdraw a file (it stays stored)", "edit",
       "Withdraw", "EvidenceDetail"),
    Op("GET", "/evidence/{evidence_id}/regions", "regions", "Regions marked on a screenshot", "read",
       answer=obj({"regions": array(ref("Region"))})),
    Op("POST", "/evidence/{evidence_id}/regions", "regions", "Mark a region (highlight or redact)", "annotate",
       "RegionCreate", "Region", 201),
    Op("DELETE", "/regions/{region_id}", "regions", "Remove a region", "annotate", answer="Removed"),
    Op("POST", "/entries/{entry_id}/annotations", "reviews", "Write a note", "annotate", "Annotation",
       obj({"id": INT, "entry_id": INT, "kind": S, "body": S}), 201),
    Op("POST", "/entries/{entry_id}/transitions", "reviews", "Move an entry through review", "read",
       "Transition", "Entry", description="Who may make which move is the workflow's rule (403/409 otherwise)."),
    Op("GET", "/review-queue", "reviews", "Entries waiting for your review", None,
       answer=obj({"entries": array(ref("Entry"))})),
    Op("GET", "/cases/{case_id}/events", "events", "The custody log, as the Activity page shows it", "read",
       answer=obj({"events": array(ref("Event")), "page": INT, "per_page": INT, "total": INT, "pages": INT,
                   "next_after_id": INT}),
       query=PAGING + [("after_id", INT, "Events after this id, oldest first (a cursor; next_after_id continues)."),
                       ("kind", S, "An action (status.changed) or a family (entry.)."),
                       ("entry", INT, "An entry id."), ("actor", INT, "A user id.")]),
    Op("GET", "/cases/{case_id}/exports.csv", "exports", "The selection as CSV (same disclosure as the page)",
       "read", answer={"type": "string"}, media="text/csv", query=EXPORT_QUERY),
    Op("GET", "/cases/{case_id}/exports.json", "exports", "The selection as JSON (same disclosure as the page)",
       "read", answer=obj({"case": ref("Case"), "entries": array(ref("Entry"))}), query=EXPORT_QUERY),
    Op("POST", "/cases/{case_id}/verification", "verification", "Start verifying files and history", "manage",
       answer=obj({"status": S, "previous_event_id": NI, "message": S}), status=202),
    Op("GET", "/cases/{case_id}/verification", "verification", "The last verification's result", "read",
       answer=obj({"last": {"oneOf": [ref("Verification"), {"type": "null"}]}})),
    Op("POST", "/cases/{case_id}/dossiers", "dossiers", "Start rendering a dossier", "annotate", "DossierCreate",
       "Dossier", 202, description="An incomplete DSA notice is a 422 with code dossier_incomplete and "
                                   "fields.missing; include_originals is for the case's owner only (403)."),
    Op("GET", "/dossiers/{dossier_id}", "dossiers", "A dossier's state", "read", answer="Dossier"),
    Op("GET", "/dossiers/{dossier_id}/pdf", "dossiers", "The dossier's PDF", "read",
       answer={"type": "string", "format": "binary"}, media="application/pdf"),
    Op("GET", "/dossiers/{dossier_id}/package", "dossiers", "The evidence package (ZIP)", "read",
       answer={"type": "string", "format": "binary"}, media="application/zip"),
    Op("POST", "/cases/{case_id}/imports", "imports", "Import posts (URLs, rows or a file)", "edit",
       {"application/json": {"schema": ref("ImportCreate")}, **IMPORT_UPLOAD}, "Import", 202),
    Op("GET", "/imports/{import_id}", "imports", "An import's state", "read", answer="Import"),
    Op("POST", "/imports/{import_id}/resume", "imports", "Resume an interrupted import", "edit", answer="Import",
       status=202),
    Op("GET", "/tokens", "tokens", "Your API tokens (never their secrets)", None,
       answer=obj({"tokens": array(ref("Token"))}),
       description="Tokens are created only in Settings, signed in with your password: a stolen token cannot "
                   "mint more."),
    Op("POST", "/tokens/{token_id}/revoke", "tokens", "Revoke one of your tokens", None, answer="Token",
       description="Someone else's token is a 404. Creating tokens is not possible here (Settings only)."),
    Op("GET", "/cases/{case_id}/filings", "filings", "Where entries of the case were reported", "read",
       answer=obj({"filings": array(ref("Filing"))})),
    Op("POST", "/cases/{case_id}/filings", "filings", "Record a filing", "edit", "FilingCreate", "Filing", 201),
    Op("GET", "/filings/{filing_id}", "filings", "One filing with its decisions and appeals", "read",
       answer="Filing"),
    Op("PATCH", "/filings/{filing_id}", "filings", "Reference, receipt confirmation, notes", "edit", "FilingPatch",
       "Filing"),
    Op("POST", "/filings/{filing_id}/decisions", "filings", "Record the platform's decision", "edit",
       "DecisionCreate", obj({"decisions": array(ref("Decision"))}), 201),
    Op("POST", "/filings/{filing_id}/appeals", "filings", "Record an appeal or escalation", "edit", "AppealCreate",
       "Appeal", 201),
    Op("PATCH", "/appeals/{appeal_id}", "filings", "The outcome of an appeal or escalation", "edit", "AppealPatch",
       "Appeal"),
    Op("GET", "/entries/{entry_id}/observations", "filings", "Re-checks of the post: is it still up?", "read",
       answer=obj({"observations": array(ref("Observation"))})),
    Op("POST", "/entries/{entry_id}/recheck", "filings", "Check the post now (queued)", "edit",
       answer=obj({"queued": B, "entry_id": INT, "observations": S}), status=202),
    Op("POST", "/entries/{entry_id}/captures", "captures", "Capture the post's page on the server now (queued)",
       "edit", {"application/json": {"schema": obj({"keep_diagnostic": {
           **B, "description": "Keep a login wall's screenshot, withdrawn."}}, extra=False)}}, "Capture", 202,
       description="Headless Chromium loads the entry's address (through CAPTURE_PROXY) and stores a screenshot, "
                   "an MHTML snapshot and a WACZ; login walls and errors are reported, not stored. 409 while "
                   "another capture of the entry runs."),
    Op("GET", "/captures/{capture_id}", "captures", "A capture's state, outcome and evidence", "read",
       answer="Capture"),
    Op("GET", "/cases/{case_id}/outcomes", "filings", "What the platforms did, per platform", "read",
       answer=obj({"case_id": INT, "platforms": array(obj({
           "platform": S, "filed": INT, "confirmed": INT, "decided": INT, "actions": {"type": "object"},
           "no_action": INT, "no_answer": INT, "median_days_to_decision": {"type": ["number", "null"]},
           "still_online": INT, "entry_ids": {"type": "object", "description": "figure -> entry ids behind it"}}))})),
    Op("GET", "/openapi.json", "meta", "This document (no token needed: it holds no data)", None,
       answer={"type": "object"}),
]

ERRORS = {400: "Bad request", 401: "No or unknown token", 403: "Your role does not allow this, or the case "
          "requires two-factor sign-in", 404: "No such id, or not yours (the same answer)",
          409: "Conflict with the current state", 422: "Validation error: `fields` names what to fix"}


def _operation(op: Op) -> dict:
    params = [{"name": name.strip("{}"), "in": "path", "required": True, "schema": INT}
              for name in op.path.split("/") if name.startswith("{")]
    params += [{"name": n, "in": "query", "required": False, "schema": s, "description": d} for n, s, d in op.query]
    answer = ref(op.answer) if isinstance(op.answer, str) else (op.answer or {"type": "object"})
    responses = {str(op.status): {"description": "OK", "content": {op.media: {"schema": answer}}}}
    public = op.path == "/openapi.json"
    for status, text in ERRORS.items():
        if public or (status == 403 and op.permission in (None, "read") and op.path != "/tokens"):
            continue
        responses[str(status)] = {"description": text, "content": {"application/json": {"schema": ref("Error")}}}
    who = f"Needs the case right `{op.permission}`." if op.permission else ""
    out = {"operationId": op.method.lower() + "_" + re.sub(r"[^a-z0-9]+", "_", op.path.lower()).strip("_"),
           "tags": [op.tag], "summary": op.summary, "description": " ".join(x for x in (op.description, who) if x),
           "parameters": params, "responses": responses}
    if op.permission:
        out["x-permission"] = op.permission
    if public:
        out["security"] = []
    if op.body is not None:
        content = op.body if isinstance(op.body, dict) else {"application/json": {"schema": ref(op.body)}}
        out["requestBody"] = {"required": True, "content": content}
    return out


def document() -> dict:
    paths: dict = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {"title": "reportkit API", "version": "1",
                 "description": "Send `Authorization: Bearer <token>` (create tokens in Settings; they cannot be "
                                "created through the API, so a stolen token cannot mint more). Errors are "
                                "`{\"error\": {code, message, fields}}`; a 404 is the same for an id that does "
                                "not exist and one you may not see. Every write is recorded in the case's custody "
                                "log, naming the token used."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                       "schemas": {**SCHEMAS, **BODIES}},
        "paths": paths,
    }


def serve_document():
    return jsonify(document())


@bp.record_once
def _register(state) -> None:
    app: Flask = state.app
    app.add_url_rule(PATH, endpoint="api_openapi", view_func=serve_document, methods=["GET"])
