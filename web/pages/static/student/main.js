// The candidate's way through a proctored exam, one screen at a time (see the README's "The student exam page").
// Each screen is a <section data-step>; its primary action is button[data-action="continue"], disabled while
// the step's check runs. Nothing here blocks the candidate for good: a check that cannot pass after its
// retries, or an answer that never comes, lets the exam go on and leaves it to the examiner.
import { adviceFor, browserProblem, mark, meterFor, minUploadMbps, openDevices, uploadSpeed } from "./checks.js";
import { apply, dateTime, language, number, page, say, setLanguage } from "./i18n.js";
import { IdCardStep } from "./idcard.js";
import { Integrity } from "./integrity.js";
import { Live } from "./live.js";
import { watchSideCamera } from "./side_status.js";

const NOTICE_SHOWN_MS = 12000;
const CALIBRATION_GRACE_S = 10; // no answer this long after the calibration window: go on without it
const IDENTITY_DONE = new Set(["verified", "unverified", "not_checked"]);
const live = new Live();
const state = {
  step: null,
  started: false,
  stream: null,
  screen: null,
  identity: null,
  scan: null, // the pending scan request (scan_request message)
  preExamScanSettled: false,
  calibration: null,
  policy: {},
  serverState: null,
  integrity: null,
  stopMeter: null,
  receipt: null,
  gate: { shown: false, loading: false, retry: null }, // the LMS quiz's password (page.gated)
  idCardPending: Boolean(page.id_card), // the exam asks for the ID card and its step is not over (the server says)
  idCard: null,
  sideWatched: false, // the phone's status is polled (only where the exam asks for the phone)
};
const $ = (selector, root = document) => root.querySelector(selector);
const section = (step) => $(`section[data-step="${step}"]`);
const buttonIn = (root, action) => $(`button[data-action="${action}"]`, root);
const button = (step, action = "continue") => buttonIn(section(step), action);

// -- screens ------------------------------------------------------------------------------------------
function show(step) {
  state.step = step;
  for (const element of document.querySelectorAll("section[data-step], #ended")) {
    element.hidden = element.dataset.step !== step;
  }
  for (const item of document.querySelectorAll(".steps li")) {
    if (item.dataset.for === step) item.setAttribute("aria-current", "step");
    else item.removeAttribute("aria-current");
  }
  for (const video of section(step).querySelectorAll("video")) {
    if (state.stream && video.srcObject !== state.stream) video.srcObject = state.stream;
  }
  $("h1", section(step)).focus();
}

function ended(titleKey, textKey) {
  state.step = "ended";
  for (const element of document.querySelectorAll("section[data-step]")) element.hidden = true;
  $("#ended").hidden = false;
  say($("#ended-title"), titleKey);
  say($("#ended-text"), textKey);
  $("#ended-title").focus();
}

function enable(step, on = true, action = "continue") {
  button(step, action).disabled = !on;
}

function notice(key, values = {}) {
  const line = document.createElement("p");
  say(line, key, values);
  const box = $("#notices");
  box.prepend(line); // the newest first; the stylesheet shows the latest few, the log keeps the exam's notices
  setTimeout(() => line.classList.add("past"), NOTICE_SHOWN_MS);
  while (box.children.length > 50) box.lastElementChild.remove();
}

// Ask before what cannot be undone (finishing, declining): resolves true when the candidate confirms.
function confirmed(questionKey, yesKey) {
  const dialog = $("#confirm-dialog");
  say($("#confirm-text"), questionKey);
  say(buttonIn(dialog, "confirm"), yesKey);
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), { once: true });
  });
}

// -- the connection indicator -------------------------------------------------------------------------
function connection(status) {
  $("#status").dataset.state = status;
  const keys = {
    offline: "status.not_connected",
    connecting: "status.connecting",
    live: state.stream ? "status.recording" : "status.connected",
    reconnecting: "status.reconnecting",
    finished: "status.finished",
  };
  say($("#status-text"), keys[status] || "status.not_connected");
}
live.addEventListener("connection", (event) => connection(event.detail));
live.addEventListener("reconnected", () => notice("notice.reconnected"));

// -- 1 consent ----------------------------------------------------------------------------------------
function terms() {
  return page.terms[document.documentElement.lang];
}
button("consent").addEventListener("click", () => {
  enable("consent", false);
  live.send({ type: "consent", accepted: true, terms: terms() });
});
button("consent", "decline").addEventListener("click", async () => {
  if (await confirmed("consent.decline_confirm", "consent.decline")) {
    live.send({ type: "consent", accepted: false, terms: terms() });
  }
});
live.addEventListener("consent", (event) => {
  if (event.detail.consent === "declined") {
    ended("declined.title", "declined.text");
    live.close();
  } else if (state.step === "consent") {
    systemCheck();
  }
});

