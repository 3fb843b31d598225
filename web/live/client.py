"""A live-session client in Python (aiortc): what the candidate's browser page does, for tests, benchmarks
and anyone writing another client (a mobile app) against the protocol in the README.

    client = LiveClient("http://127.0.0.1:8000", token)
    welcome = await client.open()                         # control socket, hello with the token
    await client.consent()                                 # the candidate accepted the proctoring terms
    await client.ready()                                   # the server's analysis is warm
    await client.connect(Path("exam.webm"))                # camera and microphone from a file, in real time
    await client.upload_recording(Path("exam.webm"), "run-1", run_start_s=0.0)
    receipt = await client.finish()                        # the result, provable against a checkpoint

A WebM file with VP8 video and Opus audio is sent as it is (no re-encoding: the client costs almost
nothing); any other file is decoded and encoded by aiortc.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import websockets
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaPlayer

from web.live.pinning import PIN_QUERY, pin_of

logger = logging.getLogger(__name__)

PART_BYTES = 256 * 1024
"""What this client tells the server it showed the candidate (the page sends its catalog's terms version)."""

Message = dict[str, Any]


class LiveError(RuntimeError):
    """The server refused a step (its status and message)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status


class LiveClient:
    """One candidate's connection to a live exam session."""

    def __init__(self, base_url: str, token: str, *, timeout_s: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout_s = timeout_s
        self.messages: list[Message] = []
        self._arrived = asyncio.Condition()
        self._socket: Any = None
        self._reader: asyncio.Task[None] | None = None
        self.peer: RTCPeerConnection | None = None
        self.player: MediaPlayer | None = None
        self._http = httpx.AsyncClient(
            base_url=self.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout_s
        )

    # -- control socket ---------------------------------------------------------------------------

    async def open(self) -> Message:
        """Open the control socket and say hello; returns the welcome (LiveError 401/410 when refused)."""
        # the pin keeps the socket on the session's node (see web/live/pinning.py)
        url = self.base_url.replace("http", "ws", 1) + f"/live/ws?{PIN_QUERY}={pin_of(self.token)}"
        self._socket = await websockets.connect(url, open_timeout=self.timeout_s)
        await self._socket.send(json.dumps({"type": "hello", "token": self.token}))
        self._reader = asyncio.create_task(self._read())
        return await self.wait_for(lambda m: m.get("type") == "welcome")

    async def consent(self, accepted: bool = True, terms: str | None = None) -> Message:
        """Answer the proctoring terms, as the page does after showing them (`terms` names the text shown; by
        default the English terms the welcome names): media is refused until they are accepted; declining ends
        the session. The server's error is raised as a LiveError (400)."""
        if terms is None:
            welcome = next((m for m in self.messages if m.get("type") == "welcome"), {})
            terms = str(welcome.get("terms", {}).get("en", ""))
        await self.send({"type": "consent", "accepted": accepted, "terms": terms})
        answer = await self.wait_for(lambda m: m.get("type") in ("consent", "error"))
        if answer["type"] == "error":
            raise LiveError(400, str(answer.get("message")))
        return answer

    async def ready(self, timeout_s: float | None = None) -> None:
        """Wait until the server's analysis of this session is ready (its models warm): media sent before
        may be dropped from analysis (it is still received and recorded)."""
        await self.wait_for(
            lambda m: (
                m.get("type") == "analysis_ready" or (m.get("type") == "welcome" and m.get("analysis_ready") is True)
            ),
            timeout_s,
        )

    async def _read(self) -> None:
        try:
            async for raw in self._socket:
                message = json.loads(raw)
                async with self._arrived:
                    self.messages.append(message)
                    self._arrived.notify_all()
        except websockets.ConnectionClosed as closed:
            frame = closed.rcvd or closed.sent
            code, reason = (frame.code, frame.reason) if frame is not None else (1006, "the connection was lost")
            async with self._arrived:
                self.messages.append({"type": "closed", "code": code, "reason": reason})
                self._arrived.notify_all()

    async def send(self, message: Message) -> None:
        await self._socket.send(json.dumps(message))

    async def wait_for(self, predicate: Callable[[Message], bool], timeout_s: float | None = None) -> Message:
        """The first message (already received or to come) that matches; LiveError when the socket closes first."""
        async with self._arrived:
            for message in self.messages:
                if predicate(message):
                    return message
                if message.get("type") == "closed":
                    raise LiveError(int(message["code"]), str(message["reason"]))
            seen = len(self.messages)

            def found() -> bool:
                return any(predicate(m) or m.get("type") == "closed" for m in self.messages[seen:])

            await asyncio.wait_for(self._arrived.wait_for(found), timeout_s or self.timeout_s)
            match = next(m for m in self.messages[seen:] if predicate(m) or m.get("type") == "closed")
        if match.get("type") == "closed" and not predicate(match):
            raise LiveError(int(match["code"]), str(match["reason"]))
        return match

    # -- media ------------------------------------------------------------------------------------

    async def connect(self, media: Path, *, audio: bool = True) -> Message:
        """Stream `media` (in real time) as the camera and microphone; returns the server's answer."""
        passthrough = media.suffix == ".webm"
        self.player = MediaPlayer(str(media), decode=not passthrough)
        peer = RTCPeerConnection()
        self.peer = peer
        if self.player.video is not None:
            peer.addTrack(self.player.video)
        if audio and self.player.audio is not None:
            peer.addTrack(self.player.audio)
        await peer.setLocalDescription(await peer.createOffer())
        answer = await self.offer(peer.localDescription.sdp)
        await peer.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
        return answer

    async def offer(self, sdp: str) -> Message:
        """POST an SDP offer; LiveError with the server's status when refused."""
        response = await self._http.post("/live/offer", json={"sdp": sdp, "type": "offer"})
        if response.status_code != 200:
            raise LiveError(response.status_code, response.json()["error"]["message"])
        answer: Message = response.json()
        return answer

    async def disconnect(self) -> None:
        """Drop the media connection (the control socket stays), as a lost network does."""
        if self.peer is not None:
            peer, self.peer = self.peer, None
            await peer.close()
        self.player = None

    async def upload_recording(self, media: Path, run: str, run_start_s: float, part_bytes: int = PART_BYTES) -> int:
        """Send the client's own recording of `media` in parts of `part_bytes` (cut anywhere: the server reads a
        run's stream across its parts); returns how many."""
        data = media.read_bytes()
        parts = 0
        for number, offset in enumerate(range(0, len(data), part_bytes)):
            await self.put_part(run, number, data[offset : offset + part_bytes], run_start_s)
            parts += 1
        return parts

    async def put_part(self, run: str, number: int, data: bytes, run_start_s: float, track: str = "camera") -> bool:
        """Send one part of the client's own recording; True when kept now, False for a retry of a kept part."""
        response = await self._http.put(
            f"/live/recording/{run}/{number}",
            content=data,
            headers={"Content-Type": "video/webm", "X-Run-Start-S": f"{run_start_s:.3f}", "X-Track": track},
        )
        if response.status_code not in (200, 201):
            raise LiveError(response.status_code, response.json()["error"]["message"])
        return response.status_code == 201

    async def seal(self, runs: dict[str, int]) -> Message:
        """Say the last part is sent (each run and how many parts it sent): the recording is sealed."""
        response = await self._http.post("/live/recording/seal", json={"runs": runs})
        if response.status_code != 200:
            raise LiveError(response.status_code, response.json()["error"]["message"])
        sealed: Message = response.json()
        return sealed

    async def finish(self, timeout_s: float = 60.0) -> Message:
        """Finish the exam; returns the receipt (session id and the checkpoint the result is provable against)."""
        await self.send({"type": "finish"})
        finished = await self.wait_for(lambda m: m.get("type") == "finished", timeout_s)
        receipt: Message = finished["receipt"]
        return receipt

    async def close(self) -> None:
        await self.disconnect()
        if self._socket is not None:
            await self._socket.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        await self._http.aclose()
