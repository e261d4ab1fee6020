/* Where did that number come from? The provenance panel of a talkbuild deck.
 *
 * A reveal.js plugin (talkbuild/provenance.py adds it, with its data in
 * window.TalkProvenanceData, when a slide shows a figure or number made by a
 * script). P toggles a panel listing, for the current slide, each figure and each
 * number: the script and lines that made it, the content hash of its inputs, how
 * long the script ran, its seeds and parameters, and the commit (a link when the
 * front matter names the repository). Hovering a number in the text shows its
 * source key and exact value. The speaker view (S) shows the same list below the
 * slide's notes: it is added to each slide as a second <aside class="notes">,
 * which the notes plugin joins to the first. Nothing is loaded from anywhere.
 */
(function () {
  "use strict";

  var data = window.TalkProvenanceData || { entries: [], scripts: {} };

  function escape(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function exact(value) {
    return JSON.stringify(value);
  }

  function lines(range) {
    if (!range) return "";
    return range[0] === range[1] ? "line " + range[0] : "lines " + range[0] + "\u2013" + range[1];
  }

  function seconds(value) {
    if (value === null || value === undefined) return "";
    return value < 60 ? value.toFixed(1) + " s" : Math.floor(value / 60) + " min " + Math.round(value % 60) + " s";
  }

  function scriptLink(entry) {
    var text = escape(entry.file) + " " + lines(entry.lines);
    if (entry.function) text += " (" + escape(entry.function) + ")";
    return entry.url
      ? '<a href="' + escape(entry.url) + '" target="_blank" rel="noopener">' + text + "</a>"
      : text;
  }

  function pairs(object) {
    return Object.keys(object || {}).map(function (name) {
      return escape(name) + "=" + escape(JSON.stringify(object[name]));
    }).join(", ");
  }

  function entriesOf(h, v) {
    return data.entries.filter(function (entry) { return entry.h === h && entry.v === v; });
  }

  // The list for one slide, as HTML. Numbers quoted more than once (on the slide and in
  // its notes) are listed once.
  function describe(entries) {
    var seen = {}, scripts = [], items = [];
    entries.forEach(function (entry) {
      var id = entry.kind + "\u0000" + entry.source + "\u0000" + (entry.shown || "");
      if (seen[id]) return;
      seen[id] = true;
      if (scripts.indexOf(entry.script) < 0) scripts.push(entry.script);
      var item = '<li class="talk-provenance-' + entry.kind + '" data-source="' + escape(entry.source) + '">';
      if (entry.kind === "figure") {
        item += '<span class="talk-provenance-what">figure <code>' + escape(entry.source) + "</code></span> ";
      } else {
        item += '<span class="talk-provenance-what"><b>' + escape(entry.shown) + "</b>" +
          (entry.in === "notes" ? " (notes)" : "") + " = <code>" + escape(entry.source) +
          "</code> = <code class=\"talk-provenance-value\">" + escape(exact(entry.value)) + "</code></span> ";
      }
      item += "\u2190 " + scriptLink(entry);
      if (entry.computed_by) {
        item += ", computed by " + escape(entry.computed_by.name) + " (" + lines(entry.computed_by.lines) + ")";
      }
      if (entry.region) {
        var region = "region <code>" + escape(entry.region.name || "(whole file)") + "</code> (" + lines(entry.region.lines) + ")";
        item += "; the slide shows " + (entry.region.url
          ? '<a href="' + escape(entry.region.url) + '" target="_blank" rel="noopener">' + region + "</a>"
          : region);
      }
      items.push(item + "</li>");
    });
    var about = scripts.map(function (name) {
      var script = data.scripts[name] || {};
      var facts = [];
      if (script.inputs) facts.push("inputs " + escape(script.inputs.slice(0, 12)));
      if (script.duration !== null && script.duration !== undefined) facts.push("ran " + seconds(script.duration));
      if (data.commit) facts.push("commit " + escape(data.commit.slice(0, 10)) + (script.modified ? " (modified since)" : ""));
      var seeds = pairs(script.seeds);
      var text = '<li class="talk-provenance-script"><code>' + escape(script.file || name) + "</code>: " + facts.join(", ");
      if (seeds) text += "<br>seeds: " + seeds;
      var parameters = pairs(script.parameters);
      if (parameters) {
        text += "<details><summary>parameters (" + Object.keys(script.parameters).length +
          ")</summary>" + parameters + "</details>";
      }
      return text + "</li>";
    });
    return '<ul class="talk-provenance-list">' + items.join("") + "</ul>" +
      '<ul class="talk-provenance-scripts">' + about.join("") + "</ul>";
  }

  window.TalkProvenance = {
    id: "talk-provenance",
    init: function (deck) {
      var panel = document.createElement("div");
      panel.className = "talk-provenance";
      panel.setAttribute("role", "dialog");
      panel.setAttribute("aria-label", "Where this slide's figures and numbers come from");
      panel.hidden = true;
      deck.getRevealElement().appendChild(panel);

      var tooltip = document.createElement("div");
      tooltip.className = "talk-provenance-tooltip";
      tooltip.hidden = true;
      document.body.appendChild(tooltip);

      function update() {
        if (panel.hidden) return;
        var at = deck.getIndices();
        var entries = entriesOf(at.h, at.v || 0);
        panel.innerHTML = '<div class="talk-provenance-title">Sources of this slide <small>(P closes)</small></div>' +
          (entries.length ? describe(entries) : "<p>Nothing on this slide was made by a script.</p>");
      }

      function toggle() {
        panel.hidden = !panel.hidden;
        update();
      }

      deck.addKeyBinding({ keyCode: 80, key: "P", description: "Sources of figures and numbers" }, toggle);
      deck.on("slidechanged", update);

      // Hover on a number: its source key and exact value.
      deck.getRevealElement().addEventListener("mouseover", function (event) {
        var value = event.target.closest && event.target.closest(".talk-value[data-source]");
        if (!value) return;
        tooltip.textContent = value.getAttribute("data-source") + " = " + value.getAttribute("data-value");
        var box = value.getBoundingClientRect();
        tooltip.hidden = false;
        tooltip.style.left = Math.max(4, Math.min(box.left, window.innerWidth - tooltip.offsetWidth - 4)) + "px";
        tooltip.style.top = (box.bottom + 6) + "px";
      });
      deck.getRevealElement().addEventListener("mouseout", function (event) {
        if (event.target.closest && event.target.closest(".talk-value[data-source]")) tooltip.hidden = true;
      });

      // The speaker view: the same list below each slide's notes. Not when printing
      // (the notes pages would get it) and not in the speaker view's own previews.
      if (!deck.isPrintView() && !/receiver/i.test(window.location.search)) {
        deck.getSlides().forEach(function (slide) {
          var at = deck.getIndices(slide);
          var entries = entriesOf(at.h, at.v || 0);
          if (!entries.length) return;
          var aside = document.createElement("aside");
          aside.className = "notes";
          aside.innerHTML = '<div class="talk-provenance-notes" style="margin-top: 1em; padding-top: 0.5em; ' +
            'border-top: 1px solid #999; font-size: 0.8em;"><b>Sources</b>' + describe(entries) + "</div>";
          slide.appendChild(aside);
        });
      }
    }
  };
})();