// -- 2 system check -----------------------------------------------------------------------------------
async function systemCheck() {
  show("system-check");
  if (!state.sideWatched) {
    state.sideWatched = true;
    watchSideCamera(live.token, () => notice("side.state_lost"));
  }
  enable("system-check", false);
  button("system-check", "recheck").hidden = true;
  for (const name of ["browser", "camera", "microphone", "connection", "upload"]) mark(name, "pending");
  let ok = true;
  const problem = browserProblem(state.policy);
  if (problem) {
    mark("browser", "failed", problem);
    ok = false;
  } else {
    mark("browser", "passed");
  }
  if (ok) {
    mark("camera", "running");
    mark("microphone", "running");
    if (!state.stream) {
      const opened = await openDevices();
      if (opened.stream) {
        state.stream = opened.stream;
      } else {
        mark("camera", opened.camera ? "failed" : "passed", opened.camera ? adviceFor("camera", opened.camera) : null);
        const mic = opened.microphone;
        mark("microphone", mic ? "failed" : "passed", mic ? adviceFor("microphone", mic) : null);
        ok = false;
      }
    }
    if (state.stream) {
      mark("camera", "passed");
      mark("microphone", "passed");
      $("#preview").srcObject = state.stream;
      if (!state.stopMeter) state.stopMeter = meterFor(state.stream, $("#mic-level"));
    }
  }
  if (ok) {
    mark("upload", "running");
    try {
      const mbps = await uploadSpeed(live.token);
      if (mbps < minUploadMbps) {
        mark("upload", "failed", "advice.upload_slow", { mbps: Number(mbps.toFixed(1)), needed: minUploadMbps });
        ok = false;
      } else {
        mark("upload", "passed");
      }
    } catch {
      mark("upload", "failed", "advice.network");
      ok = false;
    }
  }
  if (ok) {
    mark("connection", "running");
    try {
      await live.connect(state.stream);
      await live.syncClock();
      watchCamera();
      if (!live.recorders.some((recorder) => recorder.stream === state.stream)) live.record(state.stream, "camera");
      mark("connection", "passed");
    } catch (error) {
      mark("connection", "failed", error.status === 403 ? "advice.consent" : "advice.connection");
      ok = false;
    }
  }
  enable("system-check", ok);
  button("system-check", "recheck").hidden = ok;
  if (ok && state.resume) {
    state.resume = false;
    resumeAt(state.serverState);
  }
}
button("system-check").addEventListener("click", () => (needsIdCard() ? idCardStep() : identityStep()));
button("system-check", "recheck").addEventListener("click", () => systemCheck());

// -- 2a the ID card (only where the exam's policy asks for it) -----------------------------------------
function needsIdCard() {
  return Boolean(page.id_card && section("id-card") && state.idCardPending);
}
function idCardStep() {
  show("id-card");
  if (!state.idCard) {
    state.idCard = new IdCardStep(section("id-card"), {
      token: live.token,
      attempts: page.id_card_attempts,
      onEnded: (status) => (status === 410 ? ended("gone.finished_title", "gone.finished") : ended("gone.invalid_title", "gone.invalid")),
    });
  }
  state.idCard.open(state.stream);
}
if (section("id-card")) {
  button("id-card").addEventListener("click", () => {
    state.idCard.close();
    state.idCardPending = false;
    live.send({ type: "id_card_done" }); // the server's live identity check starts now
    identityStep();
  });
}

