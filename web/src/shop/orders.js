// Orders and notifications. An order is placed PENDING and moves on asynchronously
// (outbox -> Celery -> payments -> CONFIRMED or FAILED with compensation: the saga),
// so the order page polls until the status is final and shows each change live.
import { api, esc, explain, session } from "../common/api.js";
import { money } from "./catalog.js";

const FINAL = new Set(["CONFIRMED", "FAILED", "CANCELLED"]);
const CANCELLABLE = new Set(["PENDING", "PAID", "CONFIRMED"]);

function needsSignIn(view, what) {
  if (session.get()) return false;
  const then = what === "Orders" ? "orders" : "notifications";
  view.innerHTML = `<section class="panel"><h1>${what}</h1><p><a href="#/account?then=${then}">Sign in</a> to see your ${what.toLowerCase()}.</p></section>`;
  return true;
}

const statusBadge = (status) => `<span class="status ${esc(status)}" data-testid="order-status">${esc(status)}</span>`;

export async function renderOrders(view) {
  if (needsSignIn(view, "Orders")) return;
  view.innerHTML = `<section class="panel stack"><h1>Orders</h1><div id="orders" aria-busy="true"><p class="muted">Loading…</p></div></section>`;
  const box = view.querySelector("#orders");
  try {
    const { data } = await api("/api/orders");
    box.innerHTML = data.items.length === 0 ? `<p class="muted">No orders yet.</p>` : `<div class="table-scroll"><table>
      <thead><tr><th scope="col">Order</th><th scope="col">Status</th><th scope="col">Total</th><th scope="col">Placed</th></tr></thead>
      <tbody>${data.items.map((order) => `<tr><td><a href="#/orders/${order.id}">#${order.id}</a></td>
        <td>${statusBadge(order.status)}</td><td class="num">${money(order.total)}</td>
        <td>${new Date(order.created_at).toLocaleString()}</td></tr>`).join("")}</tbody></table></div>`;
  } catch (error) {
    box.innerHTML = `<p class="notice error">${esc(explain(error))}</p>`;
  }
  box.setAttribute("aria-busy", "false");
}

export async function renderOrder(view, id) {
  if (needsSignIn(view, "Orders")) return;
  view.innerHTML = `<section class="panel stack" id="order"><p class="muted">Loading order #${id}…</p></section>`;
  const box = view.querySelector("#order");
  let timer = null;
  const history = [];

  async function refresh() {
    try {
      const { data: order } = await api(`/api/orders/${id}`);
      if (history[history.length - 1] !== order.status) history.push(order.status);
      box.innerHTML = `<h1>Order #${order.id} ${statusBadge(order.status)}</h1>
        <p class="muted small" data-testid="status-history">Status so far: ${history.map(esc).join(" → ")}
          ${FINAL.has(order.status) ? "" : " (updating live…)"}</p>
        ${order.failure_reason ? `<p class="notice error" data-testid="failure-reason">Reason: ${esc(order.failure_reason)}</p>` : ""}
        <div class="table-scroll"><table><thead><tr><th scope="col">Product</th><th scope="col">Quantity</th><th scope="col">Unit price</th></tr></thead>
        <tbody>${order.items.map((item) => `<tr><td><a href="#/product/${item.product_id}">${esc(item.name)}</a></td>
          <td>${item.quantity}</td><td class="num">${money(item.unit_price)}</td></tr>`).join("")}</tbody></table></div>
        <p>Total: <span class="price">${money(order.total)}</span></p>
        <div class="row">${CANCELLABLE.has(order.status) ? `<button type="button" class="danger" id="cancel">Cancel order</button>` : ""}
          <a href="#/notifications">Notifications</a><span id="cancel-status" role="status"></span></div>`;
      box.querySelector("#cancel")?.addEventListener("click", cancel);
      if (!FINAL.has(order.status)) timer = setTimeout(refresh, 700);
    } catch (error) {
      box.innerHTML = `<p class="notice error">${error.status === 404 ? "No such order." : esc(explain(error))}</p>`;
    }
  }

  async function cancel(event) {
    event.target.disabled = true;
    try {
      await api(`/api/orders/${id}/cancel`, { method: "POST" });
      clearTimeout(timer);
      refresh();
    } catch (error) {
      box.querySelector("#cancel-status").innerHTML = `<span class="notice error">${esc(explain(error))}</span>`;
      event.target.disabled = false;
    }
  }

  await refresh();
  return () => clearTimeout(timer);
}

export async function renderNotifications(view) {
  if (needsSignIn(view, "Notifications")) return;
  view.innerHTML = `<section class="panel stack"><h1>Notifications</h1><div id="notes" aria-busy="true"><p class="muted">Loading…</p></div></section>`;
  const box = view.querySelector("#notes");
  let timer = null;
  async function refresh() {
    try {
      const { data } = await api("/api/notifications");
      box.innerHTML = data.items.length === 0 ? `<p class="muted">Nothing yet: notifications arrive when an order is confirmed, fails or is cancelled.</p>`
        : `<ul>${data.items.map((note) => `<li><a href="#/orders/${note.order_id}">Order #${note.order_id}</a>
            <strong>${esc(note.kind)}</strong>: ${esc(note.message)} <span class="muted small">${new Date(note.created_at).toLocaleString()}</span></li>`).join("")}</ul>`;
      box.setAttribute("aria-busy", "false");
    } catch (error) {
      box.innerHTML = `<p class="notice error">${esc(explain(error))}</p>`;
    }
    timer = setTimeout(refresh, 5000);
  }
  await refresh();
  return () => clearTimeout(timer);
}
