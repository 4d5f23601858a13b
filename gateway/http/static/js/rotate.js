// The Rotate dialog: asks the overlap (hours the old key keeps working), then the new key is shown once in the
// Generate dialog's "shown once" view, with the old key's new expiry.

import { ApiError, api } from "./api.js";
import { $ } from "./dom.js";
import { showRotated } from "./generate.js";

const MAX_OVERLAP_HOURS = 168;
let rotating = null; // { entry, focusBack }
let onRotated = () => {};

export function openRotate(entry, focusBack) {
  rotating = { entry, focusBack };
  $("rotate-form").reset();
  $("rotate-name").textContent = entry.name;
  $("rotate-overlap-error").textContent = "";
  $("rotate-overlap").removeAttribute("aria-invalid");
  $("rotate-error").textContent = "";
  $("rotate-dialog").showModal();
  $("rotate-overlap").focus();
  $("rotate-overlap").select();
}

function overlapError(text) {
  $("rotate-overlap-error").textContent = text;
  $("rotate-overlap").setAttribute("aria-invalid", "true");
  $("rotate-overlap").focus();
}

async function rotate(event) {
  event.preventDefault();
  if (!rotating) return;
  const { entry, focusBack } = rotating;
  $("rotate-overlap-error").textContent = "";
  $("rotate-overlap").removeAttribute("aria-invalid");
  $("rotate-error").textContent = "";
  const text = $("rotate-overlap").value.trim();
  const hours = Number(text);
  if (text === "" || !Number.isInteger(hours) || hours < 0 || hours > MAX_OVERLAP_HOURS) {
    overlapError(`Give a whole number of hours from 0 to ${MAX_OVERLAP_HOURS}.`);
    return;
  }
  let answer;
  try {
    answer = await api("/api/admin/rotateApiToken", {
      method: "POST",
      body: { id: entry.id, overlapHours: hours },
    });
  } catch (error) {
    const message = error instanceof ApiError ? error.message : "The gateway could not be reached.";
    if (error instanceof ApiError && (error.details || []).some((d) => (d.location || []).includes("overlapHours"))) {
      overlapError(message);
    } else {
      $("rotate-error").textContent = message;
    }
    return;
  }
  // Shown even when this dialog was closed meanwhile: the old key is already on its way out.
  rotating = null;
  if ($("rotate-dialog").open) $("rotate-dialog").close();
  showRotated(entry, answer, focusBack);
  onRotated(answer.id);
}

export function wireRotate(rotated) {
  onRotated = rotated;
  $("rotate-form").addEventListener("submit", rotate);
  $("rotate-cancel").addEventListener("click", () => $("rotate-dialog").close());
  $("rotate-dialog").addEventListener("close", () => {
    if (rotating) {
      const { focusBack } = rotating;
      rotating = null;
      focusBack();
    }
  });
}