// -- 3 identity ---------------------------------------------------------------------------------------
function identityStep() {
  show("identity");
  showIdentity();
}
function identitySettled() {
  return (state.identity && IDENTITY_DONE.has(state.identity.state)) || ["room_scan", "in_progress"].includes(state.serverState);
}
function showIdentity() {
  const message = state.identity;
  const line = $("#identity-state");
  const retry = button("identity", "identity-retry");
  retry.hidden = true;
  if (message && IDENTITY_DONE.has(message.state)) {
    say(line, `identity.${message.state}`);
  } else if (message && message.state === "mismatch") {
    say(line, "identity.mismatch", { left: message.retries_left });
    retry.hidden = message.retries_left <= 0;
  } else {
    say(line, "identity.checking");
  }
  enable("identity", identitySettled());
  identityTime();
}
// How long the check has run, of the server's limit (it decides then), and which attempt this is.
const identityClock = { since: null, timer: null, failures: 0 };
function identityTime() {
  const box = $("#identity-time");
  if (identitySettled() || state.step !== "identity") {
    box.hidden = true;
    clearInterval(identityClock.timer);
    identityClock.timer = null;
    return;
  }
  const limit = state.policy.identity_timeout_s ?? page.identity_timeout_s;
  if (identityClock.since === null) identityClock.since = Date.now();
  const elapsed = Math.min(limit, Math.floor((Date.now() - identityClock.since) / 1000));
  const attempts = state.policy.identity_attempts ?? 1;
  const attempt = Math.min(attempts, identityClock.failures + 1);
  const bar = $("#identity-progress");
  bar.max = limit;
  bar.value = elapsed;
  say($("#identity-progress-text"), "identity.progress", { attempt, attempts, elapsed, limit });
  box.hidden = false;
  if (identityClock.timer === null) identityClock.timer = setInterval(identityTime, 1000);
}
live.addEventListener("identity", (event) => {
  if (event.detail.state === "mismatch") identityClock.failures = event.detail.attempt ?? identityClock.failures + 1;
  if (!(state.identity && IDENTITY_DONE.has(state.identity.state))) state.identity = event.detail;
  if (state.step === "identity") showIdentity();
});
button("identity", "identity-retry").addEventListener("click", () => live.send({ type: "identity_retry" }));
button("identity").addEventListener("click", () => calibrationStep());

// -- 4 calibration ------------------------------------------------------------------------------------
function calibrationStep() {
  show("calibration");
  enable("calibration", false);
  state.calibration = null;
  live.send({ type: "calibrate" });
  const seconds = state.policy.calibration_s ?? 5;
  const started = performance.now();
  const line = $("#calibration-state");
  let shown = null;
  const tick = setInterval(() => {
    const elapsed = (performance.now() - started) / 1000;
    if (state.calibration || state.step !== "calibration") return clearInterval(tick);
    if (elapsed > seconds + CALIBRATION_GRACE_S) {
      clearInterval(tick); // no answer came (no frames reached the analysis): the usual posture is assumed
      calibrated({ state: "no_face" });
      return;
    }
    const left = Math.max(0, Math.ceil(seconds - elapsed));
    if (left !== shown) {
      shown = left;
      say(line, "calibration.counting", { seconds: left });
    }
  }, 250);
}
function calibrated(result) {
  state.calibration = result;
  say($("#calibration-state"), result.state === "done" ? "calibration.done" : "calibration.no_face");
  enable("calibration", true);
}
live.addEventListener("calibration", (event) => {
  if (event.detail.state !== "running" && state.step === "calibration") calibrated(event.detail);
});
button("calibration").addEventListener("click", () => scanStep());

// -- 5 room scan --------------------------------------------------------------------------------------
function ring(root, degrees, minimum) {
  const share = Math.min(1, degrees / (minimum || 360));
  $(".ring-fill", root).setAttribute("stroke-dasharray", `${share * 360} 360`);
  $(".ring-label", root).textContent = `${number(Math.round(share * 100))}%`;
  const spoken = $(".ring-spoken", root); // screen readers hear quarters, not every update
  const quarter = Math.floor(share * 4);
  if (spoken.dataset.quarter !== String(quarter)) {
    spoken.dataset.quarter = String(quarter);
    say(spoken, "scan.progress", { degrees: Math.round(degrees) });
  }
}

