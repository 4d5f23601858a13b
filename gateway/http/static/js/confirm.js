// The confirmation dialog of Revoke and Delete: resolves true only when the named action is chosen.

import { $, el } from "./dom.js";

export function confirmAction({ title, text, names, action }) {
  const dialog = $("confirm-dialog");
  $("confirm-title").textContent = title;
  $("confirm-text").textContent = text;
  $("confirm-names").replaceChildren(...names.map((name) => el("li", { text: name })));
  $("confirm-ok").textContent = action;
  return new Promise((resolve) => {
    const finish = (answer) => {
      $("confirm-ok").onclick = null;
      $("confirm-cancel").onclick = null;
      dialog.onclose = null;
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    $("confirm-ok").onclick = () => finish(true);
    $("confirm-cancel").onclick = () => finish(false);
    dialog.onclose = () => finish(false); // Esc
    dialog.showModal();
    $("confirm-cancel").focus();
  });
}
