// Small progressive enhancements; every page works without them.
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
});

document.addEventListener("click", (event) => {
  const btn = event.target.closest(".reveal");
  if (btn) { btn.closest(".graphic").classList.add("revealed"); btn.remove(); }
});

// Evidence upload: drop files or paste a screenshot, with a progress bar.
document.addEventListener("DOMContentLoaded", () => {
  const zone = document.querySelector("[data-dropzone]");
  if (!zone) return;
  const input = zone.querySelector("input[type=file]");
  const bar = zone.querySelector("progress");
  const send = (files) => {
    const data = new FormData(zone);
    data.delete(input.name);
    for (const f of files) data.append(input.name, f, f.name || "pasted-screenshot.png");
    const xhr = new XMLHttpRequest();
    xhr.open("POST", zone.action);
    xhr.setRequestHeader("Accept", "application/json");
    bar.hidden = false;
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = (100 * e.loaded) / e.total; };
    xhr.onloadend = () => { window.location.reload(); };
    xhr.send(data);
  };
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => { e.preventDefault(); zone.classList.remove("over"); send(e.dataTransfer.files); });
  zone.addEventListener("submit", (e) => { if (input.files.length) { e.preventDefault(); send(input.files); } });
  document.addEventListener("paste", (e) => {
    const files = [...(e.clipboardData?.files || [])].filter((f) => f.type.startsWith("image/"));
    if (files.length && !e.target.closest("textarea, input")) { e.preventDefault(); send(files); }
  });
});

// A background job's page: follow its progress until it is done or failed.
document.addEventListener("DOMContentLoaded", () => {
  const box = document.querySelector("[data-job]");
  if (!box) return;
  const tick = async () => {
    const resp = await fetch(box.dataset.job, { headers: { Accept: "application/json" } });
    if (!resp.ok) return;
    const job = await resp.json();
    box.querySelector("progress").value = job.progress;
    box.querySelector("[data-percent]").textContent = `${job.progress}%`;
    box.querySelector("[data-stage]").textContent = job.stage;
    if (job.status === "done") { window.location.reload(); return; }
    if (job.status === "failed") { window.location.reload(); return; }
    setTimeout(tick, 1000);
  };
  if (box.querySelector("[data-done]").hidden && box.querySelector("[data-error]").hidden) setTimeout(tick, 700);
});
