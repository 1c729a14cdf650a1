/* The editor's preview pane (templates/mailer/campaign_edit.html): renders the saved campaign
 * for the chosen subscriber through GET /api/campaigns/<id>/preview/ into a sandboxed iframe
 * (no scripts, no same-origin access). */
(function () {
  "use strict";

  const pane = document.getElementById("preview");
  if (!pane) return;
  const picker = document.getElementById("preview-subscriber");
  const problem = document.getElementById("preview-error");

  async function render() {
    const url = new URL(pane.dataset.previewUrl, window.location.href);
    if (picker.value) url.searchParams.set("subscriber", picker.value);
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      const body = await response.json();
      if (!response.ok) throw new Error(body.detail || response.statusText);
      document.getElementById("preview-subject").textContent = body.subject;
      document.getElementById("preview-html").srcdoc = body.html;
      document.getElementById("preview-text").textContent = body.text;
      problem.hidden = true;
    } catch (error) {
      problem.textContent = `Preview not available: ${error.message}`;
      problem.hidden = false;
    }
  }

  picker.addEventListener("change", render);
  render();
})();