function scanStep() {
  if (!state.policy.pre_exam_scan) return examStep();
  show("room-scan");
  const pending = state.scan && state.scan.request.kind === "pre_exam";
  const settled = state.preExamScanSettled || state.serverState === "in_progress";
  enable("room-scan", Boolean(pending), "start-scan");
  enable("room-scan", settled && !pending);
  if (pending) say($("#scan-progress-text"), state.scan.attempt > 1 ? "scan.again" : "scan.ready");
  else if (!settled) say($("#scan-progress-text"), "scan.waiting");
}
function inExamScan() {
  return state.scan && state.scan.request.kind === "in_exam";
}
function scanRoot() {
  return inExamScan() ? $("#scan-dialog") : section("room-scan");
}
function scanLine() {
  return inExamScan() ? $("#scan-dialog-progress") : $("#scan-progress-text");
}
function askInExamScan() {
  const dialog = $("#scan-dialog");
  if (!inExamScan() || state.step !== "exam" || dialog.open) return;
  ring(dialog, 0, state.scan.request.min_coverage_deg);
  buttonIn(dialog, "start-scan").disabled = Boolean(state.scan.started);
  say($("#scan-dialog-progress"), state.scan.started ? "scan.turning" : "scan.ready");
  dialog.showModal();
}
$("#scan-dialog").addEventListener("cancel", (event) => event.preventDefault()); // answered with its buttons
live.addEventListener("scan_request", (event) => {
  state.scan = event.detail;
  if (inExamScan()) return askInExamScan();
  ring(section("room-scan"), 0, event.detail.request.min_coverage_deg);
  if (state.step === "room-scan") scanStep();
});
// The time left of a scan attempt once the candidate starts turning (the server's limit for it).
const scanClock = { timer: null };
function scanCountdown(root, seconds) {
  stopScanCountdown();
  const line = $(".scan-left", root);
  const ends = Date.now() + seconds * 1000;
  const tick = () => {
    const left = Math.max(0, Math.ceil((ends - Date.now()) / 1000));
    say(line, "scan.time_left", { left });
    line.hidden = false;
    if (left <= 0) clearInterval(scanClock.timer);
  };
  tick();
  scanClock.timer = setInterval(tick, 1000);
}
function stopScanCountdown() {
  clearInterval(scanClock.timer);
  scanClock.timer = null;
  for (const line of document.querySelectorAll(".scan-left")) line.hidden = true;
}
for (const root of [section("room-scan"), $("#scan-dialog")]) {
  buttonIn(root, "start-scan").addEventListener("click", () => {
    buttonIn(root, "start-scan").disabled = true;
    if (state.scan) scanCountdown(root, state.scan.request.time_limit_s ?? state.policy.scan_time_limit_s);
    if (state.scan) state.scan.started = true;
    live.setScanning(true);
    live.send({ type: "scan_started" });
    say(scanLine(), "scan.turning");
  });
}
buttonIn($("#scan-dialog"), "scan-done").addEventListener("click", () => live.send({ type: "scan_finished" }));
live.addEventListener("scan_progress", (event) => {
  ring(scanRoot(), event.detail.coverage_deg, event.detail.min_coverage_deg);
});
live.addEventListener("scan_result", (event) => {
  const result = event.detail;
  stopScanCountdown();
  live.setScanning(false); // this attempt is over (a retry raises the rate again when it starts)
  const inExam = result.kind === "in_exam";
  const line = inExam ? $("#scan-dialog-progress") : $("#scan-progress-text");
  say(line, result.complete ? "scan.complete" : result.retry ? "scan.retry" : "scan.incomplete");
  if (result.retry) return;
  state.scan = null;
  if (inExam) {
    setTimeout(() => $("#scan-dialog").close(), 1500);
  } else {
    state.preExamScanSettled = true;
    if (state.step === "room-scan") scanStep();
  }
});
button("room-scan").addEventListener("click", () => examStep());

