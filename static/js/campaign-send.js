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

  const COST_INTERVAL_MS = 30000;
  const card = document.getElementById("send");
  let noticesShown = false;
  if (card?.dataset.costUrl) {
    showCost();
    // The quota left moves as other campaigns send: keep the line current.
    if (document.getElementById("send-cost")) window.setInterval(showCost, COST_INTERVAL_MS);
  }
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

  /* Quotas before sending: the campaign's cost in messages against the daily quota left
   * across providers (GET cost/); a send over the quota asks for a second, plainer
   * confirmation. Setup notices (no provider, no From address) go to the banners. */
  async function showCost() {
    const line = document.getElementById("send-cost");
    let quota;
    try {
      const response = await fetch(card.dataset.costUrl, { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      quota = await response.json();
    } catch (error) {
      console.warn("Mailpulse campaign cost:", error);
      return;
    }
    const banners = document.getElementById("banners");
    for (const notice of noticesShown ? [] : quota.notices || []) {
      const banner = document.createElement("p");
      banner.className = "banner warn";
      banner.textContent = notice;
      banners?.append(banner);
    }
    noticesShown = true;
    if (!line) return;
    const format = (n) => new Intl.NumberFormat().format(n);
    const left = quota.quota_left === null ? "no daily quota" : `${format(quota.quota_left)} left today across providers`;
    line.textContent = `Sending now costs ${format(quota.cost)} message${quota.cost === 1 ? "" : "s"}; ${left}.`;
    line.classList.toggle("over-quota", quota.exceeds_quota);
    line.hidden = false;
    const sendForm = document.querySelector('form[action$="/send/"]');
    if (sendForm) {
      sendForm.dataset.defaultConfirm ??= sendForm.dataset.confirm;
      sendForm.dataset.confirm = sendForm.dataset.defaultConfirm;
      if (quota.exceeds_quota) {
        sendForm.dataset.confirm =
          `This campaign costs ${format(quota.cost)} messages but only ${format(quota.quota_left)} ` +
          "are left today across providers: the rest will not go out until the quotas reset. Send anyway?";
      }
    }
  }
})();
