/* The live connection to /ws/email/ (protocol: docs/websocket.md), shared by the pages.
 *
 * Keeps the newest cursor, reconnects by itself with exponential backoff and jitter (at once
 * when a live connection is closed with 1001 "going away": that server is stopping and others
 * are not), resumes from the kept cursor so nothing is lost across a reconnect, and hands the
 * page only events whose id it has not handed over before (a resume replays a little overlap
 * on purpose).
 *
 *   Mailpulse.live.connect({filter, onSnapshot, onEvents, onStatus})
 *     onSnapshot(snapshot, {reason, fresh})  reason: "initial" | "reconnect" | "filter" |
 *                                            "resync" (the live view was rebuilt after a
 *                                            Redis outage: replace, do not merge);
 *                                            fresh: its events not seen before
 *     onEvents(fresh, frame)                 every events frame, even when fresh is empty
 *                                            (its counts and dropped still matter)
 *     onStatus(state, {retryInMs, detail})   state: "connecting" | "live" | "reconnecting" |
 *                                            "offline" | "degraded" (connected, but the server
 *                                            cannot deliver live data: Redis is down; detail
 *                                            says so; a "resync" snapshot ends it)
 *     onProgress(frame)                      a `progress` frame: {kind, id, status, done, total, ...}
 *   returns {setFilter(filter)}
 */
