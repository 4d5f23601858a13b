// One key record as a table row, and its status in words (never colour alone).

import { el, plural } from "./dom.js";
import { accessCell } from "./restrictions.js";

const DAY_MS = 24 * 60 * 60 * 1000;
export const EXPIRY_WARNING_DAYS = 7;

export function daysLeft(entry, now = Date.now()) {
  return Math.floor((Date.parse(entry.expires_at) - now) / DAY_MS);
}

export function inDaysText(entry, now = Date.now()) {
  const days = daysLeft(entry, now);
  return days < 1 ? "in less than a day" : `in ${plural(days, "day")}`;
}

export function statusOf(entry, now = Date.now()) {
  if (entry.revoked) return { text: "Revoked", kind: "revoked" };
  if (!entry.is_valid || Date.parse(entry.expires_at) <= now) return { text: "Expired", kind: "expired" };
  if (daysLeft(entry, now) < EXPIRY_WARNING_DAYS) {
    return { text: `Expires ${inDaysText(entry, now)}`, kind: "expiring" };
  }
  return { text: "Active", kind: "active" };
}

export function formatTime(iso) {
  if (!iso) return "Never";
  const at = new Date(iso);
  return `${at.toISOString().slice(0, 10)} ${at.toISOString().slice(11, 16)} UTC`;
}

export function formatExpiry(entry) {
  // A date is what the admin chose (valid through that day, UTC); a date-time is shown in full.
  return /^\d{4}-\d{2}-\d{2}$/.test(entry.expiration) ? entry.expiration : formatTime(entry.expires_at);
}

function lastUsedCell(entry) {
  const cell = el("td", { text: formatTime(entry.last_used) });
  if (entry.last_used && entry.last_used_address) {
    cell.append(el("span", { class: "note", text: `from ${entry.last_used_address}` }));
  }
  return cell;
}

// A rotated key says so: it keeps working until the end of its overlap, then expires.
function statusCell(entry, status) {
  const cell = el("td", { class: `status status-${status.kind}`, text: status.text });
  if (entry.rotated_to) cell.append(el("span", { class: "note", text: "Rotated" }));
  return cell;
}

export function keyRow(entry, { selected, isNew, onSelect, onActions }) {
  const status = statusOf(entry);
  const checkbox = el("input", { type: "checkbox", "aria-label": `Select ${entry.name}` });
  checkbox.checked = selected;
  checkbox.addEventListener("change", () => onSelect(entry, checkbox.checked));
  const name = el("td", { class: "name" }, entry.name);
  if (isNew) name.append(el("span", { class: "badge", text: "Just created" }));
  const actions = el("button", {
    type: "button",
    class: "row-actions",
    "aria-haspopup": "menu",
    "aria-expanded": "false",
    "aria-label": `Actions for ${entry.name}`,
  });
  actions.append(el("span", { "aria-hidden": "true", text: "⋮" }));
  actions.addEventListener("click", () => onActions(entry, actions));
  actions.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      onActions(entry, actions, { last: event.key === "ArrowUp" });
    }
  });
  const row = el(
    "tr",
    { "data-id": entry.id },
    el("td", {}, checkbox),
    name,
    el("td", { class: "description", text: entry.description || "" }),
    el("td", { class: "key", text: `…${entry.hint}`, title: "The last 4 characters of the key" }),
    el("td", { text: formatTime(entry.created) }),
    el("td", { class: "expires", text: formatExpiry(entry) }),
    lastUsedCell(entry),
    el("td", { text: entry.creator }),
    statusCell(entry, status),
    accessCell(entry),
    el("td", {}, actions),
  );
  if (isNew) row.classList.add("new");
  return row;
}
