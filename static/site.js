// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // The language switcher submits on change; its button stays for keyboard and no-JS users.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // Live word counter for long answers.
  document.querySelectorAll("textarea[data-word-limit]").forEach(function (area) {
    var limit = parseInt(area.getAttribute("data-word-limit"), 10);
    var counter = document.getElementById(area.id + "-counter");
    if (!counter) { return; }
    var update = function () {
      var text = area.value.trim();
      var words = text ? text.split(/\s+/).length : 0;
      counter.textContent = words + " / " + limit;
      counter.classList.toggle("over", words > limit);
    };
    area.addEventListener("input", update);
    update();
  });

  // A form marked data-once is sent once: a double click does not send it twice
  // (the server is idempotent anyway, through the submit key).
  document.querySelectorAll("form[data-once]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.sent) { event.preventDefault(); return; }
      form.dataset.sent = "1";
      form.querySelectorAll("button[type=submit]").forEach(function (button) {
        button.setAttribute("aria-disabled", "true");
      });
    });
  });

  // Irreversible actions ask first.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });

  // Deadlines are also shown in the visitor's own time zone.
  document.querySelectorAll("time[data-local-time]").forEach(function (element) {
    var when = new Date(element.getAttribute("datetime"));
    if (isNaN(when.getTime())) { return; }
    var note = document.createElement("span");
    note.className = "hint local-time";
    note.textContent = " (" + when.toLocaleString(document.documentElement.lang, {
      dateStyle: "medium", timeStyle: "short"
    }) + ", " + Intl.DateTimeFormat().resolvedOptions().timeZone + ")";
    element.after(note);
  });

  // After a failed submit, move the focus to the list of problems (screen readers read it).
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
})();
