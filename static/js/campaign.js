/* One campaign's live funnel (templates/mailer/campaign_detail.html): the server renders the
 * counts from Redis; each websocket snapshot replaces them with exact ones, and each frame's
 * `counts.campaign` adds this campaign's increments, sampled feed or not. */
(function () {
  "use strict";

  const { ui, live, EventDetail } = window.Mailpulse;

  const FEED_MAX_ROWS = 100;
  const FUNNEL = ["sent", "delivered", "opened", "clicked"];

  const root = document.getElementById("campaign");
  const campaignId = Number(root.dataset.campaign);
  const counts = {};
  for (const node of document.querySelectorAll("[data-count]")) {
    counts[node.dataset.count] = Number(node.dataset.value) || 0;
  }

  function show() {
    for (const node of document.querySelectorAll("[data-count]")) {
      node.textContent = ui.numberFormat.format(counts[node.dataset.count] || 0);
    }
    const widest = Math.max(1, ...FUNNEL.map((step) => counts[step] || 0));
    FUNNEL.forEach((step, index) => {
      document.querySelector(`[data-bar="${step}"]`).style.width = `${(100 * (counts[step] || 0)) / widest}%`;
      const previous = FUNNEL[index - 1];
      const rate = document.querySelector(`[data-step-rate="${step}"]`);
      rate.textContent = previous
        ? `${ui.percent(counts[previous] ? (counts[step] || 0) / counts[previous] : null)} of ${previous}`
        : "";
    });
    const rates = ui.rates(counts);
    for (const name of ["bounce", "complaint"]) {
      ui.showRate(document.querySelector(`[data-rate="${name}"]`), name, rates[name]);
    }
  }

  function replaceCounts(exact) {
    for (const key of Object.keys(counts)) counts[key] = 0;
    Object.assign(counts, exact);
    show();
  }

  function addCounts(increments) {
    for (const [type, n] of Object.entries(increments || {})) counts[type] = (counts[type] || 0) + n;
    show();
  }

  const detail = new EventDetail(document.getElementById("event-detail"));
  const feed = new ui.EventTable(document.getElementById("campaign-feed"), {
    maxRows: FEED_MAX_ROWS,
    campaignNames: new Map([[String(campaignId), root.dataset.campaignName]]),
    onOpen: (event) => detail.open(event),
    onChange: (table) => {
      document.getElementById("feed-empty").hidden = table.size > 0;
    },
  });

  const sampledBanner = document.getElementById("sampled-banner");
  let notShown = 0;

  live.connect({
    filter: { campaign: campaignId },
    onStatus: (state, info) => ui.showStatus(document.getElementById("connection"), state, info),
    onSnapshot(snapshot, { reason }) {
      if (snapshot.campaign_counters) replaceCounts(snapshot.campaign_counters);
      feed.add(snapshot.events, { highlight: reason === "reconnect" });
    },
    onEvents(fresh, frame) {
      addCounts(frame.counts?.campaign);
      feed.add(fresh);
      if (frame.dropped) {
        notShown += frame.dropped;
        sampledBanner.textContent =
          `${ui.numberFormat.format(notShown)} events not shown, counts exact.`;
        sampledBanner.hidden = false;
      }
    },
  });

  show();
})();
