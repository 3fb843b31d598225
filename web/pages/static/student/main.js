// The candidate's way through a proctored exam, one screen at a time (see the README's "Student page").
// Each screen is a <section data-step>; its primary action is button[data-action="continue"], disabled while
// the step's check runs. Nothing here blocks the candidate for good: a check that cannot pass after its
// retries lets the exam go on and marks it for the examiner.
import { adviceFor, browserSupported, mark, meterFor, minUploadMbps, openDevices, uploadSpeed } from "./checks.js";
import { apply, dateTime, number, page, say, setLanguage, t } from "./i18n.js";
import { Integrity } from "./integrity.js";
import { Live } from "./live.js";

const NOTICE_SHOWN_MS = 12000;
const live = new Live();
const state = {
  step: null,
  stream: null,
  screen: null,
  identity: null,
  scan: null,
  calibration: null,
  policy: {},
  serverState: null,
  integrity: null,
  stopMeter: null,
};
const $ = (selector, root = document) => root.querySelector(selector);
const section = (step) => $(`section[data-step="${step}"]`);
const button = (step, action = "continue") => $(`button[data-action="${action}"]`, section(step));

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
  for (const element of document.querySelectorAll("section[data-step]")) element.hidden = true;
  const box = $("#ended");
  box.hidden = false;
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

