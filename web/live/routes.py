"""The live session protocol over HTTP and a WebSocket, authorised by the candidate's join token only (the
phone beside the candidate has a token of its own that only says hello and sends `side` parts:
`proctor/sessions/side_camera.py`).

The token travels in `Authorization: Bearer TOKEN` (HTTP) or in the WebSocket's first message, never in
a URL, so no access log ever holds it. See the README's "Live sessions" for the messages and states.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Annotated, Any, Literal, cast

from aiortc import RTCSessionDescription
from fastapi import APIRouter, Depends, File, Header, Request, UploadFile, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from proctor.logcontext import about_session
from proctor.sessions.errors import InvalidInputError, SealedError, StateError, TooLargeError
from proctor.sessions.gate import GateClosed, GateKeyError, NoGate
from proctor.sessions.id_documents import MAX_STILL_BYTES, CardSubmission
from proctor.sessions.live import ConsentRequired, ExamNotOpen, SessionGone, TokenRefused
from proctor.sessions.parts import RecordingPart
from web.live.manager import LiveManager
from web.live.session import ConsentMissing, OfferError

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/live", tags=["live"])

HELLO_TIMEOUT_S = 10.0
RUN_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CONTAINERS = {"video/webm": "webm", "video/x-matroska": "matroska"}
"""What a browser's MediaRecorder writes and the parts' checks read (proctor/recording/webm.py)."""


def get_live(request: Request) -> LiveManager:
    return cast(LiveManager, request.state.live)


LiveDep = Annotated[LiveManager, Depends(get_live)]


def join_token(authorization: Annotated[str | None, Header()] = None) -> str:
    """The candidate's join token from `Authorization: Bearer TOKEN` (401 without one)."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(401, "send the exam link's token as Authorization: Bearer TOKEN")
    return token.strip()


TokenDep = Annotated[str, Depends(join_token)]


class Offer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sdp: str = Field(min_length=1, max_length=100_000, description="The client's SDP offer (camera and microphone).")
    type: Literal["offer"]


class Answer(BaseModel):
    sdp: str
    type: Literal["answer"]
    session_id: str
    state: str


def refusal(exc: Exception) -> HTTPException:
    if isinstance(exc, TokenRefused):
        return HTTPException(401, str(exc))
    if isinstance(exc, ConsentRequired):
        return HTTPException(403, str(exc))
    return HTTPException(410, str(exc))


@router.post("/offer", response_model=Answer)
async def offer(body: Offer, token: TokenDep, live: LiveDep) -> Answer:
    """Start (or restart) the live connection of an exam session: an SDP offer in, the answer out."""
    try:
        session = await live.join(token)
    except (TokenRefused, SessionGone) as exc:
        raise refusal(exc) from exc
    except ExamNotOpen as exc:
        raise HTTPException(409, str(exc)) from exc
    try:
        with about_session(session.id):
            answer = await session.connect(RTCSessionDescription(body.sdp, body.type))
    except OfferError as exc:
        raise HTTPException(400, str(exc)) from exc
    except ConsentMissing as exc:
        raise HTTPException(403, str(exc)) from exc
    return Answer(sdp=answer.sdp, type="answer", session_id=session.id, state=session.status.value)


@router.put(
    "/recording/{run}/{part}",
    status_code=201,
    responses={
        409: {"description": "Not the next part of its run, other bytes under a kept part, or an overlapping run."},
        410: {"description": "The recording is sealed, or the exam's time for sending it has passed."},
        413: {"description": "Larger than a part or a session's recording may be."},
        415: {"description": "Not WebM or Matroska."},
        422: {"description": "Not the honest continuation of its run's stream (the message says why)."},
    },
)
async def recording_part(
    run: str,
    part: int,
    request: Request,
    token: TokenDep,
    live: LiveDep,
    run_start_s: Annotated[float, Header(alias="X-Run-Start-S", ge=0, description="Session time the run starts at.")],
    track: Annotated[
        Literal["camera", "screen", "side"],
        Header(
            alias="X-Track",
            description="What the run records: the camera (default), the shared screen, or (with the side camera's "
            "token, never the join token) the phone beside the candidate.",
        ),
    ] = "camera",
) -> JSONResponse:
    """Keep one part of the client's own recording (a MediaRecorder run, sent in parts as it records), once it has
    passed every check; a refused part leaves nothing behind.

    Parts of a run come in order from 0, each once: retrying a kept part with the same bytes is safe (200, nothing
    new kept); the same part number with other bytes is 409. Parts are taken while the exam is live and, after
    it, until the recording is sealed (`POST /live/recording/seal`) or its grace time has passed (410 then).
    """
    limit = live.service.store.config.recording.part_bytes
    if not RUN_NAME.match(run) or not 0 <= part <= 1_000_000:
        raise HTTPException(400, "run is 1–64 letters, digits, _ or -, and part a number from 0")
    container = CONTAINERS.get(request.headers.get("content-type", "").split(";")[0].strip().lower())
    if container is None:
        raise HTTPException(415, f"send the part as one of {', '.join(CONTAINERS)}")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"a recording part is at most {limit} bytes")
    data = bytearray()
    async for block in request.stream():
        data += block
        if len(data) > limit:
            raise HTTPException(413, f"a recording part is at most {limit} bytes")
    if not data:
        raise HTTPException(400, "the part is empty")
    by_token = live.service.side_cameras.recording_session if track == "side" else live.records.recording_session
    try:
        session_id = await run_in_threadpool(by_token, token)
        with about_session(session_id):
            kept = await run_in_threadpool(
                live.service.parts.accept,
                session_id,
                RecordingPart(run, part, run_start_s, bytes(data), container, track),
            )
    except (TokenRefused, SessionGone, ConsentRequired) as exc:
        raise refusal(exc) from exc
    except SealedError as exc:
        raise HTTPException(410, str(exc)) from exc
    except TooLargeError as exc:
        raise HTTPException(413, str(exc)) from exc
    except StateError as exc:
        raise HTTPException(409, str(exc)) from exc
    except InvalidInputError as exc:
        raise HTTPException(422, str(exc)) from exc
    return JSONResponse({"run": run, "part": part, "kept": kept}, status_code=201 if kept else 200)


