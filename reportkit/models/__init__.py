"""All models, importable from one place (Alembic and the app need them registered)."""

from .captures import CAPTURE_OUTCOMES, Capture
from .cases import PERMISSIONS, PLATFORMS, ROLE_INFO, ROLES, Account, Case, Membership
from .dossiers import MODES, Dossier
from .entries import Entry, Tag, Violation
from .events import ChainHead, Event
from .evidence import EVIDENCE_KINDS, Derivative, Evidence, NearDuplicate
from .filings import Appeal, Decision, Filing, FilingFile
from .imports import Import
from .invitations import Invitation
from .observations import Observation
from .policies import Clause, Platform, Policy
from .reviews import ANNOTATION_KINDS, REGION_KINDS, STATUSES, Annotation, Approval, Region, Transition
from .sessions import SECURITY_ACTIONS, PasswordReset, SecurityEvent, UserSession
from .twofactor import RecoveryCode, TwoFactor
from .users import ApiToken, User

__all__ = [
    "PERMISSIONS", "PLATFORMS", "ROLE_INFO", "ROLES", "Invitation", "EVIDENCE_KINDS", "MODES", "Dossier",
    "Account", "ApiToken", "Case", "Clause", "Derivative", "Entry", "Evidence",
    "Membership", "Platform", "Policy", "Tag", "User", "Violation", "ANNOTATION_KINDS", "REGION_KINDS",
    "STATUSES", "Annotation", "Approval", "Region", "Transition", "Import", "Event", "ChainHead",
    "SECURITY_ACTIONS", "PasswordReset", "SecurityEvent", "UserSession",
    "RecoveryCode", "TwoFactor",
    "CAPTURE_OUTCOMES", "Capture", "NearDuplicate", "Appeal", "Decision", "Filing", "FilingFile", "Observation",
]
