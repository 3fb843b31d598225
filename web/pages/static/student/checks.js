// The system check: browser, camera, microphone, the video connection and the upload speed, each with a
// clear instruction when it fails.
import { say } from "./i18n.js";

const MIN_UPLOAD_MBPS = 1.5; // the recording (about 0.7 Mbit/s) beside the live video (about 0.7 Mbit/s)
const PROBE_BYTES = 512 * 1024;

function row(name) {
  return document.querySelector(`[data-check="${name}"]`);
}

export function mark(name, state, key = null, values = {}) {
  const item = row(name);
  item.dataset.state = state;
  say(item.querySelector(".check-state"), `check.${state}`);
  const advice = item.querySelector(".advice");
  advice.hidden = key === null;
  if (key !== null) say(advice, key, values);
}

// What keeps this browser from taking the exam (an advice key), or null.
export function browserProblem(policy) {
  const media = window.RTCPeerConnection && window.MediaRecorder && window.WebSocket && navigator.mediaDevices?.getUserMedia;
  if (!media || !window.isSecureContext) return "advice.browser";
  if (policy.screen_share && !navigator.mediaDevices.getDisplayMedia) return "advice.screen_unsupported";
  return null;
}

// Camera and microphone together; when that fails, each alone, to say which one is the problem.
export async function openDevices() {
  const video = { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 15, max: 30 } };
  const audio = { echoCancellation: true, noiseSuppression: false, autoGainControl: false };
  try {
    return { stream: await navigator.mediaDevices.getUserMedia({ video, audio }), camera: null, microphone: null };
  } catch (error) {
    const alone = async (constraints) => {
      try {
        const stream = await navigator.mediaDevices.getUserMedia(constraints);
        stream.getTracks().forEach((track) => track.stop());
        return null;
      } catch (single) {
        return single.name;
      }
    };
    if (error.name === "NotAllowedError" || error.name === "SecurityError") {
      return { stream: null, camera: "NotAllowedError", microphone: "NotAllowedError" };
    }
    return { stream: null, camera: await alone({ video }), microphone: await alone({ audio }) };
  }
}

export function adviceFor(device, error) {
  if (error === "NotAllowedError") return `advice.${device}_blocked`;
  if (error === "NotFoundError" || error === "OverconstrainedError") return `advice.${device}_missing`;
  if (error === "NotReadableError" || error === "AbortError") return `advice.${device}_busy`;
  return `advice.${device}_failed`;
}

// A live level meter of the microphone (0–1), drawn into `meter` while the stream lives.
export function meterFor(stream, meter) {
  const context = new AudioContext();
  // Without a click first (a page resumed after a reload) the context starts suspended: resume on the next one.
  if (context.state === "suspended") document.addEventListener("click", () => context.resume(), { once: true });
  const source = context.createMediaStreamSource(stream);
  const analyser = context.createAnalyser();
  analyser.fftSize = 1024;
  source.connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  const timer = setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const sample of samples) sum += sample * sample;
    meter.value = Math.min(1, Math.sqrt(sum / samples.length) * 4);
  }, 100);
  return () => {
    clearInterval(timer);
    context.close();
  };
}

// Upload speed in Mbit/s: a probe of PROBE_BYTES sent to the server, which discards it.
export async function uploadSpeed(token) {
  const body = new Uint8Array(PROBE_BYTES);
  const started = performance.now();
  const response = await fetch("/live/speedtest", {
    signal: AbortSignal.timeout(30000),
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/octet-stream" },
    body,
  });
  if (!response.ok) throw new Error(response.statusText);
  const seconds = Math.max((performance.now() - started) / 1000, 0.001);
  return (PROBE_BYTES * 8) / seconds / 1e6;
}

export const minUploadMbps = MIN_UPLOAD_MBPS;
