// Planning: the orders planned for one date, the day's totals, a map of the geocoded ones,
// and the dates that have orders. The map needs no network: with no tile server configured it
// draws Natural Earth's coastlines and borders (vendored) under clustered markers.
import {
  $,
  announce,
  api,
  describeError,
  formatCount,
  formatDate,
  formatKg,
  formatM3,
  geocodingBadge,
  h,
  notice,
  startPage,
  todayIso,
  totalOf,
} from "./common.js";
import { amountCells, fillRows, orderLink } from "./order-rows.js";

const session = await startPage("planning");

const MAX_PAGES = 20;
const PAGE_SIZE = 1000;
const PENDING_REFRESHES = 10;
const PENDING_REFRESH_MS = 2000;
const UK = [54.4, -2.6];
const MAX_ZOOM = 18;
const OFFLINE_LAYER = "/dashboard/static/vendor/world-atlas/countries-50m.json";
const OFFLINE_ATTRIBUTION = "Natural Earth";

const dateInput = $("#planned-date");
const map = createMap(session.map);
const markers = L.markerClusterGroup({
  maxClusterRadius: 45,
  showCoverageOnHover: false,
  spiderfyOnMaxZoom: true,
  // Counts with the locale's separators, in a badge that grows with the number.
  iconCreateFunction(cluster) {
    const count = cluster.getChildCount();
    const size = count < 10 ? 34 : count < 100 ? 40 : count < 1000 ? 48 : 58;
    return L.divIcon({
      className: "order-cluster",
      html: `<span>${formatCount(count)}</span>`,
      iconSize: [size, size],
      iconAnchor: [size / 2, size / 2],
    });
  },
}).addTo(map);
let pendingTimer = null;

function createMap(config) {
  const element = $("#map");
  const created = L.map(element, { scrollWheelZoom: false, maxZoom: MAX_ZOOM }).setView(UK, 5);
  L.control.scale({ imperial: false }).addTo(created);
  if (config && config.tileUrl) {
    L.tileLayer(config.tileUrl, { attribution: config.attribution || "", maxZoom: MAX_ZOOM }).addTo(created);
  } else {
    element.classList.add("no-tiles");
    $("#map-note").textContent =
      "No map tile server is configured (WMS_INTAKE_MAP_TILE_URL): the map shows coastlines and borders only.";
    addOfflineLayer(created);
  }
  return created;
}

/** Coastlines and borders from the vendored Natural Earth data, drawn as vectors. */
async function addOfflineLayer(target) {
  try {
    const response = await fetch(OFFLINE_LAYER, { credentials: "same-origin" });
    const topology = await response.json();
    const land = topojson.feature(topology, topology.objects.countries);
    L.geoJSON(land, {
      renderer: L.canvas({ padding: 0.5 }),
      interactive: false,
      attribution: OFFLINE_ATTRIBUTION,
      style: { color: "#7d8ba3", weight: 1, fillColor: "#f6f3ea", fillOpacity: 1 },
    }).addTo(target);
    $("#map").classList.add("offline-base");
  } catch (error) {
    $("#map-note").textContent = `The offline map could not be drawn (${error.message}); markers are placed on a blank map.`;
  }
}

async function fetchDay(date) {
  const orders = [];
  let cursor = null;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const query = new URLSearchParams({ plannedDate: date, limit: String(PAGE_SIZE) });
    if (cursor) query.set("cursor", cursor);
    const body = await api("GET", `/orders?${query}`);
    orders.push(...body.orders);
    cursor = body.nextCursor;
    if (!cursor) break;
  }
  return { orders, truncated: Boolean(cursor) };
}

async function showDay(date, { quiet = false } = {}) {
  window.clearTimeout(pendingTimer);
  const url = new URL(window.location.href);
  url.searchParams.set("date", date);
  window.history.replaceState(null, "", url);
  const message = $("#planning-message");
  try {
    const { orders, truncated } = await fetchDay(date);
    renderTotals(date, orders);
    renderRows(orders);
    renderMap(orders);
    if (truncated) notice(message, "info", `Showing the first ${orders.length} orders of this date.`);
    else message.replaceChildren();
    if (!quiet) announce(`${orders.length} orders planned for ${date}.`);
    return orders;
  } catch (error) {
    notice(message, "error", describeError(error));
    return [];
  }
}

function renderTotals(date, orders) {
  $("#totals-date").textContent = formatDate(date, { long: true });
  $("#total-orders").textContent = formatCount(orders.length);
  for (const [field, id, format] of [
    ["totalWeight", "weight", formatKg],
    ["volume", "volume", formatM3],
    ["palletCount", "pallets", formatCount],
  ]) {
    const total = totalOf(orders, field, format);
    $(`#total-${id}`).textContent = total.text;
    $(`#total-${id}-note`).textContent = total.note;
  }
}

function renderRows(orders) {
  const row = (order, index) =>
    h(
      "tr",
      { dataset: { orderId: order.orderId } },
      h("td", { class: "num", "data-label": "#", text: formatCount(index + 1) }),
      h("td", { "data-label": "External id" }, orderLink(order)),
      h("td", { "data-label": "Customer", text: order.customerName || "—" }),
      h("td", { "data-label": "Address", text: order.deliveryAddress || "—" }),
      amountCells(order),
      h("td", { "data-label": "Handling" }, (order.specialHandling || []).map((item) => h("span", { class: "chip", text: item }))),
      h("td", { "data-label": "Geocoding" }, geocodingBadge(order.location)),
    );
  fillRows($("#orders-rows"), orders, row, { columns: 9, empty: "No orders are planned for this date." });
}

