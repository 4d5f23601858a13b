// Start-up and navigation: the login page, or the signed-in shell with its user drop-down and the
// Self Service page (#/self-service/profile, #/self-service/api-keys, #/self-service/activity).

import { loadActivity, resetActivity, wireActivity } from "./activity.js";
import { api, current, forget, keepAlive, logout, restore, whenExpired } from "./api.js";
import { $ } from "./dom.js";
import { openEdit, openGenerate, wireGenerate } from "./generate.js";
import { loadKeys, resetKeys, tell, wireKeys } from "./keys.js";
import { showLoginMessage, wireLogin } from "./login.js";
import { closeMenu, menuButton, menuKeys } from "./menu.js";
import { fillProfile, selectTab, wireTabs } from "./profile.js";
import { openRotate, wireRotate } from "./rotate.js";

const VIEWS = ["login-view", "home-view", "self-service-view"];
const MEMBER_WORDS = { allowedNetworks: "allowed networks", rateLimit: "rate limit", datasources: "data sources" };

function showView(id) {
  for (const view of VIEWS) $(view).hidden = view !== id;
  $("topbar").hidden = id === "login-view";
}

function showLogin(message = "") {
  for (const dialog of document.querySelectorAll("dialog[open]")) dialog.close();
  resetKeys();
  resetActivity();
  showView("login-view");
  showLoginMessage(message);
  $("login-username").focus();
}

function route({ focus = false } = {}) {
  if (!current()) return showLogin();
  $("user-name").textContent = current().user.displayName;
  const [, page, tab] = location.hash.split("/");
  if (page !== "self-service") return showView("home-view");
  showView("self-service-view");
  fillProfile();
  const name = ["api-keys", "activity"].includes(tab) ? tab : "profile";
  selectTab(name, { focus });
  if (name === "api-keys") loadKeys();
  if (name === "activity") loadActivity();
}

function go(hash, options) {
  if (location.hash !== hash) history.pushState(null, "", hash); // pushState fires no hashchange
  route(options);
}

function wireShell() {
  menuButton($("user-button"), $("user-menu"));
  menuKeys($("user-menu"));
  $("menu-self-service").addEventListener("click", () => {
    closeMenu(false);
    go("#/self-service/profile", { focus: true });
  });
  $("menu-logout").addEventListener("click", async () => {
    closeMenu(false);
    const ended = await logout();
    history.replaceState(null, "", location.pathname);
    showLogin(
      ended
        ? "You have logged out."
        : "You have logged out of this page, but the gateway could not be reached: the session ends when its token expires.",
    );
  });
  wireTabs((name, options) => go(`#/self-service/${name}`, options));
  window.addEventListener("hashchange", () => route());
}

async function start() {
  whenExpired((message) => showLogin(message));
  wireLogin(() => {
    keepAlive();
    route();
    $("user-button").focus();
  });
  wireShell();
  wireKeys({ openGenerate, openEdit, openRotate });
  wireGenerate(
    async (hint, name) => {
      // The list behind the dialog shows the new key at once, marked as just created. It is found by its name
      // and its 4-character hint (newest first): the key itself never goes into a URL.
      const query = new URLSearchParams({ search: name, maxResults: "20" });
      const entries = hint ? await api(`/api/admin/getTokens?${query}`) : [];
      const entry = entries.find((candidate) => candidate.hint === hint);
      loadKeys({ newId: entry ? entry.id : null });
    },
    async (entry, changed) => {
      await loadKeys();
      const words = changed.map((member) => MEMBER_WORDS[member] || member);
      tell(`Saved ${entry.name}: ${words.join(", ")} changed.`);
    },
  );
  wireRotate((newId) => loadKeys({ newId }));
  wireActivity();
  if (restore()) {
    try {
      await api("/api/admin/tenant"); // an administrator's token, still valid
      keepAlive();
      route();
    } catch {
      forget();
      showLogin("Your session has ended. Please log in again.");
    }
  } else {
    showLogin();
  }
}

start();
