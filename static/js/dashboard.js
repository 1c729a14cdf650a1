/* The live dashboard: counters and rates, the per-minute chart, the live feed with pause and
 * filters, recipient history and the detail dialog (templates/events/dashboard.html). */
(function () {
  "use strict";

  const { ui, live, MinuteChart, EventDetail } = window.Mailpulse;

  const FEED_MAX_ROWS = 200;
  const SEARCH_PAGE_SIZE = 50;
  const TICK_MS = 5000;
  const SAMPLED_BANNER_QUIET_MS = 15000;

  const $ = (selector) => document.querySelector(selector);
  const counterTypes = [...document.querySelectorAll("[data-counter]")].map((n) => n.dataset.counter);
  const campaignNames = ui.campaignNamesFrom($("#filter-campaign"));
  const detail = new EventDetail($("#event-detail"));
  const openDetail = (event) => detail.open(event);

  /* --- counters and rates: the snapshot's exact counters plus every frame's counts */

  let typeCounts = {};

  function setCounters(types) {
    typeCounts = { ...types };
    showCounters();
  }

  function addCounts(types) {
    for (const [type, n] of Object.entries(types)) typeCounts[type] = (typeCounts[type] || 0) + n;
    showCounters();
  }

  function showCounters() {
    for (const type of counterTypes) {
      $(`[data-counter="${type}"]`).textContent = ui.numberFormat.format(typeCounts[type] || 0);
    }
    showRates();
  }

  function showRates() {
    for (const [name, fraction] of Object.entries(ui.rates(typeCounts))) {
      ui.showRate($(`[data-rate="${name}"]`), name, fraction);
    }
    $('[data-rate="per-minute"]').textContent = ui.numberFormat.format(chart.perMinute());
    $("#chart-summary").textContent = `${ui.numberFormat.format(chart.totalInRange())} in range`;
  }

  /* --- chart and its range */

  const chart = new MinuteChart($("#chart"), counterTypes);
  const rangeMinutes = () => Number(document.querySelector('input[name="range"]:checked').value);

  let chartRequests = 0;

  async function loadChart() {
    const request = ++chartRequests;
    const minutes = rangeMinutes();
    const since = new Date(Date.now() - minutes * 60000).toISOString();
    let stats;
    try {
      stats = await ui.getJSON(ui.api.stats({ since }));
    } catch (error) {
      $("#chart-summary").textContent = `Could not load the chart: ${error.message}`;
      return;
    }
    if (request !== chartRequests) return; // a later range was chosen meanwhile
    chart.load(stats, minutes);
    showRates();
  }

  $("#range").addEventListener("change", loadChart);

  /* --- live feed, pause, filters */

  const feed = new ui.EventTable($("#feed"), {
    maxRows: FEED_MAX_ROWS,
    campaignNames,
    onOpen: openDetail,
    onChange: (table) => {
      $("#feed-empty").hidden = table.size > 0;
      $("#feed-count").textContent = table.size
        ? `${table.size} events shown (at most ${FEED_MAX_ROWS})`
        : "";
    },
  });
  const pauseButton = $("#pause");
  let paused = false;
  let held = [];

  function showFeedEvents(events) {
    if (!events.length) return;
    if (!paused) {
      feed.add(events);
      return;
    }
    held = [...events, ...held].sort((a, b) => b.id - a.id).slice(0, FEED_MAX_ROWS);
    pauseButton.textContent = `Resume (${held.length} new)`;
  }

  pauseButton.addEventListener("click", () => {
    paused = !paused;
    pauseButton.setAttribute("aria-pressed", String(paused));
    pauseButton.textContent = paused ? "Resume" : "Pause";
    if (!paused) {
      feed.add(held);
      held = [];
    }
  });

  function currentFilter() {
    const value = (name) => $(`#feed-filters [name="${name}"]`).value;
    return {
      types: value("type") ? [value("type")] : [],
      providers: value("provider") ? [value("provider")] : [],
      campaign: value("campaign") ? Number(value("campaign")) : null,
    };
  }

  $("#feed-filters").addEventListener("change", () => {
    held = [];
    connection.setFilter(currentFilter());
  });

  /* --- "N events not shown": frames sampled under a flood */

  const sampledBanner = $("#sampled-banner");
  let notShown = 0;
  let sampledQuietTimer = null;

  function showDropped(dropped) {
    notShown += dropped;
    sampledBanner.textContent =
      `${ui.numberFormat.format(notShown)} events not shown, counters exact. ` +
      "The feed is sampled while events arrive faster than it can show them.";
    sampledBanner.hidden = false;
    clearTimeout(sampledQuietTimer);
    sampledQuietTimer = setTimeout(() => {
      sampledBanner.hidden = true;
      notShown = 0;
    }, SAMPLED_BANNER_QUIET_MS);
  }

  /* --- the provider panel: state changes arrive as `progress` frames of kind "provider"
   * (from the router: status, reason, quota_left…; from the health check: health…) */

  const ALERT_STATES = new Set(["misconfigured", "open"]);
  const providerAlerts = new Map(); // id -> sentence, for the banner

  function showProviderValue(cell, field, value) {
    if (!cell) return;
    if (field === "error_rate") {
      cell.textContent = value === null || value === "" ? "—" : `${(Number(value) * 100).toFixed(1)} %`;
    } else if (field === "latency_ms") {
      cell.textContent = value === null || value === "" ? "—" : `${Math.round(Number(value))} ms`;
    } else if (field === "quota_left") {
      cell.textContent = value === null || value === "" ? "no quota" : ui.numberFormat.format(Number(value));
    }
  }

  function showProviderAlerts() {
    const banner = $("#provider-alert");
    if (!banner) return;
    banner.textContent = [...providerAlerts.values()].join(" ");
    banner.hidden = providerAlerts.size === 0;
  }

  function showProvider(frame) {
    const row = document.querySelector(`#provider-panel tr[data-provider-id="${frame.id}"]`);
    if (!row) return;
    if ("status" in frame) {
      const badge = row.querySelector('[data-field="status"]');
      badge.textContent = frame.status;
      badge.className = `provider-state ${frame.status}`;
      const name = row.dataset.providerName;
      if (ALERT_STATES.has(frame.status)) {
        providerAlerts.set(String(frame.id), `${name} is ${frame.status}${frame.reason ? ` (${frame.reason})` : ""}.`);
      } else {
        providerAlerts.delete(String(frame.id));
      }
      showProviderAlerts();
    }
    if ("reason" in frame) row.querySelector('[data-field="reason"]').textContent = frame.reason || "";
    if ("health" in frame) {
      const badge = row.querySelector('[data-field="health"]');
      badge.textContent = frame.health;
      badge.className = `provider-health ${frame.health}`;
    }
    if ("status_page" in frame) {
      const page = row.querySelector('[data-field="status_page"]');
      if (page) {
        page.textContent =
          frame.status_page === "unreachable" ? "status page unreachable"
          : frame.status_page ? `status page: ${frame.status_page}` : "";
      }
    }
    for (const field of ["error_rate", "latency_ms", "quota_left"]) {
      if (field in frame) showProviderValue(row.querySelector(`[data-field="${field}"]`), field, frame[field]);
    }
  }

  for (const row of document.querySelectorAll("#provider-panel tr[data-provider-id]")) {
    for (const field of ["error_rate", "latency_ms", "quota_left"]) {
      const cell = row.querySelector(`[data-field="${field}"]`);
      showProviderValue(cell, field, cell.dataset.value);
    }
    const status = row.querySelector('[data-field="status"]').textContent;
    if (ALERT_STATES.has(status)) {
      const reason = row.querySelector('[data-field="reason"]').textContent;
      providerAlerts.set(row.dataset.providerId, `${row.dataset.providerName} is ${status}${reason ? ` (${reason})` : ""}.`);
    }
  }

  /* --- the live connection */

  const connection = live.connect({
    onStatus: (state, info) => ui.showStatus($("#connection"), state, info),
    onSnapshot(snapshot, { reason, fresh }) {
      setCounters(snapshot.counters.types || {});
      if (reason === "reconnect") {
        showFeedEvents(fresh);
        loadChart(); // the minutes we were away
      } else {
        held = [];
        feed.replace(snapshot.events);
        if (reason === "resync") loadChart(); // the live view was rebuilt after an outage
      }
    },
    onProgress(frame) {
      if (frame.kind === "provider") showProvider(frame);
    },
    onEvents(fresh, frame) {
      if (frame.counts) {
        chart.add(frame.counts.types || {});
        addCounts(frame.counts.types || {});
      }
      if (frame.dropped) showDropped(frame.dropped);
      showFeedEvents(fresh);
    },
  });

  /* --- recipient history, from PostgreSQL through the REST API */

  const results = new ui.EventTable($("#search-results table"), { campaignNames, onOpen: openDetail });
  const moreButton = $("#search-more");
  let nextPage = null;
  let searched = "";

  async function loadHistory(url, recipient) {
    $("#search-status").textContent = "Searching…";
    try {
      const page = await ui.getJSON(url);
      results.append(page.results);
      nextPage = page.next;
    } catch (error) {
      $("#search-status").textContent = `Search failed: ${error.message}`;
      return;
    }
    moreButton.hidden = !nextPage;
    $("#search-status").textContent = results.size
      ? `${results.size} events for ${recipient}${nextPage ? "; older ones below" : ""}.`
      : `No events for ${recipient}.`;
  }

  $("#search").addEventListener("submit", (submit) => {
    submit.preventDefault();
    const recipient = $("#search-recipient").value.trim();
    if (!recipient) return;
    results.clear();
    $("#search-title").textContent = `History of ${recipient}`;
    $("#search-results").hidden = false;
    $("#search-title").focus();
    searched = recipient;
    loadHistory(ui.api.events({ recipient, page_size: SEARCH_PAGE_SIZE }), recipient);
  });

  moreButton.addEventListener("click", () => loadHistory(nextPage, searched));

  $("#search-close").addEventListener("click", () => {
    $("#search-results").hidden = true;
    $("#search-recipient").focus();
  });

  /* Rates over "the last 60 s" and the chart's time axis move on even when nothing arrives. */
  setInterval(() => {
    showRates();
    chart.scheduleRedraw();
  }, TICK_MS);

  loadChart();
})();
