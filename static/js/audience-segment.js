/* The segment editor's live count: whenever a rule changes, ask the API how many subscribers
 * the unsaved rules match (debounced; an answer to an older question is ignored). */
(function () {
  "use strict";

  const DEBOUNCE_MS = 300;
  const form = document.getElementById("segment-form");
  const output = document.getElementById("segment-count");
  // Viewers see the saved count; their (disabled) form has nothing to preview.
  if (!form || !output || form.querySelector("fieldset:disabled")) return;

  let timer = null;
  let asked = 0;

  function attributes(text) {
    const result = {};
    for (const line of text.split("\n")) {
      const at = line.indexOf("=");
      if (at > 0) result[line.slice(0, at).trim()] = line.slice(at + 1).trim();
    }
    return result;
  }

  function rules() {
    const data = new FormData(form);
    const days = (name) => (data.get(name) ? Number(data.get(name)) : null);
    return {
      lists: data.getAll("lists").map(Number),
      status: data.getAll("status"),
      attributes: attributes(String(data.get("attributes") || "")),
      opened_within_days: days("opened_within_days"),
      clicked_within_days: days("clicked_within_days"),
    };
  }

  async function refresh() {
    const question = ++asked;
    output.textContent = "…";
    const response = await fetch(form.dataset.previewUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "X-CSRFToken": form.querySelector("[name=csrfmiddlewaretoken]").value,
      },
      body: JSON.stringify(rules()),
    });
    if (question !== asked) return;
    const body = await response.json();
    output.textContent = response.ok ? body.count : "rules incomplete";
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(refresh, DEBOUNCE_MS);
  }

  form.addEventListener("input", later);
  form.addEventListener("change", later);
  refresh();
})();
