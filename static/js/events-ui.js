/* Shared pieces of the event pages: building DOM from provider data (always as text, never as
 * HTML), event tables, rates, the connection indicator, and the REST calls they use. */
(function () {
  "use strict";

  const RATE_WARN = { bounce: 0.02, complaint: 0.001 };
  const STATUS_TEXT = {
    connecting: "Connecting…",
    live: "Live",
    reconnecting: "Reconnecting…",
    offline: "Offline",
    degraded: "Paused",
  };

  const api = {
    events: (params) => `/api/events/?${new URLSearchParams(params)}`,
    event: (id) => `/api/events/${encodeURIComponent(id)}/`,
    timeline: (messageId) => `/api/messages/${encodeURIComponent(messageId)}/events/`,
    stats: (params) => `/api/events/stats/?${new URLSearchParams(params)}`,
  };

  async function getJSON(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`${response.status} from ${url}`);
    return response.json();
  }

  /* el("td", {className: "x", text: untrusted}, [children]): text goes in as textContent. */
  function el(tag, props = {}, children = []) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null) continue;
      if (key === "text") node.textContent = value;
      else if (key === "className") node.className = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(key, value);
    }
    node.append(...children);
    return node;
  }

  const numberFormat = new Intl.NumberFormat();
  const timeFormat = new Intl.DateTimeFormat(undefined, {
    hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  });
  const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  });

  function isToday(date) {
    return date.toDateString() === new Date().toDateString();
  }

  function timeElement(iso) {
    const date = new Date(iso);
    const text = isToday(date) ? timeFormat.format(date) : dateTimeFormat.format(date);
    return el("time", { datetime: iso, title: dateTimeFormat.format(date), text });
  }

  function badge(type) {
    return el("span", { className: `badge t-${type}`, text: type });
  }

  /* The one line that says most about an event: the link clicked, the bounce, the reason. */
  function summary(event) {
    return (
      event.url || event.description || event.mta_response || event.reject_reason ||
      (event.type === "opened" ? event.user_agent : "")
    );
  }

  function campaignCell(id, campaignNames) {
    if (!id) return el("span", { className: "muted", text: "—" });
    const name = campaignNames.get(String(id)) || `#${id}`;
    return el("a", { href: `/campaigns/${id}/`, text: name });
  }

  function eventRow(event, campaignNames) {
    const detail = summary(event);
    return el("tr", { tabindex: "0", dataset: { id: event.id, type: event.type } }, [
      el("td", { className: "time" }, [timeElement(event.timestamp)]),
      el("td", {}, [badge(event.type)]),
      el("td", { className: "recipient", text: event.recipient }),
      el("td", { className: "col-opt", text: event.provider }),
      el("td", { className: "col-opt" }, [campaignCell(event.campaign, campaignNames)]),
      el("td", { className: "detail", text: detail, title: detail || null }),
    ]);
  }

  /* A table body of events. `add` keeps the newest (highest id) on top and at most maxRows;
     `append` keeps the order given (pages of history). Rows open `onOpen(event)` when clicked
     or on Enter. */
  class EventTable {
    constructor(table, { maxRows = Infinity, campaignNames = new Map(), onOpen, onChange } = {}) {
      this.body = table.tBodies[0];
      this.maxRows = maxRows;
      this.campaignNames = campaignNames;
      this.onChange = onChange;
      this.events = new Map();
      this.body.addEventListener("click", (e) => this.activate(e.target, onOpen));
      this.body.addEventListener("keydown", (e) => {
        if (e.key === "Enter" || e.key === " ") {
          e.preventDefault();
          this.activate(e.target, onOpen);
        }
      });
    }

    activate(target, onOpen) {
      const row = target.closest("tr[data-id]");
      if (row && onOpen && !target.closest("a")) onOpen(this.events.get(Number(row.dataset.id)));
    }

    get size() {
      return this.events.size;
    }

    clear() {
      this.body.replaceChildren();
      this.events.clear();
      this.onChange?.(this);
    }

    replace(events) {
      this.clear();
      this.add(events, { highlight: false });
    }

    add(events, { highlight = true } = {}) {
      const rows = [...this.body.rows];
      for (const event of [...events].sort((a, b) => b.id - a.id)) {
        if (this.events.has(event.id)) continue;
        const row = eventRow(event, this.campaignNames);
        if (highlight) row.classList.add("arrived");
        this.events.set(event.id, event);
        const before = rows.findIndex((r) => Number(r.dataset.id) < event.id);
        this.body.insertBefore(row, before === -1 ? null : rows[before]);
        rows.splice(before === -1 ? rows.length : before, 0, row);
      }
      while (this.body.rows.length > this.maxRows) {
        const last = this.body.lastElementChild;
        this.events.delete(Number(last.dataset.id));
        last.remove();
      }
      this.onChange?.(this);
    }

    append(events) {
      for (const event of events) {
        if (this.events.has(event.id)) continue;
        this.events.set(event.id, event);
        this.body.append(eventRow(event, this.campaignNames));
      }
      this.onChange?.(this);
    }
  }

  /* Rates a sender watches, as fractions (null when the denominator is 0). */
  function rates(types) {
    const n = (type) => types[type] || 0;
    const ratio = (a, b) => (n(b) > 0 ? n(a) / n(b) : null);
    return {
      delivery: ratio("delivered", "sent"),
      open: ratio("opened", "delivered"),
      click: ratio("clicked", "delivered"),
      bounce: ratio("bounced", "sent"),
      complaint: ratio("complained", "delivered"),
      unsubscribe: ratio("unsubscribed", "delivered"),
    };
  }

  function percent(fraction) {
    if (fraction === null || fraction === undefined) return "—";
    const digits = fraction < 0.01 && fraction > 0 ? 2 : 1;
    return `${(fraction * 100).toFixed(digits)}%`;
  }

  /* Writes a rate into its element, flagged when past the threshold mailbox providers use. */
  function showRate(element, name, fraction) {
    if (!element) return;
    element.textContent = percent(fraction);
    element.classList.toggle("warn", fraction !== null && fraction > (RATE_WARN[name] ?? Infinity));
  }

  /* The connection indicator; while the server is "degraded" (Redis down) the page's live
     numbers are greyed (body[data-live]) and #live-paused, where the page has one, says why. */
  function showStatus(element, state, { retryInMs, detail } = {}) {
    let text = STATUS_TEXT[state] || state;
    if (retryInMs !== undefined) text += ` next try in ${Math.max(1, Math.round(retryInMs / 1000))} s`;
    element.dataset.state = state;
    element.querySelector(".connection-text").textContent = text;
    document.body.dataset.live = state;
    const paused = document.getElementById("live-paused");
    if (paused) {
      paused.hidden = state !== "degraded";
      if (detail) paused.textContent = detail;
    }
  }

  function campaignNamesFrom(select) {
    const names = new Map();
    for (const option of select ? select.options : []) if (option.value) names.set(option.value, option.text);
    return names;
  }

  window.Mailpulse = window.Mailpulse || {};
  window.Mailpulse.ui = {
    api, getJSON, el, badge, timeElement, summary, numberFormat, EventTable,
    rates, percent, showRate, showStatus, campaignNamesFrom,
  };
})();
