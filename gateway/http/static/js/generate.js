// The Generate API Key dialog: the form, then the new key shown once with Copy, a curl example of the
// documented search and "Test key". Closing the dialog (Close or Esc) removes the key from the page.

import { ApiError, api, current } from "./api.js";
import { $, copyText, plural } from "./dom.js";

const DAY_MS = 24 * 60 * 60 * 1000;
const FIELDS = ["name", "description", "expiration"];
const DOCUMENTED_SEARCH = {
  query: {
    sort: [{ "datasource_id.keyword": { order: "desc" } }],
    size: 10,
    track_total_hits: true,
    query: { match_all: {} },
  },
};
let createdKey = null;
let onCreated = () => {};

function inDays(days) {
  // Dates are UTC days, as the gateway reads them (a key is valid through the end of its date).
  return new Date(Date.now() + days * DAY_MS).toISOString().slice(0, 10);
}

function input(field) {
  return $(`key-${field}`);
}

function setError(field, text) {
  $(`key-${field}-error`).textContent = text;
  if (text) input(field).setAttribute("aria-invalid", "true");
  else input(field).removeAttribute("aria-invalid");
}

function showErrors(error) {
  const byField = {};
  for (const detail of error.details || []) {
    const field = (detail.location || []).find((part) => FIELDS.includes(part));
    if (field) byField[field] = detail.message;
  }
  if (!Object.keys(byField).length) {
    const field = FIELDS.find((name) => error.message.toLowerCase().startsWith(name));
    if (field) byField[field] = error.message;
    else $("generate-error").textContent = error.message;
  }
  for (const [field, message] of Object.entries(byField)) setError(field, message);
  const first = FIELDS.find((field) => byField[field]);
  if (first) input(first).focus();
}

export function openGenerate() {
  $("generate-form").reset();
  for (const field of FIELDS) setError(field, "");
  $("generate-error").textContent = "";
  input("expiration").min = inDays(1);
  input("expiration").value = inDays(30);
  $("generate-form").hidden = false;
  $("created-view").hidden = true;
  $("generate-dialog").showModal();
  input("name").focus();
}

function curlExample(key, tenantId) {
  return [
    // --insecure: `make run` serves a self-signed certificate
    `curl${location.protocol === "https:" ? " --insecure" : ""} '${location.origin}/jas/datasource/search' \\`,
    `  -H 'x-tenant-id: ${tenantId}' \\`,
    `  -H 'authorization: ${key}' \\`,
    "  -H 'content-type: application/json' \\",
    `  --data-raw '${JSON.stringify(DOCUMENTED_SEARCH)}'`,
  ].join("\n");
}

async function create(event) {
  event.preventDefault();
  for (const field of FIELDS) setError(field, "");
  $("generate-error").textContent = "";
  const body = Object.fromEntries(FIELDS.map((field) => [field, input(field).value]));
  const dialog = $("generate-dialog");
  try {
    createdKey = (await api("/api/admin/createApiToken", { method: "POST", body })).token;
  } catch (error) {
    if (error instanceof ApiError) showErrors(error);
    else $("generate-error").textContent = "The gateway could not be reached.";
    return;
  }
  if (!dialog.open) {
    // Closed (Esc) while the key was being created: it is never shown, and the list still gets the row.
    createdKey = null;
    onCreated(null, body.name);
    return;
  }
  const tenant = current().tenant;
  $("created-key").value = createdKey;
  $("curl-example").value = curlExample(createdKey, tenant ? tenant.tenantId : "<tenant id>");
  $("copy-status").textContent = "";
  $("test-result").textContent = "";
  $("generate-form").hidden = true;
  $("created-view").hidden = false;
  $("created-key").focus();
  $("created-key").select();
  onCreated(createdKey.slice(-4), body.name);
}

async function testKey() {
  $("test-result").textContent = "Searching…";
  const tenant = current().tenant;
  try {
    const response = await fetch("/jas/datasource/search", {
      method: "POST",
      headers: {
        authorization: createdKey,
        "x-tenant-id": tenant ? tenant.tenantId : "",
        "content-type": "application/json",
      },
      body: JSON.stringify(DOCUMENTED_SEARCH),
    });
    const answer = await response.json();
    if (!response.ok) {
      $("test-result").textContent = `HTTP ${response.status}: ${answer.error ? answer.error.message : ""}`;
      return;
    }
    const hits = answer.hits;
    const first = hits.hits.length ? ` The first is ${hits.hits[0]._source.name}.` : "";
    $("test-result").textContent = `HTTP 200: the key works. ${plural(hits.total.value, "data source")} found.${first}`;
  } catch {
    $("test-result").textContent = "The gateway could not be reached.";
  }
}

function forgetKey() {
  createdKey = null;
  $("created-key").value = "";
  $("curl-example").value = "";
  $("test-result").textContent = "";
  $("copy-status").textContent = "";
}

export function wireGenerate(created) {
  onCreated = created;
  const dialog = $("generate-dialog");
  $("generate-form").addEventListener("submit", create);
  $("generate-cancel").addEventListener("click", () => dialog.close());
  for (const preset of dialog.querySelectorAll("[data-days]")) {
    preset.addEventListener("click", () => {
      input("expiration").value = inDays(Number(preset.dataset.days));
      setError("expiration", "");
    });
  }
  $("copy-key").addEventListener("click", async () => {
    const copied = await copyText(createdKey, $("created-key"));
    $("copy-status").textContent = copied ? "Copied to the clipboard." : "Select the key and copy it.";
  });
  $("test-key").addEventListener("click", testKey);
  // The key goes at once: "close" itself is dispatched a task later than Close or Esc.
  $("created-close").addEventListener("click", () => {
    forgetKey();
    dialog.close();
  });
  dialog.addEventListener("cancel", forgetKey);
  dialog.addEventListener("close", () => {
    forgetKey();
    $("generate-button").focus();
  });
}
