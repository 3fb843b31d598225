"""The LTI 1.3 claim names and role vocabulary the tool reads (1EdTech LTI Core 1.3, Deep Linking 2.0, NRPS 2.0,
AGS 2.0), and what a launch's roles let its person do here."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
MESSAGE_TYPE = LTI + "message_type"
VERSION = LTI + "version"
DEPLOYMENT_ID = LTI + "deployment_id"
TARGET_LINK_URI = LTI + "target_link_uri"
RESOURCE_LINK = LTI + "resource_link"
ROLES = LTI + "roles"
CONTEXT = LTI + "context"
CUSTOM = LTI + "custom"
LIS = LTI + "lis"
LAUNCH_PRESENTATION = LTI + "launch_presentation"
DEEP_LINKING_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
DL_CONTENT_ITEMS = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"
DL_DATA = "https://purl.imsglobal.org/spec/lti-dl/claim/data"
DL_MESSAGE = "https://purl.imsglobal.org/spec/lti-dl/claim/msg"
AGS_ENDPOINT = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"

RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"
DEEP_LINKING_RESPONSE = "LtiDeepLinkingResponse"
LTI_VERSION = "1.3.0"

SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_LINEITEM_READ = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_MEMBERSHIPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"

SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
LINEITEMS_TYPE = "application/vnd.ims.lis.v2.lineitemcontainer+json"
MEMBERSHIPS_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"

EXAM_LINK = "proctor_exam"
"""The custom parameter of a resource link the tool made (deep linking): a JWT the tool signed naming the exam."""


class Access(StrEnum):
    """What a launch's roles let its person do here."""

    STAFF = "staff"
    """Instructors, teaching assistants, content developers, mentors of the course and the LMS's administrators:
    the desk, as examiners of the linked exam (never as the college's admins: that stays on the desk)."""
    LEARNER = "learner"
    """Learners: the exam page, as the exam's candidate."""
    NONE = "none"


STAFF_ROLES = (
    "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",
    "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#",
    "http://purl.imsglobal.org/vocab/lis/v2/membership#ContentDeveloper",
    "http://purl.imsglobal.org/vocab/lis/v2/membership#Administrator",
    "http://purl.imsglobal.org/vocab/lis/v2/membership/Administrator#",
    "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator",
    "http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator",
    "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Faculty",
    "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Instructor",
)
LEARNER_ROLES = (
    "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner",
    "http://purl.imsglobal.org/vocab/lis/v2/membership/Learner#",
)
SHORT_ROLES = {"Instructor": STAFF_ROLES[0], "Learner": LEARNER_ROLES[0], "Administrator": STAFF_ROLES[3]}
"""LTI 1.1-style short names some platforms still send in 1.3 (the spec deprecates them)."""


def access_of(roles: Iterable[str]) -> Access:
    """Staff when any role is a staff role (a teacher who is also enrolled is staff), else learner, else none."""
    full = [SHORT_ROLES.get(role, role) for role in roles]
    if any(role.startswith(STAFF_ROLES) for role in full):
        return Access.STAFF
    if any(role.startswith(LEARNER_ROLES) for role in full):
        return Access.LEARNER
    return Access.NONE
