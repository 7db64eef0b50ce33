// DOM helpers. Every string from the server is untrusted (it comes from a trajectory), so it is
// only ever put in the document as a text node: no innerHTML, no attribute built from data
// except `href`s made by `link()` from our own paths with URLSearchParams.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "href") throw new Error("use link() for hrefs");
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// An in-app link: `path` is one of our routes, `params` become an encoded query string.
export function link(path, params, ...children) {
  const a = h("a", { "data-nav": true }, ...children);
  a.href = href(path, params);
  return a;
}

export function href(path, params) {
  if (!path.startsWith("/")) throw new Error("in-app paths only");
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v !== null && v !== undefined && v !== "") qs.set(k, v);
  const s = qs.toString();
  return s ? `${path}?${s}` : path;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export async function api(name, params) {
  const res = await fetch(href(`/api/${name}`, params), { headers: { Accept: "application/json" } });
  const body = await res.json();
  if (!res.ok) throw new Error(body.error || `HTTP ${res.status}`);
  return body;
}

export const pct = (v) => (v === null || v === undefined ? "–" : `${(100 * v).toFixed(1)}%`);
export const num = (v, digits = 0) =>
  v === null || v === undefined ? "–" : Number(v).toLocaleString("en-US", { maximumFractionDigits: digits });
export const secs = (v) => (v === null || v === undefined ? "–" : `${Number(v).toFixed(1)} s`);

export function badge(outcome) {
  const name = outcome || "unknown";
  return h("span", { class: `badge o-${name.replace(/[^a-z_]/g, "")}` }, name);
}

export function section(title, ...children) {
  return h("section", { class: "card" }, h("h2", {}, title), ...children);
}

export function errorBox(err) {
  return h("p", { class: "error-box", role: "alert" }, String(err && err.message ? err.message : err));
}

// Long text collapsed to its head and tail, the middle elided behind a button that shows it all.
export function collapsible(text, { head = 15, tail = 10, maxChars = 4000, cls = "" } = {}) {
  const pre = h("pre", { class: `out ${cls}` });
  const lines = (text ?? "").split("\n");
  if (lines.length <= head + tail + 5 && text.length <= maxChars) {
    pre.textContent = text;
    return pre;
  }
  let top = lines.slice(0, head).join("\n");
  let bottom = lines.slice(-tail).join("\n");
  if (lines.length <= head + tail + 5) {
    top = text.slice(0, maxChars / 2);
    bottom = text.slice(-maxChars / 4);
  }
  const hidden = lines.length > head + tail + 5 ? `${lines.length - head - tail} lines` : `${text.length - top.length - bottom.length} characters`;
  const more = h("button", { type: "button", class: "elided" }, `… ${hidden} elided (show all)`);
  more.addEventListener("click", () => {
    pre.textContent = text;
    pre.classList.add("expanded");
  });
  append(pre, [top, "\n", more, "\n", bottom]);
  pre.classList.add("collapsed");
  return pre;
}
