"""Remote geocoding against fake Nominatim / Photon / Pelias servers on 127.0.0.1.

First the adapter alone (answers, empty answers, 429 with Retry-After, 5xx,
timeouts, unreachable services, the rate limiter), then the processor on a
real event store (SQLite and PostgreSQL): retries that honour Retry-After,
fallback to the offline geocoder, permanent failures recorded once, and the
same address geocoded once per tenant. No test touches the network.

The processor is driven step by step on the test's event loop with a clock
the test moves, so retry schedules are checked exactly, without sleeping.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from application.geocode_result import NOT_FOUND, GeocodeHit, GeocodeMiss
from application.geocoding import GeocodingProcessor
from domain.customer import Customer
from domain.location import Location
from domain.order import Order
from domain.source import Source
from infrastructure.geocoding.remote import AsyncRateLimiter, GeocoderConfigurationError, RemoteGeocoder
from infrastructure.geocoding.worker import GeocodingWorker
from infrastructure.settings import Settings
from interfaces.container import Container, build_container
from interfaces.http.presenters.orders import present_order
from tests.support.settings import make_settings

WESTMINSTER = "10 High Street, London SW1A 1AA"
NO_POSTCODE = "The Old Barn, Nowhere Lane"
API_KEY = "pelias-key-7f3a9c"

NOMINATIM_HIT = [
    {
        "lat": "51.5013",
        "lon": "-0.1418",
        "display_name": "10, High Street, Westminster, London, SW1A 1AA, United Kingdom",
        "class": "place",
        "type": "house",
        "addresstype": "building",
    }
]
PHOTON_HIT = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [-0.1419, 51.5012]},
            "properties": {"name": "10 High Street", "city": "London", "postcode": "SW1A 1AA", "type": "house"},
        }
    ],
}
PELIAS_HIT = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [-0.1417, 51.5011]},
            "properties": {
                "name": "10 High Street",
                "label": "10 High Street, London, England, United Kingdom",
                "layer": "address",
            },
        }
    ],
}


# ---------------------------------------------------------------------- the fake service


@dataclass
class Answer:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class FakeGeocodingService:
    """Answers scripted responses in turn (the last one repeats) and records requests."""

    answers: list[Answer] = field(default_factory=lambda: [Answer(body=NOMINATIM_HIT)])
    requests: list[web.Request] = field(default_factory=list)

    def script(self, *answers: Answer) -> None:
        self.answers = list(answers)

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if answer.delay:
            await asyncio.sleep(answer.delay)
        if answer.body is None:
            return web.Response(status=answer.status, headers=answer.headers, text="error")
        return web.json_response(answer.body, status=answer.status, headers=answer.headers)

    @property
    def queries(self) -> list[str]:
        return [r.query.get("q") or r.query.get("text", "") for r in self.requests]


@pytest.fixture
async def service() -> AsyncIterator[tuple[FakeGeocodingService, str]]:
    fake = FakeGeocodingService()
    app = web.Application()
    for path in ("/search", "/api", "/v1/search", "/nominatim/search"):
        app.router.add_get(path, fake.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield fake, str(server.make_url("")).rstrip("/")
    await server.close()


@pytest.fixture
def fake(service: tuple[FakeGeocodingService, str]) -> FakeGeocodingService:
    """The fake service alone, for tests that need not know its URL."""
    return service[0]


class FakeClock:
    """Monotonic seconds for the rate limiter; ``sleep`` moves time instead of waiting."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.t += seconds


@pytest.fixture
async def remote(service: tuple[FakeGeocodingService, str]) -> AsyncIterator[Callable[..., RemoteGeocoder]]:
    made: list[RemoteGeocoder] = []

    def make(provider: str = "nominatim", **options: Any) -> RemoteGeocoder:
        options.setdefault("base_url", service[1])
        options.setdefault("user_agent", "wms-intake-tests/1.0")
        options.setdefault("rate_per_second", 1000.0)
        geocoder = RemoteGeocoder(provider, **options)
        made.append(geocoder)
        return geocoder

    yield make
    for geocoder in made:
        await geocoder.aclose()