// -- the connection indicator -------------------------------------------------------------------------
function connection(status) {
  const indicator = $("#status");
  indicator.dataset.state = status;
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
button("consent").addEventListener("click", async () => {
  enable("consent", false);
  live.send({ type: "consent", accepted: true, terms: page.terms[document.documentElement.lang] });
});
button("consent", "decline").addEventListener("click", () => {
  live.send({ type: "consent", accepted: false, terms: page.terms[document.documentElement.lang] });
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
  enable("system-check", false);
  button("system-check", "recheck").hidden = true;
  for (const name of ["browser", "camera", "microphone", "connection", "upload"]) mark(name, "pending");
  let ok = true;
  if (!browserSupported()) {
    mark("browser", "failed", "advice.browser");
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
        state.cameraOpenedAt = performance.now() / 1000;
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
        mark("upload", "failed", "advice.upload_slow", { mbps: number(mbps, 1), needed: number(minUploadMbps, 1) });
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
      live.record(state.stream, "camera");
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
button("system-check").addEventListener("click", () => identityStep());
button("system-check", "recheck").addEventListener("click", () => systemCheck());

// -- 3 identity ---------------------------------------------------------------------------------------
const IDENTITY_DONE = new Set(["verified", "unverified", "not_checked"]);
function identityStep() {
  show("identity");
  showIdentity();
}
function showIdentity() {
  const message = state.identity;
  const line = $("#identity-state");
  const retry = button("identity", "identity-retry");
  retry.hidden = true;
  if (!message || message.state === "checking") {
    say(line, "identity.checking");
  } else if (message.state === "mismatch") {
    say(line, "identity.mismatch", { left: message.retries_left });
    retry.hidden = message.retries_left <= 0;
  } else {
    say(line, `identity.${message.state}`);
  }
  enable("identity", Boolean(message && IDENTITY_DONE.has(message.state)));
}
live.addEventListener("identity", (event) => {
  state.identity = event.detail;
  if (state.step === "identity") showIdentity();
});
button("identity", "identity-retry").addEventListener("click", () => {
  live.send({ type: "identity_retry" });
});
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
  const tick = setInterval(() => {
    if (state.calibration) return clearInterval(tick);
    const left = Math.max(0, Math.ceil(seconds - (performance.now() - started) / 1000));
    say(line, "calibration.counting", { seconds: String(left) });
  }, 250);
}
live.addEventListener("calibration", (event) => {
  if (event.detail.state === "running") return;
  state.calibration = event.detail;
  say($("#calibration-state"), event.detail.state === "done" ? "calibration.done" : "calibration.no_face");
  enable("calibration", true);
});
button("calibration").addEventListener("click", () => scanStep());

// -- 5 room scan --------------------------------------------------------------------------------------
function ring(root, degrees, minimum) {
  const share = Math.min(1, degrees / (minimum || 360));
  $(".ring-fill", root).setAttribute("stroke-dasharray", `${share * 360} 360`);
  $(".ring-label", root).textContent = `${number(Math.round(share * 100))}%`;
}

function scanStep() {
  if (!state.policy.pre_exam_scan) return examStep();
  show("room-scan");
  enable("room-scan", false);
  const pending = state.scan && state.scan.request.kind === "pre_exam";
  enable("room-scan", Boolean(pending), "start-scan");
  say($("#scan-progress-text"), pending ? "scan.ready" : "scan.waiting");
}
function scanRoot() {
  return state.scan && state.scan.request.kind === "in_exam" ? $("#scan-dialog") : section("room-scan");
}
live.addEventListener("scan_request", (event) => {
  state.scan = event.detail;
  const root = scanRoot();
  ring(root, 0, event.detail.request.min_coverage_deg);
  if (event.detail.request.kind === "in_exam") {
    const dialog = $("#scan-dialog");
    button_in(dialog, "start-scan").disabled = false;
    say($("#scan-dialog-progress"), "scan.ready");
    if (!dialog.open) dialog.showModal();
  } else if (state.step === "room-scan") {
    enable("room-scan", true, "start-scan");
    say($("#scan-progress-text"), event.detail.attempt > 1 ? "scan.again" : "scan.ready");
  }
});
function button_in(root, action) {
  return $(`button[data-action="${action}"]`, root);
}
for (const root of [section("room-scan"), $("#scan-dialog")]) {
  button_in(root, "start-scan").addEventListener("click", () => {
    button_in(root, "start-scan").disabled = true;
    live.send({ type: "scan_started" });
    say(root === section("room-scan") ? $("#scan-progress-text") : $("#scan-dialog-progress"), "scan.turning");
  });
}
button_in($("#scan-dialog"), "scan-done").addEventListener("click", () => live.send({ type: "scan_finished" }));
live.addEventListener("scan_progress", (event) => {
  const root = scanRoot();
  ring(root, event.detail.coverage_deg, event.detail.min_coverage_deg);
  const line = root.id === "scan-dialog" ? $("#scan-dialog-progress") : $("#scan-progress-text");
  say(line, "scan.progress", { degrees: number(Math.round(event.detail.coverage_deg)) });
});
live.addEventListener("scan_result", (event) => {
  const result = event.detail;
  const inExam = result.kind === "in_exam";
  const line = inExam ? $("#scan-dialog-progress") : $("#scan-progress-text");
  if (result.complete) say(line, "scan.complete");
  else if (result.retry) say(line, "scan.retry");
  else say(line, "scan.incomplete");
  if (!result.retry) {
    state.scan = null;
    if (inExam) setTimeout(() => $("#scan-dialog").close(), 1500);
    else enable("room-scan", true);
  }
});
button("room-scan").addEventListener("click", () => examStep());

// -- 6 exam -------------------------------------------------------------------------------------------
async function examStep() {
  show("exam");
  state.integrity = state.integrity || new Integrity(live, state.policy);
  const needScreen = state.policy.screen_share && !state.screen;
  $("#screen-box").hidden = !needScreen;
  const needFull = state.policy.fullscreen && !document.fullscreenElement;
  $("#fullscreen-box").hidden = !needFull;
  if (!needScreen && !needFull) openContent();
}
function openContent() {
  const frame = $("#content");
  if (frame && !frame.src) {
    frame.src = frame.dataset.src;
    frame.hidden = false;
  }
  state.integrity.start();
}
function maybeOpenContent() {
  if ($("#screen-box").hidden && $("#fullscreen-box").hidden) openContent();
}
$('button[data-action="share-screen"]').addEventListener("click", async () => {
  const advice = $("#screen-advice");
  try {
    const screen = await navigator.mediaDevices.getDisplayMedia({ video: { displaySurface: "monitor" }, audio: false });
    const [track] = screen.getVideoTracks();
    if (track.getSettings().displaySurface !== "monitor") {
      screen.getTracks().forEach((each) => each.stop());
      advice.hidden = false;
      say(advice, "screen.entire_only");
      return;
    }
    if (state.screen) state.integrity.shareResumed();
    state.screen = screen;
    live.record(screen, "screen");
    track.addEventListener("ended", () => {
      state.screen = null;
      if (live.finished) return;
      state.integrity.shareStopped();
      notice("notice.screen_stopped");
      $("#screen-box").hidden = false;
    });
    $("#screen-box").hidden = true;
    maybeOpenContent();
  } catch {
    advice.hidden = false;
    say(advice, "screen.denied");
  }
});
$('button[data-action="fullscreen"]').addEventListener("click", async () => {
  try {
    await document.documentElement.requestFullscreen();
  } catch {
    return;
  }
  $("#fullscreen-box").hidden = true;
  maybeOpenContent();
});
document.addEventListener("fullscreenchange", () => {
  if (state.step === "exam" && state.policy.fullscreen && !document.fullscreenElement && !live.finished) {
    $("#fullscreen-box").hidden = false;
  } else if (document.fullscreenElement) {
    $("#fullscreen-box").hidden = true;
  }
});
live.addEventListener("notice", (event) => notice(`notice.${event.detail.key}`));
button("exam").addEventListener("click", () => finishStep());

// -- 7 finish -----------------------------------------------------------------------------------------
async function finishStep() {
  button("exam").disabled = true;
  show("finish");
  if (state.integrity) state.integrity.stop();
  if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
  const progress = $("#upload-progress");
  const update = () => {
    const { sent, total } = live.uploads;
    progress.value = total ? sent / total : 1;
  };
  live.uploads.addEventListener("progress", update);
  await live.finish();
  await live.uploads.drained();
  update();
  if (state.screen) state.screen.getTracks().forEach((track) => track.stop());
  say($("#finish-state"), state.receipt ? "finish.done_text" : "finish.waiting");
}
live.addEventListener("finished", (event) => {
  const receipt = event.detail.receipt;
  state.receipt = receipt;
  $("#receipt-session").textContent = receipt.session_id;
  $("#receipt-time").textContent = dateTime(new Date());
  const checkpoint = receipt.checkpoint || {};
  $("#receipt-ledger").textContent = `${receipt.result_leaf_index ?? "—"} / ${checkpoint.tree_size ?? "—"}`;
  $("#receipt-root").textContent = checkpoint.root_hash || "—";
  $("#receipt").hidden = false;
  $("#receipt-help").hidden = false;
  if (!live.uploads.pending) say($("#finish-state"), "finish.done_text");
  enable("finish", true);
  connection("finished");
  if (state.stream) state.stream.getTracks().forEach((track) => track.stop());
  if (state.stopMeter) state.stopMeter();
  live.close();
});
button("finish").addEventListener("click", () => ended("finish.closed_title", "finish.closed"));

// -- the server's view of the session -----------------------------------------------------------------
live.addEventListener("state", (event) => {
  state.serverState = event.detail.state;
});
live.addEventListener("refused", (event) => {
  if (event.detail.code === 4410) ended("gone.finished_title", "gone.finished");
  else ended("gone.invalid_title", "gone.invalid");
});

function resumeAt(serverState) {
  notice("notice.resumed");
  if (serverState === "identity_check") identityStep();
  else if (serverState === "room_scan") scanStep();
  else examStep();
}

async function start() {
  apply();
  for (const link of document.querySelectorAll("[data-lang]")) {
    link.addEventListener("click", (event) => {
      event.preventDefault();
      setLanguage(link.dataset.lang);
    });
  }
  let welcome;
  try {
    welcome = await live.open();
  } catch (error) {
    if (error.code === 4410) ended("gone.finished_title", "gone.finished");
    else if (error.code === 4401) ended("gone.invalid_title", "gone.invalid");
    else live.reconnect();
    return;
  }
  state.policy = welcome.policy || {};
  state.serverState = welcome.state;
  if (welcome.scan) state.scan = welcome.scan;
  connection("offline");
  if (welcome.consent !== "accepted") {
    show("consent");
    return;
  }
  state.resume = welcome.state !== "scheduled";
  systemCheck();
}

// Read-only facts for support staff and tests: where the camera's first frame falls on the session's timeline.
window.proctorDiagnostics = {
  sessionTime: () => live.sessionTime(),
  cameraOpenedAt: () =>
    state.cameraOpenedAt === undefined || live.offset === null ? null : state.cameraOpenedAt + live.offset,
  uploads: () => ({ sent: live.uploads.sent, total: live.uploads.total, pending: live.uploads.pending }),
};
start();
