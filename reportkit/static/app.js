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
    const inField = e.target instanceof Element && e.target.closest("textarea, input");
    if (files.length && !inField) { e.preventDefault(); send(files); }
  });
});

// A background job's page: follow its progress until it is done, failed or interrupted.
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
    if (job.status === "failed" || job.status === "interrupted") { window.location.reload(); return; }
    setTimeout(tick, 1000);
  };
  if (box.querySelector("[data-done]").hidden && box.querySelector("[data-error]").hidden) setTimeout(tick, 700);
});

// Regions on screenshots: place the saved ones, and draw a new one by dragging on the image.
document.addEventListener("DOMContentLoaded", () => {
  const place = (el, img, x, y, w, h) => {
    el.style.left = `${img.offsetLeft + x * img.clientWidth}px`;
    el.style.top = `${img.offsetTop + y * img.clientHeight}px`;
    el.style.width = `${w * img.clientWidth}px`;
    el.style.height = `${h * img.clientHeight}px`;
  };
  document.querySelectorAll("figure.shot").forEach((fig) => {
    const img = fig.querySelector("img");
    const layout = () => fig.querySelectorAll(".region[data-x]").forEach((r) =>
      place(r, img, +r.dataset.x, +r.dataset.y, +r.dataset.w, +r.dataset.h));
    if (img.complete) layout(); else img.addEventListener("load", layout);
    window.addEventListener("resize", layout);
    const form = fig.dataset.draw && document.getElementById(fig.dataset.draw);
    if (!form) return;
    let start = null, box = null;
    const rel = (e) => {
      const r = img.getBoundingClientRect();
      return [Math.min(1, Math.max(0, (e.clientX - r.left) / r.width)), Math.min(1, Math.max(0, (e.clientY - r.top) / r.height))];
    };
    img.addEventListener("pointerdown", (e) => {
      if (fig.classList.contains("graphic") && !fig.classList.contains("revealed")) return;
      e.preventDefault(); start = rel(e);
      box = document.createElement("span"); box.className = "region drawing"; fig.appendChild(box);
    });
    img.addEventListener("pointermove", (e) => {
      if (!start) return;
      const [x, y] = rel(e);
      place(box, img, Math.min(x, start[0]), Math.min(y, start[1]), Math.abs(x - start[0]), Math.abs(y - start[1]));
    });
    const finish = (e) => {
      if (!start) return;
      const [x, y] = rel(e);
      const values = { x: Math.min(x, start[0]), y: Math.min(y, start[1]), w: Math.abs(x - start[0]), h: Math.abs(y - start[1]) };
      for (const [k, v] of Object.entries(values)) form.querySelector(`[name=${k}]`).value = (100 * v).toFixed(2);
      form.closest("details").open = true;
      form.querySelector("[name=label]").focus();
      start = null;
    };
    img.addEventListener("pointerup", finish);
    img.addEventListener("pointerleave", finish);
  });
});
