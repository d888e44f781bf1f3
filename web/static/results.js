// The results page's enhancements; everything works without them.
"use strict";

// Wide screens show the filters in a column of their own: open their <details> there (the
// stylesheet shows its content too, for browsers without this script). Narrow screens keep
// them behind the "Filters" control, as the page came.
const filters = document.getElementById("filters");
const wide = window.matchMedia("(min-width: 52.01rem)");
const openWhenWide = () => { if (filters && wide.matches) filters.open = true; };
openWhenWide();
wide.addEventListener("change", openWhenWide);

// A facet's "more" list narrowed as you type in its box. Without this script the box's
// button does the same through the page's parameter (web/results_view.py folds alike).
const fold = (text) => text.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
for (const input of document.querySelectorAll("input[data-narrows]")) {
  const list = document.getElementById(input.dataset.narrows);
  const none = document.getElementById(input.dataset.narrows + "-none");
  input.addEventListener("input", () => {
    const wanted = fold(input.value.trim());
    let shown = 0;
    for (const item of list.children) {
      item.hidden = !fold(item.dataset.value).includes(wanted);
      shown += item.hidden ? 0 : 1;
    }
    if (none) none.hidden = shown > 0;
  });
}