# ---------------------------------------------------------------------- the adapter


async def test_nominatim_answers_with_its_place_type_as_precision(
    fake: FakeGeocodingService, remote: Callable[..., RemoteGeocoder]
) -> None:
    outcome = await remote("nominatim").geocode(WESTMINSTER)
    assert outcome == GeocodeHit(
        lat=51.5013,
        lon=-0.1418,
        precision="building",
        provider="nominatim",
        matched_address="10, High Street, Westminster, London, SW1A 1AA, United Kingdom",
    )
    [request] = fake.requests
    assert request.path == "/search"
    assert request.query["q"] == WESTMINSTER
    assert request.headers["User-Agent"] == "wms-intake-tests/1.0"


async def test_a_self_hosted_service_under_a_path_prefix_is_reached(
    service: tuple[FakeGeocodingService, str], remote: Callable[..., RemoteGeocoder]
) -> None:
    fake, url = service
    outcome = await remote("nominatim", base_url=f"{url}/nominatim/").geocode(WESTMINSTER)
    assert isinstance(outcome, GeocodeHit)
    assert [r.path for r in fake.requests] == ["/nominatim/search"]


async def test_photon_answers_with_its_feature_type_as_precision(
    fake: FakeGeocodingService, remote: Callable[..., RemoteGeocoder]
) -> None:
    fake.script(Answer(body=PHOTON_HIT))
    outcome = await remote("photon").geocode(WESTMINSTER)
    assert isinstance(outcome, GeocodeHit)
    assert (outcome.lat, outcome.lon, outcome.precision, outcome.provider) == (51.5012, -0.1419, "house", "photon")
    assert [r.path for r in fake.requests] == ["/api"]


async def test_pelias_sends_the_api_key_but_never_logs_it(
    fake: FakeGeocodingService, remote: Callable[..., RemoteGeocoder], caplog: pytest.LogCaptureFixture
) -> None:
    fake.script(Answer(body=PELIAS_HIT))
    caplog.set_level(logging.DEBUG, logger="geopy")
    outcome = await remote("pelias", api_key=API_KEY).geocode(WESTMINSTER)
    assert isinstance(outcome, GeocodeHit)
    assert (outcome.precision, outcome.matched_address) == (
        "address",
        "10 High Street, London, England, United Kingdom",
    )
    [request] = fake.requests
    assert request.path == "/v1/search" and request.query["api_key"] == API_KEY
    assert "geocode_api" in caplog.text  # geopy did log the request URL ...
    assert API_KEY not in caplog.text  # ... with the key masked


async def test_an_empty_answer_is_a_permanent_not_found(
    fake: FakeGeocodingService, remote: Callable[..., RemoteGeocoder]
) -> None:
    fake.script(Answer(body=[]))
    outcome = await remote("nominatim").geocode(WESTMINSTER)
    assert outcome == GeocodeMiss(
        provider="nominatim", reason="no match", retryable=False, not_found=True, cause=NOT_FOUND
    )


async def test_429_is_retryable_and_its_retry_after_pauses_every_request(
    fake: FakeGeocodingService, remote: Callable[..., RemoteGeocoder]
) -> None:
    fake.script(Answer(status=429, headers={"Retry-After": "7"}))
    clock = FakeClock()
    geocoder = remote("nominatim", limiter=AsyncRateLimiter(1000.0, clock=clock, sleep=clock.sleep))
    outcome = await geocoder.geocode(WESTMINSTER)
    assert isinstance(outcome, GeocodeMiss)
    assert outcome.retryable and outcome.retry_after == 7.0
    assert geocoder.limiter.paused_until == clock.t + 7.0


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(500, True), (502, True), (503, True), (504, True), (400, False), (403, False), (404, False)],
)
async def test_only_server_errors_are_retryable(
    fake: FakeGeocodingService, remote: Callable[..., RemoteGeocoder], status: int, retryable: bool
) -> None:
    fake.script(Answer(status=status))
    outcome = await remote("nominatim").geocode(WESTMINSTER)
    assert isinstance(outcome, GeocodeMiss)
    assert outcome.retryable is retryable and not outcome.not_found
    assert str(status) in outcome.reason


