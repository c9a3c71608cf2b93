// Small behaviours of every page, as event delegation: the Content-Security-Policy allows no
// inline script or event handler (settings.SECURE_CSP).
(function () {
  document.addEventListener("click", function (event) {
    // "Cancel" on a new line's form: drop the form's table row.
    var button = event.target.closest("[data-remove-row]");
    if (button) {
      var row = button.closest("tr");
      if (row) row.remove();
    }
  });

  // The header's menus (<details class="dropdown">) open and close without script; these only
  // add what a menu is expected to do: Escape closes it (the focus back on its summary), and
  // tabbing out of it closes it, so it never stays open over the page behind the focus.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || !(event.target instanceof Element)) return;
    var menu = event.target.closest("details.dropdown[open]");
    if (menu) {
      menu.open = false;
      menu.querySelector("summary").focus();
    }
  });
  document.addEventListener("focusout", function (event) {
    if (!(event.target instanceof Element)) return;
    var menu = event.target.closest("details.dropdown[open]");
    // No relatedTarget: the window lost the focus, or a click on nothing focusable (Pico's
    // backdrop is the summary itself, which closes the menu on its own).
    if (menu && event.relatedTarget && !menu.contains(event.relatedTarget)) menu.open = false;
  });
})();
