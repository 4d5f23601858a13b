// The Generate API Key dialog: the form, then the new key shown once with Copy, a curl example of the
// documented search and "Test key". Closing the dialog (Close or Esc) removes the key from the page.
// The same form edits a key (Edit: updateApiToken), and the same "shown once" view shows a rotated key.

import { ApiError, api, current } from "./api.js";
import { $, copyText, plural } from "./dom.js";
import { RESTRICTION_FIELDS, fillRestrictions, readRestrictions, wireRestrictions } from "./restrictions.js";
import { formatTime } from "./rows.js";

const DAY_MS = 24 * 60 * 60 * 1000;
const FIELDS = ["name", "description", "expiration"];
const ALL_FIELDS = [...FIELDS, ...Object.keys(RESTRICTION_FIELDS)];
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
let onEdited = () => {};
let editing = null; // the record being edited, or null when generating
let returnFocus = () => $("generate-button").focus();

function inDays(days) {
  // Dates are UTC days, as the gateway reads them (a key is valid through the end of its date).
  return new Date(Date.now() + days * DAY_MS).toISOString().slice(0, 10);
}

function input(field) {
  return $(`key-${field}`);
}

function setError(field, text) {
  const restriction = RESTRICTION_FIELDS[field];
  $(restriction ? restriction.error : `key-${field}-error`).textContent = text;
  const invalid = restriction ? restriction.invalid && $(restriction.invalid) : input(field);
  if (!invalid) return;
  if (text) invalid.setAttribute("aria-invalid", "true");
  else invalid.removeAttribute("aria-invalid");
}

function focusField(field) {
  const restriction = RESTRICTION_FIELDS[field];
  (restriction ? restriction.focus() : input(field)).focus();
}

function clearErrors() {
  for (const field of ALL_FIELDS) setError(field, "");
  $("generate-error").textContent = "";
}

function showErrors(error) {
  const byField = {};
  for (const detail of error.details || []) {
    const field = (detail.location || []).find((part) => ALL_FIELDS.includes(part));
    if (field) byField[field] = detail.message;
  }
  if (!Object.keys(byField).length) {
    const message = error.message.toLowerCase();
    const field = ALL_FIELDS.find((name) => message.startsWith(name.toLowerCase()));
    if (field) byField[field] = error.message;
    else $("generate-error").textContent = error.message;
  }
  for (const [field, message] of Object.entries(byField)) setError(field, message);
  const first = ALL_FIELDS.find((field) => byField[field]);
  if (first) focusField(first);
}

function openForm({ title, submit, entry }) {
  editing = entry;
  $("generate-form").reset();
  clearErrors();
  $("generate-title").textContent = title;
  $("generate-submit").textContent = submit;
  $("key-name-field").hidden = entry !== null;
  $("edit-subject").hidden = entry === null;
  $("edit-subject").textContent = entry ? `${entry.name} (key ending ${entry.hint})` : "";
  input("expiration").min = inDays(1);
  $("generate-form").hidden = false;
  $("created-view").hidden = true;
  // An edit waits for the data sources: a form without them would send no limit, widening the key.
  $("generate-submit").disabled = entry !== null;
  fillRestrictions(entry).finally(() => ($("generate-submit").disabled = false));
  $("generate-dialog").showModal();
}

export function openGenerate() {
  returnFocus = () => $("generate-button").focus();
  openForm({ title: "Generate API Key", submit: "Create", entry: null });
  input("expiration").value = inDays(30);
  input("name").focus();
}

// Edit: the same fields, filled with the key's settings; only what changed is sent.
export function openEdit(entry, focusBack) {
  returnFocus = focusBack;
  openForm({ title: "Edit API key", submit: "Save", entry });
  input("description").value = entry.description || "";
  input("expiration").value = /^\d{4}-\d{2}-\d{2}$/.test(entry.expiration)
    ? entry.expiration
    : entry.expires_at.slice(0, 10);
  input("expiration").dataset.initial = input("expiration").value;
  input("description").focus();
}

function changes(entry, body) {
  const before = {
    description: entry.description || "",
    expiration: input("expiration").dataset.initial,
    scopes: entry.scopes,
    datasources: entry.datasources,
    allowedNetworks: entry.allowedNetworks,
    rateLimit: entry.rateLimit,
  };
  const same = (a, b) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
  return Object.fromEntries(Object.entries(body).filter(([name, value]) => !same(value, before[name])));
}

async function save(entry) {
  const { name, ...body } = { ...formBody() };
  const changed = changes(entry, body);
  if (!Object.keys(changed).length) {
    $("generate-error").textContent = "Nothing has changed.";
    return;
  }
  try {
    const updated = await api("/api/admin/updateApiToken", { method: "POST", body: { id: entry.id, ...changed } });
    $("generate-dialog").close();
    onEdited(updated || entry, Object.keys(changed));
  } catch (error) {
    if (error instanceof ApiError) showErrors(error);
    else $("generate-error").textContent = "The gateway could not be reached.";
  }
}

function formBody() {
  return { ...Object.fromEntries(FIELDS.map((field) => [field, input(field).value])), ...readRestrictions() };
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
  clearErrors();
  if (editing) return save(editing);
  const body = formBody();
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
  showKey("API key created", "");
  onCreated(createdKey.slice(-4), body.name);
}

function showKey(title, previous) {
  const tenant = current().tenant;
  $("created-title").textContent = title;
  $("created-previous").textContent = previous;
  $("created-previous").hidden = !previous;
  $("created-key").value = createdKey;
  $("curl-example").value = curlExample(createdKey, tenant ? tenant.tenantId : "<tenant id>");
  $("copy-status").textContent = "";
  $("test-result").textContent = "";
  $("generate-form").hidden = true;
  $("created-view").hidden = false;
  $("created-key").focus();
  $("created-key").select();
}

// Rotate: the new key, shown once exactly as a created one, with the old key's new expiry.
export function showRotated(entry, answer, focusBack) {
  returnFocus = focusBack;
  editing = null;
  createdKey = answer.token;
  $("generate-title").textContent = "Rotate API key";
  const dialog = $("generate-dialog");
  if (!dialog.open) dialog.showModal();
  showKey(
    "API key rotated",
    `The old key of ${entry.name} (ending ${entry.hint}) now expires ${formatTime(answer.previousExpires)}; ` +
      "the new key below has the same name and settings.",
  );
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

export function wireGenerate(created, edited) {
  onCreated = created;
  onEdited = edited;
  wireRestrictions();
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
    editing = null;
    returnFocus();
  });
}
