"""Tortoise models, one module per bounded context; re-exported here for convenience."""

from grants.models.accounts import (
    AgeBand,
    Group,
    GroupMember,
    LoginAttempt,
    Token,
    User,
    UserSession,
)
from grants.models.applications import (
    Answer,
    Application,
    ApplicationMessage,
    ApplicationStatus,
    Attachment,
    StatusChange,
)
from grants.models.audit import AuditEvent, OutboxEmail
from grants.models.awards import Award
from grants.models.calls import (
    Category,
    Edition,
    EditionRole,
    EditionStatus,
    Panel,
    PanelMember,
    Programme,
    Question,
    QuestionKind,
)
from grants.models.outcomes import MailText, OutcomeKind, OutcomeNotice
from grants.models.review import (
    Assignment,
    Bid,
    Conflict,
    CriterionScore,
    DiscussionComment,
    Review,
    ReviewStatus,
)

__all__ = [
    "AgeBand",
    "Answer",
    "Application",
    "ApplicationMessage",
    "ApplicationStatus",
    "Assignment",
    "Attachment",
    "AuditEvent",
    "Award",
    "Bid",
    "Category",
    "Conflict",
    "CriterionScore",
    "DiscussionComment",
    "Edition",
    "EditionRole",
    "EditionStatus",
    "Group",
    "GroupMember",
    "LoginAttempt",
    "MailText",
    "OutboxEmail",
    "OutcomeKind",
    "OutcomeNotice",
    "Panel",
    "PanelMember",
    "Programme",
    "Question",
    "QuestionKind",
    "Review",
    "ReviewStatus",
    "StatusChange",
    "Token",
    "User",
    "UserSession",
]
