// What the browser can see of the exam page during the exam, reported with its times (never as a verdict):
// the page hidden (another tab), the window without focus, full screen left, the screen share stopped, a
// second display, copy and paste on this page. A browser cannot see other devices or another computer.

export class Integrity {
  constructor(live, policy) {
    this.live = live;
    this.policy = policy;
    this.open = new Map(); // event type → start (session seconds)
    this.listeners = [];
    this.running = false;
  }

  now() {
    return this.live.sessionTime() ?? 0;
  }

  begin(type, detail = {}) {
    if (!this.running || this.open.has(type)) return;
    const own = this.contentTab && (type === "tab_hidden" || type === "focus_lost");
    this.open.set(type, { start: this.now(), detail: own ? { ...detail, reason: "exam_content_tab" } : detail });
  }

  // The candidate opened the exam's content in its own tab (as the page offers): the examiner sees why.
  contentOpened() {
    this.contentTab = true;
  }

  end(type) {
    const opened = this.open.get(type);
    if (!opened) return;
    this.open.delete(type);
    const end = Math.max(opened.start, this.now());
    this.report(type, opened.start, end, opened.detail);
  }

  report(type, start, end, detail = {}) {
    this.live.send({
      type: "page_event",
      event: type,
      start_s: Number(start.toFixed(3)),
      end_s: Number(end.toFixed(3)),
      detail,
    });
  }

  on(target, name, handler) {
    target.addEventListener(name, handler);
    this.listeners.push([target, name, handler]);
  }

  start() {
    if (this.running) return;
    this.running = true;
    if (this.policy.integrity_events) {
      this.on(document, "visibilitychange", () =>
        document.visibilityState === "hidden" ? this.begin("tab_hidden") : this.end("tab_hidden"),
      );
      // Focus moving into the exam's own frame is not focus lost.
      this.on(window, "blur", () =>
        setTimeout(() => {
          if (document.activeElement?.tagName !== "IFRAME" && !document.hasFocus()) this.begin("focus_lost");
        }, 0),
      );
      this.on(window, "focus", () => this.end("focus_lost"));
      for (const action of ["copy", "cut", "paste"]) {
        this.on(document, action, () => {
          const at = this.now();
          this.report("copy_paste", at, at, { action });
        });
      }
      if (document.visibilityState === "hidden") this.begin("tab_hidden");
      this.watchDisplays();
    }
    if (this.policy.fullscreen) {
      this.on(document, "fullscreenchange", () =>
        document.fullscreenElement ? this.end("fullscreen_exited") : this.begin("fullscreen_exited"),
      );
    }
  }

  watchDisplays() {
    if (!("isExtended" in screen)) return; // this browser does not say
    const check = () =>
      screen.isExtended ? this.begin("second_display", { display: "extended" }) : this.end("second_display");
    check();
    if ("onchange" in screen) this.on(screen, "change", check);
  }

  // The shared screen's track ended (the candidate stopped sharing, or the browser did).
  shareStopped() {
    this.begin("screen_share_stopped");
  }

  shareResumed() {
    this.end("screen_share_stopped");
  }

  stop() {
    for (const type of [...this.open.keys()]) this.end(type);
    for (const [target, name, handler] of this.listeners) target.removeEventListener(name, handler);
    this.listeners = [];
    this.running = false;
  }
}
