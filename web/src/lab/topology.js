// The live topology: every component of docker-compose.yml as a node, coloured by its
// health, with its role, grouped in tiers from the edge down to the data; edges are the
// compose dependencies (who calls or needs whom). Redrawn in place every few seconds
// (fixed geometry per component list, so nothing moves while states change).
import { esc } from "../common/api.js";

const TIERS = ["edge", "gateway", "service", "async", "data", "job", "monitoring"];
const TIER_LABEL = { edge: "edge", gateway: "API gateways", service: "services", async: "async work & control",
  data: "data", job: "one-shot jobs", monitoring: "monitoring" };
const WIDTH = 1180;
const NODE_W = 108;
const NODE_H = 40;
const ROW_H = 84; // a tier's label sits above its first row
const PER_ROW = 10; // at most; a tier with more is split into balanced rows (11 -> 6 + 5)

/** A node's colour class: its health if it runs, else its state. */
export const healthClass = (c) => `h-${c.state === "running" ? (c.health || "starting") : c.state}`;

function layout(components) {
  const rows = [];
  for (const tier of TIERS) {
    const members = components.filter((c) => c.tier === tier);
    const perRow = Math.ceil(members.length / Math.ceil(members.length / PER_ROW));
    for (let i = 0; i < members.length; i += perRow) rows.push({ tier, first: i === 0, nodes: members.slice(i, i + perRow) });
  }
  const positions = new Map();
  rows.forEach((row, r) => {
    const gap = WIDTH / row.nodes.length;
    row.nodes.forEach((c, i) => positions.set(c.name, { x: gap * i + (gap - NODE_W) / 2, y: 28 + r * ROW_H }));
  });
  return { rows, positions, height: 38 + rows.length * ROW_H };
}

function svg(components) {
  const { rows, positions, height } = layout(components);
  const edges = [];
  for (const c of components) {
    for (const target of c.depends_on || []) {
      const from = positions.get(c.name);
      const to = positions.get(target);
      if (!from || !to || c.tier === "job" || components.find((x) => x.name === target)?.tier === "job") continue;
      const [x1, y1, x2, y2] = [from.x + NODE_W / 2, from.y + NODE_H, to.x + NODE_W / 2, to.y];
      edges.push(`<path class="edge" d="M${x1},${y1} C${x1},${(y1 + y2) / 2} ${x2},${(y1 + y2) / 2} ${x2},${y2}" />`);
    }
  }
  const labels = rows.filter((row) => row.first).map((row) => {
    const r = rows.indexOf(row);
    return `<text class="tier-label" x="4" y="${28 + r * ROW_H - 8}">${esc(TIER_LABEL[row.tier])}</text>`;
  });
  const nodes = components.map((c) => {
    const p = positions.get(c.name);
    return `<g class="node ${healthClass(c)}" data-component="${esc(c.name)}" data-health="${esc(c.health || c.state)}"
      transform="translate(${p.x.toFixed(1)},${p.y})"><title>${esc(`${c.name}: ${c.state}, ${c.health || "-"}${c.role ? `, ${c.role}` : ""}`)}</title>
      <rect width="${NODE_W}" height="${NODE_H}" rx="6"></rect>
      <text x="8" y="16">${esc(c.name.length > 17 ? `${c.name.slice(0, 16)}…` : c.name)}</text>
      <text class="sub" x="8" y="31">${esc(c.role || c.health || c.state)}</text></g>`;
  });
  return `<svg viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="Component topology">${labels.join("")}${edges.join("")}${nodes.join("")}</svg>`;
}

function list(components) {
  return TIERS.map((tier) => {
    const members = components.filter((c) => c.tier === tier);
    if (!members.length) return "";
    return `<h3>${esc(TIER_LABEL[tier])}</h3><ul>${members.map((c) => `<li class="${healthClass(c)}" data-component="${esc(c.name)}">
      <span>${esc(c.name)}</span><span class="muted small">${esc([c.role, c.health || c.state].filter(Boolean).join(" · "))}</span></li>`).join("")}</ul>`;
  }).join("");
}

export function renderTopology(box, components) {
  box.classList.add("topology");
  box.innerHTML = `${svg(components)}<div class="topology-list">${list(components)}</div>`;
}