// -- 6 exam -------------------------------------------------------------------------------------------
function examStep() {
  show("exam");
  state.integrity = state.integrity || new Integrity(live, state.policy);
  $("#screen-box").hidden = !(state.policy.screen_share && !state.screen);
  const needFull = state.policy.fullscreen && document.fullscreenEnabled && !document.fullscreenElement;
  $("#fullscreen-box").hidden = !needFull;
  maybeOpenContent();
  askInExamScan();
  showGate();
}
function maybeOpenContent() {
  if (!$("#screen-box").hidden || !$("#fullscreen-box").hidden) return;
  const frame = $("#content");
  if (frame && !frame.src) {
    frame.src = frame.dataset.src;
    frame.hidden = false;
  }
  state.integrity.start();
}
buttonIn(section("exam"), "share-screen").addEventListener("click", async () => {
  const advice = $("#screen-advice");
  try {
    const screen = await navigator.mediaDevices.getDisplayMedia({ video: { displaySurface: "monitor" }, audio: false });
    const [track] = screen.getVideoTracks();
    const surface = track.getSettings().displaySurface; // undefined where the browser does not say (Firefox)
    if (surface !== undefined && surface !== "monitor") {
      screen.getTracks().forEach((each) => each.stop());
      advice.hidden = false;
      say(advice, "screen.entire_only");
      return;
    }
    state.screen = screen;
    if (state.integrity) state.integrity.shareResumed();
    live.record(screen, "screen");
    track.addEventListener("ended", () => {
      if (state.screen === screen) state.screen = null;
      if (live.finishing || live.finished) return;
      state.integrity.shareStopped();
      notice("notice.screen_stopped");
      $("#screen-box").hidden = false;
    });
    advice.hidden = true;
    $("#screen-box").hidden = true;
    maybeOpenContent();
  } catch {
    advice.hidden = false;
    say(advice, "screen.denied");
  }
});
buttonIn(section("exam"), "fullscreen").addEventListener("click", async () => {
  try {
    await document.documentElement.requestFullscreen();
  } catch {
    // refused (no gesture, or an embedded browser): the exam goes on; leaving full screen stays visible
  }
  $("#fullscreen-box").hidden = true;
  maybeOpenContent();
});
document.addEventListener("fullscreenchange", () => {
  const left = !document.fullscreenElement;
  if (state.step === "exam" && state.policy.fullscreen && left && !live.finishing) $("#fullscreen-box").hidden = false;
  else if (!left) $("#fullscreen-box").hidden = true;
});
// The LMS quiz's password (an exam whose quiz has one): the server answers only while the session is in
// progress, so it is asked for on the exam screen, and again when the server says the exam has begun.
const GATE_RETRY_MS = 5000;
async function showGate() {
  const box = $("#gate-box");
  if (!box || !page.gated || state.gate.shown || state.gate.loading || state.step !== "exam") return;
  state.gate.loading = true;
  clearTimeout(state.gate.retry);
  box.hidden = false;
  let answer = null;
  try {
    const response = await fetch("/live/gate", {
      headers: { Authorization: `Bearer ${live.token}` },
      cache: "no-store",
    });
    answer = response.status;
    if (response.ok) {
      $("#gate-password").textContent = (await response.json()).password;
      $("#gate-line").hidden = false;
      $("#gate-state").textContent = "";
      delete $("#gate-state").dataset.i18n;
      state.gate.shown = true;
    } else if (response.status === 404) {
      box.hidden = true; // the college removed the password: the quiz asks for none
      state.gate.shown = true;
    } else {
      say($("#gate-state"), response.status === 409 ? "gate.waiting" : "gate.failed");
    }
  } catch {
    say($("#gate-state"), "gate.failed");
  } finally {
    state.gate.loading = false;
  }
  if (!state.gate.shown && answer !== 401 && answer !== 410 && !live.finishing) {
    state.gate.retry = setTimeout(showGate, GATE_RETRY_MS);
  }
}
const copyGate = $('button[data-action="copy-gate"]');
if (copyGate) {
  copyGate.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText($("#gate-password").textContent); // no copy event: not the candidate's copy
      say($("#gate-state"), "gate.copied");
    } catch {
      getSelection().selectAllChildren($("#gate-password"));
      say($("#gate-state"), "gate.copy_failed");
    }
  });
}
const contentLink = $("#content-link");
if (contentLink) contentLink.addEventListener("click", () => state.integrity && state.integrity.contentOpened());
live.addEventListener("notice", (event) => notice(`notice.${event.detail.key}`));
button("exam").addEventListener("click", async () => {
  if (await confirmed("exam.finish_confirm", "exam.finish")) finishStep();
});

// -- 7 finish -----------------------------------------------------------------------------------------
async function finishStep() {
  button("exam").disabled = true;
  clearTimeout(state.gate.retry);
  if ($("#gate-password")) $("#gate-password").textContent = ""; // the quiz is over: its password leaves the page
  show("finish");
  enable("finish", false);
  if (state.integrity) state.integrity.stop();
  if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
  const progress = $("#upload-progress");
  const update = () => {
    const { sent, total } = live.uploads;
    progress.value = total ? sent / total : 1;
  };
  live.uploads.addEventListener("progress", update);
  await live.finish();
  for (const stream of [state.stream, state.screen]) {
    if (stream) stream.getTracks().forEach((track) => track.stop());
  }
  if (state.stopMeter) state.stopMeter();
  await live.uploads.drained();
  update();
  await live.seal(); // every part is sent: nothing more is taken, and the recording is checked
  state.uploaded = true;
  showReceipt();
}
function showReceipt() {
  const receipt = state.receipt;
  if (!receipt || !state.uploaded) {
    say($("#finish-state"), state.uploaded ? "finish.waiting" : "finish.uploading");
    return;
  }
  $("#receipt-session").textContent = receipt.session_id;
  $("#receipt-time").textContent = dateTime(new Date());
  const checkpoint = receipt.checkpoint || {};
  $("#receipt-ledger").textContent = `${receipt.result_leaf_index ?? "—"} / ${checkpoint.tree_size ?? "—"}`;
  $("#receipt-root").textContent = checkpoint.root_hash || "—";
  $("#receipt").hidden = false;
  $("#receipt-help").hidden = false;
  const printable = $("#receipt-print"); // the same link's receipt page, to save or print
  printable.href = `${location.pathname.replace(/\/+$/, "")}/receipt?lang=${language()}`;
  printable.hidden = false;
  say($("#finish-state"), "finish.done_text");
  enable("finish", true); // only once every part of the recording is kept
  connection("finished");
  live.close();
}
live.addEventListener("finished", (event) => {
  state.receipt = event.detail.receipt;
  showReceipt();
});
button("finish").addEventListener("click", () => ended("finish.closed_title", "finish.closed"));
addEventListener("pagehide", () => state.integrity && state.integrity.stop()); // report what is still open
addEventListener("beforeunload", (event) => {
  if (live.finishing && !state.uploaded) event.preventDefault(); // the recording is still being sent
});

