/* One campaign's live funnel (templates/mailer/campaign_detail.html). The funnel counts unique
 * messages by the furthest state they reached (GET /api/campaigns/<id>/, refetched shortly after
 * the campaign's events arrive); the counts beside it are events, from Redis: each websocket
 * snapshot replaces them with exact ones and each frame's `counts.campaign` adds to them. */
(function () {
  "use strict";

  const { ui, live, EventDetail } = window.Mailpulse;

  const FEED_MAX_ROWS = 100;
  const FUNNEL = ["sent", "delivered", "opened", "clicked"];
  const FUNNEL_REFRESH_MS = 1000;

  const root = document.getElementById("campaign");
  const campaignId = Number(root.dataset.campaign);
  const counts = {};
  const funnel = {};
  for (const node of document.querySelectorAll("[data-count]")) {
    const target = node.closest(".funnel") ? funnel : counts;
    target[node.dataset.count] = Number(node.dataset.value) || 0;
  }

  // A campaign sent elsewhere (only its events carry its id) has no messages: its funnel counts
  // events, as the counts beside it do.
  const funnelOfMessages = "recipients" in funnel;

  function show() {
    for (const node of document.querySelectorAll("[data-count]")) {
      const source = node.closest(".funnel") ? funnel : counts;
      node.textContent = ui.numberFormat.format(source[node.dataset.count] || 0);
    }
    const steps = "recipients" in funnel ? ["recipients", ...FUNNEL] : FUNNEL;
    const widest = Math.max(1, ...steps.map((step) => funnel[step] || 0));
    steps.forEach((step, index) => {
      document.querySelector(`[data-bar="${step}"]`).style.width = `${(100 * (funnel[step] || 0)) / widest}%`;
      const previous = steps[index - 1];
      const rate = document.querySelector(`[data-step-rate="${step}"]`);
      if (!rate) return;
      rate.textContent = previous
        ? `${ui.percent(funnel[previous] ? (funnel[step] || 0) / funnel[previous] : null)} of ${previous}`
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
    if (!funnelOfMessages) for (const step of FUNNEL) funnel[step] = exact[step] || 0;
    show();
  }

  function addCounts(increments) {
    for (const [type, n] of Object.entries(increments || {})) {
      counts[type] = (counts[type] || 0) + n;
      if (!funnelOfMessages && FUNNEL.includes(type)) funnel[type] = (funnel[type] || 0) + n;
    }
    show();
  }

  let refreshTimer = null;
  function refreshFunnelSoon() {
    if (refreshTimer) return;
    refreshTimer = window.setTimeout(async () => {
      refreshTimer = null;
      try {
        const response = await fetch(`/api/campaigns/${campaignId}/`, { headers: { Accept: "application/json" } });
        if (!response.ok) return;
        const { progress } = await response.json();
        Object.assign(funnel, progress.funnel);
        if (progress.total) funnel.recipients = progress.total;
        show();
      } catch (error) {
        console.warn("Mailpulse funnel:", error);
      }
    }, FUNNEL_REFRESH_MS);
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
      if (funnelOfMessages && frame.counts?.campaign) refreshFunnelSoon();
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