async def test_a_503_with_retry_after_is_honoured_too(
    fake: FakeGeocodingService, remote: Callable[..., RemoteGeocoder]
) -> None:
    fake.script(Answer(status=503, headers={"Retry-After": "30"}))
    outcome = await remote("nominatim").geocode(WESTMINSTER)
    assert isinstance(outcome, GeocodeMiss) and outcome.retryable and outcome.retry_after == 30.0


async def test_a_timeout_is_retryable(fake: FakeGeocodingService, remote: Callable[..., RemoteGeocoder]) -> None:
    fake.script(Answer(body=NOMINATIM_HIT, delay=2.0))
    outcome = await remote("nominatim", timeout_seconds=0.2).geocode(WESTMINSTER)
    assert isinstance(outcome, GeocodeMiss) and outcome.retryable
    assert "timed out" in outcome.reason


async def test_an_unreachable_service_is_retryable(remote: Callable[..., RemoteGeocoder]) -> None:
    # Port 9 (discard) on loopback: nothing listens there in a test environment.
    outcome = await remote("nominatim", base_url="http://127.0.0.1:9").geocode(WESTMINSTER)
    assert isinstance(outcome, GeocodeMiss) and outcome.retryable


async def test_an_answer_of_the_wrong_shape_is_a_permanent_miss(
    fake: FakeGeocodingService, remote: Callable[..., RemoteGeocoder]
) -> None:
    fake.script(Answer(body={"unexpected": True}))
    outcome = await remote("photon").geocode(WESTMINSTER)
    assert isinstance(outcome, GeocodeMiss) and not outcome.retryable
    assert "unexpected answer" in outcome.reason


def test_pelias_needs_a_url_and_urls_must_be_http() -> None:
    with pytest.raises(GeocoderConfigurationError, match="WMS_INTAKE_GEOCODER_URL"):
        RemoteGeocoder("pelias", base_url=None, user_agent="x")
    with pytest.raises(GeocoderConfigurationError):
        RemoteGeocoder("nominatim", base_url="ftp://example.test", user_agent="x")
    with pytest.raises(GeocoderConfigurationError):
        RemoteGeocoder("google", base_url=None, user_agent="x")


async def test_the_rate_limiter_spaces_requests_and_holds_everyone_during_a_pause() -> None:
    clock = FakeClock()
    limiter = AsyncRateLimiter(2.0, clock=clock, sleep=clock.sleep)
    starts = []
    for _ in range(3):
        await limiter.acquire()
        starts.append(clock.t)
    assert starts == [1000.0, 1000.5, 1001.0]
    limiter.pause(3.0)
    await limiter.acquire()
    assert clock.t == 1004.0  # its slot was at 1001.5, but the pause lasts until 1004


# ---------------------------------------------------------------------- the processor


class MovableClock:
    """The real time plus however far the test has moved it on."""

    def __init__(self) -> None:
        self.ahead = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.ahead

    def advance(self, seconds: float) -> None:
        self.ahead += timedelta(seconds=seconds)


