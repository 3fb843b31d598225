// The live session's transport, as the README's protocol says: a control socket (hello with the exam link's
// token), one WebRTC peer connection for camera and microphone, and the page's own recording sent in parts.
// Everything reconnects by itself; the page is told what happens through events on this object.

export const PART_MS = 2000;
export const KEYFRAME_MS = 2000;
const RETRY_MS = [1000, 2000, 4000, 5000];
const PING_MS = 5000;
const SILENT_SOCKET_MS = 12000; // no pong for this long: the socket is dead even if it was never closed
const REQUEST_MS = { offer: 30000, upload: 120000 };
const FRAME_RATE_MARGIN = 1.2;

function token() {
  return decodeURIComponent(location.pathname.split("/").filter(Boolean).pop());
}

function wait(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// The video encoding that gives the analysis what it looks at and no more: scaled down to the width it asks
// for (never up), at a little more than its frame rate (the server keeps frames at most `fps` a second; a
// margin above it means a frame is always there when one is due).
export function leanEncoding(track, lean, scanning) {
  const width = (track.getSettings && track.getSettings().width) || lean.width;
  const fps = scanning ? lean.scan_fps : lean.fps;
  return {
    scaleResolutionDownBy: Math.max(1, width / lean.width),
    maxFramerate: Math.ceil(fps * FRAME_RATE_MARGIN),
    maxBitrate: scanning ? lean.scan_max_bitrate : lean.max_bitrate,
  };
}

export class Live extends EventTarget {
  constructor() {
    super();
    this.token = token();
    this.socket = null;
    this.peer = null;
    this.stream = null;
    this.welcome = null;
    this.offset = null; // session time = performance.now() / 1000 + offset
    this.bestRtt = Infinity;
    this.outbox = [];
    this.finishing = false; // the candidate finished: no more media, but the socket comes back for the receipt
    this.finished = false; // the receipt arrived (or the page gave up the session)
    this.recorders = [];
    this.uploads = new Uploads(this.token);
    this.uploads.addEventListener("refused", (event) => this.restartRecording(event.detail.run));
    this.attempt = 0;
    this.pings = new Map(); // ping id → when it was sent (seconds)
    this.connecting = null;
    this.videoSender = null; // the camera's sender on the peer connection (its encoding is the lean one)
    this.scanning = false;
    this.state = "offline";
    addEventListener("offline", () => this.lost("offline"));
    addEventListener("online", () => this.reconnect());
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  setState(state) {
    if (this.state !== state) {
      this.state = state;
      this.emit("connection", state);
    }
  }

  // -- control socket -------------------------------------------------------------------------------
  open() {
    return new Promise((resolve, reject) => {
      const scheme = location.protocol === "https:" ? "wss:" : "ws:";
      const socket = new WebSocket(`${scheme}//${location.host}/live/ws`);
      this.socket = socket;
      let welcomed = false;
      socket.addEventListener("open", () => socket.send(JSON.stringify({ type: "hello", token: this.token })));
      socket.addEventListener("message", (event) => {
        const message = JSON.parse(event.data);
        if (message.type === "welcome") {
          welcomed = true;
          this.welcome = message;
          this.attempt = 0;
          this.lastPong = performance.now();
          for (const queued of this.outbox.splice(0)) socket.send(JSON.stringify(queued));
          if (this.finishing && !this.finished) socket.send(JSON.stringify({ type: "finish" })); // again: it may have been lost
          resolve(message);
        }
        this.receive(message);
      });
      socket.addEventListener("close", (event) => {
        if (!welcomed) reject(Object.assign(new Error(event.reason || "closed"), { code: event.code }));
        if (event.code >= 4400 && event.code < 4500) {
          this.emit("refused", { code: event.code, reason: event.reason });
          return;
        }
        if (!this.finished && welcomed) this.lost("socket");
      });
    });
  }

  receive(message) {
    if (message.type === "finished") this.finished = true;
    if (message.type === "pong") this.lastPong = performance.now();
    const sent = message.type === "pong" ? this.pings.get(message.id) : undefined;
    if (sent !== undefined && message.session_time_s !== null) {
      this.pings.delete(message.id);
      const now = performance.now() / 1000;
      const rtt = now - sent;
      if (rtt <= this.bestRtt * 1.5 || this.offset === null) {
        this.bestRtt = Math.min(this.bestRtt, rtt);
        this.offset = message.session_time_s + rtt / 2 - now;
      }
    }
    this.emit(message.type, message);
    this.emit("message", message);
  }

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN && this.welcome) {
      this.socket.send(JSON.stringify(message));
    } else {
      this.outbox.push(message);
    }
  }

  sessionTime() {
    return this.offset === null ? null : performance.now() / 1000 + this.offset;
  }

  // Ask the server for its session time until it has one (media arrived), then every few seconds.
  async syncClock() {
    for (let i = 0; i < 40 && this.offset === null; i++) {
      this.ping();
      await wait(250);
    }
    if (!this.pinger) this.pinger = setInterval(() => this.ping(), PING_MS);
    return this.offset !== null;
  }

  ping() {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    if (this.lastPong && performance.now() - this.lastPong > SILENT_SOCKET_MS) {
      socket.close(); // silently dead: its close handler reconnects
      return;
    }
    const id = (this.pingId = (this.pingId || 0) + 1);
    this.pings.set(id, performance.now() / 1000);
    if (this.pings.size > 50) this.pings.delete(this.pings.keys().next().value);
    socket.send(JSON.stringify({ type: "ping", id }));
  }

  // -- media ----------------------------------------------------------------------------------------
  connect(stream) {
    if (!this.connecting) this.connecting = this.offer(stream).finally(() => (this.connecting = null));
    return this.connecting;
  }

  async offer(stream) {
    this.stream = stream;
    this.setState("connecting");
    const servers = (this.welcome && this.welcome.ice_servers) || [];
    const peer = new RTCPeerConnection({ iceServers: servers });
    if (this.peer) this.peer.close();
    this.peer = peer;
    this.videoSender = null;
    for (const track of stream.getTracks()) {
      // the analysis gets the lean stream the server asks for (welcome.analysis_stream); the page's own
      // recording (MediaRecorder, below) keeps the camera's full size and rate
      const init = { direction: "sendonly", streams: [stream] };
      const lean = this.welcome && this.welcome.analysis_stream;
      if (track.kind === "video" && lean) init.sendEncodings = [leanEncoding(track, lean, this.scanning)];
      const transceiver = peer.addTransceiver(track, init);
      if (track.kind === "video") [this.videoSender, this.cameraSettings] = [transceiver.sender, track.getSettings()];
    }
    peer.addEventListener("connectionstatechange", () => this.peerState(peer));
    await peer.setLocalDescription(await peer.createOffer());
    await new Promise((resolve) => {
      if (peer.iceGatheringState === "complete") return resolve();
      peer.addEventListener("icegatheringstatechange", () => peer.iceGatheringState === "complete" && resolve());
      setTimeout(resolve, 3000);
    });
    const answer = await fetch("/live/offer", {
      signal: AbortSignal.timeout(REQUEST_MS.offer),
      method: "POST",
      headers: { Authorization: `Bearer ${this.token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ sdp: peer.localDescription.sdp, type: "offer" }),
    });
    if (!answer.ok) {
      peer.close();
      const body = await answer.json().catch(() => ({}));
      throw Object.assign(new Error(body.detail || answer.statusText), { status: answer.status });
    }
    const description = await answer.json();
    await peer.setRemoteDescription({ type: "answer", sdp: description.sdp });
    await new Promise((resolve, reject) => {
      const check = () => {
        if (peer.connectionState === "connected") resolve();
        if (peer.connectionState === "failed") reject(new Error("the video connection failed"));
      };
      peer.addEventListener("connectionstatechange", check);
      setTimeout(() => reject(new Error("the video connection timed out")), 20000);
      check();
    });
    this.setState("live");
    return description;
  }

  // A room scan is analysed at a higher rate (the rotation is tracked between frames): the page sends more
  // frames while the candidate turns, and goes back to the lean rate after.
  async setScanning(scanning) {
    this.scanning = scanning;
    const sender = this.videoSender;
    const lean = this.welcome && this.welcome.analysis_stream;
    if (!sender || !lean || !sender.track) return;
    const parameters = sender.getParameters();
    if (!parameters.encodings || !parameters.encodings.length) return;
    Object.assign(parameters.encodings[0], leanEncoding(sender.track, lean, scanning));
    await sender.setParameters(parameters).catch(() => {}); // a browser that refuses keeps the rate it has
  }

  // What the video sender is asked for now (for the page's diagnostics and its tests).
  videoEncoding() {
    const sender = this.videoSender;
    if (!sender) return null;
    const encoding = (sender.getParameters().encodings || [])[0] || {};
    const settings = sender.track ? sender.track.getSettings() : this.cameraSettings || {};
    return {
      scaleResolutionDownBy: encoding.scaleResolutionDownBy ?? 1,
      maxFramerate: encoding.maxFramerate ?? null,
      cameraWidth: settings.width ?? null,
      cameraHeight: settings.height ?? null,
    };
  }

  peerState(peer) {
    if (peer !== this.peer || this.finishing || this.finished) return;
    if (peer.connectionState === "failed" || peer.connectionState === "disconnected") this.lost("media");
  }

  // The network (or the server) went away: stop sending, show it, and come back as soon as possible.
  lost(why) {
    if (this.finished) return;
    this.setState("reconnecting");
    if (why === "offline") {
      if (this.peer) this.peer.close();
      this.peer = null;
      if (this.socket) this.socket.close();
    }
    if (!this.retrying) this.reconnect();
  }

  async reconnect() {
    if (this.finished || this.retrying) return;
    this.retrying = true;
    try {
      while (!this.finished) {
        await wait(RETRY_MS[Math.min(this.attempt, RETRY_MS.length - 1)]);
        this.attempt += 1;
        if (!navigator.onLine) continue;
        try {
          if (!this.socket || this.socket.readyState !== WebSocket.OPEN) await this.open();
          const media = this.stream && !this.finishing;
          if (media && (!this.peer || this.peer.connectionState !== "connected")) await this.connect(this.stream);
          this.setState(media ? "live" : "offline");
          this.emit("reconnected", {});
          return;
        } catch (error) {
          if (error.code >= 4400 && error.code < 4500) return;
        }
      }
    } finally {
      this.retrying = false;
    }
  }

  // -- the page's own recording ----------------------------------------------------------------------
  // A keyframe every KEYFRAME_MS lets the server check the recording against what its analysis saw (a browser
  // that does not know the option records as before, and its recording is checked where keyframes fall).
  record(stream, track = "camera") {
    const mimeType = ["video/webm;codecs=vp8,opus", "video/webm;codecs=vp8", "video/webm"].find((mime) =>
      MediaRecorder.isTypeSupported(mime),
    );
    const options = { mimeType, videoBitsPerSecond: 600000, videoKeyFrameIntervalDuration: KEYFRAME_MS };
    const recorder = new MediaRecorder(stream, options);
    const run = `${track}-${Date.now().toString(36)}`;
    const start = Math.max(0, this.sessionTime() ?? 0);
    let part = 0;
    recorder.run = run;
    recorder.track = track;
    recorder.addEventListener("dataavailable", (event) => {
      const type = (recorder.mimeType || mimeType || "video/webm").split(";")[0];
      if (event.data.size > 0) this.uploads.add({ run, part: part++, start, track, type, blob: event.data });
    });
    recorder.start(PART_MS);
    this.recorders.push(recorder);
    return recorder;
  }

  // The server refused a part for good: that run can no longer be continued, so its recorder is replaced by a
  // new one (a new run) while the exam goes on.
  restartRecording(run) {
    const recorder = this.recorders.find((candidate) => candidate.run === run);
    if (!recorder || recorder.state === "inactive" || this.finishing) return;
    this.recorders = this.recorders.filter((candidate) => candidate !== recorder);
    recorder.stop();
    this.record(recorder.stream, recorder.track);
  }

  // Every part is sent: the page asks the server to seal the recording (nothing more is taken after that).
  // While the server is still storing the exam's result (409) it asks again; it gives up after a while, and
  // the server seals the recording by itself at the end of its grace time.
  async seal() {
    for (let attempt = 0; attempt < 8; attempt += 1) {
      try {
        const response = await fetch("/live/recording/seal", {
          signal: AbortSignal.timeout(REQUEST_MS.upload),
          method: "POST",
          headers: { Authorization: `Bearer ${this.token}`, "Content-Type": "application/json" },
          body: JSON.stringify({ runs: this.uploads.sentParts() }),
        });
        if (response.ok) return await response.json();
        if (response.status !== 409 && response.status < 500) return null;
      } catch {
        // the network: try again
      }
      await wait(RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)]);
    }
    return null;
  }

  async stopRecording() {
    const stopping = this.recorders
      .filter((recorder) => recorder.state !== "inactive")
      .map((recorder) => new Promise((resolve) => {
        recorder.addEventListener("stop", resolve, { once: true });
        recorder.stop();
      }));
    await Promise.all(stopping);
    this.recorders = [];
  }

  async finish() {
    this.finishing = true;
    await this.stopRecording();
    this.send({ type: "finish" }); // queued and sent on reconnection if the network is down right now
    if (this.peer) this.peer.close(); // nothing more to send
    this.peer = null;
  }

  close() {
    this.finished = true;
    clearInterval(this.pinger);
    if (this.peer) this.peer.close();
    if (this.socket) this.socket.close();
  }
}

// Recording parts go up one at a time, in order; a failed part is retried until it is kept (the recording
// survives a network drop: the browser keeps recording and the parts wait here).
export class Uploads extends EventTarget {
  constructor(tokenValue) {
    super();
    this.token = tokenValue;
    this.queue = [];
    this.sent = 0;
    this.total = 0;
    this.running = false;
    this.failed = [];
    this.parts = new Map(); // run → parts the server took
  }

  sentParts() {
    return Object.fromEntries(this.parts);
  }

  add(part) {
    this.queue.push(part);
    this.total += part.blob.size;
    this.pump();
  }

  get pending() {
    return this.queue.length;
  }

  async pump() {
    if (this.running) return;
    this.running = true;
    let delay = 0;
    while (this.queue.length) {
      const part = this.queue[0];
      if (delay) await wait(delay);
      let response;
      try {
        response = await fetch(`/live/recording/${part.run}/${part.part}`, {
          signal: AbortSignal.timeout(REQUEST_MS.upload),
          method: "PUT",
          headers: {
            Authorization: `Bearer ${this.token}`,
            "Content-Type": part.type,
            "X-Run-Start-S": part.start.toFixed(3),
            "X-Track": part.track,
          },
          body: part.blob,
        });
      } catch {
        delay = Math.min(5000, (delay || 500) * 2);
        continue;
      }
      if (response.ok) {
        this.queue.shift();
        this.sent += part.blob.size;
        this.parts.set(part.run, part.part + 1);
        delay = 0;
      } else if (response.status >= 500 || response.status === 408 || response.status === 429) {
        delay = Math.min(5000, (delay || 500) * 2);
      } else {
        // refused for good: this part and the rest of its run are kept aside, never retried; a new run goes on
        const refused = this.queue.filter((queued) => queued.run === part.run);
        this.queue = this.queue.filter((queued) => queued.run !== part.run);
        for (const dropped of refused) this.failed.push({ part: dropped, status: response.status });
        this.dispatchEvent(new CustomEvent("refused", { detail: { run: part.run, status: response.status } }));
      }
      this.dispatchEvent(new CustomEvent("progress"));
    }
    this.running = false;
    this.dispatchEvent(new CustomEvent("drained"));
  }

  drained() {
    if (!this.queue.length && !this.running) return Promise.resolve();
    return new Promise((resolve) => this.addEventListener("drained", resolve, { once: true }));
  }
}
