// Menu buttons (the user drop-down, each row's three dots): open with click, Enter, Space or the arrow keys;
// arrows move, Home/End jump, Esc closes and returns focus to the button, Tab or a click elsewhere closes.

let open = null; // { menu, button }

function items(menu) {
  return [...menu.querySelectorAll('[role="menuitem"]')];
}

export function closeMenu(focusButton = true) {
  if (!open) return;
  const { menu, button } = open;
  open = null;
  menu.hidden = true;
  button.setAttribute("aria-expanded", "false");
  if (focusButton) button.focus();
}

export function openMenu(menu, button, { last = false, place } = {}) {
  closeMenu(false);
  open = { menu, button };
  menu.hidden = false;
  if (place) place(menu, button);
  button.setAttribute("aria-expanded", "true");
  const all = items(menu);
  (last ? all[all.length - 1] : all[0]).focus();
}

export function openButton() {
  return open ? open.button : null;
}

export function isOpenFor(button) {
  return open !== null && open.button === button;
}

export function menuButton(button, menu, options = {}) {
  button.addEventListener("click", () => {
    if (isOpenFor(button)) closeMenu(true);
    else openMenu(menu, button, options);
  });
  button.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      openMenu(menu, button, { ...options, last: event.key === "ArrowUp" });
    }
  });
}

export function menuKeys(menu) {
  menu.addEventListener("keydown", (event) => {
    const all = items(menu);
    const at = all.indexOf(document.activeElement);
    const moves = {
      ArrowDown: () => all[(at + 1) % all.length].focus(),
      ArrowUp: () => all[(at - 1 + all.length) % all.length].focus(),
      Home: () => all[0].focus(),
      End: () => all[all.length - 1].focus(),
      Escape: () => closeMenu(true),
    };
    if (event.key === "Tab") closeMenu(false);
    else if (moves[event.key]) {
      event.preventDefault();
      moves[event.key]();
    }
  });
}

document.addEventListener("click", (event) => {
  if (open && !open.menu.contains(event.target) && !open.button.contains(event.target)) closeMenu(false);
});
