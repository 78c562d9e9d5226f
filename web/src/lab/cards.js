// Experiment cards: one JSON file per pattern in web/lab/cards/ (see its README), collected
// here at build time. Adding a pattern to the lab is adding a file there.
import { esc, explain } from "../common/api.js";
import { CHARTS } from "./charts.js";
import { pull, readCode } from "./control.js";

const modules = import.meta.glob("../../lab/cards/*.json", { eager: true, import: "default" });
export const CARDS = Object.values(modules).sort((a, b) => a.order - b.order || a.id.localeCompare(b.id));

function cardHtml(card) {
  const charts = (card.charts || []).filter((id) => CHARTS[id] || id === "alerts");
  return `<article class="card lab-card" id="card-${esc(card.id)}" data-card="${esc(card.id)}">
    <h3>${esc(card.title)}</h3>
    <p class="seed">Seed: ${esc(card.seed)}</p>
    <p>${esc(card.pattern)}</p>
    <h4>Levers</h4>
    <div class="levers">${card.levers.map((lever, index) => `<button type="button" class="${lever.action === "start" ? "secondary" : ""}"
      data-lever="${index}">${esc(lever.label)}</button>`).join("")}</div>
    <p class="small muted lever-status" role="status"></p>
    <h4>What to expect</h4>
    <p>${esc(card.expect)}</p>
    ${charts.length ? `<p class="small">Watch: ${charts.map((id) => `<a href="#chart-${id}">${esc(CHARTS[id]?.title || "Firing alerts")}</a>`).join(", ")}</p>` : ""}
    <h4>Code</h4>
    <ul class="small">${card.code.map((item) => `<li><a href="#" data-code="${esc(item.path)}">${esc(item.path)}</a> — ${esc(item.what)}</li>`).join("")}</ul>
  </article>`;
}

/** Render every card into `box`; `onPulled` runs after a lever's call (to refresh the topology).
 * What a lever answered is said in its own card, under the buttons, where the eyes are. */
export function renderCards(box, onPulled) {
  box.innerHTML = CARDS.map(cardHtml).join("");
  box.querySelectorAll(".lab-card").forEach((element) => {
    const card = CARDS.find((c) => c.id === element.dataset.card);
    const status = element.querySelector(".lever-status");
    element.querySelectorAll("[data-lever]").forEach((button) => button.addEventListener("click", async () => {
      const lever = card.levers[Number(button.dataset.lever)];
      button.disabled = true;
      status.textContent = `${lever.label}…`;
      try {
        const { data } = await pull(lever);
        status.textContent = `${lever.label}: ${data?.message || "done"}`;
      } catch (error) {
        status.textContent = `${lever.label} refused: ${explain(error)}`;
      } finally {
        button.disabled = false;
        onPulled();
      }
    }));
    element.querySelectorAll("[data-code]").forEach((link) => link.addEventListener("click", async (event) => {
      event.preventDefault();
      const dialog = document.getElementById("code-dialog");
      document.getElementById("code-title").textContent = link.dataset.code;
      document.getElementById("code-body").textContent = "Loading…";
      dialog.showModal();
      document.getElementById("code-body").textContent = await readCode(link.dataset.code);
    }));
  });
  document.getElementById("code-close").addEventListener("click", () => document.getElementById("code-dialog").close());
}
