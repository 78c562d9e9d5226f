// The storefront: a hash router over a handful of views, the header, and the
// "how was this served" strip fed by every API response's headers.
import "../common/style.css";
import { esc, onStory, session } from "../common/api.js";
import { renderAccount } from "./account.js";
import { cartCount, renderCart } from "./cart.js";
import { renderBrowse, renderProduct, renderSearch } from "./catalog.js";
import { renderNotifications, renderOrder, renderOrders } from "./orders.js";

const view = document.getElementById("view");
let leave = null; // a view's cleanup (stops its polling) when another view replaces it

const routes = [
  [/^#?\/?$/, () => renderBrowse(view, new URLSearchParams())],
  [/^#\/browse\?(.*)$/, (m) => renderBrowse(view, new URLSearchParams(m[1]))],
  [/^#\/search\?(.*)$/, (m) => renderSearch(view, new URLSearchParams(m[1]))],
  [/^#\/product\/(\d+)$/, (m) => renderProduct(view, Number(m[1]))],
  [/^#\/cart$/, () => renderCart(view)],
  [/^#\/orders$/, () => renderOrders(view)],
  [/^#\/orders\/(\d+)$/, (m) => renderOrder(view, Number(m[1]))],
  [/^#\/notifications$/, () => renderNotifications(view)],
  [/^#\/account(?:\?(.*))?$/, (m) => renderAccount(view, new URLSearchParams(m[1] || ""))],
];

async function route() {
  if (leave) leave();
  leave = null;
  const hash = location.hash || "#/";
  for (const [pattern, render] of routes) {
    const match = hash.match(pattern);
    if (match) {
      leave = (await render(match)) || null;
      return;
    }
  }
  view.innerHTML = `<section class="panel"><h1>Not found</h1><p><a href="#/">Back to the shop</a></p></section>`;
}

function refreshHeader() {
  const current = session.get();
  const account = document.getElementById("account-link");
  account.textContent = current ? `Account (${current.email})` : "Sign in";
  document.getElementById("cart-link").textContent = `Cart (${cartCount()})`;
}

document.getElementById("search-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const q = new FormData(event.target).get("q").trim();
  if (q) location.hash = `#/search?q=${encodeURIComponent(q)}`;
});

const strip = document.getElementById("served");
onStory((story) => {
  // Which hop did what: nginx's request id, the gateway replica, the service replica behind it,
  // the app cache (X-Cache), the edge cache (X-Cache-Status), which database served the read.
  const parts = [
    ["request", story.path],
    ["status", story.status],
    ["gateway", story.gateway],
    ["replica", story.replica],
    ["cache", story.cache],
    ["edge", story.edgeCache],
    ["db read", story.dbRead],
    ["time", `${story.ms} ms`],
  ].filter(([, value]) => value !== null && value !== undefined);
  strip.innerHTML = parts.map(([name, value]) => `<span><b>${name}</b> ${esc(value)}</span>`).join("")
    + (story.requestId ? `<span data-testid="request-id"><b>request id</b> ${esc(story.requestId)}
       <span class="muted">(make grep-logs ID=${esc(story.requestId)})</span></span>` : "");
});

window.addEventListener("hashchange", route);
window.addEventListener("session", refreshHeader);
window.addEventListener("cart", refreshHeader);
refreshHeader();
route();
