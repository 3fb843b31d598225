// The phone beside the candidate (GET /side/TOKEN): its camera, the rear one where there is one, recorded with
// MediaRecorder and sent in parts as the session's "side" track with the phone's own token (docs/live.md, "Second
// camera"). It waits for the session's clock (the exam's first media) before recording, starts a new run when a
// run is refused, and stops when the server says the exam is over.
import { apply, page, say, setLanguage } from "./i18n.js";
import { KEYFRAME_MS, PART_MS, Uploads } from "./live.js";

const HELLO_MS = 3000; // asking for the session's clock while the exam has not started its media
const HEARTBEAT_MS = 15000; // asking whether the exam is still on
const MAX_RUNS = 20;
const token = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop());
const $ = (selector) => document.querySelector(selector);
const uploads = new Uploads(token);
const state = { stream: null, recorder: null, clock: null, runs: 0, over: false, sent: 0, wakeLock: null };

function wait(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function status(key, kind) {
  say($("#side-status-text"), key);
  $("#side-status").dataset.state = kind;
}

// The session's clock: `session_time_s` at the moment of the answer (null before the exam's first media).
async function hello() {
  const response = await fetch("/live/side/hello", { method: "POST", headers: { Authorization: `Bearer ${token}` } });
  if (response.status === 401 || response.status === 409) return { over: true };
  if (!response.ok) throw new Error(`hello: ${response.status}`);
  const body = await response.json();
  return { over: false, sessionS: body.session_time_s, at: performance.now() };
}

function sessionTime() {
  if (!state.clock || state.clock.sessionS === null) return null;
  return state.clock.sessionS + (performance.now() - state.clock.at) / 1000;
}

function over() {
  state.over = true;
  if (state.recorder && state.recorder.state !== "inactive") state.recorder.stop();
  for (const track of state.stream ? state.stream.getTracks() : []) track.stop();
  if (state.wakeLock) state.wakeLock.release().catch(() => {});
  $("#side-preview").srcObject = null;
  status("side.over", "finished");
}

function record() {
  if (state.over || state.runs >= MAX_RUNS) return;
  const mimeType = ["video/webm;codecs=vp8", "video/webm;codecs=vp9", "video/webm"].find((mime) =>
    MediaRecorder.isTypeSupported(mime),
  );
  const options = { mimeType, videoBitsPerSecond: 600000, videoKeyFrameIntervalDuration: KEYFRAME_MS };
  const recorder = new MediaRecorder(state.stream, options);
  const run = `side-${Date.now().toString(36)}`;
  const start = Math.max(0, sessionTime() ?? 0);
  const type = (mimeType || "video/webm").split(";")[0];
  let part = 0;
  recorder.run = run;
  recorder.addEventListener("dataavailable", (event) => {
    if (event.data.size > 0) uploads.add({ run, part: part++, start, track: "side", type, blob: event.data });
  });
  recorder.start(PART_MS);
  state.recorder = recorder;
  state.runs += 1;
  status("side.recording", "live");
}

uploads.addEventListener("progress", () => {
  state.sent = [...uploads.parts.values()].reduce((sum, parts) => sum + parts, 0);
  $("#side-sent").value = String(state.sent);
  $("#side-sent").textContent = String(state.sent);
});

// A part refused for good: 410 is the exam's end; anything else ends that run, and a new one goes on.
uploads.addEventListener("refused", (event) => {
  if (event.detail.status === 410) return over();
  if (state.recorder && state.recorder.run === event.detail.run && state.recorder.state !== "inactive") {
    state.recorder.stop();
    record();
  }
});

async function awaitClock() {
  for (;;) {
    try {
      const answer = await hello();
      if (answer.over) return null;
      if (answer.sessionS !== null) return answer;
      status("side.waiting", "connecting");
    } catch {
      status("side.offline", "reconnecting");
    }
    await wait(HELLO_MS);
  }
}

async function heartbeat() {
  while (!state.over) {
    await wait(HEARTBEAT_MS);
    try {
      const answer = await hello();
      if (answer.over) return over();
      if (answer.sessionS !== null) state.clock = answer;
    } catch {
      // the network: the recorder goes on and its parts wait in the queue
    }
  }
}

async function start() {
  $('button[data-action="start"]').hidden = true;
  status("side.starting", "connecting");
  try {
    state.stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: { ideal: "environment" }, width: { ideal: 640 }, height: { ideal: 360 } },
      audio: false,
    });
  } catch {
    status("side.camera_blocked", "offline");
    $('button[data-action="start"]').hidden = false;
    return;
  }
  $("#side-preview").srcObject = state.stream;
  try {
    state.wakeLock = await navigator.wakeLock?.request("screen"); // the phone's screen stays on
  } catch {
    // not offered (or refused): the guidance asks to keep the page open
  }
  state.clock = await awaitClock();
  if (!state.clock) return over();
  record();
  heartbeat();
}

apply();
for (const link of document.querySelectorAll("[data-lang]")) {
  link.addEventListener("click", (event) => {
    event.preventDefault();
    setLanguage(link.dataset.lang);
  });
}
$('button[data-action="start"]').addEventListener("click", start);
window.sideDiagnostics = Object.freeze({
  sent: () => state.sent,
  runs: () => state.runs,
  sessionTime,
  language: () => page.lang,
});
start();
