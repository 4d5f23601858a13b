// The API Keys tab: the list (search, status filter, paging), the expiry banner, row menus and bulk actions.

import { ApiError, api } from "./api.js";
import { confirmAction } from "./confirm.js";
import { $, plural } from "./dom.js";
import { closeMenu, isOpenFor, menuKeys, openButton, openMenu } from "./menu.js";
import { EXPIRY_WARNING_DAYS, inDaysText, keyRow } from "./rows.js";

const PAGE_SIZE = 10;
const state = { offset: 0, search: "", status: "", entries: [], selected: new Map(), newId: null };
let menuEntry = null;
let searchTimer = null;
let latest = 0; // answers to older requests (typing, clicking filters) never overwrite newer ones

function query(params) {
  return new URLSearchParams(Object.entries(params).filter(([, value]) => value !== "")).toString();
}

function say(text) {
  $("keys-message").textContent = text;
}

export function tell(text) {
  $("keys-status").textContent = text;
}

// Where the focus goes when a dialog opened from a row closes: that row's menu button, once reloaded.
export function focusRow(id) {
  return () => {
    const row = [...$("keys-body").rows].find((candidate) => candidate.dataset.id === id);
    const target = row && row.querySelector(".row-actions");
    (target || $("key-search")).focus();
  };
}

export async function loadKeys({ newId } = {}) {
  if (newId !== undefined) state.newId = newId;
  const request = ++latest;
  try {
    const page = await api(
      `/api/admin/getTokens?${query({
        maxResults: PAGE_SIZE + 1, // one more than shown tells whether there is a next page
        offset: state.offset,
        search: state.search,
        status: state.status,
      })}`,
    );
    if (request !== latest) return;
    state.entries = page.slice(0, PAGE_SIZE);
    render(page.length > PAGE_SIZE);
    say("");
  } catch (error) {
    if (error instanceof ApiError && error.status !== 401) say(error.message);
  }
  await loadBanner();
}

function render(hasNext) {
  const rows = state.entries.map((entry) =>
    keyRow(entry, {
      selected: state.selected.has(entry.id),
      isNew: entry.id === state.newId,
      onSelect: select,
      onActions: openRowMenu,
    }),
  );
  const focused = focusedInRows();
  $("keys-body").replaceChildren(...rows);
  if (focused) refocus(focused);
  $("keys-empty").hidden = rows.length > 0;
  const first = state.offset + 1;
  $("page-info").textContent = rows.length ? `Keys ${first}–${state.offset + rows.length}` : "";
  $("prev-page").disabled = state.offset === 0;
  $("next-page").disabled = !hasNext;
  renderSelection();
}

// A reload replaces the rows; keyboard users keep their place on the same key's control.
function focusedInRows() {
  const menuOpen = $("row-menu").contains(document.activeElement);
  const active = menuOpen ? openButton() : document.activeElement;
  const row = active && active.closest("#keys-body tr");
  if (!row) return null;
  return { id: row.dataset.id, menu: active.classList.contains("row-actions"), menuOpen };
}

// A row menu that was open stays open on the same key's new row (a reload never closes a menu in use).
function refocus({ id, menu, menuOpen }) {
  const row = [...$("keys-body").rows].find((candidate) => candidate.dataset.id === id);
  if (menu) closeMenu(false);
  const target = row && row.querySelector(menu ? ".row-actions" : 'input[type="checkbox"]');
  const entry = state.entries.find((candidate) => candidate.id === id);
  if (target && menuOpen && entry) openRowMenu(entry, target);
  else if (target) target.focus();
  else $("key-search").focus();
}

function select(entry, selected) {
  if (selected) state.selected.set(entry.id, entry);
  else state.selected.delete(entry.id);
  renderSelection();
}

function renderSelection() {
  const count = state.selected.size;
  $("bulk-count").textContent = count ? `${plural(count, "key")} selected` : "No key selected";
  $("bulk-revoke").disabled = count === 0;
  $("bulk-delete").disabled = count === 0;
  const onPage = state.entries.filter((entry) => state.selected.has(entry.id)).length;
  $("select-all").checked = onPage > 0 && onPage === state.entries.length;
  $("select-all").indeterminate = onPage > 0 && onPage < state.entries.length;
}

