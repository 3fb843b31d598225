"""What the candidate is told when an event opens: a stable key (the page translates it) and neutral words.

Notices inform, they never accuse: the examiner judges, the page only helps the candidate put things
right (sit in view, add light, keep quiet). Events not listed here are not announced.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Notice:
    key: str
    text: str


NOTICES = {
    "face_absent": Notice("face_not_visible", "We cannot see your face. Please sit in front of the camera."),
    "multiple_faces": Notice("more_than_one_face", "We can see more than one face."),
    "identity_mismatch": Notice("face_not_recognised", "We cannot recognise your face. Please face the camera."),
    "looking_away": Notice("look_at_the_screen", "Please keep your eyes on the exam."),
    "body_movement": Notice("stay_in_view", "Please stay seated in front of the camera."),
    "speech_detected": Notice("voice_heard", "A voice is heard."),
    "noise_high": Notice("noise_heard", "It is noisy around you."),
    "camera_blocked": Notice("camera_covered", "Your camera seems to be covered."),
    "low_light": Notice("too_dark", "It is too dark to see you. Please add light."),
    "video_lost": Notice("no_video", "We receive no video from your camera."),
    "audio_lost": Notice("no_sound", "We receive no sound from your microphone."),
}


def notice_for(event_type: str) -> Notice | None:
    return NOTICES.get(event_type)
