// What the popup and the options page share: the settings, the one way to call reportkit, and SHA-256.
// Every request goes only to the reportkit address the person set, with the API token and nothing else:
// `credentials: "omit"` keeps the browser's cookies (reportkit's or any site's) out of it.
export const ext = globalThis.browser ?? globalThis.chrome;

export async function settings() {
  const {address = "", token = ""} = await ext.storage.local.get(["address", "token"]);
  return {address, token};
}

// "https://reportkit.example.org/team/" -> "https://reportkit.example.org/team"; refuses what is no http(s) address.
export function cleanAddress(raw) {
  let url;
  try {
    url = new URL(String(raw).trim());
  } catch (err) {
    throw new Error("That is not a web address (it starts with https://).");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new Error("Only http and https addresses.");
  if (url.username || url.password) throw new Error("Leave the user name and password out of the address.");
  if (url.search || url.hash) throw new Error("Give the address without ? or # parts.");
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

export function originPattern(address) {
  return `${new URL(address).origin}/*`;
}

export async function hasAccess(address) {
  return ext.permissions.contains({origins: [originPattern(address)]});
}

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `reportkit answered ${status}.`);
    this.status = status;
    this.code = error.code;
    this.fields = error.fields || {};
  }
}

// One API v1 call. `body`: an object (sent as JSON) or FormData (multipart).
export async function call({address, token}, method, path, body) {
  const headers = {Authorization: `Bearer ${token}`, Accept: "application/json"};
  const init = {method, headers, credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer",
                redirect: "error"};
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(`${address}/api/v1${path}`, init);
  } catch (err) {
    throw new ApiError(0, {error: {message: `reportkit at ${address} could not be reached (${err.message}).`}});
  }
  const data = await resp.json().catch(() => null);
  if (!resp.ok) throw new ApiError(resp.status, data);
  return data;
}

export async function sha256Hex(bytes) {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
