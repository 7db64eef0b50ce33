// The episode page: summary, grade per test, the final diff, the conversation turn by turn.
// Everything in `detail` comes from a trajectory: it is put in the page as text only.

import { api, badge, collapsible, errorBox, h, href, link, num, secs, section } from "./dom.js";
import { highlightCode, highlightDiff, languageOf } from "./highlight.js";
import { listParams } from "./list.js";

function summary(d) {
  const e = d.episode;
  const items = [["run", d.run_name], ["sample", String(e.sample)], ["repo", e.repo || "–"], ["model", e.model || "–"],
    ["turns", num(e.turns)], ["tool calls", `${num(e.tool_calls)} (${num(e.tool_calls_parsed)} parsed)`],
    ["tokens", `${num(e.prompt_tokens)} in / ${num(e.completion_tokens)} out`],
    ["time", `${secs(e.total_seconds)} (model ${secs(e.model_seconds)}, sandbox ${secs(e.env_seconds)})`],
    ["reward", e.reward === null ? "–" : String(e.reward)]];
  if (d.score !== null) items.push(["verifier score", d.score.toFixed(4)]);
  for (const [k, v] of Object.entries(d.score_info || {})) if (typeof v === "number") items.push([k, v.toFixed(4)]);
  const box = h("dl", { class: "summary" }, items.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
  const notes = [];
  if (e.outcome === "tampered") {
    notes.push(h("p", { class: "warn-box", id: "tampered" }, "tampered: the code under test interfered with how its outcome was reported; reward 0."));
  }
  if (e.error) notes.push(h("div", { class: "error-box", id: "episode-error" }, h("b", {}, "error / reason: "), collapsible(e.error, { head: 8, tail: 4 })));
  return [box, ...notes];
}

function tests(d) {
  if (!d.tests.length) return section("grading", h("p", { class: "muted", id: "grades" }, "no test ran (see the outcome and error)"));
  const rows = d.tests.map((t) => h("tr", { class: t.after === "passed" ? "ok" : "bad" },
    h("td", { class: "test" }, t.test), h("td", {}, t.label), h("td", { class: `st st-${t.before}` }, t.before),
    h("td", { class: `st st-${t.after === "passed" ? "passed" : "failed"}` }, t.after)));
  const passed = d.tests.filter((t) => t.after === "passed").length;
  return section(`grading: ${passed}/${d.tests.length} labelled tests pass after the diff`,
    h("table", { class: "grid-table", id: "grades" },
      h("thead", {}, h("tr", {}, ["test", "label", "before (label)", "after"].map((c) => h("th", {}, c)))), h("tbody", {}, rows)));
}

function diff(d) {
  const text = d.episode.diff || "";
  return section("final diff", text ? highlightDiff(text) : h("p", { class: "muted" }, "no diff"));
}

function editorCall(a) {
  const parts = [h("div", { class: "call-head" }, h("b", {}, `editor ${a.command || "?"}`), " ", h("code", {}, a.path || ""))];
  const lang = languageOf(a.path);
  if (a.command === "str_replace") {
    const lines = [...String(a.old_str ?? "").split("\n").map((l) => `-${l}`), ...String(a.new_str ?? "").split("\n").map((l) => `+${l}`)];
    parts.push(highlightDiff(lines.join("\n")));
  } else if (a.command === "create") parts.push(collapsibleCode(String(a.file_text ?? ""), lang));
  else if (a.command === "insert") parts.push(h("div", { class: "muted small" }, `after line ${a.insert_line}`), highlightCode(String(a.new_str ?? ""), lang));
  else if (a.view_range) parts.push(h("div", { class: "muted small" }, `lines ${JSON.stringify(a.view_range)}`));
  return parts;
}

function collapsibleCode(text, lang) {
  return text.split("\n").length > 40 ? collapsible(text) : highlightCode(text, lang);
}

function toolCall(c) {
  const a = c.arguments || {};
  let body;
  if (c.arguments === null) body = [h("b", {}, `${c.name || "malformed call"}`), collapsible(c.raw || "")];
  else if (c.name === "execute_bash") body = [h("div", { class: "call-head" }, h("b", {}, "bash")), highlightCode(String(a.command ?? ""), "shell", "code cmd")];
  else if (c.name === "str_replace_editor") body = editorCall(a);
  else if (c.name === "finish") body = [h("b", {}, "finish"), " ", h("span", {}, String(a.message ?? ""))];
  else body = [h("b", {}, c.name || "?"), collapsible(JSON.stringify(a, null, 2))];
  return h("div", { class: `call tool-${(c.name || "unknown").replace(/[^a-z_]/g, "")}` }, c.from_text ? h("span", { class: "tag" }, "text call") : null, body);
}

function turnMeta(t) {
  const bits = [];
  if (t.seconds !== null && t.seconds !== undefined) bits.push(secs(t.seconds));
  if (t.prompt_tokens) bits.push(`${num(t.prompt_tokens)} prompt tok`);
  if (t.completion_tokens) bits.push(`${num(t.completion_tokens)} completion tok`);
  if (t.tool) bits.push(`tool ${t.tool}`);
  if (t.error) bits.push("tool error");
  return h("span", { class: "meta" }, bits.join(" · "));
}

function turn(t, n) {
  const head = h("div", { class: "turn-head" }, h("span", { class: `role r-${t.role}` }, t.role), n ? h("span", { class: "muted" }, ` step ${n}`) : null, turnMeta(t));
  const body = [];
  if (t.content) body.push(t.role === "assistant" ? h("div", { class: "say" }, collapsible(t.content, { head: 30, tail: 10 })) : collapsible(t.content));
  for (const c of t.tool_calls) body.push(toolCall(c));
  if (t.role === "system" || (t.role === "user" && t.idx <= 1)) {
    return h("details", { class: `turn t-${t.role}` }, h("summary", {}, head), body);
  }
  return h("div", { class: `turn t-${t.role}${t.error ? " t-error" : ""}`, dataset: { idx: t.idx } }, head, body);
}

export function conversation(d) {
  let step = 0;
  const turns = d.turns.map((t) => turn(t, t.role === "assistant" ? ++step : 0));
  return section(`conversation (${d.turns.length} messages)`, h("div", { class: "turns", id: "turns" }, turns));
}

export function episodeBody(d) {
  return [h("div", { class: "ep-summary" }, summary(d)), tests(d), diff(d), conversation(d)];
}

async function neighbour(q, delta) {
  const pos = Number(q.get("pos"));
  if (Number.isNaN(pos) || pos + delta < 0) return null;
  const page = await api("episodes", { ...listParams(q), offset: pos + delta, limit: 1 });
  const r = page.rows[0];
  return r ? href("/episode", { ...listParams(q), ep: `${r.run}:${r.id}`, pos: pos + delta }) : null;
}

export async function renderEpisode(root, q, ctx) {
  let d;
  try {
    d = await api("episode", episodeKey(q.get("ep")));
  } catch (err) {
    root.append(errorBox(err));
    return;
  }
  const e = d.episode;
  const siblings = await api("siblings", { run: d.run, id: e.id });
  const others = siblings.filter((s) => !(s.run === d.run && s.id === e.id));
  const back = link("/episodes", { ...listParams(q), offset: q.get("pos") ? Math.floor(Number(q.get("pos")) / 50) * 50 : null }, "← list (u)");
  const nav = h("div", { class: "ep-nav" }, back,
    h("button", { type: "button", id: "prev-ep", onclick: () => ctx.onKey("p") }, "previous (p)"),
    h("button", { type: "button", id: "next-ep", onclick: () => ctx.onKey("n") }, "next (n)"),
    others.length ? h("span", { class: "compare" }, "compare with: ", others.map((s) =>
      link("/compare", { a: `${d.run}:${e.id}`, b: `${s.run}:${s.id}` }, `${ctx.runs[s.run].name}#${s.sample} (${s.outcome})`))) : null);
  const title = h("h1", { id: "episode-title", dataset: { run: d.run, id: e.id } }, e.instance_id, " ", badge(e.outcome));
  root.append(nav, title, ...episodeBody(d));
  ctx.onKey = (key) => {
    if (key === "n" || key === "p" || key === "j" || key === "k") {
      neighbour(q, key === "n" || key === "j" ? 1 : -1).then((to) => { if (to) ctx.navigate(to); });
      return true;
    }
    if (key === "u" || key === "Escape") { back.click(); return true; }
    return false;
  };
}

// "RUN:ID" (an episode's key in URLs; the list's own `run` filter stays a separate parameter).
function episodeKey(value) {
  const [run, id] = String(value || "").split(":");
  return { run, id };
}

export async function renderCompare(root, q, ctx) {
  const parse = episodeKey;
  let pair;
  try {
    pair = await Promise.all([api("episode", parse(q.get("a"))), api("episode", parse(q.get("b")))]);
  } catch (err) {
    root.append(errorBox(err));
    return;
  }
  root.append(h("h1", {}, `compare: ${pair[0].episode.instance_id}`));
  const cols = pair.map((d) => h("div", { class: "col" },
    h("h2", {}, link("/episode", { ep: `${d.run}:${d.episode.id}` }, `${d.run_name} #${d.episode.sample}`), " ", badge(d.episode.outcome)),
    ...episodeBody(d)));
  root.append(h("div", { class: "side-by-side", id: "compare" }, cols));
}
