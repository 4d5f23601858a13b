// The login form: a bearer token for an administrator, or a clear message for anyone else.

import { ApiError, api, forget, remember } from "./api.js";
import { $ } from "./dom.js";

export function showLoginMessage(text) {
  $("login-message").textContent = text;
}

export function wireLogin(onLoggedIn) {
  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    showLoginMessage("");
    const username = $("login-username").value;
    const password = $("login-password").value;
    if (!username || !password) {
      showLoginMessage("Enter your username and password.");
      return;
    }
    try {
      const answer = await api("/api/authentication/login", {
        method: "POST",
        body: { username, password },
        anonymous: true,
      });
      remember(answer.token, answer.user, null);
      // The tenant route is for administrators only: it tells them apart and fills the Profile tab.
      const tenant = await api("/api/admin/tenant");
      remember(answer.token, answer.user, tenant);
      $("login-password").value = "";
      onLoggedIn();
    } catch (error) {
      forget();
      if (error instanceof ApiError && error.status === 403) {
        showLoginMessage(`This page is for administrators only. ${error.message}`);
      } else if (error instanceof ApiError) {
        showLoginMessage(error.message);
      } else {
        showLoginMessage("The gateway could not be reached.");
      }
      $("login-password").focus();
    }
  });
}