@dataclass
class Geocoding:
    container: Container
    worker: GeocodingWorker
    clock: MovableClock
    tenant_id: UUID

    @property
    def processor(self) -> GeocodingProcessor:
        return self.worker.processor

    async def step(self) -> int:
        """Queue what the event store brought, then geocode what is due now."""
        await asyncio.to_thread(self.worker.follower.catch_up)
        return await self.processor.drain()

    def add_customer(self, address: str) -> None:
        self.container.use_cases.save(Customer.register(self.tenant_id, address, Source(channel="api")))

    def add_order(self, external_id: str, address: str) -> None:
        order = Order.place(self.tenant_id, external_id, {"delivery_address": address}, Source(channel="api"))
        self.container.use_cases.save(order)

    def location(self, address: str) -> Location | None:
        oid = Location.id_for(self.tenant_id, address)
        found = self.container.use_cases.load_many([oid]).get(oid)
        return found if isinstance(found, Location) else None

    def recorded(self, address: str) -> Location:
        """The location recorded for ``address``, which there must be by now."""
        location = self.location(address)
        assert location is not None, address
        return location

    async def step_locates(self, address: str, provider: str) -> None:
        """One step geocodes ``address``, and ``provider`` located it."""
        assert await self.step() == 1
        location = self.recorded(address)
        assert (location.status, location.provider) == ("ok", provider)

    def pending(self) -> int:
        return self.worker.queue.depth()


@pytest.fixture
def settings(database_url: str, service: tuple[FakeGeocodingService, str]) -> Settings:
    return make_settings(
        database_url,
        geocoder="nominatim",
        geocoder_url=service[1],
        geocoder_rate_per_second=1000,
        geocoder_max_attempts=3,
        geocoder_retry_base_seconds=10,
    )


@pytest.fixture
async def geocoding(settings: Settings) -> AsyncIterator[Geocoding]:
    container = build_container(settings)
    worker = container.geocoding
    assert isinstance(worker, GeocodingWorker)
    clock = MovableClock()
    worker.processor.clock = clock
    # The service's Retry-After pauses the rate limiter in a clock of its own:
    # the test moves time instead of waiting for it.
    limiter_clock = FakeClock()
    remote = worker.processor.geocoder
    assert isinstance(remote, RemoteGeocoder)
    remote.limiter = AsyncRateLimiter(1000.0, clock=limiter_clock, sleep=limiter_clock.sleep)
    tenant = container.use_cases.create_tenant("Acme Deliveries").tenant_id
    yield Geocoding(container, worker, clock, tenant)
    await worker.processor.close()
    container.close()


async def test_a_429_is_retried_no_sooner_than_its_retry_after(
    fake: FakeGeocodingService, geocoding: Geocoding
) -> None:
    fake.script(Answer(status=429, headers={"Retry-After": "60"}), Answer(body=NOMINATIM_HIT))
    geocoding.add_customer(WESTMINSTER)
    before = geocoding.processor.now()
    assert await geocoding.step() == 1
    location = geocoding.location(WESTMINSTER)
    assert location is None  # nothing recorded for a retryable miss: it is rescheduled
    due = geocoding.worker.queue.next_due()
    assert due is not None and due >= before + 60
    geocoding.clock.advance(30)
    assert await geocoding.step() == 0 and len(fake.requests) == 1
    geocoding.clock.advance(30)
    await geocoding.step_locates(WESTMINSTER, "nominatim")
    assert len(fake.requests) == 2 and geocoding.pending() == 0


async def test_a_service_that_keeps_failing_falls_back_to_the_offline_geocoder(
    fake: FakeGeocodingService, geocoding: Geocoding
) -> None:
    fake.script(Answer(status=500))
    geocoding.add_customer(WESTMINSTER)
    for _ in range(3):  # max_attempts = 3
        assert await geocoding.step() == 1
        geocoding.clock.advance(3600)
    location = geocoding.recorded(WESTMINSTER)
    assert location.status == "ok"
    assert (location.provider, location.precision) == ("offline-uk", "postcode")
    assert location.lat == pytest.approx(51.501, abs=0.001)
    assert len(fake.requests) == 3
    assert geocoding.processor.stats.requests() == {("nominatim", "retryable_error"): 3, ("offline-uk", "ok"): 1}


async def test_nothing_found_falls_back_to_the_offline_geocoder_at_once(
    fake: FakeGeocodingService, geocoding: Geocoding
) -> None:
    fake.script(Answer(body=[]))
    geocoding.add_customer(WESTMINSTER)
    await geocoding.step_locates(WESTMINSTER, "offline-uk")
    assert len(fake.requests) == 1


