"""The storefront and the control room in a real browser (Playwright driving Debian's chromium),
on the session's live test stack (tests/conftest.py), the same one tests/e2e runs on.

- a shopper searches, adds to the cart, signs up when the checkout asks, checks out and watches the
  order turn CONFIRMED;
- a declined card (a total ending in .13, the simulated provider's test amount) shows FAILED and
  the reason, on a checkout done with the keyboard only;
- the product page shows what was bought together with it (the analytics consumer's rules);
- the lab shows every compose component healthy;
- stopping products-1 from the lab turns it red and its traffic moves to products-2 on the chart;
  starting it turns it green and it takes traffic again;
- a customer gets no control API (the lab asks for the admin; the API answers 401/403);
- /api/docs renders Swagger UI without a single request leaving the stack.

Every page is photographed at 1280 px and at 390 px (reports/ui/<page>.png, phone-<page>.png, on
every run) and checked at 390 px: nothing wider than the screen, every form field labelled.
Waits are on conditions the page shows (a status, a node's health, a chart's last values), each
bounded; none sleeps and hopes.
"""

import json
import random
import re
import string
import threading
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from e2e.checkout_support import ADMIN, PASSWORD, place, wait_for
from stackctl.deploy import Journal

pytestmark = pytest.mark.stack

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "reports" / "ui"
PHONE = {"width": 390, "height": 844}
SLOW = 120_000  # ms, an upper bound only: a replica's restart, Prometheus' rate windows on a shared 2-core machine
# Bounds, not sleeps: a wait ends as soon as its condition holds. Playwright's 5 s default is for
# a quiet laptop; a shared 2-core machine can take seconds to answer a sign-up (argon2).
expect.set_options(timeout=30_000)


@pytest.fixture
def page(page: Page) -> Page:
    page.set_default_timeout(30_000)
    return page


# The visible form fields that neither a <label> nor an aria-label names.
UNLABELLED = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
    .filter(field => field.offsetParent !== null && field.labels.length === 0 && !field.getAttribute('aria-label'))
    .map(field => field.id || field.name || field.outerHTML.slice(0, 80))"""


def shot(page: Page, name: str, full_page: bool = False) -> None:
    """Photograph the page at 1280 px (`full_page`: all of it) and at 390 px (the first screen); at
    390 px it must fit the screen and label every form field."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)
    desktop = page.viewport_size
    page.set_viewport_size(PHONE)
    try:
        page.wait_for_function(f"document.documentElement.clientWidth === {PHONE['width']}")
        page.screenshot(path=str(SHOTS / f"phone-{name}.png"))  # the first screen: the lab's whole page is 23,000 px
        width = page.evaluate("document.documentElement.scrollWidth")
        unlabelled = page.evaluate(UNLABELLED)
    finally:
        page.set_viewport_size(desktop)
    assert width <= PHONE["width"], f"{name}: {width} px wide on a {PHONE['width']} px screen"
    assert unlabelled == [], f"{name}: form fields without a label: {unlabelled}"


def word() -> str:
    """A made-up word that full-text search can only find in the test's own product."""
    return "zq" + "".join(random.choices(string.ascii_lowercase, k=10))


def sign_in_api(client: httpx.Client, email: str, password: str) -> dict:
    """Log in through the edge: the tokens. A 503 (users could not hash in time on an overloaded
    machine) is asked again, bounded, as a person would; any other refusal fails."""
    def attempt():
        response = client.post("/api/users/login", json={"email": email, "password": password})
        if response.status_code == 503:
            return None
        assert response.status_code == 200, response.text
        return response.json()
    return {**wait_for(attempt, f"a login of {email}", timeout=90, interval=1), "email": email}


# One admin session and one customer for the whole module: every sign-up and sign-in is an argon2
# hash, the costliest thing a shared 2-core machine does for these tests (the shopper's own
# sign-up and the sign-in forms, through the pages, are the ones the tests are about).
@pytest.fixture(scope="module")
def admin_session(stack) -> dict:
    with stack.client(timeout=30) as client:
        return {**sign_in_api(client, ADMIN["email"], ADMIN["password"]), "role": "admin"}


@pytest.fixture(scope="module")
def admin(admin_session) -> dict:
    return {"Authorization": f"Bearer {admin_session['access_token']}"}


