// The control room: live topology (control API), live charts (Prometheus through the edge)
// and one experiment card per pattern. The control API answers only the development admin;
// anyone else sees the charts and the cards, and a sign-in form for the levers.
import "../common/style.css";
import { esc, explain, session, signIn } from "../common/api.js";
import { renderCards } from "./cards.js";
import { startCharts } from "./charts.js";
import { listComponents } from "./control.js";
import { listDeploys, renderDeploys } from "./deploys.js";
import { renderTopology } from "./topology.js";

const TOPOLOGY_EVERY_MS = 2000;
const gate = document.getElementById("gate");
const topologyBox = document.getElementById("topology-view");
const meta = document.getElementById("topology-meta");
const deploysBox = document.getElementById("deploys-view");
let timer = null;

function showGate(message) {
  gate.hidden = false;
  gate.innerHTML = `<h2>Sign in as the development admin</h2>
    <p>${esc(message)} The levers and the topology come from the control API, which answers only the
    admin account and only while the stack runs with <code>ENVIRONMENT=development</code>.</p>
    <form id="lab-sign-in" class="grid" novalidate>
      <div><label for="lab-email">Email</label><input id="lab-email" name="email" type="email" autocomplete="username"
        placeholder="admin@scaleshop.local" required /></div>
      <div><label for="lab-password">Password</label><input id="lab-password" name="password" type="password"
        autocomplete="current-password" required /></div>
      <div><p class="row"><button type="submit">Sign in</button></p><p role="alert" id="lab-error"></p></div>
    </form>
    <p class="muted small">Development default: admin@scaleshop.local / dev-only-admin-password (ADMIN_EMAIL / ADMIN_PASSWORD).</p>`;
  gate.querySelector("form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const { email, password } = Object.fromEntries(new FormData(event.target));
    try {
      await signIn(email, password);
      refreshTopology();
    } catch (error) {
      gate.querySelector("#lab-error").innerHTML = `<span class="notice error">${esc(explain(error))}</span>`;
    }
  });
}

async function refreshTopology() {
  clearTimeout(timer);
  const current = session.get();
  document.getElementById("who").textContent = current ? `signed in: ${current.email}` : "";
  try {
    const data = await listComponents();
    gate.hidden = true;
    renderTopology(topologyBox, data.components);
    renderDeploys(deploysBox, await listDeploys().catch(() => []));
    const count = (health) => data.components.filter((c) => c.health === health).length;
    const services = data.components.filter((c) => !["completed", "absent"].includes(c.health)).length;
    const load = data.load?.running ? ` · load: ${data.load.shape}, ${data.load.users} users` : "";
    meta.innerHTML = `${esc(data.runtime)} runtime · ${count("healthy")} of ${services} running components healthy
      · ${count("completed")} one-shot jobs done${count("absent") ? ` · ${count("absent")} Docker-only` : ""}${esc(load)}
      ${data.grafana ? ` · <a href="${esc(data.grafana)}">Grafana</a>` : ""}`;
  } catch (error) {
    if (error.status === 401 || error.status === 403) {
      showGate(current ? `${current.email} is not the admin.` : "The topology needs the control API.");
      topologyBox.innerHTML = `<p class="muted">No access to the control API.</p>`;
      return;
    }
    meta.textContent = `control API: ${explain(error)}`;
  }
  timer = setTimeout(refreshTopology, TOPOLOGY_EVERY_MS);
}

startCharts(document.getElementById("chart-grid"));
renderCards(document.getElementById("cards"), refreshTopology);
refreshTopology();
