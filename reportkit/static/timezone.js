// Registration: the browser's time zone (an IANA name such as "Asia/Tehran") into the hidden field, and said.
(function () {
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
  if (!zone) { return; }
  document.querySelectorAll('input[name="time_zone"]').forEach(function (field) { field.value = zone; });
  var note = document.getElementById("time-zone-note");
  if (note) {
    note.querySelectorAll("[data-time-zone-name]").forEach(function (el) { el.textContent = zone; });
    note.hidden = false;
  }
})();
