"""The storefront and the control room in a real browser (Playwright driving Debian's chromium),
on the live native stack. Each test leaves screenshots in reports/ui/ (every run).

- a shopper signs up, searches, adds to the cart, checks out and watches the order turn CONFIRMED;
- a declined card (a total ending in .13, the simulated provider's test amount) shows FAILED + reason;
- the lab shows every compose component healthy;
- stopping products-1 from the lab turns it red and its traffic moves to products-2 on the chart;
  starting it turns it green and it takes traffic again;
- a customer gets no control API (the lab asks for the admin; the API answers 401/403);
- /api/docs renders Swagger UI without a single request leaving the stack;
- both pages fit a 390 px wide phone screen.
"""

import random
import re
import string
import threading
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from e2e.checkout_support import ADMIN, PASSWORD, login, new_product

pytestmark = pytest.mark.stack

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "reports" / "ui"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SLOW = 120_000  # ms: the saga, health checks and Prometheus' rate windows on a shared 2-core machine


@pytest.fixture(scope="session")
def browser_type_launch_args():
    """Debian's chromium: Playwright's own browser download cannot work on these machines."""
    return {"executable_path": "/usr/bin/chromium", "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(stack):
    return {"base_url": stack.nginx, "viewport": {"width": 1280, "height": 900}}


@pytest.fixture
def page(page: Page) -> Page:
    page.set_default_timeout(60_000)
    return page


def shot(page: Page, name: str, full_page: bool = False) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


def word() -> str:
    """A made-up word that full-text search can only find in the test's own product."""
    return "zq" + "".join(random.choices(string.ascii_lowercase, k=10))


def sign_up(page: Page, email: str) -> None:
    page.goto("/#/account")
    form = page.locator("#sign-up")
    form.get_by_label("Name").fill("Ada Browser")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password (at least 8 characters)").fill(PASSWORD)
    form.get_by_role("button", name="Create account").click()
    expect(page.locator("#account-link")).to_have_text(f"Account ({email})", timeout=SLOW)


def sign_in_lab(page: Page, email: str, password: str) -> None:
    page.goto("/lab/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def check_out(page: Page) -> None:
    page.get_by_role("link", name="Cart (1)").click()
    shot(page, "cart")
    page.get_by_role("button", name="Place order").click()
    expect(page).to_have_url(re.compile(r"#/orders/\d+$"), timeout=SLOW)


def test_shopper_signs_up_searches_adds_to_cart_checks_out_and_sees_confirmed(page, stack):
    name = word()
    with stack.client() as client:
        product = new_product(client, price="24.50", stock=20)
        admin = login(client, ADMIN["email"], ADMIN["password"])
        assert client.patch(f"/api/products/{product['id']}", headers=admin,
                            json={"name": f"Lantern {name}"}).status_code == 200
    page.goto("/")
    expect(page.locator(".product").first).to_be_visible(timeout=SLOW)
    expect(page.locator("#served")).to_contain_text("gateway")
    shot(page, "storefront")
    sign_up(page, f"browser-{name}@example.com")

    search = page.get_by_label("Search products")
    for _ in range(20):  # the new product reaches the read replica within moments
        search.fill(name)
        search.press("Enter")
        card = page.locator(f'.product[data-product-id="{product["id"]}"]')
        try:
            expect(card).to_be_visible(timeout=3000)
            break
        except AssertionError:
            page.goto("/")
    expect(card).to_be_visible()
    shot(page, "search")
    card.get_by_role("link").click()
    expect(page.get_by_role("heading", name=f"Lantern {name}")).to_be_visible()
    expect(page.locator("#served")).to_contain_text("replica")
    shot(page, "product")
    page.get_by_role("button", name="Add to cart").click()
    check_out(page)
    status = page.get_by_test_id("order-status")
    expect(status).to_have_text("CONFIRMED", timeout=SLOW)
    expect(page.get_by_test_id("status-history")).to_contain_text("CONFIRMED")
    shot(page, "order-confirmed")
    page.get_by_role("link", name="Notifications").first.click()
    expect(page.locator("#notes")).to_contain_text("Order #", timeout=SLOW)
    shot(page, "notifications")


def test_a_declined_card_shows_failed_with_the_reason(page, stack):
    email = f"declined-{word()}@example.com"
    with stack.client() as client:
        product = new_product(client, price="20.13", stock=5)  # .13: the provider's test decline amount
        assert client.post("/api/users/register", json={"email": email, "password": PASSWORD,
                                                        "name": "Dee Clined"}).status_code == 201
    page.goto("/#/account")
    form = page.locator("#sign-in")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_role("button", name="Sign in").click()
    expect(page.locator("#account-link")).to_have_text(f"Account ({email})", timeout=SLOW)
    page.goto(f"/#/product/{product['id']}")
    page.get_by_role("button", name="Add to cart").click()
    check_out(page)
    expect(page.get_by_test_id("order-status")).to_have_text("FAILED", timeout=SLOW)
    expect(page.get_by_test_id("failure-reason")).to_contain_text("declined")
    shot(page, "order-failed")


def wait_all_healthy(page: Page, count: int) -> None:
    page.wait_for_function(
        """count => {
            const nodes = [...document.querySelectorAll('#topology-view svg [data-component]')];
            return nodes.length === count
                && nodes.every(n => ['healthy', 'completed', 'absent'].includes(n.dataset.health));
        }""", arg=count, timeout=SLOW)


def test_the_lab_shows_every_component_healthy(page, stack):
    sign_in_lab(page, ADMIN["email"], ADMIN["password"])
    wait_all_healthy(page, len(stack.plan()))
    expect(page.locator('[data-component="grafana"]').first).to_have_attribute("data-health", "absent")
    expect(page.locator(".lab-card")).to_have_count(len(list((ROOT / "web/lab/cards").glob("*.json"))))
    page.wait_for_timeout(6000)  # one chart refresh
    shot(page, "lab", full_page=True)


def series(page: Page, chart: str) -> dict:
    return page.evaluate("id => JSON.parse(document.getElementById(id).dataset.series || '{}')", f"chart-{chart}")


def test_stopping_a_products_replica_from_the_lab_turns_it_red_and_shifts_its_traffic(page, stack):
    stop = threading.Event()

    def shoppers():  # steady reads of products through the edge, spread over both replicas by the gateways
        with httpx.Client(base_url=stack.nginx, timeout=10) as client:
            while not stop.is_set():
                try:
                    client.get(f"/api/products/{random.randint(1, 200)}")
                except httpx.HTTPError:
                    pass
                stop.wait(0.05)

    traffic = threading.Thread(target=shoppers, daemon=True)
    traffic.start()
    try:
        sign_in_lab(page, ADMIN["email"], ADMIN["password"])
        node = page.locator('#topology-view svg [data-component="products-1"]')
        expect(node).to_have_attribute("data-health", "healthy", timeout=SLOW)
        page.wait_for_function("""() => { const s = JSON.parse(document.getElementById('chart-rate-products').dataset.series || '{}');
            return s['products-1'] > 0 && s['products-2'] > 0; }""", timeout=SLOW)
        card = page.locator("#card-client-side-load-balancing")
        card.get_by_role("button", name="Stop products-1").click()
        expect(node).to_have_attribute("data-health", "stopped", timeout=SLOW)
        expect(node).to_have_class(re.compile("h-stopped"))
        page.wait_for_function("""() => { const s = JSON.parse(document.getElementById('chart-rate-products').dataset.series || '{}');
            return !(s['products-1'] > 0.05) && s['products-2'] > 0; }""", timeout=SLOW)
        before = series(page, "rate-products")
        page.locator("#chart-rate-products").scroll_into_view_if_needed()
        shot(page, "lab-replica-stopped")
        card.get_by_role("button", name="Start products-1").click()
        expect(node).to_have_attribute("data-health", "healthy", timeout=SLOW)
        page.wait_for_function("""() => { const s = JSON.parse(document.getElementById('chart-rate-products').dataset.series || '{}');
            return s['products-1'] > 0 && s['products-2'] > 0; }""", timeout=SLOW)
        shot(page, "lab-replica-back")
        assert before.get("products-2", 0) > 0
    finally:
        stop.set()
        traffic.join(timeout=15)
        stack.ctl("start", "products-1", check=False)


def test_a_customer_gets_no_control_api(page, stack):
    sign_up(page, f"nosy-{word()}@example.com")
    page.goto("/lab/")
    expect(page.locator("#gate")).to_contain_text("is not the admin", timeout=SLOW)
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
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("ScaleShop API", timeout=SLOW)
    expect(page.locator(".opblock").first).to_be_visible()
    shot(page, "api-docs")
    outside = [url for url in requested if not url.startswith(stack.nginx) and not url.startswith("data:")]
    assert outside == [], f"the docs page reached outside the stack: {outside}"


@pytest.mark.parametrize("path", ["/", "/lab/"])
def test_pages_fit_a_phone_screen(browser, stack, path):
    context = browser.new_context(base_url=stack.nginx, viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(path)
    page.wait_for_load_state("networkidle", timeout=60_000)
    width = page.evaluate("document.documentElement.scrollWidth")
    shot(page, f"phone-{'lab' if 'lab' in path else 'storefront'}")
    context.close()
    assert width <= 390, f"{path} is {width} px wide on a 390 px screen"
