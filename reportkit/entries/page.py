"""The entry page, rendered by its own view and again, with the refused form kept, by the views that post to it
(a clause mapping, an upload): the user sees the error next to the field, and nothing they typed is lost."""

from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_login import current_user

from ..evidence.forms import ArchiveLinkForm, RetireForm, UploadForm
from ..forms import ConfirmForm
from ..models import PERMISSIONS, PLATFORMS, Clause
from ..platforms import label as platform_label
from ..reviews.forms import AnnotationForm, RegionForm, TransitionForm
from ..services import access
from ..services import reviews as review_ops
from ..services.activity import describe_events
from ..services.custody import entry_history
from ..services.duplicates import findings_for
from ..services.filings import entry_reporting
from ..services.policies import clauses_for
from ..services.sniff import ALLOWED, ALLOWED_LABEL
from .forms import ViolationForm

# What the file picker offers and the page's script checks before sending: the types the server accepts
# (services/sniff.py decides from the bytes; these are only the browser's hints).
UPLOAD_ACCEPT = ",".join(sorted(ALLOWED) + [".html", ".htm", ".mhtml", ".mht", ".warc", ".warc.gz", ".wacz"])


def fitting_clauses(entry) -> list[Clause]:
    """The clauses that may be mapped onto this post: its platform's (a Mastodon post: its server's) rules first,
    then legal grounds; the same rule the service applies when the mapping is saved."""
    return clauses_for(entry.platform, urlsplit(entry.canonical_url or "").hostname or "")


def violation_form(entry, blank: bool = False) -> ViolationForm:
    """The clause form; `blank`: not filled from the request (the page shown after another form was sent)."""
    return ViolationForm(clauses=fitting_clauses(entry), platform_name=PLATFORMS.get(entry.platform, entry.platform),
                         **({"formdata": None} if blank else {}))


def upload_limit() -> int:
    return current_app.config["MAX_CONTENT_LENGTH"]


def render_entry(entry, status: int = 200, **forms):
    """The entry page; `forms` replaces a blank form with the one the user sent (errors and values kept)."""
    role = access.role_in(entry.case_id, current_user)
    rights = PERMISSIONS[role]
    blank = {"upload_form": UploadForm, "link_form": ArchiveLinkForm, "transition_form": TransitionForm,
             "note_form": AnnotationForm, "region_form": RegionForm}
    context = {name: forms.get(name) or make(formdata=None) for name, make in blank.items()}
    context["violation_form"] = forms.get("violation_form") or violation_form(entry, blank=True)
    can_edit = "edit" in rights and not entry.sealed
    history = entry_history(entry.id)
    has_evidence = any(ev.active for ev in entry.evidence)  # withdrawn or purged files are no evidence any more
    return render_template(
        "entries/view.html", entry=entry, case=entry.case, role=role, can_edit=can_edit,
        can_annotate="annotate" in rights, can_review="review" in rights,
        moves=review_ops.allowed_moves(current_user, entry), confirm=ConfirmForm(formdata=None),
        clauses=context["violation_form"].clauses,
        platform_name=PLATFORMS.get(entry.platform, entry.platform),
        duplicates=findings_for(entry), retire=RetireForm(formdata=None),
        history=history, history_lines=describe_events(history), upload_limit=upload_limit(),
        upload_accept=UPLOAD_ACCEPT, upload_types=ALLOWED_LABEL,
        has_evidence=has_evidence, todo_first=can_edit and not (has_evidence and entry.violations),
        reporting=entry_reporting(entry.id), platform_label=platform_label, **context), status
