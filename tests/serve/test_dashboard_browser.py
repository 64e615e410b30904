"""The dashboard in real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright)
against a real ``cityfocus serve`` on a loopback port with a fresh store: it loads the
synthetic city, shows every zone, re-solves as the budget moves, opens a zone's detail by
mouse and keyboard, keeps a read token from storing decisions, and asks no other host.
Screenshots and the slider's round-trip times go to ``test-artifacts/dashboard/`` (or
``$CITYFOCUS_TEST_ARTIFACTS``)."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from cityfocus.data.citydata import CityData
from cityfocus.data.synthetic import synthetic_city
from cityfocus.serve.bootstrap import bootstrap
from cityfocus.serve.cities.service import add_city
from cityfocus.serve.store.engine import open_store
from tests.serve.test_ops import start_serve, stop

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("CITYFOCUS_TEST_ARTIFACTS",
                                Path(__file__).parents[2] / "test-artifacts")) / "dashboard"


@dataclass
class Live:
    url: str
    admin: str
    read: str
    browser: Any
    hosts: set[str] = field(default_factory=set)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: apt-get install -y chromium (see .ci/run)")
    data = tmp_path_factory.mktemp("dashboard") / "data"
    store = open_store(data)  # a first start's store, plus a city without coordinates
    bootstrap(store)
    with store.session() as session:
        add_city(session, no_coordinates(), name="grid")
    store.close()
    proc, url, _lines = start_serve(data)
    try:
        admin = (data / "admin-token").read_text().strip()
        read = httpx.post(f"{url}/tokens", json={"scope": "read", "name": "duty officer"},
                          headers={"Authorization": f"Bearer {admin}"}).json()["secret"]
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
            try:
                yield Live(url, admin, read, browser)
            finally:
                browser.close()
    finally:
        stop(proc)


def no_coordinates() -> CityData:
    """A small city whose zones have no coordinates: the page must lay out its graph."""
    city = synthetic_city(n_zones=9, days=3).data
    zones = city.zones.assign(lat=None, lon=None)
    return CityData(city.values, city.timestamps, mask=city.mask, zones=zones,
                    features=city.features, target=city.target, adjacency=city.adjacency,
                    freq=city.freq, name="grid")


def open_page(live: Live, token: str, width: int = 1280, height: int = 800,
              city: str = "synthetic") -> Any:
    page = live.browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.on("request", lambda request: live.hosts.add(urlsplit(request.url).netloc))
    page.errors = errors
    page.goto(f"{live.url}/#city={city}")
    page.fill("#token", token)
    page.click("#sign-in-form button[type=submit]")
    wait(page, "window.cityfocus && window.cityfocus.ready")
    return page


def wait(page: Any, condition: str, seconds: float = 60) -> None:
    """Poll ``condition`` (a JavaScript expression) until it is true. Playwright's own
    ``wait_for_function`` evaluates strings inside the page, which the page's
    Content-Security-Policy (no eval) rightly forbids."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(f"() => Boolean({condition})"):
        assert time.monotonic() < deadline, (
            f"timed out waiting for {condition}; the page says: "
            f"{page.evaluate('() => document.querySelector(`#status`).textContent')!r}; "
            f"errors: {getattr(page, 'errors', [])}")
        time.sleep(0.02)


def allocation(page: Any) -> dict[str, float]:
    return page.eval_on_selector_all(
        "#map circle.zone", "cs => Object.fromEntries(cs.map(c => [c.dataset.zone, "
        "Number(c.dataset.w)]))")


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_the_page_shows_the_city_and_re_solves_as_the_budget_moves(live: Live) -> None:
    page = open_page(live, live.admin)
    city = httpx.get(f"{live.url}/cities/synthetic",
                     headers={"Authorization": f"Bearer {live.admin}"}).json()
    before = allocation(page)
    assert sorted(before) == sorted(z["id"] for z in city["zones"])  # every zone drawn
    budget = float(page.input_value("#budget-number"))
    assert sum(before.values()) == pytest.approx(budget)
    wait(page, "document.querySelectorAll('#curve path.curve').length === 1")
    shot(page, "dashboard-1280x800.png")

    page.focus("#budget-slider")
    for _ in range(6):  # keyboard moves of the slider, each a what-if round trip
        page.keyboard.press("ArrowRight")
    wait(page, "Number(document.querySelector('#allocated').dataset.budget) === "
                           "Number(document.querySelector('#budget-number').value)")
    after = allocation(page)
    moved = float(page.input_value("#budget-number"))
    assert moved == budget + 6
    assert sum(after.values()) == pytest.approx(moved)
    assert after != before
    assert float(page.get_attribute("#allocated", "data-total") or 0) == pytest.approx(moved)

    page.fill("#budget-number", "3")  # typing a budget re-solves too
    wait(page, "document.querySelector('#allocated').dataset.budget === '3'")
    assert sum(allocation(page).values()) == pytest.approx(3)
    timings = page.evaluate("window.cityfocus.timings")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "slider-round-trips-ms.json").write_text(json.dumps(timings))
    assert page.errors == []
    page.close()


