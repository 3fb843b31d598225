// The ID card at the door (exams whose policy has identity.id_document: on): the candidate holds the card's front
// in a card-shaped frame over the live preview; cheap checks of a small copy of the picture (glare, darkness,
// the card filling the frame, sharpness) give hints, never a refusal; the still goes to POST /live/idcard at the
// camera's full resolution. The answer is neutral ("received"): what the server found is for the examiner only.
import { say } from "./i18n.js";

export const FRAME_SHARE = 0.8; // the card frame's width, of the picture's width
const CARD_RATIO = 85.6 / 54; // ID-1
const MAX_HEIGHT_SHARE = 0.9;
const MAX_STILL_BYTES = 8 * 1024 * 1024; // the server's limit
const ANALYSE_EVERY_MS = 400;
const SAMPLE_WIDTH = 192; // the checks run on a copy this wide
const GLARE_LEVEL = 250; // luma of a blown-out pixel
const GLARE_SHARE = 0.03; // of the frame's pixels
const DARK_MEAN = 45;
const BLUR_VARIANCE = 30; // of the Laplacian inside the frame on the small copy (a sharp card's text: hundreds)
const EDGE_CONTRAST = 2.2; // a card edge's column against the median column (both sides: the frame is filled)
const PHOTO_TIMEOUT_MS = 5000;

// Where the card frame lies in a picture of width × height (also the overlay's place, in shares of the picture).
export function cardFrame(width, height) {
  let w = width * FRAME_SHARE;
  let h = w / CARD_RATIO;
  if (h > height * MAX_HEIGHT_SHARE) {
    h = height * MAX_HEIGHT_SHARE;
    w = h * CARD_RATIO;
  }
  return { x: (width - w) / 2, y: (height - h) / 2, w, h };
}

// What the small copy says: the first hint that applies (glare, dark, fill, blur), or null when the picture looks
// usable. `luma` is the grey copy (width × height), `frame` the card frame on it.
export function hintFor(luma, width, height, frame) {
  const x0 = Math.max(1, Math.round(frame.x));
  const y0 = Math.max(1, Math.round(frame.y));
  const x1 = Math.min(width - 1, Math.round(frame.x + frame.w));
  const y1 = Math.min(height - 1, Math.round(frame.y + frame.h));
  let bright = 0;
  let sum = 0;
  let lapSum = 0;
  let lapSquares = 0;
  let n = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = y * width + x;
      const value = luma[i];
      if (value >= GLARE_LEVEL) bright++;
      sum += value;
      const lap = 4 * value - luma[i - 1] - luma[i + 1] - luma[i - width] - luma[i + width];
      lapSum += lap;
      lapSquares += lap * lap;
      n++;
    }
  }
  if (n === 0) return null;
  if (bright / n > GLARE_SHARE) return "idcard.hint_glare";
  if (sum / n < DARK_MEAN) return "idcard.hint_dark";
  if (!edgesAtFrame(luma, width, height, frame, y0, y1)) return "idcard.hint_fill";
  const mean = lapSum / n;
  if (lapSquares / n - mean * mean < BLUR_VARIANCE) return "idcard.hint_blur";
  return null;
}

// The card fills the frame when strong vertical edges (the card's sides) lie near both sides of the frame.
function edgesAtFrame(luma, width, height, frame, y0, y1) {
  const columns = new Float64Array(width);
  for (let y = y0; y < y1; y++) {
    for (let x = 1; x < width; x++) columns[x] += Math.abs(luma[y * width + x] - luma[y * width + x - 1]);
  }
  const sorted = Array.from(columns.slice(1)).sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] || 1;
  const band = Math.max(2, Math.round(frame.w * 0.08));
  const peak = (centre) => {
    let best = 0;
    for (let x = Math.max(1, centre - band); x <= Math.min(width - 1, centre + band); x++) best = Math.max(best, columns[x]);
    return best;
  };
  const left = peak(Math.round(frame.x));
  const right = peak(Math.round(frame.x + frame.w));
  return left > EDGE_CONTRAST * median && right > EDGE_CONTRAST * median;
}

