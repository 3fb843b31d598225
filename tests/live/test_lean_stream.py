"""The lean analysis stream's answer: 60 ms Opus packets asked for in each audio section, nothing else changed."""

from __future__ import annotations

import asyncio

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaBlackhole
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from proctor.policy import PRESETS
from web.live.lean import ANALYSIS_WIDTH, AUDIO_PACKET_MS, Received, analysis_stream, with_packet_time


async def real_answer() -> str:
    """An answer of aiortc (the server's WebRTC stack) to an offer of camera and microphone."""
    sender, receiver = RTCPeerConnection(), RTCPeerConnection()
    sink = MediaBlackhole()
    receiver.on("track", sink.addTrack)
    try:
        sender.addTrack(AudioStreamTrack())
        sender.addTrack(VideoStreamTrack())
        await sender.setLocalDescription(await sender.createOffer())
        await receiver.setRemoteDescription(sender.localDescription)
        await receiver.setLocalDescription(await receiver.createAnswer())
        answer = receiver.localDescription.sdp
        await sender.setRemoteDescription(RTCSessionDescription(with_packet_time(answer), "answer"))
        return answer
    finally:
        await sender.close()
        await receiver.close()


def test_the_answer_asks_for_long_audio_packets_in_the_audio_section_only() -> None:
    answer = asyncio.run(real_answer())
    lean = with_packet_time(answer)
    audio, video = (next(s for s in lean.split("m=")[1:] if s.startswith(kind)) for kind in ("audio", "video"))
    assert f"a=ptime:{AUDIO_PACKET_MS}\r\n" in audio and "a=ptime" not in video
    assert lean.replace(f"a=ptime:{AUDIO_PACKET_MS}\r\n", "") == answer  # nothing else changed
    assert with_packet_time(lean) == lean  # a section that has a packet time keeps it


def test_the_page_is_asked_for_the_analysis_rate_and_the_scan_rate_of_the_exam_policy() -> None:
    policy = PRESETS["final"]
    stream = analysis_stream(policy)
    assert stream["width"] == ANALYSIS_WIDTH
    assert (stream["fps"], stream["scan_fps"]) == (policy.analysis_rate_hz, policy.room_scan.analysis_rate_hz)


def test_what_was_received_is_summed_up_for_the_report() -> None:
    received = Received()
    assert received.to_json() == {
        "video": {"width": 0, "height": 0, "frames_per_s": None},
        "audio_packet_ms": None,
    }
    for n in range(31):
        received.video(10.0 + n / 6, 320, 240)
    for _ in range(50):
        received.audio(0.06)
    assert received.to_json() == {"video": {"width": 320, "height": 240, "frames_per_s": 6.0}, "audio_packet_ms": 60.0}
