// Sign up and sign in. The access token (a short-lived JWT) and the refresh token are
// kept in the browser; the gateway verifies the JWT on every call (stateless sessions).
import { api, esc, explain, session, signIn, signOut } from "../common/api.js";

// Where a signed-in shopper goes next: back to the page that asked them to sign in (the cart's
// "sign in to check out"), else the shop. Only the shop's own views, never an arbitrary address.
const RETURNS = new Set(["cart", "orders", "notifications"]);

export function renderAccount(view, params = new URLSearchParams()) {
  const next = RETURNS.has(params.get("then")) ? `#/${params.get("then")}` : "#/";
  const current = session.get();
  if (current) {
    view.innerHTML = `<section class="panel stack"><h1>Account</h1>
      <p>Signed in as <strong data-testid="signed-in-email">${esc(current.email)}</strong> (${esc(current.role)}).</p>
      <div class="row"><a class="button secondary" href="#/orders">My orders</a>
      <button type="button" id="sign-out">Sign out</button></div></section>`;
    view.querySelector("#sign-out").addEventListener("click", async () => {
      await signOut();
      renderAccount(view);
    });
    return;
  }
  view.innerHTML = `<div class="grid wide">
    <section class="panel"><h1>Sign in</h1>
      <form id="sign-in" novalidate>
        <label for="in-email">Email</label><input id="in-email" name="email" type="email" autocomplete="username" required />
        <label for="in-password">Password</label><input id="in-password" name="password" type="password" autocomplete="current-password" required />
        <p class="row"><button type="submit">Sign in</button></p>
        <p role="alert" class="form-error"></p>
      </form></section>
    <section class="panel"><h1>Create an account</h1>
      <form id="sign-up" novalidate>
        <label for="up-name">Name</label><input id="up-name" name="name" autocomplete="name" required />
        <label for="up-email">Email</label><input id="up-email" name="email" type="email" autocomplete="email" required />
        <label for="up-password">Password (at least 8 characters)</label>
        <input id="up-password" name="password" type="password" autocomplete="new-password" minlength="8" required />
        <p class="row"><button type="submit">Create account</button></p>
        <p role="alert" class="form-error"></p>
      </form></section></div>`;

  const submit = (form, action) => form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const fields = Object.fromEntries(new FormData(form));
    const error = form.querySelector(".form-error");
    const button = form.querySelector("button");
    button.disabled = true;
    error.textContent = "";
    try {
      await action(fields);
      location.hash = next;
    } catch (failure) {
      error.innerHTML = `<span class="notice error">${esc(explain(failure))}</span>`;
    } finally {
      button.disabled = false;
    }
  });
  submit(view.querySelector("#sign-in"), ({ email, password }) => signIn(email, password));
  submit(view.querySelector("#sign-up"), async ({ name, email, password }) => {
    await api("/api/users/register", { method: "POST", body: { name, email, password }, auth: false });
    await signIn(email, password);
  });
}
