// Renders every element with a data-figure attribute (Plotly JSON built in Python).
(function () {
  function render(root) {
    root.querySelectorAll("[data-figure]").forEach(function (el) {
      if (!window.Plotly) return;
      var fig = JSON.parse(el.dataset.figure);
      window.Plotly.react(el, fig.data, fig.layout, { displayModeBar: false, responsive: true });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { render(document); });
  // Fragments swapped in by htmx (a sweep that just finished) carry figures too.
  document.addEventListener("htmx:afterSettle", function (event) { render(event.target); });
})();
