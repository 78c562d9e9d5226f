// Browse (most popular first, by category), search (Postgres full-text search behind the
// API) and the product page. Every read goes through the edge and the gateway to a
// products replica, which answers from the Redis cache or a database (see the strip).
import { api, esc, explain } from "../common/api.js";
import { addToCart } from "./cart.js";

const PAGE = 24;
let categories = null; // learned once from the catalogue's most popular products

const money = (value) => `€${Number(value).toFixed(2)}`;

function productCard(product, note = "") {
  return `<article class="card product" data-product-id="${product.id}">
    <h3><a href="#/product/${product.id}">${esc(product.name)}</a></h3>
    <p class="muted small">${esc(product.category)} · ${product.stock > 0 ? `${product.stock} in stock` : "out of stock"}</p>
    ${note ? `<p class="small" data-testid="together-share">${esc(note)}</p>` : ""}
    <div class="row"><span class="price">${money(product.price)}</span>
      <button type="button" data-add="${product.id}" ${product.stock > 0 ? "" : "disabled"}
        aria-label="Add ${esc(product.name)} to cart">Add to cart</button></div>
  </article>`;
}

function wireAddButtons(root, products) {
  const byId = new Map(products.map((product) => [product.id, product]));
  root.querySelectorAll("[data-add]").forEach((button) => {
    button.addEventListener("click", () => {
      addToCart(byId.get(Number(button.dataset.add)));
      button.textContent = "Added ✓";
    });
  });
}

async function loadCategories() {
  if (categories) return categories;
  const { data } = await api("/api/products?limit=100&sort=popularity", { auth: false, story: false });
  categories = [...new Set(data.items.map((product) => product.category))].sort();
  return categories;
}

export async function renderBrowse(view, params) {
  const category = params.get("category") || "";
  const offset = Number(params.get("offset") || 0);
  view.innerHTML = `<section class="stack"><h1>${category ? esc(category) : "Most popular"}</h1>
    <div class="chips" id="categories" aria-label="Categories"></div>
    <div class="grid" id="products" aria-busy="true"><p class="muted">Loading…</p></div>
    <div class="row" id="pager"></div></section>`;
  try {
    const query = new URLSearchParams({ limit: PAGE, offset, sort: "popularity" });
    if (category) query.set("category", category);
    const [{ data }, names] = await Promise.all([api(`/api/products?${query}`, { auth: false }), loadCategories()]);
    view.querySelector("#categories").innerHTML = [["", "All"], ...names.map((name) => [name, name])]
      .map(([value, label]) => `<a class="chip" role="button" aria-pressed="${value === category}"
        href="#/browse?${new URLSearchParams(value ? { category: value } : {})}">${esc(label)}</a>`).join("");
    const grid = view.querySelector("#products");
    grid.innerHTML = data.items.map((product) => productCard(product)).join("") || `<p class="muted">No products here.</p>`;
    grid.setAttribute("aria-busy", "false");
    wireAddButtons(grid, data.items);
    const pager = [];
    const base = category ? { category } : {};
    if (offset > 0) pager.push(`<a class="button secondary" href="#/browse?${new URLSearchParams({ ...base, offset: Math.max(0, offset - PAGE) })}">Previous</a>`);
    if (offset + PAGE < data.total) pager.push(`<a class="button secondary" href="#/browse?${new URLSearchParams({ ...base, offset: offset + PAGE })}">Next</a>`);
    pager.push(`<span class="muted small">${data.total} products</span>`);
    view.querySelector("#pager").innerHTML = pager.join("");
  } catch (error) {
    view.querySelector("#products").innerHTML = `<p class="notice error">Could not load products: ${esc(explain(error))}</p>`;
  }
}

