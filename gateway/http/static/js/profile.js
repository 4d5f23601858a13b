// The Self Service tabs (Profile, API Keys, Activity) and the Profile tab's content.

import { current } from "./api.js";
import { $, copyText } from "./dom.js";

const TABS = { profile: "tab-profile", "api-keys": "tab-keys", activity: "tab-activity" };

export function selectTab(name, { focus = false } = {}) {
  for (const [tabName, id] of Object.entries(TABS)) {
    const tab = $(id);
    const selected = tabName === name;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
    $(tab.getAttribute("aria-controls")).hidden = !selected;
    if (selected && focus) tab.focus();
  }
}

export function wireTabs(onSelect) {
  const names = Object.keys(TABS);
  for (const [name, id] of Object.entries(TABS)) {
    $(id).addEventListener("click", () => onSelect(name));
    $(id).addEventListener("keydown", (event) => {
      const at = names.indexOf(name);
      const next = {
        ArrowRight: names[(at + 1) % names.length],
        ArrowLeft: names[(at - 1 + names.length) % names.length],
        Home: names[0],
        End: names[names.length - 1],
      }[event.key];
      if (next) {
        event.preventDefault();
        onSelect(next, { focus: true });
      }
    });
  }
  $("copy-tenant").addEventListener("click", async () => {
    const copied = await copyText($("profile-tenant").textContent);
    $("copy-tenant-status").textContent = copied ? "Copied." : "Select the tenant ID and copy it.";
  });
}

export function fillProfile() {
  const { user, tenant } = current();
  $("profile-name").textContent = user.displayName;
  $("profile-uid").textContent = user.uid;
  $("profile-groups").textContent = (user._groups || []).join(", ");
  $("profile-tenant").textContent = tenant ? tenant.tenantId : "";
  $("copy-tenant-status").textContent = "";
}
