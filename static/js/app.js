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
})();
