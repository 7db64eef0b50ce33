// A small syntax highlighter: unified diffs line by line, Python tokens within lines. Tokens
// become <span>s whose text is set with textContent: highlighting never parses markup.

import { h } from "./dom.js";

const PY_KEYWORDS = new Set(
  ("False None True and as assert async await break class continue def del elif else except " +
    "finally for from global if import in is lambda nonlocal not or pass raise return try while " +
    "with yield match case self").split(" "),
);
const PY_BUILTINS = new Set(
  ("print len range str int float dict list set tuple bool isinstance super open type object " +
    "Exception ValueError TypeError KeyError RuntimeError enumerate zip sorted min max sum any all").split(" "),
);

// One alternation, tried left to right at each position: comment, string, number, word, other.
const PY_TOKEN =
  /(#.*)|([rbfuRBFU]{0,2}(?:"""|'''|"(?:\\.|[^"\\])*"?|'(?:\\.|[^'\\])*'?))|(\b\d[\d_]*(?:\.\d*)?(?:[eE][+-]?\d+)?\b)|(@?[A-Za-z_][A-Za-z0-9_]*)|(\s+|.)/gy;

const SH_TOKEN = /(#.*)|("(?:\\.|[^"\\])*"?|'[^']*'?)|(\$\{?\w+\}?)|(\s+|[|&;<>()]+|[^\s|&;<>()"'$#]+|.)/gy;

export function languageOf(path) {
  if (/\.pyi?$/.test(path || "")) return "python";
  if (/\.(sh|bash)$/.test(path || "")) return "shell";
  return null;
}

// Spans of one line of code in `lang` (null: plain text).
export function tokens(line, lang) {
  if (lang === "python") return pythonTokens(line);
  if (lang === "shell") return shellTokens(line);
  return [line];
}

function pythonTokens(line) {
  const out = [];
  PY_TOKEN.lastIndex = 0;
  let m;
  while (PY_TOKEN.lastIndex < line.length && (m = PY_TOKEN.exec(line))) {
    if (m[1]) out.push(h("span", { class: "t-com" }, m[1]));
    else if (m[2]) out.push(h("span", { class: "t-str" }, m[2]));
    else if (m[3]) out.push(h("span", { class: "t-num" }, m[3]));
    else if (m[4]) {
      const w = m[4];
      const cls = w.startsWith("@") ? "t-dec" : PY_KEYWORDS.has(w) ? "t-kw" : PY_BUILTINS.has(w) ? "t-bi" : null;
      out.push(cls ? h("span", { class: cls }, w) : w);
    } else out.push(m[5]);
  }
  return out;
}

function shellTokens(line) {
  const out = [];
  SH_TOKEN.lastIndex = 0;
  let m;
  let first = true;
  while (SH_TOKEN.lastIndex < line.length && (m = SH_TOKEN.exec(line))) {
    if (m[1]) out.push(h("span", { class: "t-com" }, m[1]));
    else if (m[2]) out.push(h("span", { class: "t-str" }, m[2]));
    else if (m[3]) out.push(h("span", { class: "t-num" }, m[3]));
    else {
      const w = m[4];
      if (/^[|&;]+$/.test(w)) first = true;
      if (first && /^[\w./-]+$/.test(w)) {
        out.push(h("span", { class: "t-kw" }, w));
        first = false;
      } else out.push(w);
    }
  }
  return out;
}

// Lines highlighted at most: an agent can leave a diff or a command of any size, and a span per
// token of 200,000 lines would hang the tab. The rest is plain text behind a button.
export const MAX_LINES = 3000;

function rest(pre, lines) {
  if (lines.length <= MAX_LINES) return;
  const more = h("button", { type: "button", class: "elided" }, `… ${lines.length - MAX_LINES} more lines (show as plain text)`);
  more.addEventListener("click", () => more.replaceWith(lines.slice(MAX_LINES).join("\n")));
  pre.append(more);
}

export function highlightCode(text, lang, cls = "code") {
  const pre = h("pre", { class: cls });
  const lines = (text ?? "").split("\n");
  for (const line of lines.slice(0, MAX_LINES)) pre.append(h("span", { class: "line" }, tokens(line, lang)), "\n");
  rest(pre, lines);
  return pre;
}

// A unified diff, one element per line, classed by kind, Python tokens in .py files.
export function highlightDiff(diff) {
  const pre = h("pre", { class: "diff", "data-diff": true });
  let lang = null;
  const lines = (diff ?? "").split("\n");
  const files = lines.filter((line) => line.startsWith("diff --git")).length;
  for (const line of lines.slice(0, MAX_LINES)) {
    let cls = "d-ctx";
    let body = line;
    let mark = "";
    if (line.startsWith("diff --git")) cls = "d-file";
    else if (line.startsWith("+++ ") || line.startsWith("--- ")) {
      cls = "d-file";
      if (line.startsWith("+++ ")) lang = languageOf(line.slice(4).trim());
    } else if (line.startsWith("@@")) cls = "d-hunk";
    else if (/^(index |new file|deleted file|similarity|rename |old mode|new mode)/.test(line)) cls = "d-meta";
    else if (line.startsWith("+")) [cls, mark, body] = ["d-add", "+", line.slice(1)];
    else if (line.startsWith("-")) [cls, mark, body] = ["d-del", "-", line.slice(1)];
    else if (line.startsWith(" ")) [mark, body] = [" ", line.slice(1)];
    const content = cls === "d-file" || cls === "d-hunk" || cls === "d-meta" ? [line] : [mark, tokens(body, lang)];
    pre.append(h("span", { class: `line ${cls}` }, content)); // block lines: no "\n" between them
  }
  rest(pre, lines);
  pre.dataset.files = String(files);
  return pre;
}
