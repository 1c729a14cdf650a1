/* An import's progress page: the websocket's `progress` frames move the bar at once, and
 * polling the REST API (the exact state) keeps it right if frames are missed. When the import
 * has finished, the page reloads to show the result and its bad rows. */
(function () {
  "use strict";

  const POLL_INTERVAL_MS = 1500;
  const FINISHED = ["done", "failed"];
  const section = document.getElementById("import-status");
  if (!section || FINISHED.includes(section.dataset.status)) return;

  const importId = Number(section.dataset.importId);
  const bar = document.getElementById("import-progress");
  const field = (name) => section.querySelector(`[data-field="${name}"]`);

  function show(state) {
    bar.max = Math.max(state.total_rows, 1);
    bar.value = state.processed_rows;
    bar.textContent = `${state.processed_rows} of ${state.total_rows}`;
    for (const name of ["processed_rows", "created_count", "updated_count", "error_count"]) {
      field(name).textContent = state[name];
    }
    field("status").textContent = state.status;
    if (FINISHED.includes(state.status)) location.reload();
  }

  async function poll() {
    try {
      const response = await fetch(section.dataset.apiUrl, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (response.ok) show(await response.json());
    } finally {
      setTimeout(poll, POLL_INTERVAL_MS);
    }
  }

  Mailpulse.live.connect({
    onProgress(frame) {
      if (frame.kind !== "import" || frame.id !== importId) return;
      show({
        status: frame.status,
        total_rows: frame.total,
        processed_rows: frame.done,
        created_count: frame.created,
        updated_count: frame.updated,
        error_count: frame.errors,
      });
    },
  });
  poll();
})();
