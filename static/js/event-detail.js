/* The event detail dialog (templates/events/_event_detail.html): the event's fields, the raw
 * payload as the provider posted it, and every event of its message, oldest first. */
(function () {
  "use strict";

  const { api, getJSON, el, badge, timeElement, summary } = window.Mailpulse.ui;

  const FIELDS = [
    ["Time", (e) => timeElement(e.timestamp)],
    ["Received", (e) => timeElement(e.received_at)],
    ["Recipient", (e) => e.recipient],
    ["Provider", (e) => `${e.provider} (${e.provider_event || "no event name"})`],
    ["Message id", (e) => e.message_id],
    ["Campaign", (e) => e.campaign && el("a", { href: `/campaigns/${e.campaign}/`, text: `#${e.campaign}` })],
    ["Clicked URL", (e) => e.url],
    ["User agent", (e) => e.user_agent],
    ["SMTP response", (e) => e.mta_response],
    ["Description", (e) => e.description],
    ["Reject reason", (e) => e.reject_reason],
    ["Tags", (e) => (e.tags || []).join(", ")],
  ];

  class EventDetail {
    constructor(dialog) {
      this.dialog = dialog;
      this.title = dialog.querySelector("#detail-title");
      this.fields = dialog.querySelector("#detail-fields");
      this.timeline = dialog.querySelector("#detail-timeline");
      this.timelineLink = dialog.querySelector("#detail-timeline-link");
      this.raw = dialog.querySelector("#detail-raw");
      dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());
      dialog.addEventListener("close", () => this.opener?.focus());
    }

    open(event) {
      this.opener = document.activeElement;
      this.shown = event.id;
      const who = el("span", { text: event.recipient || event.message_id });
      this.title.replaceChildren(badge(event.type), who);
      this.fields.replaceChildren(...this.fieldNodes(event));
      this.timelineLink.href = `/messages/${encodeURIComponent(event.message_id)}/`;
      this.timelineLink.hidden = !event.message_id;
      this.raw.textContent = "Loading…";
      this.timeline.replaceChildren(el("li", { className: "muted", text: "Loading…" }));
      if (!this.dialog.open) this.dialog.showModal();
      this.loadRaw(event);
      this.loadTimeline(event);
    }

    fieldNodes(event) {
      const nodes = [];
      for (const [label, value] of FIELDS) {
        const content = value(event);
        if (!content) continue;
        nodes.push(el("dt", { text: label }), el("dd", {}, [content]));
      }
      return nodes;
    }

    async loadRaw(event) {
      try {
        const detail = await getJSON(api.event(event.id));
        if (this.shown === event.id) this.raw.textContent = JSON.stringify(detail.raw, null, 2);
      } catch (error) {
        if (this.shown === event.id) this.raw.textContent = `Could not load the payload: ${error.message}`;
      }
    }

    async loadTimeline(event) {
      if (!event.message_id) {
        this.timeline.replaceChildren(el("li", { className: "muted", text: "No message id." }));
        return;
      }
      let items;
      try {
        const events = await getJSON(api.timeline(event.message_id));
        items = events.map((step) => this.timelineItem(step, step.id === event.id));
      } catch (error) {
        items = [el("li", { className: "error", text: `Could not load the timeline: ${error.message}` })];
      }
      if (this.shown === event.id) this.timeline.replaceChildren(...items);
    }

    timelineItem(event, current) {
      const what = summary(event);
      return el("li", { className: `t-${event.type}${current ? " current" : ""}` }, [
        el("span", { className: "when" }, [timeElement(event.timestamp)]),
        badge(event.type),
        current ? el("span", { className: "muted", text: " (this event)" }) : "",
        what ? el("p", { className: "what", text: what }) : "",
      ]);
    }
  }

  window.Mailpulse.EventDetail = EventDetail;
})();