function canvasOf(width, height) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  return canvas;
}

function jpeg(canvas, quality = 0.92) {
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("no picture"))), "image/jpeg", quality);
  });
}

// A still of the video as it plays, at its intrinsic size (the camera's resolution for this stream).
export function frameStill(video, scale = 1) {
  const width = Math.round(video.videoWidth * scale);
  const height = Math.round(video.videoHeight * scale);
  if (!width || !height) return Promise.reject(new Error("the camera shows no picture yet"));
  const canvas = canvasOf(width, height);
  canvas.getContext("2d").drawImage(video, 0, 0, width, height);
  return jpeg(canvas);
}

function within(promise, ms) {
  return Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), ms))]);
}

// The camera's full-resolution photo where the browser can take one (ImageCapture), else the video's frame.
export async function fullStill(track, video) {
  if (track && "ImageCapture" in window) {
    try {
      const capture = new ImageCapture(track);
      const settings = {};
      try {
        const capabilities = await within(capture.getPhotoCapabilities(), PHOTO_TIMEOUT_MS);
        if (capabilities.imageWidth?.max) settings.imageWidth = capabilities.imageWidth.max;
        if (capabilities.imageHeight?.max) settings.imageHeight = capabilities.imageHeight.max;
      } catch {
        // no photo settings: the camera's default photo
      }
      const photo = await within(capture.takePhoto(settings), PHOTO_TIMEOUT_MS);
      const usable = photo && ["image/jpeg", "image/png"].includes(photo.type) && photo.size <= MAX_STILL_BYTES;
      if (usable && (await wider(photo, video.videoWidth))) return photo;
    } catch {
      // the camera takes no photo while it streams (or not in time): the video's own frame is the still
    }
  }
  const still = await frameStill(video);
  return still.size <= MAX_STILL_BYTES ? still : frameStill(video, 0.5);
}

// Whether the photo is at least as wide as the video (some cameras answer takePhoto with a smaller picture).
async function wider(photo, videoWidth) {
  try {
    const bitmap = await createImageBitmap(photo);
    const ok = bitmap.width >= videoWidth;
    bitmap.close();
    return ok;
  } catch {
    return false;
  }
}

export class IdCardStep {
  constructor(root, { token, attempts, onEnded }) {
    this.root = root;
    this.token = token;
    this.attempts = attempts;
    this.onEnded = onEnded; // (status) the link no longer opens the session
    this.video = root.querySelector("#idcard-video");
    this.overlay = root.querySelector(".card-frame");
    this.view = root.querySelector(".card-view");
    this.hint = root.querySelector("#idcard-hint");
    this.line = root.querySelector("#idcard-state");
    this.left = root.querySelector("#idcard-left");
    this.capture = root.querySelector('button[data-action="capture"]');
    this.next = root.querySelector('button[data-action="continue"]');
    this.sent = 0;
    this.busy = false;
    this.closed = false; // the server takes no more (limit reached, or past the card's moment)
    this.face = null;
    this.timer = null;
    this.sample = canvasOf(SAMPLE_WIDTH, Math.round((SAMPLE_WIDTH * 9) / 16));
    this.video.addEventListener("loadedmetadata", () => this.placeFrame());
    this.capture.addEventListener("click", () => this.take());
  }

  // Show the stream, place the frame, take the face still once the picture runs, and start the hints.
  open(stream) {
    this.stream = stream;
    if (this.video.srcObject !== stream) this.video.srcObject = stream;
    this.placeFrame();
    this.capture.disabled = this.busy || this.closed;
    clearInterval(this.timer);
    this.timer = setInterval(() => this.analyse(), ANALYSE_EVERY_MS);
    if (!this.face) setTimeout(() => this.takeFace(), 700); // the candidate still faces the camera
  }

  close() {
    clearInterval(this.timer);
    this.timer = null;
  }

