// The deploy feed: every step of the rolling, canary and blue-green deploys run against this
// stack (stackctl/deploy.py writes it, GET /api/control/deploys reads it), newest first. The
// canary's analysis is the row to read: canary vs baseline error rate and p95 at each check,
// then "promoting" or "rolled back" with the reason.
import { api, esc } from "../common/api.js";

export const listDeploys = () => api("/api/control/deploys").then(({ data }) => data.items);

const SHOWN = new Set(["t", "at", "step"]);
const VERDICT = { "rolled back": "error", promoting: "ok", promoted: "ok", "edge switched to green": "ok",
  "edge switched back to blue": "error" };

function details(entry) {
  return Object.entries(entry).filter(([key]) => !SHOWN.has(key))
    .map(([key, value]) => `${esc(key)}=${esc(typeof value === "object" ? JSON.stringify(value) : value)}`).join(" · ");
}

/** Render the newest steps into `box` ("no deploy yet" says how to start one). */
export function renderDeploys(box, items) {
  if (!items.length) {
    box.innerHTML = `<p class="muted">No deploy yet. Try <code>make deploy SERVICE=products VERSION=v2 STRATEGY=canary</code>
      (or a failing one: <code>make flag NAME=error_rate@products:v3 VALUE=0.5</code> first, then VERSION=v3).</p>`;
    return;
  }
  box.innerHTML = `<div class="table-scroll"><table class="small"><thead><tr><th>When (UTC)</th><th>Step</th><th>Details</th></tr></thead>
    <tbody>${items.map((entry) => `<tr class="${VERDICT[entry.step] ? `deploy-${VERDICT[entry.step]}` : ""}">
      <td>${esc(entry.at?.slice(11, 19) || "")}</td><td><strong>${esc(entry.step)}</strong></td>
      <td>${details(entry)}</td></tr>`).join("")}</tbody></table></div>`;
}
