// The popup: pick a case, see the post as reportkit will keep it, then (on the button, never before) capture the
// tab and send it. Aimed at the active tab of this window, or at ?tab=<id> when opened as its own window.
import {ApiError, call, ext, hasAccess, settings, sha256Hex} from "./lib.js";

const $ = (id) => document.getElementById(id);
const form = $("capture");
const state = {config: null, tab: null, lookup: null, policies: null};

function say(message) { $("status").textContent = message || ""; }

function show(id, on) { $(id).hidden = !on; }

async function targetTab() {
  const wanted = new URLSearchParams(location.search).get("tab");
  if (wanted) return ext.tabs.get(Number(wanted));
  const [tab] = await ext.tabs.query({active: true, currentWindow: true});
  return tab;
}

async function selectedText(tab) {
  try {  // the selection as it is now (activeTab allows reading the tab the person invoked us on)
    const [{result}] = await ext.scripting.executeScript({target: {tabId: tab.id},
                                                        func: () => String(window.getSelection() || "")});
    if (result && result.trim()) return result.trim();
  } catch (err) {
    // a page the browser does not let extensions read (the web store, a PDF viewer): fall back below
  }
  const key = `selection:${tab.id}`;
  const stored = await ext.storage.session.get(key);
  return (stored[key] || "").trim();
}

function setup(message) {
  $("setup-message").textContent = message;
  show("setup", true);
  show("capture", false);
}

async function start() {
  $("open-options").addEventListener("click", () => ext.runtime.openOptionsPage());
  state.config = await settings();
  if (!state.config.address || !state.config.token) {
    setup("Set your reportkit address and API token first.");
    return;
  }
  if (!(await hasAccess(state.config.address))) {
    setup(`The extension may not talk to ${state.config.address} yet: allow it in the options.`);
    return;
  }
  state.tab = await targetTab();
  if (!state.tab || !/^https?:/.test(state.tab.url || "")) {
    setup("Open the post in this window's tab first (a web page, not a browser page).");
    $("open-options").hidden = true;
    return;
  }
  show("capture", true);
  say("Loading your cases…");
  let cases;
  try {
    [{cases}, state.policies] = await Promise.all([call(state.config, "GET", "/cases"),
                                                   call(state.config, "GET", "/policies")]);
  } catch (err) {
    say(err.message);
    $("go").disabled = true;
    return;
  }
  const usable = cases.filter((c) => !c.two_factor_required && ["owner", "editor", "editor-reviewer"].includes(c.role));
  if (!usable.length) {
    say("You are not an editor of any case: ask a case owner to add you.");
    $("go").disabled = true;
    return;
  }
  const { lastCase } = await ext.storage.local.get("lastCase");
  for (const c of usable) $("case").append(new Option(`${c.title} (#${c.id})`, String(c.id), false, c.id === lastCase));
  $("text").value = await selectedText(state.tab);
  $("case").addEventListener("change", () => { ext.storage.local.set({lastCase: Number($("case").value)}); lookup(); });
  $("clause").addEventListener("change", () => show("rationale-field", Boolean($("clause").value)));
  $("text").addEventListener("change", lookup);  // a new language guess for the text as corrected
  say("");
  await lookup();
}

async function lookup() {
  const params = new URLSearchParams({url: state.tab.url});
  const text = $("text").value.trim();
  // 200 characters tell the language (reportkit reads no more) and keep the request line short: Persian text is
  // six bytes a character once encoded, and servers refuse request lines over about 4 KB
  if (text) params.set("text", text.slice(0, 200));
  $("go").disabled = true;
  try {
    state.lookup = await call(state.config, "GET", `/cases/${$("case").value}/lookup?${params}`);
  } catch (err) {
    say(err.message);
    return;
  }
  const found = state.lookup;
  $("canonical").textContent = found.canonical_url;
  $("platform").textContent = [found.platform_label, found.handle && `@${found.handle}`, found.post_id && `post ${found.post_id}`]
    .filter(Boolean).join(" · ");
  $("language").textContent = found.language ? `Language: ${found.language} (guessed by reportkit; you can change it on the entry)` : "";
  show("existing", Boolean(found.entry));
  show("new-entry-fields", !found.entry);
  if (found.entry) {
    $("existing").textContent = `Already entry #${found.entry.number} of this case: the capture will be added to it as evidence.`;
  }
  show("refused", !found.accepted && !found.entry);
  $("refused").textContent = found.accepted ? "" : `reportkit will not take this address: ${found.problem}.`;
  fillClauses(found.platform);
  $("go").disabled = !found.accepted && !found.entry;
}

