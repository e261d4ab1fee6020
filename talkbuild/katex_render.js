// Typesets every formula of one build with KaTeX's library API (talkbuild/tex.py).
//
//   node katex_render.js NODE_MODULES < request.json > response.json
//
// request:  {"formulas": [{"tex": "...", "display": false, "mathml": false}, ...]}
// response: {"version": "0.19.1", "results": [{"html": "...", "warnings": [...]}
//                                             | {"error": "...", "position": 7}, ...]}
//
//   node katex_render.js NODE_MODULES --lines     (the live preview's warm process)
//
// reads one request per line and answers each with one response line, until
// stdin closes.
//
// One process for all formulas: Node's start-up and loading KaTeX cost more than
// typesetting a whole talk. `mathml` formulas (speaker notes) get MathML only;
// the others KaTeX's HTML and MathML. A TeX error is a result, not a crash.
"use strict";

const path = require("path");

const katex = require(path.join(process.argv[2], "katex"));

function typeset(formula) {
  const warnings = [];
  const options = {
    displayMode: formula.display,
    output: formula.mathml ? "mathml" : "htmlAndMathml",
    throwOnError: true,
    // KaTeX's "strict" findings (a % comment that eats the closing $, Unicode
    // text in math...) are reported by the build as warnings.
    strict: (code, message) => {
      warnings.push(message);
      return "ignore";
    },
  };
  try {
    const html = katex.renderToString(formula.tex, options);
    return warnings.length ? { html, warnings } : { html };
  } catch (error) {
    if (!(error instanceof katex.ParseError)) throw error;
    return { error: error.rawMessage || error.message, position: error.position };
  }
}

function respond(text) {
  const results = JSON.parse(text).formulas.map(typeset);
  return JSON.stringify({ version: katex.version, results });
}

if (process.argv[3] === "--lines") {
  const lines = require("readline").createInterface({ input: process.stdin });
  lines.on("line", (line) => process.stdout.write(respond(line) + "\n"));
} else {
  const chunks = [];
  process.stdin.on("data", (chunk) => chunks.push(chunk));
  process.stdin.on("end", () => process.stdout.write(respond(Buffer.concat(chunks).toString("utf8"))));
}
