"""Names and Role Provisioning Services: the course roster read into the exam's candidates.

Learners the roster lists (status Active) become candidates (without a reference photo until the college sends
one); candidates who came through this platform and are no longer listed are marked withdrawn (their sessions and
records stay); one who comes back is unmarked. Run on demand (college API, desk) and before the exam opens.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from proctor.lti import claims as c
from proctor.lti.provision import find_or_enrol
from proctor.lti.registry import Platform, platform_of
from proctor.lti.services import ServiceClient, ServiceError
from proctor.lti.tables import LinkRow, PlatformRow
from proctor.sessions.store import college_exam
from proctor.sessions.tables import CandidateRow, ExamRow

MAX_PAGES = 200
NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


@dataclass(frozen=True)
class Member:
    sub: str
    full_name: str
    email: str | None
    sourcedid: str | None


@dataclass(frozen=True)
class RosterReport:
    exam_id: str
    learners: int
    added: int
    withdrawn: int
    returned: int
    links: int


def _member(entry: dict[str, Any]) -> Member | None:
    sub = str(entry.get("user_id") or "").strip()
    roles = entry.get("roles") if isinstance(entry.get("roles"), list) else []
    if not sub or len(sub) > 255 or entry.get("status", "Active") != "Active":
        return None
    if c.access_of(str(role) for role in roles or []) != c.Access.LEARNER:
        return None
    name = (
        str(entry.get("name") or "").strip()
        or " ".join(str(entry.get(part) or "").strip() for part in ("given_name", "family_name")).strip()
    )
    email = str(entry.get("email") or "").strip().lower()
    sourcedid = str(entry.get("lis_person_sourcedid") or "").strip()[:128]
    return Member(sub, (name or f"LMS user {sub}")[:300], email if "@" in email else None, sourcedid or None)


class Roster:
    """Reads a linked exam's course rosters into its candidates."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        writing: Callable[[], AbstractContextManager[Session]],
        client: ServiceClient,
    ) -> None:
        self._sessions = sessions
        self._writing = writing
        self._client = client

    def members(self, platform: Platform, url: str) -> list[Member]:
        """Every learner of the course (following the `Link: rel="next"` pages)."""
        found: list[Member] = []
        page: str | None = url
        for _ in range(MAX_PAGES):
            if page is None:
                break
            response = self._client.call(
                platform, "GET", page, [c.SCOPE_MEMBERSHIPS], purpose="LTI roster", accept=c.MEMBERSHIPS_TYPE
            )
            document = ServiceClient.json_of(response)
            entries = document.get("members")
            if not isinstance(entries, list):
                raise ServiceError("the LMS's roster has no members list", retry=False)
            found.extend(member for entry in entries if isinstance(entry, dict) and (member := _member(entry)))
            match = NEXT.search(response.headers.get("link", ""))
            page = match.group(1) if match else None
        return found

    def sync(self, college_id: str, exam_id: str, now: datetime | None = None) -> RosterReport:
        """Read every linked course's roster into the exam (ServiceError when an LMS cannot be read: nothing then
        changes)."""
        moment = now or datetime.now(UTC)
        with self._sessions() as db:
            college_exam(db, college_id, exam_id)
            links = [
                (link.id, platform_of(platform), link.memberships_url)
                for link, platform in db.execute(
                    select(LinkRow, PlatformRow)
                    .join(PlatformRow, PlatformRow.id == LinkRow.platform_id)
                    .where(LinkRow.exam_id == exam_id, LinkRow.memberships_url.is_not(None))
                )
            ]
        rosters: dict[tuple[str, str], list[Member]] = {}
        for _, platform, url in links:
            if url is not None and platform.enabled and (platform.id, url) not in rosters:
                rosters[(platform.id, url)] = self.members(platform, url)
        added = withdrawn = returned = 0
        with self._writing() as db:
            exam = db.get_one(ExamRow, exam_id)
            listed: dict[str, set[str]] = {}
            for (platform_id, _), members in rosters.items():
                for member in members:
                    listed.setdefault(platform_id, set()).add(member.sub)
                    candidate, created = find_or_enrol(
                        db, exam, platform_id, member.sub, member.full_name, member.email, member.sourcedid
                    )
                    added += created
                    if candidate.withdrawn_at is not None:
                        candidate.withdrawn_at = None
                        returned += 1
            for platform_id, subs in listed.items():
                for candidate in db.scalars(
                    select(CandidateRow).where(
                        CandidateRow.exam_id == exam_id,
                        CandidateRow.lti_platform_id == platform_id,
                        CandidateRow.withdrawn_at.is_(None),
                    )
                ):
                    if candidate.lti_sub not in subs:
                        candidate.withdrawn_at = moment
                        withdrawn += 1
            for link_id, _, _ in links:
                link = db.get(LinkRow, link_id)
                if link is not None:
                    link.roster_synced_at = moment
        learners = sum(len(members) for members in rosters.values())
        return RosterReport(exam_id, learners, added, withdrawn, returned, len(links))

    def due_exams(self, now: datetime, ahead_s: float = 3600.0) -> list[tuple[str, str]]:
        """(college, exam) of linked exams that open within `ahead_s` and whose roster was not read since an hour
        before they open."""
        with self._sessions() as db:
            rows = db.execute(
                select(ExamRow.college_id, ExamRow.id, ExamRow.opens_at, LinkRow.roster_synced_at)
                .join(LinkRow, LinkRow.exam_id == ExamRow.id)
                .where(ExamRow.opens_at.is_not(None), LinkRow.memberships_url.is_not(None))
            )
            due: dict[str, str] = {}
            for college, exam, opens, synced in rows:
                opens_utc = opens.replace(tzinfo=UTC) if opens is not None and opens.tzinfo is None else opens
                synced_utc = synced.replace(tzinfo=UTC) if synced is not None and synced.tzinfo is None else synced
                if opens_utc is None or not 0 <= (opens_utc - now).total_seconds() <= ahead_s:
                    continue
                if synced_utc is None or (opens_utc - synced_utc).total_seconds() > ahead_s:
                    due[exam] = college
        return [(college, exam) for exam, college in due.items()]