function fillClauses(platform) {
  const select = $("clause");
  const keep = select.value;
  select.replaceChildren(new Option("— none now", ""));
  const platforms = state.policies.platforms.filter((p) => p.key === platform);
  for (const p of platforms.length ? platforms : state.policies.platforms) {
    for (const policy of p.policies) {
      const group = document.createElement("optgroup");
      group.label = `${p.name}: ${policy.title}`;
      for (const c of policy.clauses) group.append(new Option(c.heading, c.key, false, c.key === keep));
      select.append(group);
    }
  }
}

function bytesOfDataUrl(dataUrl) {
  const binary = atob(dataUrl.slice(dataUrl.indexOf(",") + 1));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

// The files, each with the SHA-256 computed here before anything leaves the browser.
async function captureFiles(tab, stamp) {
  const base = `${state.lookup.platform}-${state.lookup.post_id || "page"}-${stamp.replace(/[:.]/g, "-")}`;
  const png = bytesOfDataUrl(await ext.tabs.captureVisibleTab(tab.windowId, {format: "png"}));
  const files = [{name: `${base}.png`, kind: "screenshot", type: "image/png", bytes: png}];
  if (ext.pageCapture && ext.pageCapture.saveAsMHTML) {  // Chromium
    const mhtml = await ext.pageCapture.saveAsMHTML({tabId: tab.id});
    files.push({name: `${base}.mhtml`, kind: "page", type: "multipart/related",
                bytes: new Uint8Array(await mhtml.arrayBuffer())});
  } else {  // Firefox has no MHTML: the page's HTML as it is now (no images or styles inside)
    const [{result}] = await ext.scripting.executeScript({target: {tabId: tab.id},
      func: () => `<!DOCTYPE html>\n${document.documentElement.outerHTML}`});
    files.push({name: `${base}.html`, kind: "page", type: "text/html", bytes: new TextEncoder().encode(result)});
  }
  for (const f of files) f.sha256 = await sha256Hex(f.bytes);
  return files;
}

function problemsOf(err) {
  const lines = Object.entries(err.fields || {}).filter(([, v]) => Array.isArray(v)).map(([k, v]) => `${k}: ${v.join(" ")}`);
  return lines.length ? `${err.message} (${lines.join("; ")})` : err.message;
}

async function send(event) {
  event.preventDefault();
  if ($("clause").value && !$("rationale").value.trim()) {
    $("rationale").setAttribute("aria-invalid", "true");
    say("Say why the post breaks the clause, or choose no clause.");
    return;
  }
  $("go").disabled = true;
  const tab = await ext.tabs.get(state.tab.id);  // as it is now: the person may have navigated or switched tabs
  if (!(await stillThePost(tab))) return;
  const capturedAt = new Date().toISOString();
  say("Capturing…");
  let files;
  try {
    files = await captureFiles(tab, capturedAt);
  } catch (err) {
    say(`The browser did not let the page be captured: ${err.message}`);
    $("go").disabled = false;
    return;
  }
  if (!(await stillThePost(await ext.tabs.get(tab.id)))) return;  // the screenshot is of the front tab: check again
  say("Sending…");
  const caseId = $("case").value;
  let entry = state.lookup.entry;
  let created = false;
  try {
    if (!entry) {
      // the canonical address, not the tab's: share parameters (X's t=, s=) can name who shared the link
      const body = {url: state.lookup.canonical_url, text: $("text").value, notes: notesWith(tab, capturedAt),
                    capture_method: "browser_extension", captured_at: capturedAt,
                    violations: $("clause").value ? [{clause: $("clause").value, rationale: $("rationale").value}] : []};
      if ($("logged_in_as").value.trim()) body.logged_in_as = $("logged_in_as").value.trim();
      try {
        entry = await call(state.config, "POST", `/cases/${caseId}/entries`, body);
        created = true;
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 409 && err.fields.existing_entry_id)) throw err;
        entry = await call(state.config, "GET", `/entries/${err.fields.existing_entry_id}`);  // added meanwhile
      }
    }
    const sent = [];
    let problem = "";
    for (const f of files) {
      const data = new FormData();
      data.append("file", new Blob([f.bytes], {type: f.type}), f.name);
      data.append("kind", f.kind);
      data.append("sha256", f.sha256);
      try {
        sent.push({...f, stored: await call(state.config, "POST", `/entries/${entry.id}/evidence`, data)});
      } catch (err) {
        problem = `${f.name} was not stored: ${problemsOf(err)}`;
        break;
      }
    }
    if (!created && sent.length) {
      try {
        await call(state.config, "POST", `/entries/${entry.id}/annotations`,
                   {body: `Captured with the browser extension at ${capturedAt}: “${tab.title}”. Files: `
                          + sent.map((f) => `${f.name} (SHA-256 ${f.sha256})`).join(", ")});
      } catch (err) {
        problem = [problem, `The comment naming the page title was not added: ${problemsOf(err)}`].join(" ").trim();
      }
    }
    result(entry, created, sent, problem);
  } catch (err) {
    say(`Not sent: ${problemsOf(err)}`);
    $("go").disabled = false;
  }
}

