/* Send controls and progress on the campaign page (templates/mailer/campaign_detail.html):
 * forms with data-confirm ask first; while the campaign is sending or paused, its progress is
 * read from the REST API every POLL_INTERVAL_MS (the API always has the exact state). */
(function () {
  "use strict";

  const POLL_INTERVAL_MS = 2000;
  const ACTIVE = new Set(["sending", "paused"]);

  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }

  const card = document.getElementById("send");
  if (!card || !ACTIVE.has(card.dataset.status)) return;

  function show(campaign) {
    const { total, done, counts } = campaign.progress;
    document.getElementById("send-progress").value = done;
    document.getElementById("send-done").textContent = done;
    document.getElementById("send-total").textContent = total;
    const list = document.getElementById("send-counts");
    list.replaceChildren(
      ...Object.entries(counts).map(([status, n]) => {
        const row = document.createElement("div");
        const term = document.createElement("dt");
        const value = document.createElement("dd");
        term.textContent = status.charAt(0).toUpperCase() + status.slice(1);
        value.textContent = n;
        row.append(term, value);
        return row;
      }),
    );
  }

  async function poll() {
    try {
      const response = await fetch(card.dataset.apiUrl, { headers: { Accept: "application/json" } });
      if (response.ok) {
        const campaign = await response.json();
        show(campaign);
        // A status change brings new buttons: reload once to show them.
        if (campaign.status !== card.dataset.status) return window.location.reload();
      }
    } catch (error) {
      console.warn("Mailpulse campaign progress:", error);
    }
    window.setTimeout(poll, POLL_INTERVAL_MS);
  }

  window.setTimeout(poll, POLL_INTERVAL_MS);
})();
