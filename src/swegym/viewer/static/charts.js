// SVG charts built with DOM APIs: metric@k curves with their confidence bands, and bar rows.

const NS = "http://www.w3.org/2000/svg";

function s(tag, attrs, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

// series: [{name, cls, points: [{k, value, lo, hi}]}], values in [0, 1].
export function curveChart(series, { width = 520, height = 260, title = "" } = {}) {
  const pad = { l: 44, r: 12, t: 22, b: 34 };
  const ks = series.flatMap((ser) => ser.points.map((p) => p.k));
  const kmax = Math.max(1, ...ks);
  const kmin = Math.min(kmax, ...ks);
  const x = (k) => pad.l + (kmax === kmin ? 0.5 : (k - kmin) / (kmax - kmin)) * (width - pad.l - pad.r);
  const y = (v) => pad.t + (1 - v) * (height - pad.t - pad.b);
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img" });
  svg.append(s("title", {}, title));
  for (let t = 0; t <= 1.0001; t += 0.25) {
    svg.append(s("line", { x1: pad.l, x2: width - pad.r, y1: y(t), y2: y(t), class: "grid" }));
    svg.append(s("text", { x: pad.l - 6, y: y(t) + 4, class: "axis", "text-anchor": "end" }, `${t * 100}%`));
  }
  for (const k of [...new Set(ks)].sort((a, b) => a - b)) {
    svg.append(s("text", { x: x(k), y: height - pad.b + 16, class: "axis", "text-anchor": "middle" }, String(k)));
  }
  svg.append(s("text", { x: width / 2, y: height - 4, class: "axis", "text-anchor": "middle" }, "k"));
  series.forEach((ser, i) => {
    const pts = ser.points.filter((p) => p.value !== null && p.value !== undefined);
    if (!pts.length) return;
    const band = pts.filter((p) => p.lo !== null && p.hi !== null);
    if (band.length) {
      const upper = band.map((p) => `${x(p.k)},${y(p.hi)}`);
      const lower = band.map((p) => `${x(p.k)},${y(p.lo)}`).reverse();
      svg.append(s("polygon", { points: [...upper, ...lower].join(" "), class: `band c${i}` }));
    }
    svg.append(s("polyline", { points: pts.map((p) => `${x(p.k)},${y(p.value)}`).join(" "), class: `curve c${i}` }));
    for (const p of pts) {
      const dot = s("circle", { cx: x(p.k), cy: y(p.value), r: 3, class: `dot c${i}` });
      dot.append(s("title", {}, `${ser.name} k=${p.k}: ${(100 * p.value).toFixed(1)}%`));
      svg.append(dot);
    }
    svg.append(s("rect", { x: pad.l + 8 + i * 110, y: 6, width: 10, height: 10, class: `key c${i}` }));
    svg.append(s("text", { x: pad.l + 22 + i * 110, y: 15, class: "legend" }, ser.name));
  });
  return svg;
}

// A stacked horizontal bar of shares: parts [{name, value, cls}], values summing to <= 1.
export function shareBar(parts) {
  const svg = s("svg", { viewBox: "0 0 500 28", class: "share", role: "img" });
  let at = 0;
  for (const p of parts) {
    const w = Math.max(0, (p.value || 0) * 500);
    const rect = s("rect", { x: at, y: 0, width: w, height: 28, class: p.cls });
    rect.append(s("title", {}, `${p.name}: ${((p.value || 0) * 100).toFixed(1)}%`));
    svg.append(rect);
    if (w > 70) svg.append(s("text", { x: at + 6, y: 18, class: "share-label" }, `${p.name} ${((p.value || 0) * 100).toFixed(0)}%`));
    at += w;
  }
  return svg;
}
