// The episode list: filters and sort live in the URL's query string; the server pages in SQL.

import { api, badge, clear, errorBox, h, href, link, num, secs } from "./dom.js";

export const FILTERS = ["run", "task", "repo", "outcome", "model", "sample", "k", "turns_min", "turns_max",
  "tokens_min", "tokens_max", "score_min", "score_max", "sort", "order"];
const COLUMNS = [["run", "run"], ["task", "task"], ["sample", "#"], ["repo", "repo"], ["model", "model"],
  ["outcome", "outcome"], ["turns", "turns"], ["tokens", "tokens"], ["seconds", "time"], ["score", "score"]];
const PAGE = 50;

export function listParams(params) {
  const out = {};
  for (const k of FILTERS) if (params.get(k)) out[k] = params.get(k);
  return out;
}

function select(name, label, values, current) {
  const el = h("select", { name, "aria-label": label }, h("option", { value: "" }, `${label}: all`));
  for (const [value, text] of values) {
    const opt = h("option", { value }, text);
    if (String(value) === current) opt.selected = true;
    el.append(opt);
  }
  return el;
}

function input(name, label, current, type = "number") {
  const el = h("input", { name, type, placeholder: label, "aria-label": label, step: type === "number" ? "any" : null });
  el.value = current || "";
  return el;
}

function filterForm(params, ctx) {
  const f = ctx.facets;
  const get = (k) => params.get(k) || "";
  const form = h("form", { class: "filters", id: "filters" },
    input("task", "task contains", get("task"), "search"),
    ctx.runs.length > 1 ? select("run", "run", ctx.runs.map((r) => [r.index, r.name]), get("run")) : null,
    select("repo", "repo", f.repo.map((v) => [v, v]), get("repo")),
    select("outcome", "outcome", f.outcome.map((v) => [v, v]), get("outcome")),
    select("model", "model", f.model.map((v) => [v, v]), get("model")),
    input("sample", "sample", get("sample")), input("k", "first k", get("k")),
    input("turns_min", "turns ≥", get("turns_min")), input("turns_max", "turns ≤", get("turns_max")),
    input("tokens_min", "tokens ≥", get("tokens_min")), input("tokens_max", "tokens ≤", get("tokens_max")),
    input("score_min", "score ≥", get("score_min")), input("score_max", "score ≤", get("score_max")),
    h("button", { type: "reset", class: "small" }, "clear"));
  return form;
}

function row(r, i, q, ctx) {
  const pos = (Number(q.get("offset")) || 0) + i;
  const to = { ...listParams(q), ep: `${r.run}:${r.id}`, pos };
  const open = link("/episode", to, r.instance_id);
  return h("tr", { dataset: { pos, run: r.run, id: r.id } },
    ctx.runs.length > 1 ? h("td", {}, ctx.runs[r.run].name) : null,
    h("td", { class: "task" }, open, r.error ? h("div", { class: "muted small clip" }, r.error) : null),
    h("td", { class: "n" }, String(r.sample)), h("td", {}, r.repo || ""), h("td", {}, r.model || ""),
    h("td", {}, badge(r.outcome)), h("td", { class: "n" }, num(r.turns)), h("td", { class: "n" }, num(r.tokens)),
    h("td", { class: "n" }, secs(r.total_seconds)), h("td", { class: "n" }, r.score === null ? "–" : r.score.toFixed(3)));
}

function header(q, ctx, go) {
  const sort = q.get("sort") || "task";
  const order = q.get("order") || "asc";
  const cells = COLUMNS.filter(([k]) => k !== "run" || ctx.runs.length > 1).map(([key, text]) => {
    const th = h("th", { class: "sortable", dataset: { sort: key } }, text, key === sort ? (order === "asc" ? " ▲" : " ▼") : "");
    th.addEventListener("click", () => go({ sort: key, order: key === sort && order === "asc" ? "desc" : "asc", offset: "" }));
    return th;
  });
  return h("thead", {}, h("tr", {}, cells));
}

export async function renderList(root, q, ctx) {
  const go = (changes, replace = false) => {
    const next = { ...listParams(q), offset: q.get("offset") || "", ...changes };
    ctx.navigate(href("/episodes", next), replace);
  };
  const form = filterForm(q, ctx);
  let timer = null;
  const submit = () => {
    const values = {};
    for (const el of form.elements) if (el.name) values[el.name] = el.value;
    go({ ...values, offset: "" }, true);
  };
  form.addEventListener("change", submit);
  form.addEventListener("input", (e) => { if (e.target.type === "search") { clearTimeout(timer); timer = setTimeout(submit, 300); } });
  form.addEventListener("submit", (e) => { e.preventDefault(); submit(); });
  form.addEventListener("reset", (e) => { e.preventDefault(); ctx.navigate("/episodes"); });
  const status = h("p", { class: "muted", id: "list-status" }, "loading…");
  const table = h("table", { class: "grid-table episodes", id: "episode-table" });
  const pager = h("div", { class: "pager" });
  root.append(form, status, table, pager);

  const offset = Number(q.get("offset")) || 0;
  let page;
  try {
    page = await api("episodes", { ...listParams(q), offset, limit: PAGE });
  } catch (err) {
    clear(status).append(errorBox(err));
    return;
  }
  const body = h("tbody", {}, page.rows.map((r, i) => row(r, i, q, ctx)));
  table.append(header(q, ctx, go), body);
  const last = Math.min(page.total, offset + page.rows.length);
  status.textContent = page.total ? `${num(offset + 1)}–${num(last)} of ${num(page.total)} episodes` : "no episode matches";
  const prev = h("button", { type: "button", disabled: offset === 0 }, "← previous");
  const next = h("button", { type: "button", disabled: last >= page.total }, "next →");
  prev.addEventListener("click", () => go({ offset: Math.max(0, offset - PAGE) }));
  next.addEventListener("click", () => go({ offset: offset + PAGE }));
  pager.append(prev, next);
  table.dataset.total = String(page.total);

  const rows = [...body.querySelectorAll("tr")];
  let sel = Number(sessionStorage.getItem("swegym-sel")) || 0;
  sessionStorage.removeItem("swegym-sel");
  const mark = () => rows.forEach((r, i) => r.classList.toggle("selected", i === sel));
  if (rows.length) mark();
  ctx.onKey = (key) => {
    if (key === "j" || key === "k") {
      const want = sel + (key === "j" ? 1 : -1);
      if (want >= rows.length && last < page.total) go({ offset: offset + PAGE });
      else if (want < 0 && offset > 0) { sessionStorage.setItem("swegym-sel", String(PAGE - 1)); go({ offset: offset - PAGE }); }
      else { sel = Math.max(0, Math.min(rows.length - 1, want)); mark(); rows[sel].scrollIntoView({ block: "nearest" }); }
      return true;
    }
    if ((key === "Enter" || key === "o") && rows[sel]) { rows[sel].querySelector("a").click(); return true; }
    if (key === "/") { form.elements.task.focus(); return true; }
    return false;
  };
}
