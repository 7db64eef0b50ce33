// The runs overview: per run, the numbers of `swegym report` (and of `swegym rerank` when scores exist).

import { curveChart, shareBar } from "./charts.js";
import { api, badge, errorBox, h, link, num, pct, section, secs } from "./dom.js";

function table(head, rows) {
  return h("table", { class: "grid-table" }, h("thead", {}, h("tr", {}, head.map((c) => h("th", {}, c)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c))))));
}

function totals(run, t) {
  const items = [
    ["episodes", num(t.episodes)], ["tasks", num(t.tasks)], ["repos", num(t.repos)], ["K", num(t.K)],
    ["resolve rate", pct(t.resolve_rate)], ["resolved", num(t.resolved)], ["errors", num(t.errors)],
    ["tampered", num(t.tampered)],
  ];
  return h("div", { class: "stats" }, items.map(([k, v]) => h("div", { class: "stat" }, h("b", {}, v), h("span", {}, k))));
}

function curves(report, rerank) {
  const series = [{ name: "pass@k", points: report.pass_at_k.map((r) => ({ k: r.k, value: r.value, lo: r.ci_low, hi: r.ci_high })) }];
  if (rerank) {
    const pick = (key) => rerank.map((r) => ({ k: r.k, value: r[`${key}_at_k`], lo: r[`${key}_ci`][0], hi: r[`${key}_ci`][1] }));
    series.push({ name: "random@k", points: pick("random") }, { name: "best@k", points: pick("best") }); // best drawn on top
  }
  const rows = report.pass_at_k.map((r) => [String(r.k), num(r.tasks), pct(r.value), `[${pct(r.ci_low)}, ${pct(r.ci_high)}]`]);
  const parts = [curveChart(series, { title: "pass@k with 95% bootstrap intervals" }),
    table(["k", "tasks", "pass@k", "95% CI"], rows)];
  if (rerank) {
    parts.push(table(["k", "tasks", "best@k", "pass@k", "random@k"], rerank.map((r) =>
      [String(r.k), num(r.tasks), pct(r.best_at_k), pct(r.pass_at_k), pct(r.random_at_k)])));
  }
  return section(rerank ? "pass@k and best@k (verifier rerank)" : "pass@k", h("div", { class: "chart-row" }, parts));
}

function perRepo(run, report) {
  return section("per repository", table(["repository", "tasks", "episodes", "resolve rate", "pass@1"],
    report.per_repo.map((r) => [link("/episodes", { run: run.index, repo: r.repo }, r.repo), num(r.tasks),
      num(r.episodes), pct(r.resolve_rate), pct(r.pass_at_1)])));
}

function outcomes(run, report) {
  const total = Object.values(report.outcomes).reduce((a, b) => a + b, 0) || 1;
  const rows = Object.entries(report.outcomes).filter(([, n]) => n > 0).map(([name, n]) =>
    h("div", { class: "bar-row" }, link("/episodes", { run: run.index, outcome: name }, badge(name)),
      h("span", { class: "bar" }, h("span", { class: `bar-fill o-${name}`, dataset: { share: (n / total).toFixed(3) } })),
      h("span", { class: "bar-n" }, `${num(n)} (${pct(n / total)})`)));
  return section("outcomes", h("div", { class: "bars" }, rows));
}

function timeSplit(report) {
  const t = report.time_split;
  const st = report.episode_stats;
  const rows = Object.entries(st).map(([k, v]) => [k, num(v.mean, 2), num(v.median, 2), num(v.total, 1)]);
  return section("time split",
    shareBar([{ name: "model", value: t.model_share, cls: "s-model" }, { name: "sandbox", value: t.env_share, cls: "s-env" },
      { name: "other", value: t.other_share, cls: "s-other" }]),
    h("p", { class: "muted" }, `summed episode time: ${secs(st.total_seconds && st.total_seconds.total)}`),
    table(["per episode", "mean", "median", "total"], rows));
}

function runCard(ov) {
  const run = ov.run;
  const head = h("h1", { title: run.path }, run.name); // the path on hover
  if (!ov.report) return h("div", { class: "run" }, head, h("p", {}, "no finished episode yet"));
  const settings = run.settings ? Object.entries(run.settings).filter(([, v]) => typeof v !== "object").map(([k, v]) => `${k}=${v}`).join(" · ") : "";
  return h("div", { class: "run", dataset: { run: run.index } }, head, settings && h("p", { class: "muted small" }, settings),
    h("p", {}, link("/episodes", { run: run.index }, `browse ${num(run.episodes)} episodes →`)),
    totals(run, ov.report.totals), curves(ov.report, ov.rerank), h("div", { class: "two" }, outcomes(run, ov.report), timeSplit(ov.report)),
    perRepo(run, ov.report));
}

export async function renderOverview(root, _params, ctx) {
  const cards = await Promise.all(ctx.runs.map((r) => api("overview", { run: r.index }).then(runCard, errorBox)));
  root.append(...cards);
  // Bar widths are set through the CSSOM (allowed by the CSP, unlike style attributes).
  for (const el of root.querySelectorAll(".bar-fill")) el.style.width = `${100 * Number(el.dataset.share)}%`;
}
