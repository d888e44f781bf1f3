// Narrows a facet's "more" list as you type in its box. Without this script the box's
// button does the same through the page's parameter (web/results_view.py folds alike).
"use strict";
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
