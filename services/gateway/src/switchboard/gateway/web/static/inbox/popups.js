// Popups close on Escape wherever focus is, and on a click outside them (the popups of
// reply.js: Template, Emoji, Attach). Each popup is a `.popup` box named by its button's
// aria-controls; closing it keeps that button's aria-expanded true to the state.
export function closePopups({ focus = true, path = [] } = {}) {
  let closed = false;
  for (const box of document.querySelectorAll('.popup:not([hidden])')) {
    if (box.parentElement && path.includes(box.parentElement)) continue;  // a click inside
    box.hidden = true;
    const button = document.querySelector(`[aria-controls="${box.id}"]`);
    if (button) {
      button.setAttribute('aria-expanded', 'false');
      if (focus) button.focus();
    }
    closed = true;
  }
  return closed;
}

document.addEventListener('keydown', (ev) => {
  if (ev.key === 'Escape' && closePopups()) ev.preventDefault();
});
document.addEventListener('click', (ev) => {
  // composedPath: the target's ancestors as they were, even if the click re-rendered it
  closePopups({ focus: false, path: ev.composedPath() });
});