// -- the server's view of the session -----------------------------------------------------------------
live.addEventListener("state", (event) => {
  state.serverState = event.detail.state;
  if (state.step === "identity") showIdentity();
  if (state.step === "room-scan") scanStep();
  if (state.step === "exam" && state.serverState === "in_progress") showGate();
});
live.addEventListener("refused", (event) => {
  if (live.finishing) return; // the session ended while the receipt was on its way: the upload goes on
  if (event.detail.code === 4410) ended("gone.finished_title", "gone.finished");
  else ended("gone.invalid_title", "gone.invalid");
});

function resumeAt(serverState) {
  notice("notice.resumed");
  if (serverState === "identity_check") (needsIdCard() ? idCardStep : identityStep)();
  else if (serverState === "room_scan") scanStep();
  else examStep();
}

// Every welcome (the first, and each after a reconnection) brings the page up to date with the session.
function welcomed(welcome) {
  state.policy = welcome.policy || state.policy;
  if ("id_card_pending" in welcome) state.idCardPending = Boolean(welcome.id_card_pending);
  state.serverState = welcome.state;
  state.scan = welcome.scan && welcome.scan.request ? welcome.scan : state.scan;
  if (welcome.identity) state.identity = { state: welcome.identity };
  if (welcome.calibration && state.step === "calibration" && !state.calibration) calibrated(welcome.calibration);
  if (!state.started) {
    state.started = true;
    connection("offline");
    if (welcome.consent !== "accepted") {
      show("consent");
    } else {
      state.resume = welcome.state !== "scheduled";
      systemCheck();
    }
    return;
  }
  if (state.step === "consent" && welcome.consent === "accepted") systemCheck();
  if (state.step === "identity") showIdentity();
  if (state.step === "room-scan") scanStep();
  if (state.step === "exam") askInExamScan();
}
live.addEventListener("welcome", (event) => welcomed(event.detail));

async function start() {
  apply();
  for (const link of document.querySelectorAll("[data-lang]")) {
    link.addEventListener("click", (event) => {
      event.preventDefault();
      setLanguage(link.dataset.lang);
    });
  }
  try {
    await live.open();
  } catch (error) {
    if (error.code === 4410) ended("gone.finished_title", "gone.finished");
    else if (error.code === 4401) ended("gone.invalid_title", "gone.invalid");
    else live.reconnect(); // the welcome sets the page up when it comes
  }
}

// How steadily the camera delivers: (session time, frames the camera has produced) once a second, where the
// browser counts them (MediaStreamTrack.stats). Support staff read it to tell a stalled camera from a
// lost network; tests read it to place the fake camera's frames on the session's timeline.
function watchCamera() {
  const [track] = state.stream.getVideoTracks();
  if (state.cameraTimeline || !track || !track.stats) return;
  state.cameraTimeline = [];
  const sample = () => {
    const at = live.sessionTime();
    if (at !== null) state.cameraTimeline.push([Number(at.toFixed(3)), track.stats.totalFrames]);
    if (state.cameraTimeline.length > 7200) state.cameraTimeline.shift();
  };
  sample();
  setInterval(sample, 1000);
}

// Read-only facts for support staff and tests.
window.proctorDiagnostics = {
  cameraTimeline: () => state.cameraTimeline || [],
  sessionTime: () => live.sessionTime(),
  uploads: () => ({ sent: live.uploads.sent, total: live.uploads.total, pending: live.uploads.pending }),
  videoEncoding: () => live.videoEncoding(),
};
start();