@pytest.fixture(scope="module")
def customer(stack) -> dict:
    email = f"customer-{word()}@example.com"
    with stack.client(timeout=30) as client:
        registered = client.post("/api/users/register", json={"email": email, "password": PASSWORD, "name": "Cus Tomer"})
        assert registered.status_code == 201, registered.text
        session = sign_in_api(client, email, PASSWORD)
    return {"email": email, "headers": {"Authorization": f"Bearer {session['access_token']}"}}


def admin_product(client: httpx.Client, admin: dict, name: str, price: str, stock: int = 20) -> dict:
    response = client.post("/api/products", headers=admin, json={
        "name": name, "category": "test", "price": price, "stock": stock, "description": "made by the browser tests"})
    assert response.status_code == 201, response.text
    return response.json()


def submit_until_answered(submit, done: Locator, form: Locator) -> None:
    """Submit a sign-in form until `done` shows. The form saying "... is unavailable" (a 503: users
    could not hash the password in time on an overloaded machine) is answered by submitting again,
    bounded, as a person would; any other error fails at once."""
    unavailable = form.get_by_role("alert").filter(has_text="unavailable")
    for _ in range(3):
        submit()
        expect(done.or_(form.get_by_role("alert").filter(has_text=re.compile(r"\w")))).to_be_visible(timeout=60_000)
        if done.is_visible() or not unavailable.is_visible():
            break
    expect(done).to_be_visible()


def sign_in_lab(page: Page, email: str, password: str) -> None:
    """The lab's own gate form."""
    page.goto("/lab/")
    form = page.locator("#lab-sign-in")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password").fill(password)
    submit_until_answered(lambda: form.get_by_role("button", name="Sign in").click(),
                          page.locator("#who").filter(has_text=email), form)


def open_lab_as(page: Page, session: dict) -> None:
    """The lab with the admin already signed in (the session the sign-in form would store)."""
    page.add_init_script(f"localStorage.setItem('scaleshop.session', {json.dumps(json.dumps(session))})")
    page.goto("/lab/")
    expect(page.locator("#who")).to_have_text(f"signed in: {session['email']}")


def test_shopper_searches_adds_to_cart_signs_up_checks_out_and_sees_confirmed(page, stack, admin):
    """A newcomer's path: shop first, and sign up when the checkout asks, landing back in the cart."""
    name = f"Lantern {word()}"
    with stack.client(timeout=30) as client:
        product = admin_product(client, admin, name, price="24.50")
        # Search reads the products-db replica: wait until the new row is there, as a shopper would.
        wait_for(lambda: client.get("/api/products/search", params={"q": name}).json()["total"] == 1,
                 "the new product in search results", timeout=30, interval=0.3)
    page.goto("/")
    expect(page.locator(".product").first).to_be_visible()
    expect(page.locator("#served")).to_contain_text("gateway")
    shot(page, "storefront")

    search = page.get_by_label("Search products")
    search.fill(name.split()[1])
    search.press("Enter")
    card = page.locator(f'.product[data-product-id="{product["id"]}"]')
    expect(card).to_be_visible()
    shot(page, "search")
    card.get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    expect(page.locator("#served")).to_contain_text("replica")
    shot(page, "product")
    page.get_by_role("button", name="Add to cart").click()
    page.get_by_role("link", name="Cart (1)").click()
    expect(page.locator("#cart-total")).to_have_text("€24.50")
    page.get_by_role("button", name="Place order").click()
    page.get_by_role("link", name="sign in or create an account").click()

    email = f"browser-{word()}@example.com"
    form = page.locator("#sign-up")
    form.get_by_label("Name").fill("Ada Browser")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password (at least 8 characters)").fill(PASSWORD)
    shot(page, "account")
    form.get_by_role("button", name="Create account").click()
    expect(page.locator("#account-link")).to_have_text(f"Account ({email})")
    expect(page).to_have_url(re.compile(r"#/cart$"))
    shot(page, "cart")
    page.get_by_role("button", name="Place order").click()
    expect(page).to_have_url(re.compile(r"#/orders/\d+$"))
    expect(page.get_by_test_id("order-status")).to_have_text("CONFIRMED")
    expect(page.get_by_test_id("status-history")).to_contain_text("CONFIRMED")
    shot(page, "order-confirmed")
    page.get_by_role("link", name="Notifications").first.click()
    expect(page.locator("#notes")).to_contain_text("Order #")
    shot(page, "notifications")
    page.get_by_role("link", name="Orders").click()
    expect(page.get_by_test_id("order-status").first).to_have_text("CONFIRMED")
    shot(page, "orders")