// captureVisibleTab photographs the front tab of the window: it must still be the post the popup was opened on.
async function stillThePost(tab) {
  const problem = tab.url !== state.tab.url ? "The tab shows another page now: open the popup again on the post."
    : !tab.active ? "The post's tab is not the one in front: bring it to the front and press the button again." : "";
  if (problem) {
    say(problem);
    $("go").disabled = false;
  }
  return !problem;
}

function notesWith(tab, capturedAt) {
  const line = `Captured with the browser extension at ${capturedAt}; page title: “${tab.title}”.`;
  const typed = $("notes").value.trim();
  return typed ? `${typed}\n\n${line}` : line;
}

function result(entry, created, sent, problem) {
  say(problem ? `${problem} Press the button again to capture anew: it goes to entry #${entry.number}.` : "");
  if (problem) {  // the entry stays; what is missing can be captured again into it
    state.lookup.entry = {id: entry.id, number: entry.number};
    $("existing").textContent = `Entry #${entry.number} of this case: a new capture will be added to it as evidence.`;
    show("existing", true);
    show("new-entry-fields", false);
    $("go").disabled = false;
  } else {
    show("capture", false);
  }
  const box = $("result");
  box.replaceChildren();
  const head = document.createElement("p");
  const caseName = $("case").selectedOptions[0].textContent;
  head.textContent = created ? `Entry #${entry.number} created in ${caseName}: ${sent.length} files added.`
                             : `Already entry #${entry.number} in ${caseName}: evidence added (${sent.length} files).`;
  const link = document.createElement("a");
  link.href = `${state.config.address}/entries/${entry.id}`;
  link.target = "_blank";
  link.rel = "noopener noreferrer";
  link.textContent = `Open entry #${entry.number} in reportkit`;
  const list = document.createElement("ul");
  for (const f of sent) {
    const item = document.createElement("li");
    const code = document.createElement("code");
    code.textContent = f.sha256;
    item.append(`${f.name}: checked by reportkit, SHA-256 `, code);
    list.append(item);
  }
  box.append(head, link, list);
  box.hidden = false;
}

form.addEventListener("submit", send);
start().catch((err) => say(err.message));
