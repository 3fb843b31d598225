// The session review: the player (speed, clock, playhead on the strip), seeking from the strip and the events,
// ±5 s clips, and keyboard review (j / k next / previous event, c confirm, d dismiss, n note). Decisions go to the
// server with the sign-in's CSRF token; the page shows them once the server has recorded them.
const data = JSON.parse(document.getElementById("desk-data").textContent);
const texts = data.catalogs[data.lang];
const LEAD_S = 2;
const CLIP_S = 5;

function t(key, values = {}) {
  const text = texts[key] ?? key;
  return text.replace(/\{([a-z_]+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

function clock(seconds) {
  const whole = Math.max(0, Math.round(seconds));
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = String(whole % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

const player = document.getElementById("player");
const speed = document.getElementById("speed");
const clockOut = document.getElementById("clock");
const playhead = document.getElementById("playhead");
const toast = document.getElementById("desk-status");
const events = [...document.querySelectorAll("li.event[data-event-id]")];
let selected = -1;
let clipEnd = null;

let quiet = null;
function say(message) {
  toast.textContent = message;
  clearTimeout(quiet);
  quiet = setTimeout(() => {
    toast.textContent = "";
  }, 5000);
}

function seek(seconds) {
  player.currentTime = Math.max(0, seconds);
}

// What playback had to leave out of the recording (a piece that could not be read): said beside the player.
const skippedNote = document.getElementById("skipped");
async function tellSkipped(url) {
  try {
    const answer = await fetch(url, { headers: { Range: "bytes=0-0" }, credentials: "same-origin" });
    const skipped = JSON.parse(answer.headers.get("X-Proctor-Skipped") || "[]");
    skippedNote.hidden = skipped.length === 0;
    const spans = skipped.map((piece) => `${clock(piece.start_s)}–${piece.end_s === null ? "…" : clock(piece.end_s)}`);
    skippedNote.textContent = skipped.length ? t("desk.session.skipped", { count: skipped.length, spans: spans.join(", ") }) : "";
  } catch {
    skippedNote.hidden = true;
  }
}
tellSkipped(player.src);

const track = document.getElementById("track");
if (track) {
  // the shared screen plays on the same timeline: switching keeps the moment and the speed
  track.addEventListener("change", () => {
    const at = player.currentTime;
    const rate = player.playbackRate;
    player.src = `/desk/sessions/${data.session}/recording?track=${track.value}`;
    tellSkipped(player.src);
    player.addEventListener(
      "loadedmetadata",
      () => {
        player.currentTime = at;
        player.playbackRate = rate;
      },
      { once: true },
    );
  });
}

// The side camera (the phone beside the candidate) plays beside the player on the same timeline: it follows the
// player's moment, speed and play/pause (muted: the sound is the camera's).
const side = document.getElementById("side-player");
if (side) {
  const follow = () => {
    if (Math.abs(side.currentTime - player.currentTime) > 0.5) side.currentTime = player.currentTime;
  };
  player.addEventListener("play", () => {
    follow();
    side.play().catch(() => {});
  });
  player.addEventListener("pause", () => side.pause());
  player.addEventListener("seeked", follow);
  player.addEventListener("timeupdate", follow);
  player.addEventListener("ratechange", () => {
    side.playbackRate = player.playbackRate;
  });
}

speed.addEventListener("change", () => {
  player.playbackRate = Number(speed.value);
});
player.addEventListener("ratechange", () => {
  if (Number(speed.value) !== player.playbackRate) speed.value = String(player.playbackRate);
});
player.addEventListener("timeupdate", () => {
  clockOut.textContent = clock(player.currentTime);
  const x = (player.currentTime / data.duration_s) * 1000;
  playhead.setAttribute("x1", x);
  playhead.setAttribute("x2", x);
  if (clipEnd !== null && player.currentTime >= clipEnd) {
    player.pause();
    clipEnd = null;
  }
});

document.getElementById("strip").addEventListener("click", (click) => {
  const target = click.target.closest("[data-start]");
  if (target) {
    const seq = target.dataset.seq;
    if (seq !== undefined) select(events.findIndex((li) => li.dataset.eventId === seq), false);
    seek(Number(target.dataset.start) - LEAD_S);
    return;
  }
  const box = click.currentTarget.getBoundingClientRect();
  seek(((click.clientX - box.left) / box.width) * data.duration_s);
});

document.addEventListener("click", (click) => {
  const button = click.target.closest("button[data-action]");
  if (!button) return;
  const holder = button.closest("[data-start]");
  const action = button.dataset.action;
  if (action === "seek" && holder) {
    seek(Number(holder.dataset.start) - LEAD_S);
    return;
  }
  const item = button.closest("li.event");
  if (!item) return;
  select(events.indexOf(item), false);
  if (action === "confirm") decide("confirmed");
  else if (action === "dismiss") decide("dismissed");
  else if (action === "note") openNote();
  else if (action === "clip") playClip(item);
});

function playClip(item) {
  const start = Number(item.dataset.start);
  const end = Number(item.dataset.end);
  clipEnd = end + CLIP_S;
  seek(start - CLIP_S);
  player.play().catch(() => say(t("desk.js.play_blocked")));
}

function select(index, move = true) {
  if (index < 0 || index >= events.length) return;
  if (selected >= 0) {
    events[selected].classList.remove("selected");
    events[selected].removeAttribute("aria-current");
  }
  selected = index;
  const item = events[index];
  const group = item.closest("details");
  if (group && !group.open) group.open = true;
  item.classList.add("selected");
  item.setAttribute("aria-current", "true");
  item.focus({ preventScroll: true });
  item.scrollIntoView({ block: "nearest" });
  if (move) seek(Number(item.dataset.start) - LEAD_S);
}

async function decide(action, note = "") {
  const item = events[selected];
  if (!item) {
    say(t("desk.js.select_first"));
    return;
  }
  if (action !== "noted" && !item.querySelector('button[data-action="confirm"]')) {
    say(t("desk.js.not_decidable"));
    return;
  }
  const url = `/desk/api/sessions/${data.session}/events/${item.dataset.eventId}/review`;
  let answer;
  try {
    answer = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": data.csrf, Accept: "application/json" },
      body: JSON.stringify({ action, note }),
      credentials: "same-origin",
    });
  } catch {
    say(t("desk.js.offline"));
    return;
  }
  if (!answer.ok) {
    const body = await answer.json().catch(() => ({}));
    say(t("desk.js.refused", { message: body.error?.message ?? answer.status }));
    return;
  }
  const review = await answer.json();
  if (action === "noted") {
    const li = document.createElement("li");
    li.textContent = review.note;
    item.querySelector(".notes").append(li);
    say(t("desk.js.noted"));
    return;
  }
  item.dataset.decision = action;
  const place = item.querySelector(".decision");
  place.replaceChildren();
  const chip = document.createElement("span");
  chip.className = `chip decided-${action}`;
  chip.textContent = t(`desk.action.${action}`);
  place.append(chip);
  say(t("desk.js.recorded", { action: t(`desk.action.${action}`), index: review.ledger_index }));
}

const dialog = document.getElementById("note-dialog");
const noteText = document.getElementById("note-text");

function openNote() {
  if (!events[selected]) {
    say(t("desk.js.select_first"));
    return;
  }
  noteText.value = "";
  dialog.showModal();
  noteText.focus();
}

dialog.addEventListener("close", () => {
  const item = events[selected];
  if (dialog.returnValue === "save" && noteText.value.trim()) decide("noted", noteText.value.trim());
  if (item) item.focus({ preventScroll: true });
});

document.addEventListener("keydown", (key) => {
  if (key.altKey || key.ctrlKey || key.metaKey || dialog.open) return;
  const typing = key.target.closest("input, textarea, select, [contenteditable]");
  if (typing) return;
  const actions = {
    j: () => select(selected + 1),
    k: () => select(selected - 1),
    c: () => decide("confirmed"),
    d: () => decide("dismissed"),
    n: () => openNote(),
  };
  const run = actions[key.key];
  if (run) {
    key.preventDefault();
    run();
  }
});

const verdict = document.getElementById("verdict-select");
const reason = document.getElementById("verdict-reason");
function reasonRule() {
  reason.required = verdict.value === "annulled" || verdict.value === "retake";
}
verdict.addEventListener("change", reasonRule);
reasonRule();
