import {call, cleanAddress, ext, hasAccess, originPattern, settings} from "./lib.js";

const form = document.getElementById("settings");
const status = document.getElementById("status");

function fieldError(name, message) {
  const el = document.getElementById(`${name}-error`);
  el.textContent = message || "";
  el.hidden = !message;
  document.getElementById(name).setAttribute("aria-invalid", message ? "true" : "false");
}

async function show() {
  const current = await settings();
  form.address.value = current.address;
  form.token.value = current.token;
  if (current.address) {
    status.textContent = (await hasAccess(current.address))
      ? `Saved for ${current.address}.`
      : `The extension may not yet talk to ${current.address}: press Save to allow it.`;
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  fieldError("address", "");
  fieldError("token", "");
  let address;
  try {
    address = cleanAddress(form.address.value);
  } catch (err) {
    fieldError("address", err.message);
    return;
  }
  const token = form.token.value.trim();
  if (!token) {
    fieldError("token", "Paste an API token from reportkit's Settings.");
    return;
  }
  // Asked while the click still counts as the person's gesture: this one address, nothing broader.
  const granted = await ext.permissions.request({origins: [originPattern(address)]});
  if (!granted) {
    fieldError("address", "Without this permission the extension cannot send anything to reportkit.");
    return;
  }
  await ext.storage.local.set({address, token});
  status.textContent = `Saved. Checking ${address}…`;
  try {
    const {cases} = await call({address, token}, "GET", "/cases");
    status.textContent = `Connected to ${address}: ${cases.length} case${cases.length === 1 ? "" : "s"} you can see.`;
  } catch (err) {
    status.textContent = `Saved, but reportkit said: ${err.message}`;
  }
});

show();