  placeFrame() {
    const { videoWidth: width, videoHeight: height } = this.video;
    if (!width || !height) return;
    this.view.style.aspectRatio = `${width} / ${height}`;
    const frame = cardFrame(width, height);
    Object.assign(this.overlay.style, {
      left: `${(frame.x / width) * 100}%`,
      top: `${(frame.y / height) * 100}%`,
      width: `${(frame.w / width) * 100}%`,
      height: `${(frame.h / height) * 100}%`,
    });
  }

  async takeFace() {
    try {
      this.face = await frameStill(this.video);
    } catch {
      this.face = null; // the server then looks for the face beside the card
    }
  }

  analyse() {
    const { videoWidth: width, videoHeight: height } = this.video;
    if (!width || !height || this.busy) return;
    const sampleHeight = Math.max(1, Math.round((SAMPLE_WIDTH * height) / width));
    if (this.sample.height !== sampleHeight) this.sample.height = sampleHeight;
    const context = this.sample.getContext("2d", { willReadFrequently: true });
    context.drawImage(this.video, 0, 0, SAMPLE_WIDTH, sampleHeight);
    const pixels = context.getImageData(0, 0, SAMPLE_WIDTH, sampleHeight).data;
    const luma = new Float32Array(SAMPLE_WIDTH * sampleHeight);
    for (let i = 0, j = 0; j < luma.length; i += 4, j++) {
      luma[j] = 0.299 * pixels[i] + 0.587 * pixels[i + 1] + 0.114 * pixels[i + 2];
    }
    const key = hintFor(luma, SAMPLE_WIDTH, sampleHeight, cardFrame(SAMPLE_WIDTH, sampleHeight));
    this.overlay.dataset.fit = key === null ? "good" : "hint";
    this.root.dataset.hint = key || "";
    if (key === null) {
      this.hint.hidden = true;
    } else if (this.hint.dataset.i18n !== key || this.hint.hidden) {
      say(this.hint, key);
      this.hint.hidden = false;
    }
  }

  async take() {
    if (this.busy || this.closed) return;
    this.busy = true;
    this.capture.disabled = true;
    say(this.line, "idcard.sending");
    let status = 0;
    let answer = null;
    try {
      const [track] = this.stream ? this.stream.getVideoTracks() : [];
      const still = await fullStill(track, this.video);
      const body = new FormData();
      body.append("card", still, still.type === "image/png" ? "card.png" : "card.jpg");
      if (this.face) body.append("face", this.face, "face.jpg");
      const response = await fetch("/live/idcard", {
        method: "POST",
        headers: { Authorization: `Bearer ${this.token}` },
        body,
        cache: "no-store",
      });
      status = response.status;
      if (response.ok) answer = await response.json();
    } catch {
      status = 0; // the network, or no picture: the candidate may try again
    }
    this.busy = false;
    this.settle(status, answer);
  }

  settle(status, answer) {
    if (status === 401 || status === 410) {
      this.close();
      this.onEnded(status);
      return;
    }
    if (answer) {
      this.sent = answer.attempt + 1;
      const more = this.sent < this.attempts && !answer.readable;
      say(this.line, more ? "idcard.received_again" : "idcard.received");
      this.closed = !more;
    } else if (status === 409 || status === 403) {
      say(this.line, "idcard.go_on"); // no more pictures are taken (limit, or past the card's moment)
      this.closed = true;
    } else {
      say(this.line, status === 413 || status === 415 || status === 422 ? "idcard.not_sent_picture" : "idcard.not_sent");
    }
    const left = Math.max(0, this.attempts - this.sent);
    this.left.hidden = this.closed || this.sent === 0;
    if (!this.left.hidden) say(this.left, "idcard.left", { left });
    this.capture.disabled = this.closed || left === 0;
    if (left === 0) this.closed = true;
    say(this.capture, this.sent > 0 ? "idcard.capture_again" : "idcard.capture");
    this.root.dataset.result = this.closed ? "done" : "open";
    this.next.disabled = false; // a card that could not be checked never holds the candidate up
    if (this.closed) this.close();
  }
}
