// Small progressive enhancements; every page works without them.
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
});

document.addEventListener("click", (event) => {
  const btn = event.target.closest(".reveal");
  if (btn) { btn.closest(".graphic").classList.add("revealed"); btn.remove(); }
});

// Evidence upload: drop files or paste a screenshot, with a progress bar. Size and type are checked before
// anything is sent (the limit comes from the server, data-max-bytes), and a refusal is said next to the field.
document.addEventListener("DOMContentLoaded", () => {
  const zone = document.querySelector("[data-dropzone]");
  if (!zone) return;
  const input = zone.querySelector("input[type=file]");
  const bar = zone.querySelector("progress");
  const status = zone.querySelector("[data-upload-status]");
  const limit = Number(zone.dataset.maxBytes) || 0;
  const accepted = (zone.dataset.accept || "").split(",").map((a) => a.trim().toLowerCase()).filter(Boolean);
  const size = (n) => {
    let v = n; for (const unit of ["B", "KB", "MB", "GB"]) { if (v < 1024 || unit === "GB") return unit === "B" ? `${v} B` : `${v.toFixed(1)} ${unit}`; v /= 1024; }
    return `${n} B`;
  };
  const say = (messages) => {
    status.replaceChildren(...messages.map((m) => Object.assign(document.createElement("span"), { textContent: m })));
    status.hidden = !messages.length;
    const ids = (input.getAttribute("aria-describedby") || "").split(" ").filter((id) => id && id !== status.id);
    if (messages.length) { status.id = status.id || "upload-status"; ids.push(status.id); input.setAttribute("aria-invalid", "true"); }
    else input.removeAttribute("aria-invalid");
    input.setAttribute("aria-describedby", ids.join(" "));
    if (messages.length) zone.scrollIntoView({ block: "nearest" });
  };
  const typeOk = (f) => {
    const name = (f.name || "").toLowerCase();
    const type = (f.type || "").toLowerCase();
    if (!accepted.length) return true;
    if (type && accepted.includes(type)) return true;
    return accepted.some((a) => a.startsWith(".") && name.endsWith(a));
  };
  const problems = (files) => {
    const found = [];
    const total = files.reduce((sum, f) => sum + f.size, 0);
    for (const f of files) {
      if (!typeOk(f)) found.push(`${f.name || "The pasted file"}: this type of file is not accepted${f.type ? ` (${f.type})` : ""}. Accepted: ${zone.dataset.types}.`);
    }
    if (limit && total > limit) {
      found.push(files.length > 1
        ? `These ${files.length} files are ${size(total)} together; the limit is ${zone.dataset.maxLabel} per upload. Send fewer or smaller files.`
        : `${files[0].name || "The file"} is ${size(total)}; the limit is ${zone.dataset.maxLabel} per upload.`);
    }
    return found;
  };
  const send = (list) => {
    const files = [...list];
    const found = problems(files);
    say(found);
    if (found.length || !files.length) return;
    const data = new FormData(zone);
    data.delete(input.name);
    for (const f of files) data.append(input.name, f, f.name || "pasted-screenshot.png");
    const xhr = new XMLHttpRequest();
    xhr.open("POST", zone.action);
    xhr.setRequestHeader("Accept", "application/json");
    bar.hidden = false;
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = (100 * e.loaded) / e.total; };
    xhr.onloadend = () => {
      bar.hidden = true;
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
      if (xhr.status >= 200 && xhr.status < 300) { window.location.reload(); return; }
      if (body && body.results) say(body.results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.error}`));
      else if (body && body.error) say([body.error.message]);
      else say([xhr.status ? `The upload was refused (HTTP ${xhr.status}). Nothing was saved.` : "The upload did not reach the server. Check the connection and try again."]);
    };
    xhr.send(data);
  };
  input.addEventListener("change", () => say(problems([...input.files])));
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

// Regions on screenshots: place the saved ones, and draw a new one with a mouse, a finger or a pen (pointer
// events; the image has touch-action:none so a drag draws instead of scrolling), or with the keyboard: arrow
// keys move the rectangle, Shift+arrow keys resize it, Enter saves, Escape cancels. Positions are fractions of
// the image as shown, which is the image's own size scaled: the same fractions on its natural pixels.
document.addEventListener("DOMContentLoaded", () => {
  const place = (el, img, x, y, w, h) => {
    el.style.left = `${img.offsetLeft + x * img.clientWidth}px`;
    el.style.top = `${img.offsetTop + y * img.clientHeight}px`;
    el.style.width = `${w * img.clientWidth}px`;
    el.style.height = `${h * img.clientHeight}px`;
  };
  const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
  document.querySelectorAll("figure.shot").forEach((fig) => {
    const img = fig.querySelector("img");
    const layout = () => fig.querySelectorAll(".region[data-x]").forEach((r) =>
      place(r, img, +r.dataset.x, +r.dataset.y, +r.dataset.w, +r.dataset.h));
    if (img.complete) layout(); else img.addEventListener("load", layout);
    window.addEventListener("resize", layout);
    const form = fig.dataset.draw && document.getElementById(fig.dataset.draw);
    if (!form) return;
    const hidden = () => fig.classList.contains("graphic") && !fig.classList.contains("revealed");
    // A finger or pen draws only while the region box is open: otherwise a swipe over the screenshot scrolls
    // the page as usual (touch-action:none is set on the image only then).
    const box_ = form.closest("details");
    const arm = () => fig.classList.toggle("draw-on", box_.open);
    box_.addEventListener("toggle", arm); arm();
    let start = null, box = null, sel = null, pointer = null;
    const show = () => {
      if (!sel) { if (box) { box.remove(); box = null; } return; }
      if (!box) { box = document.createElement("span"); box.className = "region drawing"; fig.appendChild(box); }
      place(box, img, sel.x, sel.y, sel.w, sel.h);
    };
    const fill = () => {
      for (const k of ["x", "y", "w", "h"]) form.querySelector(`[name=${k}]`).value = (100 * sel[k]).toFixed(2);
    };
    const rel = (e) => {
      const r = img.getBoundingClientRect();
      return [clamp((e.clientX - r.left) / r.width, 0, 1), clamp((e.clientY - r.top) / r.height, 0, 1)];
    };
    const span = (a, b) => ({ x: Math.min(a[0], b[0]), y: Math.min(a[1], b[1]), w: Math.abs(a[0] - b[0]), h: Math.abs(a[1] - b[1]) });
    img.addEventListener("pointerdown", (e) => {
      if (hidden() || (e.pointerType === "mouse" ? e.button !== 0 : !box_.open)) return;
      e.preventDefault();
      img.setPointerCapture(e.pointerId);
      pointer = e.pointerId; start = rel(e); sel = span(start, start); show();
    });
    img.addEventListener("pointermove", (e) => {
      if (e.pointerId !== pointer) return;
      sel = span(start, rel(e)); show();
    });
    const finish = (e) => {
      if (e.pointerId !== pointer) return;
      pointer = null;
      sel = span(start, rel(e)); start = null;
      if (sel.w * 100 < 0.5 || sel.h * 100 < 0.5) { sel = null; show(); return; }  // a tap, not a drag
      show(); fill();
      form.closest("details").open = true;
      form.querySelector("[name=label]").focus({ preventScroll: true });
    };
    img.addEventListener("pointerup", finish);
    img.addEventListener("pointercancel", (e) => { if (e.pointerId === pointer) { pointer = null; start = null; sel = null; show(); } });
    fig.addEventListener("keydown", (e) => {
      if (e.target !== fig || hidden()) return;
      const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
      if (e.key in moves) {
        e.preventDefault();
        if (!sel) sel = { x: 0.4, y: 0.4, w: 0.2, h: 0.2 };
        const [dx, dy] = moves[e.key].map((v) => v * (e.altKey ? 0.001 : 0.01));
        if (e.shiftKey) {
          sel.w = clamp(sel.w + dx, 0.005, 1 - sel.x); sel.h = clamp(sel.h + dy, 0.005, 1 - sel.y);
        } else {
          sel.x = clamp(sel.x + dx, 0, 1 - sel.w); sel.y = clamp(sel.y + dy, 0, 1 - sel.h);
        }
        show(); fill();
        form.closest("details").open = true;
      } else if (e.key === "Enter" && sel) {
        e.preventDefault(); fill(); form.requestSubmit();
      } else if (e.key === "Escape" && sel) {
        e.preventDefault(); sel = null; show();
      }
    });
  });
});

// The clause picker: type words of the rule; a list of the clauses with all of them (in platform, policy,
// heading or summary), the post's own platform first. Arrow keys and Enter choose, Escape closes. Without
// script the field keeps its <datalist>, and the server accepts the same words.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("input[data-clause-picker]").forEach((input) => {
    const source = document.getElementById(input.dataset.clausePicker);
    if (!source) return;
    const clauses = [...source.options].map((o) => ({
      key: o.value, path: o.textContent, summary: o.dataset.summary || "", heading: (o.dataset.heading || "").toLowerCase(),
      own: o.dataset.own === "1",
      text: [o.dataset.platform, o.dataset.policy, o.dataset.heading, o.dataset.summary, o.value.replace(/_/g, " ")].join(" ").toLowerCase(),
    }));
    const list = document.createElement("ul");
    list.id = `${input.id}-options`; list.className = "picker"; list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Matching clauses"); list.hidden = true;
    const count = document.createElement("p");
    count.className = "hint"; count.setAttribute("aria-live", "polite"); count.id = `${input.id}-count`;
    input.after(list, count);
    input.removeAttribute("list");
    input.setAttribute("role", "combobox"); input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false"); input.setAttribute("aria-controls", list.id);
    let shown = [], active = -1;
    const words = () => input.value.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);
    const close = () => { list.hidden = true; input.setAttribute("aria-expanded", "false"); input.removeAttribute("aria-activedescendant"); active = -1; };
    const mark = (i) => {
      active = i;
      [...list.children].forEach((li, n) => li.setAttribute("aria-selected", String(n === i)));
      if (i >= 0) { input.setAttribute("aria-activedescendant", list.children[i].id); list.children[i].scrollIntoView({ block: "nearest" }); }
      else input.removeAttribute("aria-activedescendant");
    };
    const choose = (c) => { input.value = c.key; count.textContent = `Chosen: ${c.path}`; close(); };
    const render = () => {
      const w = words();
      if (!w.length) { close(); count.textContent = ""; return; }
      const found = clauses.filter((c) => w.every((x) => c.text.includes(x)));
      // the post's own platform first; within it, clauses whose heading has the words first
      found.sort((a, b) => (b.own - a.own) || (w.every((x) => b.heading.includes(x)) - w.every((x) => a.heading.includes(x))));
      shown = found.slice(0, 40);
      list.replaceChildren(...shown.map((c, i) => {
        const li = document.createElement("li");
        li.id = `${list.id}-${i}`; li.setAttribute("role", "option"); li.setAttribute("aria-selected", "false");
        const head = document.createElement("strong"); head.textContent = c.path;
        const sum = document.createElement("small"); sum.textContent = c.summary;
        li.append(head, sum);
        li.addEventListener("mousedown", (e) => { e.preventDefault(); choose(c); });
        return li;
      }));
      count.textContent = found.length
        ? `${found.length} clause${found.length === 1 ? "" : "s"} match${found.length === 1 ? "es" : ""}${found.length > shown.length ? `; the first ${shown.length} are listed, add a word` : ""}.`
        : "No clause of this post's platform or a legal ground has all these words.";
      list.hidden = !shown.length;
      input.setAttribute("aria-expanded", String(!list.hidden));
      mark(-1);
    };
    input.addEventListener("input", render);
    input.addEventListener("blur", () => setTimeout(close, 100));
    input.addEventListener("keydown", (e) => {
      if (list.hidden) { if (e.key === "ArrowDown" && input.value) { render(); e.preventDefault(); } return; }
      if (e.key === "ArrowDown") { e.preventDefault(); mark(Math.min(shown.length - 1, active + 1)); }
      else if (e.key === "ArrowUp") { e.preventDefault(); mark(Math.max(-1, active - 1)); }
      else if (e.key === "Enter" && active >= 0) { e.preventDefault(); choose(shown[active]); }
      else if (e.key === "Escape") { e.preventDefault(); close(); }
    });
  });
});

// Filters of a long list: folded on a small screen unless some are set, so the entries come first.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("details[data-fold-small]").forEach((box) => {
    if (window.matchMedia("(max-width: 760px)").matches && !box.hasAttribute("data-active")) box.open = false;
  });
});

// A page sent back with an error opens at the field. Its form's address ends in #section (without script the
// page opens there), and browsers skip autofocus on a page opened at a #fragment and focus the fragment's
// target once loaded: focus the field after that, with its label in view.
window.addEventListener("load", () => setTimeout(() => {
  const field = document.querySelector("[autofocus]");
  if (!field || document.activeElement === field) return;
  field.focus({ preventScroll: true });
  (field.closest(".field") || field).scrollIntoView({ block: "center" });
}, 0));

// The language field fills itself from the original text (services/language.py) while it is empty or still
// holds the last guess; what a person typed in it is never replaced.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("input[data-guess-url]").forEach((field) => {
    const form = field.form;
    const text = form && form.elements.namedItem("text");
    const token = form && form.elements.namedItem("csrf_token");
    if (!text) return;
    let guessed = "", timer = null;
    const guess = async () => {
      if (field.value.trim() && field.value !== guessed) return;
      const body = new FormData();
      body.append("text", text.value.slice(0, 50000));
      if (token) body.append("csrf_token", token.value);
      try {
        const resp = await fetch(field.dataset.guessUrl, { method: "POST", body, headers: { Accept: "application/json" } });
        if (!resp.ok) return;
        const { language } = await resp.json();
        if (field.value.trim() && field.value !== guessed) return;  // typed meanwhile
        field.value = guessed = language || "";
      } catch (e) { /* offline: the server guesses on save */ }
    };
    text.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(guess, 600); });
  });
});

// Copy buttons (the filing assistant): the text of the field named by data-copy, to the clipboard.
document.addEventListener("click", (e) => {
  const button = e.target.closest("button[data-copy]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copy);
  if (!field) return;
  const done = () => { button.textContent = "Copied"; setTimeout(() => { button.textContent = "Copy"; }, 1500); };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(field.value).then(done, () => { field.select(); });
  } else {
    field.select();
    document.execCommand("copy");
    done();
  }
});
