// Renders every element with a data-figure attribute (Plotly JSON built in Python).
// A figure may carry labels for narrow screens in layout.meta.narrow
// ({below: px, layout: {"xaxis.ticktext": [...], height: ...}, data: [{name: ...}, ...]},
// apps/runs/figure_style.py): they replace the wide ones while the element is narrower than
// `below`, and the figure is drawn again when a resize crosses that width.
(function () {
  function setPath(target, path, value) {
    var keys = path.split(".");
    var node = target;
    for (var i = 0; i < keys.length - 1; i++) {
      if (typeof node[keys[i]] !== "object" || node[keys[i]] === null) node[keys[i]] = {};
      node = node[keys[i]];
    }
    node[keys[keys.length - 1]] = value;
  }

  function isNarrow(el, fig) {
    var narrow = fig.layout && fig.layout.meta && fig.layout.meta.narrow;
    return Boolean(narrow) && el.clientWidth > 0 && el.clientWidth < narrow.below;
  }

  function adapted(fig, narrowNow) {
    if (!narrowNow) return fig;
    var copy = JSON.parse(JSON.stringify(fig));
    var narrow = copy.layout.meta.narrow;
    Object.keys(narrow.layout || {}).forEach(function (path) {
      setPath(copy.layout, path, narrow.layout[path]);
    });
    (narrow.data || []).forEach(function (changes, index) {
      if (!copy.data[index]) return;
      Object.keys(changes || {}).forEach(function (path) {
        setPath(copy.data[index], path, changes[path]);
      });
    });
    return copy;
  }

  function draw(el) {
    var fig = JSON.parse(el.dataset.figure);
    var narrowNow = isNarrow(el, fig);
    var shown = adapted(fig, narrowNow);
    el.dataset.figureNarrow = narrowNow ? "1" : "0";
    window.Plotly.react(el, shown.data, shown.layout, { displayModeBar: false, responsive: true });
  }

  function render(root) {
    if (!window.Plotly) return;
    root.querySelectorAll("[data-figure]").forEach(draw);
  }

  var pending = null;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(function () {
      if (!window.Plotly) return;
      document.querySelectorAll("[data-figure]").forEach(function (el) {
        var fig = JSON.parse(el.dataset.figure);
        if (String(isNarrow(el, fig) ? 1 : 0) !== el.dataset.figureNarrow) draw(el);
      });
    }, 200);
  });
  document.addEventListener("DOMContentLoaded", function () { render(document); });
  // Fragments swapped in by htmx (a sweep that just finished) carry figures too.
  document.addEventListener("htmx:afterSettle", function (event) { render(event.target); });
})();