async def test_a_permanent_failure_is_recorded_once_and_not_asked_again(
    fake: FakeGeocodingService, geocoding: Geocoding
) -> None:
    fake.script(Answer(body=[]))
    geocoding.add_customer(NO_POSTCODE)
    assert await geocoding.step() == 1
    location = geocoding.recorded(NO_POSTCODE)
    assert location.status == "failed" and not location.retryable
    assert location.failure is not None and "no match" in location.failure
    geocoding.add_order("ORD-9", NO_POSTCODE.upper())  # the same address, seen again
    assert await geocoding.step() == 0
    assert len(fake.requests) == 1 and geocoding.pending() == 0
    assert geocoding.recorded(NO_POSTCODE).version == 2


async def test_a_retryable_failure_is_tried_again_when_the_address_is_seen_again(
    fake: FakeGeocodingService, geocoding: Geocoding
) -> None:
    fake.script(Answer(status=503))
    geocoding.add_customer(NO_POSTCODE)
    for _ in range(3):
        await geocoding.step()
        geocoding.clock.advance(3600)
    location = geocoding.recorded(NO_POSTCODE)
    assert location.status == "failed" and location.retryable
    assert geocoding.pending() == 0  # parked, not retried forever

    fake.script(Answer(body=NOMINATIM_HIT))
    geocoding.add_order("ORD-10", NO_POSTCODE)
    await geocoding.step_locates(NO_POSTCODE, "nominatim")
    assert len(fake.requests) == 4


async def test_the_same_normalised_address_is_geocoded_once_per_tenant(
    fake: FakeGeocodingService, geocoding: Geocoding
) -> None:
    geocoding.add_customer(WESTMINSTER)
    geocoding.add_order("ORD-1", "10 high street,  LONDON sw1a 1aa.")
    geocoding.add_order("ORD-2", WESTMINSTER)
    assert await geocoding.step() == 1
    assert await geocoding.step() == 0
    geocoding.add_order("ORD-3", WESTMINSTER)
    assert await geocoding.step() == 0
    assert fake.queries == [WESTMINSTER]

    other = geocoding.container.use_cases.create_tenant("Other").tenant_id
    geocoding.container.use_cases.save(Customer.register(other, WESTMINSTER, Source(channel="api")))
    assert await geocoding.step() == 1
    assert fake.queries == [WESTMINSTER, WESTMINSTER]


async def test_a_rebuilt_queue_asks_for_nothing_already_known(fake: FakeGeocodingService, geocoding: Geocoding) -> None:
    geocoding.add_customer(WESTMINSTER)
    assert await geocoding.step() == 1
    geocoding.worker.queue.reset()  # e.g. `projections rebuild`: every address is queued again
    assert await geocoding.step() == 1  # claimed, found already located, settled
    assert len(fake.requests) == 1 and geocoding.pending() == 0
    assert geocoding.recorded(WESTMINSTER).version == 2


async def test_orders_show_the_location_recorded_for_their_address(geocoding: Geocoding) -> None:
    geocoding.add_order("ORD-1", WESTMINSTER)
    await geocoding.step()
    geocoding.container.catch_up()
    tenant = str(geocoding.tenant_id)
    order = geocoding.container.queries.orders.get_order_by_external_id(tenant, "ORD-1")
    assert order is not None
    assert present_order(order)["location"] == {"lat": 51.5013, "lon": -0.1418, "precision": "building", "status": "ok"}
    # An order placed after its address was located shows it at once.
    geocoding.add_order("ORD-2", "10 HIGH STREET LONDON SW1A 1AA")
    geocoding.container.catch_up()
    later = geocoding.container.queries.orders.get_order_by_external_id(tenant, "ORD-2")
    assert later is not None and present_order(later)["location"]["status"] == "ok"
