// The phone beside the candidate (the exam's side camera, joined by the QR code): what the server last heard
// from it, shown under the QR code and told once in the exam's notices when it goes quiet. The server answers
// from the parts it stored (GET /live/side/status), never with the phone's pictures.
import { say } from "./i18n.js";

const POLL_MS = 3000;
const SAID = {
  waiting: "side.state_waiting",
  connected: "side.state_connected",
  sees_nobody: "side.state_sees_nobody",
  sees_no_screen: "side.state_sees_no_screen",
  lost: "side.state_lost",
};

export function watchSideCamera(token, onLost) {
  const line = document.querySelector("#side-state");
  if (!line) return; // the exam asks for no phone
  let last = null;
  const poll = async () => {
    try {
      const response = await fetch("/live/side/status", {
        headers: { Authorization: `Bearer ${token}` },
        cache: "no-store",
      });
      if (response.status === 401 || response.status === 409) return; // the exam is over
      if (response.ok) {
        const { state } = await response.json();
        if (!SAID[state]) return; // off: the exam asks for no phone
        line.dataset.state = state;
        say(line, SAID[state]);
        if (state === "lost" && last !== null && last !== "lost" && last !== "waiting") onLost();
        last = state;
      }
    } catch {
      // the network comes back: the next poll says how the phone is
    }
    setTimeout(poll, POLL_MS);
  };
  poll();
}