def test_a_zone_opens_by_click_and_by_keyboard(live: Live) -> None:
    page = open_page(live, live.admin)
    page.click("#map circle[data-zone=z05]")
    wait(page, "document.querySelector('#detail-drivers-text').textContent")
    assert page.is_visible("#detail")
    assert "z05" in page.inner_text("#detail-title")
    assert "historical average" in page.inner_text("#detail-drivers-text")
    assert page.locator("#detail-chart path.fmean").count() == 1
    assert page.inner_text("#detail-why")  # the plain-language why
    shot(page, "zone-detail.png")
    page.keyboard.press("Escape")
    assert page.is_hidden("#detail")
    # keyboard only: focus a zone on the map and press Enter
    page.focus("#map circle[data-zone=z11]")
    page.keyboard.press("Enter")
    wait(page, "document.querySelector('#detail-title').textContent.includes('z11')")
    # a row of the allocation table opens it too
    page.focus("#alloc-table tbody tr[data-zone=z02]")
    page.keyboard.press("Enter")
    wait(page, "document.querySelector('#detail-title').textContent.includes('z02')")
    assert page.errors == []
    page.close()


def test_the_history_shows_outcomes_and_jobs(live: Live) -> None:
    """Decisions with outcomes (made through the API, as an operations system would) appear
    with their regret, hit rate and PAI, and as points over time; then the page as the README
    shows it (a zone open)."""
    headers = {"Authorization": f"Bearer {live.admin}"}
    with httpx.Client(base_url=live.url, headers=headers, timeout=60) as client:
        for k, budget in enumerate((6, 8, 10, 12)):
            decision = client.post("/cities/synthetic/decisions", json={
                "budget": budget, "units": True, "params": {"alpha": 0.5}}).json()
            realized = {z["zone"]: float((3 * j + k) % 5) for j, z in
                        enumerate(decision["zones"])}
            done = client.post(f"/cities/synthetic/decisions/{decision['id']}/outcome",
                               json={"realized": realized})
            assert done.status_code == 201, done.text
        outcomes = client.get("/cities/synthetic/outcomes").json()
    page = open_page(live, live.admin)
    wait(page, "document.querySelectorAll('#outcome-charts circle.point').length >= 12")
    rows = page.eval_on_selector_all("#decisions-table tbody tr",
                                     "rs => rs.map(r => r.cells[4].textContent)")
    assert sum(1 for text in rows if text != "–") == len(outcomes)
    assert "normalized regret" in page.inner_text("#performance")
    page.click("#map circle[data-zone=z05]")
    wait(page, "document.querySelector('#detail-past-text').textContent.includes('mean absolute')")
    assert page.locator("#detail-past circle.point").count() == 2 * 4  # forecast and realized
    page.mouse.move(0, 0)
    shot(page, "dashboard-history.png")
    assert page.errors == []
    page.close()


def test_a_read_token_cannot_store_a_decision(live: Live) -> None:
    headers = {"Authorization": f"Bearer {live.admin}"}
    count = len(httpx.get(f"{live.url}/cities/synthetic/decisions?limit=500",
                          headers=headers).json()["items"])
    page = open_page(live, live.read)
    assert page.is_disabled("#store-decision")
    assert "read" in page.inner_text("#whoami")
    # even asked directly from the page, the service refuses
    status = page.evaluate("""async () => (await fetch('/cities/synthetic/decisions', {
        method: 'POST', headers: {'Content-Type': 'application/json',
        Authorization: 'Bearer ' + window.cityfocus.token},
        body: JSON.stringify({budget: 2, units: true})})).status""")
    assert status == 403
    assert len(httpx.get(f"{live.url}/cities/synthetic/decisions?limit=500",
                         headers=headers).json()["items"]) == count
    page.close()
    # a write (here admin) token stores it, and the history shows it
    page = open_page(live, live.admin)
    page.click("#store-decision")
    wait(page, "document.querySelector('#store-note').textContent.includes('Stored')")
    wait(page, f"document.querySelectorAll('#decisions-table tbody tr').length === {count + 1}")
    page.close()


def test_a_wrong_token_is_refused_at_sign_in(live: Live) -> None:
    page = live.browser.new_page()
    page.goto(live.url + "/")
    page.fill("#token", "cf_1_" + "x" * 43)
    page.click("#sign-in-form button[type=submit]")
    wait(page, "document.querySelector('#sign-in-error').textContent")
    assert "refused" in page.inner_text("#sign-in-error")
    assert page.is_hidden("#main")
    page.close()


def test_a_city_without_coordinates_is_drawn_as_its_graph(live: Live) -> None:
    page = open_page(live, live.admin)
    page.select_option("#city", "grid")  # switching cities from the menu
    wait(page, "window.cityfocus.ready && window.cityfocus.city === 'grid'")
    assert "layout of the zone graph" in page.inner_text("#map-note")
    at = page.eval_on_selector_all(
        "#map circle.zone", "cs => cs.map(c => [c.getAttribute('cx'), c.getAttribute('cy')])")
    assert len(at) == 9 and len(set(map(tuple, at))) == 9  # every zone, no two on one spot
    assert page.locator("#map line.link").count() > 0
    assert sum(allocation(page).values()) == pytest.approx(float(page.input_value(
        "#budget-number")))
    page.close()


def test_tablet_width_fits_and_no_other_host_is_asked(live: Live) -> None:
    page = open_page(live, live.admin, width=820, height=1180)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    shot(page, "dashboard-820x1180.png")
    page.close()
    assert live.hosts == {urlsplit(live.url).netloc}