async function loadBanner() {
  const banner = $("expiry-banner");
  const before = new Date(Date.now() + EXPIRY_WARNING_DAYS * 24 * 60 * 60 * 1000).toISOString();
  try {
    const soon = await api(
      `/api/admin/getTokens?${query({ status: "active", expiresBefore: before, maxResults: 100 })}`,
    );
    const names = soon.map((entry) => `${entry.name} (${inDaysText(entry)})`);
    banner.textContent = `${plural(soon.length, "key")} expire${soon.length === 1 ? "s" : ""} within ${EXPIRY_WARNING_DAYS} days: ${names.join(", ")}.`;
    banner.hidden = soon.length === 0;
  } catch {
    banner.hidden = true;
  }
}

function placeRowMenu(menu, button) {
  const box = button.getBoundingClientRect();
  menu.style.top = `${box.bottom + window.scrollY + 4}px`;
  menu.style.left = `${Math.max(8, box.right + window.scrollX - menu.offsetWidth)}px`;
}

function openRowMenu(entry, button, { last = false } = {}) {
  if (isOpenFor(button)) {
    closeMenu(true);
    return;
  }
  menuEntry = entry;
  $("row-menu").setAttribute("aria-label", `Actions for ${entry.name}`);
  openMenu($("row-menu"), button, { last, place: placeRowMenu });
}

const ACTIONS = {
  revoke: {
    title: "Revoke API key",
    text: "A revoked key stops working at once and stays listed as Revoked.",
    action: "Revoke",
    path: "/api/admin/revokeApiToken",
  },
  delete: {
    title: "Delete API key",
    text: "A deleted key stops working at once and leaves the list.",
    action: "Delete",
    path: "/api/admin/deleteApiToken",
  },
};

async function act(kind, entries) {
  const { path, ...words } = ACTIONS[kind];
  const many = entries.length > 1;
  const title = many ? `${words.title.replace("API key", "")}${entries.length} API keys` : words.title;
  if (!(await confirmAction({ ...words, title, names: entries.map((entry) => entry.name) }))) return;
  const failed = [];
  for (const entry of entries) {
    try {
      await api(path, { method: "POST", body: { id: entry.id } });
      state.selected.delete(entry.id);
    } catch (error) {
      failed.push(`${entry.name}: ${error.message}`);
    }
  }
  await loadKeys();
  if (failed.length) say(`Not done for ${failed.join("; ")}`);
  $("key-search").focus();
}

export function wireKeys({ openGenerate, openEdit, openRotate }) {
  $("generate-button").addEventListener("click", openGenerate);
  menuKeys($("row-menu"));
  const dialogs = { edit: openEdit, rotate: openRotate };
  for (const item of $("row-menu").querySelectorAll("[data-action]")) {
    item.addEventListener("click", () => {
      const entry = menuEntry;
      const open = dialogs[item.dataset.action];
      closeMenu(!open);
      tell("");
      if (open) open(entry, focusRow(entry.id));
      else act(item.dataset.action, [entry]);
    });
  }
  $("bulk-revoke").addEventListener("click", () => act("revoke", [...state.selected.values()]));
  $("bulk-delete").addEventListener("click", () => act("delete", [...state.selected.values()]));
  $("select-all").addEventListener("change", () => {
    const selected = $("select-all").checked; // read once: each select() below updates the box
    for (const entry of state.entries) select(entry, selected);
    render(!$("next-page").disabled);
  });
  $("key-search").addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      state.search = $("key-search").value.trim();
      state.offset = 0;
      loadKeys();
    }, 250);
  });
  for (const radio of document.querySelectorAll('input[name="status"]')) {
    radio.addEventListener("change", () => {
      state.status = radio.value;
      state.offset = 0;
      loadKeys();
    });
  }
  $("prev-page").addEventListener("click", () => {
    state.offset = Math.max(0, state.offset - PAGE_SIZE);
    loadKeys();
  });
  $("next-page").addEventListener("click", () => {
    state.offset += PAGE_SIZE;
    loadKeys();
  });
}

export function resetKeys() {
  Object.assign(state, { offset: 0, search: "", status: "", entries: [], newId: null });
  state.selected.clear();
  $("key-search").value = "";
  document.querySelector('input[name="status"][value=""]').checked = true;
  $("keys-body").replaceChildren();
}
