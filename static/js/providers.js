/* Provider settings pages (templates/mailer/providers/): the form shows only the chosen kind's
 * credential fields; delete buttons ask first. Credential inputs are never prefilled. */
(function () {
  "use strict";

  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }

  const kind = document.querySelector('#provider-form [name="kind"]');
  if (!kind) return;

  function showKind() {
    for (const fieldset of document.querySelectorAll("fieldset.credentials")) {
      const chosen = fieldset.dataset.kind === kind.value;
      fieldset.hidden = !chosen;
      fieldset.disabled = !chosen;
    }
  }

  kind.addEventListener("change", showKind);
  showKind();
})();
