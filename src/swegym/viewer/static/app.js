// The single-page app: routes by path (the query string holds each view's state), theme, keys.

import { api, clear, errorBox } from "./dom.js";
import { renderCompare, renderEpisode } from "./episode.js";
import { renderList } from "./list.js";
import { renderOverview } from "./overview.js";

const ROUTES = { "/": renderOverview, "/episodes": renderList, "/episode": renderEpisode, "/compare": renderCompare };
const ctx = { runs: [], facets: { repo: [], model: [], outcome: [] }, onKey: null, navigate };
let generation = 0;

function navigate(url, replace = false) {
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  render();
}

async function render() {
  const mine = ++generation;
  const root = document.getElementById("app");
  const page = ROUTES[location.pathname] || renderList;
  ctx.onKey = null;
  root.removeAttribute("data-rendered");
  const fresh = document.createElement("main");
  fresh.id = "app";
  for (const a of document.querySelectorAll("#top nav a")) a.classList.toggle("active", a.getAttribute("href") === location.pathname);
  try {
    await page(fresh, new URLSearchParams(location.search), ctx);
  } catch (err) {
    fresh.append(errorBox(err));
  }
  if (mine !== generation) return; // a later navigation won the race
  root.replaceWith(fresh);
  if (!location.hash) window.scrollTo(0, 0);
  // Rendered: in the document and laid out. The time since navigation started is what the
  // browser test reads (time to first render of a page).
  requestAnimationFrame(() => { fresh.dataset.rendered = performance.now().toFixed(1); });
}

function setTheme(theme) {
  document.documentElement.dataset.theme = theme;
  localStorage.setItem("swegym-theme", theme);
  document.getElementById("theme-toggle").textContent = theme === "dark" ? "☀ light" : "☾ dark";
}

function toggleTheme() {
  setTheme(document.documentElement.dataset.theme === "dark" ? "light" : "dark");
}

function onKey(e) {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const t = e.target;
  if (t && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA")) {
    if (e.key === "Escape") t.blur();
    return;
  }
  if (e.key === "t") { toggleTheme(); e.preventDefault(); return; }
  if (ctx.onKey && ctx.onKey(e.key)) e.preventDefault();
}

async function start() {
  const saved = localStorage.getItem("swegym-theme");
  setTheme(saved || (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light"));
  document.getElementById("theme-toggle").addEventListener("click", toggleTheme);
  document.addEventListener("keydown", onKey);
  // In-app links navigate without reloading (and keep working as plain links when opened in a new tab).
  document.addEventListener("click", (e) => {
    const a = e.target.closest && e.target.closest("a[data-nav]");
    if (!a || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey) return;
    e.preventDefault();
    navigate(a.getAttribute("href"));
  });
  window.addEventListener("popstate", render);
  try {
    const info = await api("runs");
    ctx.runs = info.runs;
    ctx.facets = info.facets;
  } catch (err) {
    clear(document.getElementById("app")).append(errorBox(err));
    return;
  }
  await render();
}

start();
