// The cart (kept in the browser) and checkout. Each checkout *attempt* gets one
// Idempotency-Key, kept until the attempt has an answer: a double click, a retry after
// a dropped connection or a reload re-sends the same key, and the orders service
// replays the first answer instead of placing a second order (seed: "idempotency").
import { api, esc, explain, session } from "../common/api.js";
import { money } from "./catalog.js";

const CART_KEY = "scaleshop.cart";
const ATTEMPT_KEY = "scaleshop.checkout-attempt";

const load = (key, fallback) => {
  try {
    return JSON.parse(localStorage.getItem(key)) ?? fallback;
  } catch {
    return fallback;
  }
};
const cart = () => load(CART_KEY, []);
const save = (items) => {
  localStorage.setItem(CART_KEY, JSON.stringify(items));
  window.dispatchEvent(new Event("cart"));
};

export const cartCount = () => cart().reduce((sum, item) => sum + item.quantity, 0);

export function addToCart(product, quantity = 1) {
  const items = cart();
  const line = items.find((item) => item.product_id === product.id);
  if (line) line.quantity = Math.min(100, line.quantity + quantity);
  else items.push({ product_id: product.id, name: product.name, price: product.price, quantity });
  save(items);
}

function newKey() {
  // crypto.randomUUID needs a secure context; getRandomValues works on plain http too.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `checkout-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** The key of this attempt: the pending one if the cart is unchanged since, else a new one. */
function attemptKey(items) {
  const fingerprint = JSON.stringify(items.map(({ product_id, quantity }) => [product_id, quantity]));
  const pending = load(ATTEMPT_KEY, null);
  if (pending && pending.fingerprint === fingerprint) return pending.key;
  const key = newKey();
  localStorage.setItem(ATTEMPT_KEY, JSON.stringify({ key, fingerprint }));
  return key;
}

export function renderCart(view) {
  const items = cart();
  const total = items.reduce((sum, item) => sum + item.price * item.quantity, 0);
  view.innerHTML = `<section class="panel stack"><h1>Cart</h1>
    ${items.length === 0 ? `<p class="muted">Your cart is empty. <a href="#/">Browse the shop</a>.</p>` : `
    <div class="table-scroll"><table class="cart"><thead><tr><th scope="col">Product</th><th scope="col">Quantity</th><th scope="col">Price</th>
      <th scope="col"><span class="visually-hidden">Remove</span></th></tr></thead>
    <tbody>${items.map((item, index) => `<tr>
      <td><a href="#/product/${item.product_id}">${esc(item.name)}</a></td>
      <td><label class="visually-hidden" for="qty-${index}">Quantity of ${esc(item.name)}</label>
        <input id="qty-${index}" data-line="${index}" type="number" min="1" max="100" value="${item.quantity}" class="quantity" /></td>
      <td class="num">${money(item.price * item.quantity)}</td>
      <td><button type="button" class="secondary" data-remove="${index}" aria-label="Remove ${esc(item.name)}">Remove</button></td>
    </tr>`).join("")}</tbody></table></div>
    <p>Total: <span class="price" id="cart-total">${money(total)}</span></p>
    <p class="muted small">Test card: the simulated payment provider declines any total whose cents are .13.</p>
    <div class="row"><button type="button" id="checkout">Place order</button><span id="checkout-status" role="status"></span></div>`}
    </section>`;
  view.querySelectorAll("[data-line]").forEach((input) => input.addEventListener("change", () => {
    const next = cart();
    next[Number(input.dataset.line)].quantity = Math.max(1, Math.min(100, Number(input.value) || 1));
    save(next);
    renderCart(view);
  }));
  view.querySelectorAll("[data-remove]").forEach((button) => button.addEventListener("click", () => {
    const next = cart();
    next.splice(Number(button.dataset.remove), 1);
    save(next);
    renderCart(view);
  }));
  view.querySelector("#checkout")?.addEventListener("click", (event) => checkout(event.target, view));
}

async function checkout(button, view) {
  const status = view.querySelector("#checkout-status");
  if (!session.get()) {
    status.innerHTML = `Please <a href="#/account?then=cart">sign in or create an account</a> to check out.`;
    return;
  }
  const items = cart().map(({ product_id, quantity }) => ({ product_id, quantity }));
  const key = attemptKey(items);
  button.disabled = true;
  status.textContent = "Placing the order…";
  for (let tries = 0; tries < 10; tries += 1) {
    try {
      const { data: order } = await api("/api/orders", { method: "POST", body: { items }, headers: { "Idempotency-Key": key } });
      localStorage.removeItem(ATTEMPT_KEY);
      save([]);
      location.hash = `#/orders/${order.id}`;
      return;
    } catch (error) {
      if (error.status === 409 && /in progress|contended/i.test(explain(error))) {
        await new Promise((resolve) => setTimeout(resolve, 500)); // same key still being handled: wait, ask again
        continue;
      }
      if (error.status && error.status < 500 && error.status !== 409) localStorage.removeItem(ATTEMPT_KEY);
      status.innerHTML = `<span class="notice error">${esc(explain(error))}</span>`;
      button.disabled = false;
      return;
    }
  }
  status.textContent = "Still processing: try again in a moment (the same key is kept, no double order).";
  button.disabled = false;
}