export async function renderSearch(view, params) {
  const q = params.get("q") || "";
  document.getElementById("search-input").value = q;
  view.innerHTML = `<section class="stack"><h1>Search: “${esc(q)}”</h1>
    <div class="grid" id="products" aria-busy="true"><p class="muted">Searching…</p></div></section>`;
  const grid = view.querySelector("#products");
  try {
    const { data } = await api(`/api/products/search?${new URLSearchParams({ q, limit: PAGE })}`, { auth: false });
    grid.innerHTML = data.items.map((product) => productCard(product)).join("") || `<p class="muted">Nothing matches “${esc(q)}”.</p>`;
    wireAddButtons(grid, data.items);
    grid.insertAdjacentHTML("beforebegin", `<p class="muted small">${data.total} results</p>`);
  } catch (error) {
    grid.innerHTML = `<p class="notice error">Search failed: ${esc(explain(error))}</p>`;
  }
  grid.setAttribute("aria-busy", "false");
}

export async function renderProduct(view, id) {
  view.innerHTML = `<section class="panel" aria-busy="true"><p class="muted">Loading…</p></section>`;
  try {
    const { data: product } = await api(`/api/products/${id}`, { auth: false });
    view.innerHTML = `<section class="panel stack" data-product-id="${product.id}">
      <p class="small"><a href="#/browse?${new URLSearchParams({ category: product.category })}">${esc(product.category)}</a></p>
      <h1>${esc(product.name)}</h1>
      <p>${esc(product.description) || '<span class="muted">No description.</span>'}</p>
      <p><span class="price">${money(product.price)}</span> · <span class="muted">${product.stock} in stock · popularity ${product.popularity}</span></p>
      <form class="row bottom" id="add-form">
        <div><label for="quantity">Quantity</label>
        <input id="quantity" name="quantity" type="number" min="1" max="${Math.max(1, Math.min(100, product.stock))}" value="1" style="width:6rem" /></div>
        <button type="submit" ${product.stock > 0 ? "" : "disabled"}>Add to cart</button>
        <span id="added" class="muted" role="status"></span>
      </form></section>
      <section class="stack spaced" id="bought-together" aria-labelledby="bought-together-title" hidden></section>`;
    view.querySelector("#add-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const quantity = Number(new FormData(event.target).get("quantity")) || 1;
      addToCart(product, quantity);
      view.querySelector("#added").textContent = `Added ${quantity} to the cart.`;
    });
    renderBoughtTogether(view.querySelector("#bought-together"), product);
  } catch (error) {
    view.innerHTML = `<section class="panel"><p class="notice error">${error.status === 404 ? "No such product." : esc(explain(error))}</p></section>`;
  }
}

/**
 * "Bought together": association rules the analytics consumer derives from the order stream
 * (src/analytics/recommendations.py), served by products as GET /api/products/{id}/bought-together.
 * Rules carry ids only; the names come from the product reads the edge caches anyway. The page
 * never waits on it nor breaks without it: no rule yet, or the analytics store down (503), and
 * the block simply stays hidden.
 */
async function renderBoughtTogether(box, product) {
  let rules;
  try {
    ({ data: { items: rules } } = await api(`/api/products/${product.id}/bought-together`, { auth: false, story: false }));
  } catch {
    return;
  }
  const reads = await Promise.allSettled(rules.map((rule) => api(`/api/products/${rule.product_id}`, { auth: false, story: false })));
  const shown = rules.flatMap((rule, i) => (reads[i].status === "fulfilled" ? [{ rule, other: reads[i].value.data }] : []));
  if (shown.length === 0 || !box.isConnected) return;
  box.innerHTML = `<h2 id="bought-together-title">Bought together</h2>
    <p class="muted small">Customers who ordered ${esc(product.name)} also ordered these (share of its orders).</p>
    <div class="grid">${shown.map(({ rule, other }) => productCard(other, `${Math.round(rule.confidence * 100)}% of its orders`)).join("")}</div>`;
  wireAddButtons(box, shown.map(({ other }) => other));
  box.hidden = false;
}

export { money };