@router.post(
    "/side/hello",
    responses={
        401: {"description": "Not a side camera's token."},
        409: {"description": "The exam is over (submitted, or its recording sealed)."},
    },
)
async def side_hello(token: TokenDep, live: LiveDep) -> dict[str, Any]:
    """The phone beside the candidate (`Authorization: Bearer SIDE_TOKEN`): the session's clock, so its recording's
    runs are placed on the session's timeline (`session_time_s` is null until the session's first media)."""
    try:
        ticket = await run_in_threadpool(live.service.side_cameras.ticket, token)
    except TokenRefused as exc:
        raise HTTPException(401, str(exc)) from exc
    except SessionGone as exc:
        raise HTTPException(409, str(exc)) from exc
    return {"state": ticket.status.value, "session_time_s": ticket.session_time_s}


@router.get(
    "/side/status",
    responses={
        401: {"description": "Not a join token."},
        409: {"description": "The exam is over."},
    },
)
async def side_status(token: TokenDep, live: LiveDep) -> JSONResponse:
    """The candidate's page (`Authorization: Bearer JOIN_TOKEN`): whether the phone beside them is recording and
    saw someone, and the shared screen, in its last picture (`off`, `waiting`, `connected`, `sees_nobody`,
    `sees_no_screen`, `lost`); read from the stored parts, so whichever node took them. Never the phone's pictures
    themselves."""
    try:
        status = await run_in_threadpool(live.service.side_cameras.status, token)
    except TokenRefused as exc:
        raise HTTPException(401, str(exc)) from exc
    except SessionGone as exc:
        raise HTTPException(409, str(exc)) from exc
    body = {"state": status.state, "seconds_since": status.seconds_since}
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


class SealRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    runs: dict[Annotated[str, Field(pattern=RUN_NAME.pattern)], Annotated[int, Field(ge=0, le=1_000_001)]] = Field(
        default_factory=dict, max_length=200, description="Each run the page recorded, and how many parts it sent."
    )


@router.post("/recording/seal", responses={409: {"description": "The exam is not finished."}})
async def seal_recording(body: SealRequest, token: TokenDep, live: LiveDep) -> dict[str, Any]:
    """The page has sent its last part: the recording is sealed now (nothing more is taken) and checked against
    what the live analysis saw. Sealing again answers with the first seal."""
    try:
        session_id = await run_in_threadpool(live.records.recording_session, token)
        with about_session(session_id):
            seal = await run_in_threadpool(
                live.service.seals.seal, session_id, "the page sent its last part", body.runs
            )
    except (TokenRefused, SessionGone, ConsentRequired) as exc:
        raise refusal(exc) from exc
    except StateError as exc:
        raise HTTPException(409, str(exc)) from exc
    return seal.page_view()


@router.get(
    "/gate",
    responses={
        200: {"description": '`{"password": ...}`, never cached (`Cache-Control: no-store`).'},
        404: {"description": "The exam has no quiz password."},
        409: {"description": "The session is not in progress: before the identity check and room scan, or ended."},
        503: {"description": "The platform cannot read the password (its key is missing or wrong)."},
    },
)
async def quiz_password(token: TokenDep, live: LiveDep) -> JSONResponse:
    """The exam's LMS quiz password for its candidate, only while the proctored session is in progress (consent,
    identity check and room scan behind it): no proctoring, no attempt. Each answer is recorded in the ledger
    (`quiz_gate_revealed`, without the password)."""
    try:
        password = await run_in_threadpool(live.service.gates.reveal, token)
    except TokenRefused as exc:
        raise refusal(exc) from exc
    except NoGate as exc:
        raise HTTPException(404, str(exc)) from exc
    except GateClosed as exc:
        raise HTTPException(409, str(exc)) from exc
    except GateKeyError as exc:
        logger.error("the quiz password cannot be shown: %s", exc)
        raise HTTPException(503, "the quiz password cannot be read on the platform now: tell your college") from exc
    return JSONResponse({"password": password}, headers={"Cache-Control": "no-store"})


