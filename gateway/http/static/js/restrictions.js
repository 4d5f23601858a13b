// What a key may do and where (SPEC §10): the Scopes, Data sources, Allowed networks and Rate limit fields of
// the Generate and Edit dialogs, and the list's "Access" cell (scopes in words, a "Limited" marker).

import { api } from "./api.js";
import { $, el, plural } from "./dom.js";

// The texts of gateway/auth/scopes.py WHAT_EACH_ALLOWS (a test keeps them equal).
export const WHAT_EACH_ALLOWS = {
  search: "the passthrough search and the data-source and mapping reads",
  write: "ingest create, update and upsert; sync runs that delete nothing",
  delete: "the ingest delete action; finishing a full sync run (its deletes)",
};
export const SCOPES = Object.keys(WHAT_EACH_ALLOWS);
const DEFAULT_SCOPES = ["search", "write"];
const DEFAULT_RATE = { requests: "600", perSeconds: "60" }; // what the custom fields offer first

export function describeScopes() {
  for (const [scope, text] of Object.entries(WHAT_EACH_ALLOWS)) {
    $(`key-scope-${scope}-text`).textContent = `Allows ${text}.`;
  }
}

function scopeBox(scope) {
  return $(`key-scope-${scope}`);
}

function datasourceBoxes() {
  return [...$("key-datasource-list").querySelectorAll('input[type="checkbox"]')];
}

function datasourceChoice(id, name) {
  const box = el("input", { type: "checkbox", value: id, id: `key-ds-${datasourceBoxes().length}` });
  const label = el("label", { for: box.id }, name);
  if (name !== id) label.append(" ", el("span", { class: "muted", text: id }));
  return el("div", { class: "choice" }, box, label);
}

// The data sources to pick from (an admin's token may read them all); ids the key names but the list lacks
// (a data source deleted since) stay pickable, so saving an edit never widens the key by accident.
let loading = 0; // a reopened dialog's list is never overwritten by an older answer

async function loadDatasources(chosen) {
  const list = $("key-datasource-list");
  const request = ++loading;
  list.replaceChildren(el("p", { class: "hint", text: "Loading data sources…" }));
  let found = [];
  try {
    found = await api("/api/ingest/datasources");
  } catch (error) {
    found = [];
    $("key-datasources-error").textContent = `The data sources could not be listed: ${error.message}`;
  }
  if (request !== loading) return;
  list.replaceChildren();
  const ids = new Set();
  for (const source of found) {
    if (ids.has(source.datasource_id)) continue;
    ids.add(source.datasource_id);
    list.append(datasourceChoice(source.datasource_id, source.name || source.datasource_id));
  }
  for (const id of chosen) {
    if (!ids.has(id)) list.append(datasourceChoice(id, `${id} (not found)`));
  }
  for (const box of datasourceBoxes()) box.checked = chosen.includes(box.value);
}

function setRate(choice) {
  const custom = choice && typeof choice === "object";
  const kind = choice === false ? "off" : custom ? "custom" : "default";
  $(`key-rate-${kind}`).checked = true;
  $("key-rate-requests").value = String(custom ? choice.requests : DEFAULT_RATE.requests);
  $("key-rate-seconds").value = String(custom ? choice.perSeconds : DEFAULT_RATE.perSeconds);
}

// Fill the fields with a key's settings (Edit) or the defaults of a new key (Generate).
export function fillRestrictions(entry = null) {
  const scopes = entry ? entry.scopes : DEFAULT_SCOPES;
  for (const scope of SCOPES) scopeBox(scope).checked = scopes.includes(scope);
  $("key-networks").value = ((entry && entry.allowedNetworks) || []).join("\n");
  setRate(entry ? entry.rateLimit : null);
  return loadDatasources((entry && entry.datasources) || []);
}

function readRate() {
  const kind = document.querySelector('input[name="rate"]:checked').value;
  if (kind === "off") return false;
  if (kind === "default") return null;
  // Sent as typed, so that the gateway's own 400 says what is wrong with it.
  const number = (id) => ($(id).value.trim() === "" ? null : Number($(id).value));
  return { requests: number("key-rate-requests"), perSeconds: number("key-rate-seconds") };
}

// The body members of what the fields say, as createApiToken and updateApiToken take them.
export function readRestrictions() {
  const datasources = datasourceBoxes()
    .filter((box) => box.checked)
    .map((box) => box.value);
  const networks = $("key-networks")
    .value.split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
  return {
    scopes: SCOPES.filter((scope) => scopeBox(scope).checked),
    datasources: datasources.length ? datasources : null,
    allowedNetworks: networks.length ? networks : null,
    rateLimit: readRate(),
  };
}

// Where the gateway's complaint about a member is shown, and what takes the focus.
export const RESTRICTION_FIELDS = {
  scopes: { error: "key-scopes-error", focus: () => scopeBox("search") },
  datasources: { error: "key-datasources-error", focus: () => datasourceBoxes()[0] || $("key-networks") },
  allowedNetworks: { error: "key-networks-error", focus: () => $("key-networks"), invalid: "key-networks" },
  rateLimit: { error: "key-rate-error", focus: () => $("key-rate-requests"), invalid: "key-rate-requests" },
};

export function wireRestrictions() {
  describeScopes();
  for (const id of ["key-rate-requests", "key-rate-seconds"]) {
    $(id).addEventListener("input", () => ($("key-rate-custom").checked = true));
  }
}

// The list's Access cell: the scopes in words, and "Limited" with what limits the key.
export function isLimited(entry) {
  const scopes = entry.scopes || SCOPES;
  return (
    !DEFAULT_SCOPES.every((scope) => scopes.includes(scope)) ||
    Boolean(entry.datasources && entry.datasources.length) ||
    Boolean(entry.allowedNetworks && entry.allowedNetworks.length)
  );
}

export function scopesInWords(scopes) {
  const words = (scopes || SCOPES).slice();
  if (!words.length) return "Nothing";
  const text = words.length === 1 ? words[0] : `${words.slice(0, -1).join(", ")} and ${words[words.length - 1]}`;
  return text[0].toUpperCase() + text.slice(1);
}

export function limitsInWords(entry) {
  const parts = [];
  if (entry.datasources && entry.datasources.length) parts.push(plural(entry.datasources.length, "data source"));
  if (entry.allowedNetworks && entry.allowedNetworks.length) {
    parts.push(plural(entry.allowedNetworks.length, "network"));
  }
  const rate = entry.rateLimit;
  if (rate === false) parts.push("no rate limit");
  else if (rate) parts.push(`${rate.requests} requests per ${plural(rate.perSeconds, "second")}`);
  return parts.join(", ");
}

export function accessCell(entry) {
  const cell = el("td", { class: "access" }, scopesInWords(entry.scopes));
  if (isLimited(entry)) cell.append(" ", el("span", { class: "badge limited", text: "Limited" }));
  const limits = limitsInWords(entry);
  if (limits) cell.append(" ", el("span", { class: "limits", text: limits[0].toUpperCase() + limits.slice(1) }));
  return cell;
}
