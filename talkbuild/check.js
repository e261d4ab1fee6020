// What the deck check (talkbuild/check.py) measures on the slide reveal.js shows now,
// but contrast and alternative text (check_axe.js). Evaluated in the page: one
// function, called once per slide and fragment step, that returns plain data. Sizes are in slide pixels (reveal.js scales the slide to the
// window; Reveal.getScale() undoes it).
// `go`: [h, v] to show that slide with no fragment yet; `advance`: the next fragment
// step. One call per step: navigation, measurement and what comes next.
({tolerance, go, advance}) => {
  if (go) Reveal.slide(go[0], go[1], -1);
  else if (advance) Reveal.nextFragment();
  const slide = Reveal.getCurrentSlide();
  const scale = Reveal.getScale() || 1;
  const frame = Reveal.getSlidesElement().getBoundingClientRect();
  const clean = (text) => (text || "").trim().replace(/\s+/g, " ");
  const describe = (el) => {
    const text = clean(el.getAttribute("alt") || el.textContent);
    const classes = typeof el.className === "string" && el.className.trim()
      ? "." + el.className.trim().split(/\s+/).join(".") : "";
    return `<${el.tagName.toLowerCase()}${classes}>` + (text ? ` "${text.slice(0, 50)}"` : "");
  };
  // Speaker notes are not on the slide; KaTeX's MathML copy is for screen readers.
  const offSlide = "aside.notes, aside.notes *, .katex-mathml, .katex-mathml *, script, style";
  const shown = (el) => el.checkVisibility({opacityProperty: true, visibilityProperty: true});

  // --- Overflow: the outermost element that sticks out of the slide frame ---------
  const skip = offSlide + ", .katex *, pre *, svg *, br";
  const outside = (el) => {
    if (el.matches(skip)) return null;
    const style = getComputedStyle(el);
    if (style.display === "none" || style.position === "fixed") return null;
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) return null;
    const sides = {
      top: frame.top - box.top, bottom: box.bottom - frame.bottom,
      left: frame.left - box.left, right: box.right - frame.right};
    const over = Object.entries(sides).filter(([, px]) => px > tolerance * scale)
      .map(([side, px]) => `${Math.round(px / scale)} px past the ${side}`);
    return over.length ? over.join(", ") : null;
  };
  const overflow = [];
  for (const el of slide.querySelectorAll("*")) {
    const where = outside(el);
    if (where && !(el.parentElement !== slide && outside(el.parentElement))) {
      overflow.push(`${describe(el)} overflows the slide: ${where}`);
    }
  }
  for (const code of slide.querySelectorAll("pre code")) {
    if (code.closest("aside.notes")) continue;
    const down = code.scrollHeight - code.clientHeight;
    const across = code.scrollWidth - code.clientWidth;
    if (down > tolerance) overflow.push(`${describe(code.parentElement)} needs scrolling: ${down} px of code hidden below`);
    if (across > tolerance) overflow.push(`${describe(code.parentElement)} needs scrolling: ${across} px of code hidden to the right`);
  }

  // --- What is visible now: text line boxes and pictures ---------------------------
  const texts = [];  // {el, rects}
  const walker = document.createTreeWalker(slide, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!node.data.trim() || !el || el.closest(offSlide) || !shown(el)) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const rects = [...range.getClientRects()].filter((r) => r.width > 0 && r.height > 0);
    if (rects.length) texts.push({el, rects});
  }
  const pictures = [...slide.querySelectorAll("img, svg, video, canvas, iframe")]
    .filter((el) => !el.closest(offSlide) && !el.parentElement.closest("svg") && shown(el));

  // --- Under the navigation controls or the slide number -------------------------
  const covers = [];
  for (const button of document.querySelectorAll(".reveal .controls button")) {
    if (shown(button)) covers.push(["the navigation controls", button.getBoundingClientRect()]);
  }
  const number = document.querySelector(".reveal .slide-number");
  if (number && shown(number) && number.textContent.trim()) {
    covers.push(["the slide number", number.getBoundingClientRect()]);
  }
  const meets = (a, b) => a.left < b.right - tolerance && b.left < a.right - tolerance &&
    a.top < b.bottom - tolerance && b.top < a.bottom - tolerance;
  const covered = [];
  const things = texts.map(({el, rects}) => [el, rects])
    .concat(pictures.map((el) => [el, [el.getBoundingClientRect()]]));
  for (const [name, cover] of covers) {
    for (const [el, rects] of things) {
      if (rects.some((r) => meets(r, cover))) {
        covered.push(`${describe(el)} lies under ${name}`);
        break;  // one per control: the first element it hides
      }
    }
  }

  // --- Images that did not load, and how large each picture is drawn -------------
  const images = [...slide.querySelectorAll("img")].filter((img) => !img.closest("aside.notes"));
  const broken = images.filter((img) => !(img.complete && img.naturalWidth > 0))
    .map((img) => `image '${img.getAttribute("src")}' did not load`);
  const drawn = images.filter((img) => shown(img) && img.complete && img.naturalWidth > 0)
    .map((img) => ({src: img.currentSrc || img.src, shown: img.getAttribute("src"),
                    width: img.getBoundingClientRect().width / scale}));

  // --- The smallest text (computed font size: slide pixels) ----------------------
  let smallest = null;
  for (const {el} of texts) {
    const px = parseFloat(getComputedStyle(el).fontSize);
    if (!smallest || px < smallest.px) smallest = {px, what: describe(el)};
  }

  // --- Math: TeX errors and TeX left as text -------------------------------------
  const math = [];
  for (const el of slide.querySelectorAll(".katex-error")) {
    if (el.closest("aside.notes")) continue;
    math.push(`TeX error: ${clean(el.getAttribute("title") || el.textContent).slice(0, 120)}`);
  }
  for (const el of slide.querySelectorAll(".math-inline, .math-display")) {
    if (!el.closest("aside.notes") && !el.querySelector(".katex")) {
      math.push(`math not typeset: ${clean(el.textContent).slice(0, 60)}`);
    }
  }
  const rawTex = /\$\$?[^$]*[\\^_{}][^$]*\$\$?/;
  for (const {el} of texts) {
    if (el.closest("pre, code, .katex, .math-inline, .math-display")) continue;
    const match = el.textContent.match(rawTex);
    if (match) math.push(`TeX left as text: ${clean(match[0]).slice(0, 60)}`);
  }

  return {next: Boolean(Reveal.availableFragments().next), overflow: [...new Set(overflow)],
          covered: [...new Set(covered)], broken, drawn, smallest, math: [...new Set(math)]};
}