function isPlaced(order) {
  const location = order.location;
  return Boolean(location && (location.status === "ok" || location.status === "provided") && Number.isFinite(location.lat) && Number.isFinite(location.lon));
}

function renderMap(orders) {
  markers.clearLayers();
  const placed = [];
  const layers = [];
  orders.forEach((order, index) => {
    if (!isPlaced(order)) return;
    const point = [order.location.lat, order.location.lon];
    placed.push(point);
    const number = String(index + 1);
    const size = number.length <= 2 ? 28 : number.length === 3 ? 34 : 42;
    const label = `${number}. ${order.externalOrderId}: ${order.customerName || "customer"}, ${order.deliveryAddress || ""}`;
    const icon = L.divIcon({ className: "order-marker", html: number, iconSize: [size, size], iconAnchor: [size / 2, size / 2] });
    const popup = h(
      "div",
      {},
      h("strong", {}, orderLink(order)),
      h("br"),
      order.customerName || "",
      h("br"),
      order.deliveryAddress || "",
    );
    layers.push(L.marker(point, { icon, title: label, alt: label, keyboard: true }).bindPopup(popup));
  });
  markers.addLayers(layers);
  const pending = orders.filter((order) => !order.location || order.location.status === "pending").length;
  const failed = orders.filter((order) => order.location && order.location.status === "failed").length;
  const parts = [`${formatCount(placed.length)} of ${formatCount(orders.length)} ${orders.length === 1 ? "order" : "orders"} on the map`];
  if (pending) parts.push(`${formatCount(pending)} waiting for geocoding`);
  if (failed) parts.push(`${formatCount(failed)} could not be located`);
  $("#map-summary").textContent = orders.length ? parts.join(" · ") : "";
  // Nothing to place: a one-line note instead of a whole blank map.
  const empty = placed.length === 0;
  $("#map-wrap").hidden = empty;
  const emptyNote = $("#map-empty");
  emptyNote.hidden = !empty;
  emptyNote.textContent = !orders.length
    ? "No orders are planned for this date, so there is nothing to map."
    : pending
      ? "None of this date's orders is located yet: they appear here once geocoded."
      : "None of this date's orders could be located, so there is nothing to map.";
  if (empty) return pending;
  map.invalidateSize();
  if (placed.length === 1) map.setView(placed[0], 13);
  // More room at the bottom: the attribution and the scale sit there.
  else map.fitBounds(L.latLngBounds(placed), { paddingTopLeft: [30, 30], paddingBottomRight: [30, 50], maxZoom: 14 });
  return pending;
}

/** While some orders wait for geocoding, look again a few times so their markers appear. */
function refreshWhilePending(date, orders, remaining = PENDING_REFRESHES) {
  const pending = orders.some((order) => !order.location || order.location.status === "pending");
  if (!pending || remaining <= 0) return;
  pendingTimer = window.setTimeout(async () => {
    if (dateInput.value !== date) return;
    const fresh = await showDay(date, { quiet: true });
    refreshWhilePending(date, fresh, remaining - 1);
  }, PENDING_REFRESH_MS);
}

async function go(date) {
  dateInput.value = date;
  markCurrentDate(date);
  const orders = await showDay(date);
  refreshWhilePending(date, orders);
}

// ------------------------------------------------------------------ dates with orders

const DATES_SHOWN = 12;

/** The next dates with orders (from today), or the earliest ones when none is ahead. */
async function loadDates() {
  const list = $("#planned-dates");
  try {
    let found = await api("GET", `/planned-dates?${new URLSearchParams({ since: todayIso(), limit: String(DATES_SHOWN) })}`);
    let heading = "Next dates with orders";
    if (!found.dates.length) {
      found = await api("GET", `/planned-dates?limit=${DATES_SHOWN}`);
      heading = "Dates with orders";
    }
    $("#planned-dates-title").textContent = heading;
    const items = found.dates.map((entry) =>
      h(
        "li",
        {},
        h(
          "button",
          { type: "button", class: "date-chip", dataset: { date: entry.date }, onclick: () => go(entry.date) },
          h("span", { class: "date", text: formatDate(entry.date) }),
          h("span", { class: "count", text: `${formatCount(entry.orders)} ${entry.orders === 1 ? "order" : "orders"}` }),
        ),
      ),
    );
    if (!items.length) items.push(h("li", { class: "hint", text: "No order has a planned date yet." }));
    list.replaceChildren(...items);
    const undated = $("#undated-orders");
    undated.replaceChildren(
      found.undated
        ? h("a", { href: "/dashboard/orders?plannedDate=none", text: `${formatCount(found.undated)} ${found.undated === 1 ? "order has" : "orders have"} no planned date` })
        : "",
    );
    markCurrentDate(dateInput.value);
  } catch (error) {
    notice($("#planning-message"), "error", describeError(error));
  }
}

function markCurrentDate(date) {
  for (const chip of document.querySelectorAll(".date-chip")) {
    chip.setAttribute("aria-pressed", String(chip.dataset.date === date));
  }
}

function shift(days) {
  const current = dateInput.value || todayIso();
  const next = new Date(`${current}T12:00:00Z`);
  next.setUTCDate(next.getUTCDate() + days);
  go(next.toISOString().slice(0, 10));
}

$("#date-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if (!dateInput.value) {
    notice($("#planning-message"), "error", "Choose a delivery date.");
    dateInput.focus();
    return;
  }
  go(dateInput.value);
});
$("#previous-day").addEventListener("click", () => shift(-1));
$("#next-day").addEventListener("click", () => shift(1));

loadDates();
const requested = new URLSearchParams(window.location.search).get("date");
go(requested && /^\d{4}-\d{2}-\d{2}$/.test(requested) ? requested : todayIso());