def test_a_declined_card_shows_failed_with_the_reason_using_the_keyboard_only(page, stack, admin, customer):
    """Labels find each field, Enter submits each form, focused buttons answer Enter: keyboard-accessible."""
    email = customer["email"]
    with stack.client(timeout=30) as client:
        product = admin_product(client, admin, f"Declined {word()}", price="20.13", stock=5)  # .13: the test decline
    page.goto("/#/account")
    form = page.locator("#sign-in")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password").fill(PASSWORD)
    submit_until_answered(lambda: form.get_by_label("Password").press("Enter"),
                          page.locator("#account-link").filter(has_text=f"Account ({email})"), form)
    page.goto(f"/#/product/{product['id']}")
    page.get_by_label("Quantity").press("Enter")  # the add-to-cart form, submitted from its field
    expect(page.get_by_role("status").filter(has_text="Added 1 to the cart.")).to_be_visible()
    page.get_by_role("link", name="Cart (1)").press("Enter")
    page.get_by_role("button", name="Place order").press("Enter")
    expect(page.get_by_test_id("order-status")).to_have_text("FAILED")
    expect(page.get_by_test_id("failure-reason")).to_contain_text("declined")
    shot(page, "order-failed")


def test_the_product_page_shows_what_was_bought_together(page, stack, admin, customer):
    tag = word()
    with stack.client(timeout=30) as client:
        lamp = admin_product(client, admin, f"Lamp {tag}", price="30.00")
        bulb = admin_product(client, admin, f"Bulb {tag}", price="4.00")
        placed = place(client, customer, [(lamp["id"], 1), (bulb["id"], 2)])
        assert placed.status_code == 201, placed.text
        # The order reaches the analytics consumer through the event stream within moments.
        wait_for(lambda: any(item["product_id"] == bulb["id"] for item in
                             client.get(f"/api/products/{lamp['id']}/bought-together").json()["items"]),
                 "the rule lamp -> bulb", timeout=30, interval=0.3)
    page.goto(f"/#/product/{lamp['id']}")
    together = page.locator("#bought-together")
    expect(together.get_by_role("heading", name="Bought together")).to_be_visible()
    expect(together.locator(f'.product[data-product-id="{bulb["id"]}"]')).to_contain_text("100% of its orders")
    expect(page.locator("#served")).to_contain_text(f"GET /api/products/{lamp['id']}")
    shot(page, "product-bought-together")
    together.get_by_role("link", name=f"Bulb {tag}").click()
    expect(page.get_by_role("heading", name=f"Bulb {tag}")).to_be_visible()


NOT_HEALTHY = """() => [...document.querySelectorAll('#topology-view svg [data-component]')]
    .filter(n => !['healthy', 'completed', 'absent'].includes(n.dataset.health))
    .map(n => `${n.dataset.component}: ${n.dataset.health}`)"""


def test_the_lab_shows_every_component_healthy(page, stack, admin_session):
    open_lab_as(page, admin_session)
    nodes = page.locator("#topology-view svg [data-component]")
    expect(nodes).to_have_count(len(stack.plan()))
    try:  # all of them at the same moment
        page.wait_for_function(f"({NOT_HEALTHY})().length === 0", timeout=SLOW)
    except PlaywrightTimeoutError:
        pytest.fail(f"not healthy in the lab after {SLOW // 1000} s: {page.evaluate(NOT_HEALTHY)}")
    expect(page.locator('[data-component="grafana"]').first).to_have_attribute("data-health", "absent")
    expect(page.locator(".lab-card")).to_have_count(len(list((ROOT / "web/lab/cards").glob("*.json"))))
    page.wait_for_function("document.querySelectorAll('#chart-grid .chart[data-series]').length > 0")
    shot(page, "lab", full_page=True)
    # The README's picture: the topology and the first row of charts.
    page.screenshot(path=str(SHOTS / "lab-overview.png"), full_page=True, clip={"x": 0, "y": 0, "width": 1280, "height": 1400})


