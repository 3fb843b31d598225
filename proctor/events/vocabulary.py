"""The fixed vocabulary of event types, and which of them may count toward the score."""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    """Every event the analysis core can report."""

    FACE_ABSENT = "face_absent"
    MULTIPLE_FACES = "multiple_faces"
    IDENTITY_MISMATCH = "identity_mismatch"
    LOOKING_AWAY = "looking_away"
    GAZE_AWAY = "gaze_away"
    BODY_MOVEMENT = "body_movement"
    SPEECH_DETECTED = "speech_detected"
    NOISE_HIGH = "noise_high"
    # technical: the system could not see or hear; never misconduct, never scored
    CAMERA_BLOCKED = "camera_blocked"
    LOW_LIGHT = "low_light"
    VIDEO_LOST = "video_lost"
    AUDIO_LOST = "audio_lost"
    # room scan (360°)
    ROOM_SCAN_REQUESTED = "room_scan_requested"
    ROOM_SCAN_COMPLETED = "room_scan_completed"
    ROOM_SCAN_INCOMPLETE = "room_scan_incomplete"
    PERSON_IN_ROOM = "person_in_room"
    # what the candidate's browser reports about the exam page (when the exam's policy asks)
    TAB_HIDDEN = "tab_hidden"
    FOCUS_LOST = "focus_lost"
    FULLSCREEN_EXITED = "fullscreen_exited"
    SCREEN_SHARE_STOPPED = "screen_share_stopped"
    SECOND_DISPLAY = "second_display"
    COPY_PASTE = "copy_paste"
    # the evidence itself: the kept recording shows something the live analysis did not see
    RECORDING_MISMATCH = "recording_mismatch"
    # the side camera (a phone beside the candidate, when the exam asks for one)
    SIDE_CAMERA_JOINED = "side_camera_joined"
    SIDE_CAMERA_LEFT = "side_camera_left"
    SIDE_CAMERA_BACK = "side_camera_back"
    SIDE_CAMERA_MISSING = "side_camera_missing"
    SIDE_CAMERA_BLIND = "side_camera_blind"
    SIDE_CAMERA_NO_SCREEN = "side_camera_no_screen"
    SIDE_CAMERA_PEOPLE = "side_camera_people"


TECHNICAL = frozenset({EventType.CAMERA_BLOCKED, EventType.LOW_LIGHT, EventType.VIDEO_LOST, EventType.AUDIO_LOST})
"""The camera or microphone could not observe: a technical event, not misconduct."""

BROWSER = frozenset(
    {
        EventType.TAB_HIDDEN,
        EventType.FOCUS_LOST,
        EventType.FULLSCREEN_EXITED,
        EventType.SCREEN_SHARE_STOPPED,
        EventType.SECOND_DISPLAY,
        EventType.COPY_PASTE,
    }
)
"""Reported by the exam page with their times: facts for the examiner to weigh (a browser cannot see other
devices or a second computer, so their absence proves nothing)."""

INFORMATIONAL = frozenset({EventType.ROOM_SCAN_REQUESTED, EventType.ROOM_SCAN_COMPLETED})
"""Facts worth logging that say nothing against the candidate."""

INTEGRITY = frozenset({EventType.RECORDING_MISMATCH})
"""About the evidence, not the candidate's behaviour: for the examiner to look into; never scored, never a verdict."""

SIDE_CAMERA = frozenset(
    {
        EventType.SIDE_CAMERA_JOINED,
        EventType.SIDE_CAMERA_LEFT,
        EventType.SIDE_CAMERA_BACK,
        EventType.SIDE_CAMERA_MISSING,
        EventType.SIDE_CAMERA_BLIND,
        EventType.SIDE_CAMERA_NO_SCREEN,
        EventType.SIDE_CAMERA_PEOPLE,
    }
)
"""Found when the recording is sealed, after the score (`proctor/sessions/side_camera.py`): the phone's joining,
leaving and coming back, a phone that never came, sees nobody or does not see the shared screen (technical), and
more than one person in its view (for the examiner to look at). Never scored."""

SCORED = frozenset(set(EventType) - TECHNICAL - INFORMATIONAL - INTEGRITY - SIDE_CAMERA)
"""Types whose time share, times the policy weight, makes up the suspicion score."""
