// Contrast (WCAG AA) and alternative text, by axe-core, for the deck check
// (talkbuild/check.py). Evaluated once, in reveal.js's print view with every
// fragment step on a page of its own (?print-pdf&pdfSeparateFragments=true): every
// state of every slide is laid out at once, code line-highlight steps with their
// dimmed lines included, so one run of axe sees them all (a run per step costs a
// tenth of a second or more each). Returns one entry per slide and rule.
async (rules) => {
  const clean = (text) => (text || "").trim().replace(/\s+/g, " ");
  const describe = (el) => {
    const text = clean(el.getAttribute("alt") || el.textContent);
    const classes = typeof el.className === "string" && el.className.trim()
      ? "." + el.className.trim().split(/\s+/).join(".") : "";
    return `<${el.tagName.toLowerCase()}${classes}>` + (text ? ` "${text.slice(0, 50)}"` : "");
  };
  // reveal.js hides every slide but the current one from screen readers
  // (aria-hidden), and axe skips what screen readers do not see: here every slide counts.
  for (const el of document.querySelectorAll(".reveal [aria-hidden]")) {
    if (el.closest(".slides")) el.removeAttribute("aria-hidden");
  }
  const result = await axe.run(document.querySelector(".reveal .slides"), {
    runOnly: {type: "rule", values: rules},
    resultTypes: ["violations"],
    preload: false,  // nothing to fetch: the checks here read computed styles
    selectors: false,
    elementRef: true,
  });
  const found = new Map();  // "source rule" -> entry
  for (const rule of result.violations) {
    for (const node of rule.nodes) {
      const el = node.element;
      const section = el && el.closest("section[data-source-line]");
      if (!section || el.closest("aside.notes, .speaker-notes-pdf")) continue;
      // The same element on several pages (one per fragment step) counts once.
      const key = `${section.dataset.sourceLine} ${rule.id}`;
      const entry = found.get(key) || {source: section.dataset.sourceLine, rule: rule.id,
        help: rule.help, elements: new Set(), what: describe(el),
        src: el.tagName === "IMG" ? el.getAttribute("src") : null,
        detail: clean((node.any[0] || node.all[0] || node.none[0] || {}).message || rule.help)};
      entry.elements.add(describe(el) + (el.closest("tr") ? el.closest("tr").rowIndex : ""));
      found.set(key, entry);
    }
  }
  return [...found.values()].map((entry) => ({...entry, count: entry.elements.size,
                                              elements: undefined}));
}