def test_the_lab_shows_the_deploy_feed_a_rollback_in_red(page, stack, admin_session):
    # The deploy commands write their steps with this Journal (stackctl/deploy.py): one step is
    # written here rather than running a canary (tests/e2e/test_deploy.py runs real ones and checks
    # the control API lists them).
    version = f"v-{word()}"
    journal = Journal(feed=stack.state_dir / "deploys.jsonl")
    journal("canary analysis", version=version, canary_error_rate=0.5, baseline_error_rate=0.0)
    journal("rolled back", version=version, reason="error rate 0.500 vs baseline 0.000")
    open_lab_as(page, admin_session)
    newest = page.locator("#deploys-view tbody tr").first
    expect(newest).to_contain_text("rolled back", timeout=SLOW)
    expect(newest).to_contain_text(version)
    expect(newest).to_have_class(re.compile("deploy-error"))
    expect(page.locator("#deploys-view tbody tr").nth(1)).to_contain_text("canary analysis")
    page.locator("#deploys").scroll_into_view_if_needed()
    shot(page, "lab-deploys")


# The last value of each line of the products chart, as the chart holds them (charts.js).
RATES = "JSON.parse(document.getElementById('chart-rate-products').dataset.series || '{}')"


def test_stopping_a_products_replica_from_the_lab_turns_it_red_and_shifts_its_traffic(page, stack, admin_session):
    stop = threading.Event()

    def shopper():  # steady reads past the edge cache, spread over both replicas by the gateways
        with httpx.Client(base_url=stack.nginx, timeout=10, headers={"Cache-Control": "no-cache"}) as client:
            while not stop.is_set():
                try:
                    client.get(f"/api/products/{random.randint(1, 200)}")
                except httpx.HTTPError:
                    pass
                stop.wait(0.1)

    traffic = threading.Thread(target=shopper, daemon=True)
    traffic.start()
    try:
        open_lab_as(page, admin_session)
        node = page.locator('#topology-view svg [data-component="products-1"]')
        expect(node).to_have_attribute("data-health", "healthy", timeout=SLOW)
        page.wait_for_function(f"() => {{ const s = {RATES}; return s['products-1'] > 0 && s['products-2'] > 0; }}",
                               timeout=SLOW)
        card = page.locator("#card-client-side-load-balancing")
        card.get_by_role("button", name="Stop products-1").click()
        expect(card.get_by_role("status")).to_have_text("Stop products-1: products-1 stopped", timeout=SLOW)
        expect(node).to_have_attribute("data-health", "stopped")
        expect(node).to_have_class(re.compile("h-stopped"))
        # Its line falls to zero while products-2 carries the whole rate.
        page.wait_for_function(f"() => {{ const s = {RATES}; return s['products-1'] === 0 && s['products-2'] > 0; }}",
                               timeout=SLOW)
        page.locator("#chart-rate-products").scroll_into_view_if_needed()
        shot(page, "lab-replica-stopped")
        card.get_by_role("button", name="Start products-1").click()
        expect(node).to_have_attribute("data-health", "healthy", timeout=SLOW)
        expect(node).to_have_class(re.compile("h-healthy"))
        page.wait_for_function(f"() => {{ const s = {RATES}; return s['products-1'] > 0 && s['products-2'] > 0; }}",
                               timeout=SLOW)
    finally:
        stop.set()
        traffic.join(timeout=15)
        stack.ctl("start", "products-1", check=False)  # whatever happened, the next tests need it


def test_a_customer_gets_no_control_api(page, stack, customer):
    email = customer["email"]
    sign_in_lab(page, email, PASSWORD)
    expect(page.locator("#gate")).to_contain_text(f"{email} is not the admin")
    expect(page.locator("#topology-view")).to_contain_text("No access to the control API")
    shot(page, "lab-customer")
    token = page.evaluate("JSON.parse(localStorage.getItem('scaleshop.session')).access_token")
    as_customer = page.request.post("/api/control/components/products-1/stop", headers={"authorization": f"Bearer {token}"})
    anonymous = page.request.get("/api/control/components")
    assert as_customer.status == 403 and anonymous.status == 401


def test_the_api_docs_render_offline_from_the_stack_itself(page, stack):
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto("/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("ScaleShop API")
    expect(page.locator(".opblock").first).to_be_visible()
    shot(page, "api-docs")
    outside = [url for url in requested if not url.startswith(stack.nginx) and not url.startswith("data:")]
    assert outside == [], f"the docs page reached outside the stack: {outside}"