@router.post(
    "/idcard",
    responses={
        403: {"description": "The candidate has not accepted the proctoring terms."},
        409: {"description": "The exam asks for no ID card, the session is past the room scan, or no attempt is left."},
        413: {"description": "A still larger than 8 MiB."},
        415: {"description": "Not a JPEG or PNG still."},
        422: {"description": "A still that does not decode."},
    },
)
async def id_card(
    token: TokenDep,
    live: LiveDep,
    card: Annotated[UploadFile, File(description="The card's front, a still at the camera's full resolution.")],
    face: Annotated[UploadFile | None, File(description="A still of the candidate's face (optional).")] = None,
) -> dict[str, Any]:
    """The candidate's ID card at the door: the still is checked (IIN, name, photo; the card's photo also against
    the server's own pictures of the live video, since the stills come from the page) and kept for the examiner;
    the answer says only whether it could be read, never what was found wrong (the examiner decides)."""
    stills: list[bytes] = []
    for upload in (card, face):
        if upload is None:
            continue
        data = await upload.read(MAX_STILL_BYTES + 1)
        if len(data) > MAX_STILL_BYTES:
            raise HTTPException(413, f"a still is at most {MAX_STILL_BYTES} bytes")
        if not data.startswith((b"\xff\xd8\xff", b"\x89PNG")):
            raise HTTPException(415, "send the still as a JPEG or PNG picture")
        stills.append(data)
    try:
        session_id = await run_in_threadpool(live.records.recording_session, token)
        held = live.get(session_id)  # the load balancer pins the session's requests to the node holding it
        stream = held.door.taken() if held is not None else ()
        with about_session(session_id):
            attempt, outcome = await run_in_threadpool(
                live.service.id_documents.submit,
                token,
                CardSubmission(stills[0], stills[1] if len(stills) > 1 else None, stream),
            )
    except (TokenRefused, SessionGone, ConsentRequired) as exc:
        raise refusal(exc) from exc
    except TooLargeError as exc:
        raise HTTPException(413, str(exc)) from exc
    except StateError as exc:
        raise HTTPException(409, str(exc)) from exc
    except InvalidInputError as exc:
        raise HTTPException(422, str(exc)) from exc
    readable = outcome.iin_masked != "-" and outcome.card_face_px is not None
    return {"attempt": attempt, "received": True, "readable": readable}


SPEEDTEST_LIMIT = 4 * 1024 * 1024


@router.post("/speedtest")
async def speedtest(request: Request, token: TokenDep, live: LiveDep) -> dict[str, int]:
    """The page's upload check: up to 4 MiB sent and discarded (the page times it); the token must open a session."""
    try:
        await run_in_threadpool(live.records.recording_session, token)
    except (TokenRefused, SessionGone, ConsentRequired) as exc:
        raise refusal(exc) from exc
    received = 0
    async for block in request.stream():
        received += len(block)
        if received > SPEEDTEST_LIMIT:
            raise HTTPException(413, f"a speed test sends at most {SPEEDTEST_LIMIT} bytes")
    return {"bytes": received}


@router.websocket("/ws")
async def control(socket: WebSocket) -> None:
    """The session's control channel: the first message is `{"type": "hello", "token": TOKEN}`."""
    live = cast(LiveManager, socket.state.live)
    await socket.accept()
    try:
        hello = json.loads(await asyncio.wait_for(socket.receive_text(), HELLO_TIMEOUT_S))
    except (TimeoutError, ValueError, WebSocketDisconnect):
        await _close(socket, 4400, "say hello with the exam link's token first")
        return
    token = hello.get("token") if isinstance(hello, dict) and hello.get("type") == "hello" else None
    if not isinstance(token, str) or not token:
        await _close(socket, 4400, "say hello with the exam link's token first")
        return
    try:
        session = await live.join(token)
    except TokenRefused as exc:
        await _close(socket, 4401, str(exc))
        return
    except SessionGone as exc:
        await _close(socket, 4410, str(exc))
        return
    except ExamNotOpen as exc:
        await _close(socket, 4409, str(exc))
        return
    await session.attach(socket)
    try:
        with about_session(session.id):  # the session's log lines name it
            while True:
                try:
                    message: Any = json.loads(await socket.receive_text())
                except ValueError:
                    await socket.send_json({"type": "error", "message": "messages are JSON objects"})
                    continue
                if isinstance(message, dict):
                    await session.on_client(message)
    except WebSocketDisconnect:
        pass
    finally:
        session.detach(socket)


async def _close(socket: WebSocket, code: int, reason: str) -> None:
    await socket.close(code=code, reason=reason[:120])
