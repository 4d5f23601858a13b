// The Activity tab: the audit trail (GET /api/admin/audit), newest first, with filters and paging.

import { ApiError, api } from "./api.js";
import { $, el } from "./dom.js";
import { formatTime } from "./rows.js";

const PAGE_SIZE = 20;
// The actions the gateway records (gateway/audit/events.py ACTIONS; a test keeps them equal).
export const ACTIONS = [
  "login",
  "logout",
  "key.create",
  "key.update",
  "key.rotate",
  "key.revoke",
  "key.delete",
  "key.refused",
  "sync.finish",
];
const FILTERS = { action: "activity-action", keyId: "activity-key", actor: "activity-actor" };
const state = { offset: 0, filters: {}, total: 0 };
let latest = 0;

function say(text) {
  $("activity-message").textContent = text;
}

// A datetime-local value read as UTC (the page shows every time in UTC).
function utc(value) {
  return value ? new Date(`${value}Z`).toISOString() : "";
}

function readFilters() {
  const filters = {};
  for (const [name, id] of Object.entries(FILTERS)) filters[name] = $(id).value.trim();
  filters.from = utc($("activity-from").value);
  filters.to = utc($("activity-to").value);
  return Object.fromEntries(Object.entries(filters).filter(([, value]) => value !== ""));
}

function valueText(value) {
  if (Array.isArray(value)) return value.join(", ");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function detailsText(details) {
  if (details === null || details === undefined) return "";
  if (typeof details !== "object") return String(details);
  return Object.entries(details)
    .filter(([, value]) => value !== null && value !== undefined)
    .map(([name, value]) => `${name}: ${valueText(value)}`)
    .join("; ");
}

// A refused use or throttled login stands for every one of them of that key (or client), reason and minute.
function outcomeText(event) {
  const outcome = field(event, "outcome");
  return event.count > 1 ? `${outcome} (${event.count} times)` : outcome;
}

function field(event, ...names) {
  for (const name of names) {
    if (event[name] !== undefined && event[name] !== null) return event[name];
  }
  return "";
}

function keyCell(event) {
  const id = field(event, "keyId", "key_id");
  const name = field(event, "keyName", "key_name");
  if (!id) return el("td", { text: name });
  const only = el("button", {
    type: "button",
    class: "small link",
    "aria-label": `Show only events of key ${name || id}`,
    text: name || id,
  });
  only.addEventListener("click", () => {
    $("activity-key").value = id;
    apply();
  });
  return el("td", { class: "event-key" }, only);
}

function eventRow(event) {
  return el(
    "tr",
    {},
    el("td", { class: "time", text: formatTime(field(event, "time", "@timestamp")) }),
    el("td", { text: field(event, "action") }),
    el("td", { text: outcomeText(event) }),
    el("td", { class: "actor", text: field(event, "actor") }),
    el("td", { text: field(event, "address") }),
    keyCell(event),
    el("td", { class: "details", text: detailsText(event.details) }),
  );
}

export async function loadActivity() {
  const request = ++latest;
  const params = new URLSearchParams({ ...state.filters, offset: String(state.offset), maxResults: String(PAGE_SIZE) });
  try {
    const page = await api(`/api/admin/audit?${params}`);
    if (request !== latest) return;
    const events = page.events || [];
    state.total = page.total || 0;
    $("activity-body").replaceChildren(...events.map(eventRow));
    $("activity-empty").hidden = events.length > 0;
    const first = state.offset + 1;
    $("activity-info").textContent = events.length
      ? `Events ${first}–${state.offset + events.length} of ${state.total}`
      : "";
    $("activity-prev").disabled = state.offset === 0;
    $("activity-next").disabled = state.offset + events.length >= state.total;
    say("");
  } catch (error) {
    if (request !== latest) return;
    if (error instanceof ApiError && error.status !== 401) say(error.message);
    else if (!(error instanceof ApiError)) say("The gateway could not be reached.");
  }
}

function apply() {
  state.filters = readFilters();
  state.offset = 0;
  loadActivity();
}

export function wireActivity() {
  const select = $("activity-action");
  for (const action of ACTIONS) select.append(el("option", { value: action, text: action }));
  $("activity-filters").addEventListener("submit", (event) => {
    event.preventDefault();
    apply();
  });
  $("activity-clear").addEventListener("click", () => {
    $("activity-filters").reset();
    apply();
  });
  $("activity-prev").addEventListener("click", () => {
    state.offset = Math.max(0, state.offset - PAGE_SIZE);
    loadActivity();
  });
  $("activity-next").addEventListener("click", () => {
    state.offset += PAGE_SIZE;
    loadActivity();
  });
}

export function resetActivity() {
  Object.assign(state, { offset: 0, filters: {}, total: 0 });
  $("activity-filters").reset();
  $("activity-body").replaceChildren();
}