(function () {
  "use strict";

  const BACKOFF_FIRST_MS = 500;
  const BACKOFF_MAX_MS = 30000;
  const CLOSE_GOING_AWAY = 1001;
  const OFFLINE_AFTER_FAILURES = 5;
  const REMEMBERED_IDS_MAX = 20000;
  const SOCKET_PATH = "/ws/email/";

  function normalizeFilter(filter) {
    return {
      types: [...(filter.types || [])].sort(),
      providers: [...(filter.providers || [])].sort(),
      campaign: filter.campaign ?? null,
    };
  }

  function sameFilter(a, b) {
    return JSON.stringify(normalizeFilter(a)) === JSON.stringify(normalizeFilter(b));
  }

  function cursorOrder(cursor) {
    const [ms, seq] = String(cursor).split("-");
    return [Number(ms) || 0, Number(seq) || 0];
  }

  function newerCursor(a, b) {
    if (!a) return b;
    if (!b) return a;
    const [x, y] = [cursorOrder(a), cursorOrder(b)];
    return x[0] > y[0] || (x[0] === y[0] && x[1] >= y[1]) ? a : b;
  }

  /* Exponential backoff with "equal jitter": half the step fixed, half random, so a server
     restart is not met by every dashboard at the same instant. */
  function backoffMs(failures) {
    const step = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (failures - 1));
    return step / 2 + Math.random() * (step / 2);
  }

  /* Ids already handed to the page; the oldest are forgotten first. */
  class IdMemory {
    constructor(max) {
      this.max = max;
      this.ids = new Set();
    }
    remember(id) {
      if (this.ids.has(id)) return false;
      this.ids.add(id);
      if (this.ids.size > this.max) this.ids.delete(this.ids.values().next().value);
      return true;
    }
  }

  class LiveConnection {
    constructor({ filter = {}, onSnapshot, onEvents, onStatus, onProgress }) {
      this.filter = normalizeFilter(filter);
      this.handlers = { onSnapshot, onEvents, onStatus, onProgress };
      this.seen = new IdMemory(REMEMBERED_IDS_MAX);
      this.cursor = null;
      this.failures = 0;
      this.everLive = false;
      this.filterPending = false;
      this.resuming = false;
      this.heldCursor = null;
      this.resyncPending = false;
      this.socket = null;
      this.retryTimer = null;
      window.addEventListener("online", () => this.retryNow());
      this.status("connecting");
      this.open();
    }

    setFilter(filter) {
      this.filter = normalizeFilter(filter);
      this.filterPending = true;
      this.send({ action: "filter", ...this.filter });
    }

    open() {
      clearTimeout(this.retryTimer);
      const scheme = location.protocol === "https:" ? "wss:" : "ws:";
      const socket = new WebSocket(`${scheme}//${location.host}${SOCKET_PATH}`);
      this.socket = socket;
      socket.addEventListener("open", () => this.onOpen());
      socket.addEventListener("message", (message) => this.onFrame(JSON.parse(message.data)));
      socket.addEventListener("close", (event) => this.onClose(socket, event.code));
    }

    retryNow() {
      if (!this.socket) this.open();
    }

    send(message) {
      if (this.socket && this.socket.readyState === WebSocket.OPEN) {
        this.socket.send(JSON.stringify(message));
      }
    }

    onOpen() {
      // A new connection starts unfiltered: ask for our filter, then for what we missed.
      if (!sameFilter(this.filter, {})) this.send({ action: "filter", ...this.filter });
      if (this.cursor) {
        this.resuming = true;
        this.heldCursor = null;
        this.send({ action: "resume", cursor: this.cursor });
      }
    }

    onFrame(frame) {
      if (frame.type === "snapshot") this.onSnapshot(frame);
      else if (frame.type === "events") this.onEvents(frame);
      else if (frame.type === "progress") this.handlers.onProgress?.(frame);
      else if (frame.type === "status") this.onServerStatus(frame);
      else if (frame.type === "error") console.warn("Mailpulse live:", frame.detail);
    }

    /* The server's own state: "degraded" while Redis is down; "live" again is followed by a
       fresh snapshot of the rebuilt live view. */
    onServerStatus(frame) {
      if (frame.state === "degraded") this.status("degraded", { detail: frame.detail });
      else this.resyncPending = this.everLive;
    }

    onSnapshot(snapshot) {
      // The unfiltered snapshot a new connection starts with is stale once we asked for a filter.
      if (!sameFilter(snapshot.filters || {}, this.filter)) return;
      const reason = this.resyncPending ? "resync"
        : this.filterPending ? "filter" : this.everLive ? "reconnect" : "initial";
      this.resyncPending = false;
      this.filterPending = false;
      this.everLive = true;
      this.failures = 0;
      this.advanceCursor(snapshot.cursor);
      const fresh = snapshot.events.filter((event) => this.seen.remember(event.id));
      this.status("live");
      this.handlers.onSnapshot?.(snapshot, { reason, fresh });
    }

    onEvents(frame) {
      if (frame.replay) {
        this.resuming = false;
        this.cursor = newerCursor(newerCursor(this.cursor, this.heldCursor), frame.cursor);
      } else {
        this.advanceCursor(frame.cursor);
      }
      const fresh = frame.events.filter((event) => this.seen.remember(event.id));
      this.handlers.onEvents?.(fresh, frame);
    }

    /* Until the replay of a resume has arrived, the kept cursor must stay where it was:
       were the socket to drop now, the next resume has to start from there again. */
    advanceCursor(cursor) {
      if (this.resuming) this.heldCursor = newerCursor(this.heldCursor, cursor);
      else this.cursor = newerCursor(this.cursor, cursor);
    }

    onClose(socket, code) {
      if (socket !== this.socket) return;
      this.socket = null;
      this.resuming = false;
      // At once only after a live connection (failures is 0 once a snapshot came), so a
      // server that keeps closing cannot make us spin.
      const atOnce = code === CLOSE_GOING_AWAY && this.failures === 0;
      this.failures += 1;
      if (atOnce) {
        this.status("reconnecting");
        this.open();
        return;
      }
      const retryInMs = backoffMs(this.failures);
      const offline = !navigator.onLine || this.failures >= OFFLINE_AFTER_FAILURES;
      this.status(offline ? "offline" : "reconnecting", { retryInMs });
      this.retryTimer = setTimeout(() => this.open(), retryInMs);
    }

    status(state, info = {}) {
      this.handlers.onStatus?.(state, info);
    }
  }

  window.Mailpulse = window.Mailpulse || {};
  window.Mailpulse.live = {
    connect: (options) => new LiveConnection(options),
  };
})();
