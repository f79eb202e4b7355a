// Planning: the orders planned for one date, the day's totals, and a map of the geocoded ones.
// The map needs no network: with no tile server configured, markers sit on a blank map with a scale.
import { $, announce, api, describeError, formatNumber, h, notice, startPage, todayIso } from "./common.js";

const session = await startPage("planning");

const MAX_PAGES = 20;
const PAGE_SIZE = 1000;
const PENDING_REFRESHES = 10;
const PENDING_REFRESH_MS = 2000;
const UK = [54.4, -2.6];

const dateInput = $("#planned-date");
const map = createMap(session.map);
const markers = L.layerGroup().addTo(map);
let pendingTimer = null;

function createMap(config) {
  const element = $("#map");
  const created = L.map(element, { scrollWheelZoom: false }).setView(UK, 5);
  L.control.scale({ imperial: false }).addTo(created);
  if (config && config.tileUrl) {
    L.tileLayer(config.tileUrl, { attribution: config.attribution || "", maxZoom: 19 }).addTo(created);
  } else {
    element.classList.add("no-tiles");
    $("#map-note").textContent =
      "No map tile server is configured (WMS_INTAKE_MAP_TILE_URL), so the orders are placed on a blank map with a scale.";
  }
  return created;
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

function sum(orders, field) {
  return orders.reduce((total, order) => total + (typeof order[field] === "number" ? order[field] : 0), 0);
}

function renderTotals(date, orders) {
  $("#totals-date").textContent = new Date(`${date}T12:00:00`).toLocaleDateString(undefined, { dateStyle: "full" });
  $("#total-orders").textContent = String(orders.length);
  $("#total-weight").textContent = formatNumber(sum(orders, "totalWeight"));
  $("#total-volume").textContent = formatNumber(sum(orders, "volume"), 3);
  $("#total-pallets").textContent = formatNumber(sum(orders, "palletCount"), 0);
}

function geocoding(location) {
  const status = (location && location.status) || "pending";
  const kind = { ok: "badge ok", provided: "badge ok", pending: "badge warn", failed: "badge bad" }[status] || "badge";
  const precision = status === "ok" && location.precision ? ` · ${location.precision}` : "";
  return h("span", { class: kind, text: `${status}${precision}` });
}

function renderRows(orders) {
  const body = $("#orders-rows");
  if (!orders.length) {
    body.replaceChildren(h("tr", {}, h("td", { colspan: "9", class: "hint", text: "No orders are planned for this date." })));
    return;
  }
  body.replaceChildren(
    ...orders.map((order, index) =>
      h(
        "tr",
        { dataset: { orderId: order.orderId } },
        h("td", { class: "num", "data-label": "#", text: String(index + 1) }),
        h("td", { "data-label": "External id" }, h("a", { href: `/dashboard/order?id=${encodeURIComponent(order.orderId)}`, text: order.externalOrderId })),
        h("td", { "data-label": "Customer", text: order.customerName || "—" }),
        h("td", { "data-label": "Address", text: order.deliveryAddress || "—" }),
        h("td", { class: "num", "data-label": "Weight (kg)", text: formatNumber(order.totalWeight) }),
        h("td", { class: "num", "data-label": "Volume (m³)", text: formatNumber(order.volume, 3) }),
        h("td", { class: "num", "data-label": "Pallets", text: formatNumber(order.palletCount, 0) }),
        h("td", { "data-label": "Handling" }, (order.specialHandling || []).map((item) => h("span", { class: "chip", text: item }))),
        h("td", { "data-label": "Geocoding" }, geocoding(order.location)),
      ),
    ),
  );
}

function isPlaced(order) {
  const location = order.location;
  return Boolean(location && (location.status === "ok" || location.status === "provided") && Number.isFinite(location.lat) && Number.isFinite(location.lon));
}

function renderMap(orders) {
  markers.clearLayers();
  const placed = [];
  orders.forEach((order, index) => {
    if (!isPlaced(order)) return;
    const point = [order.location.lat, order.location.lon];
    placed.push(point);
    const number = String(index + 1);
    const label = `${number}. ${order.externalOrderId}: ${order.customerName || "customer"}, ${order.deliveryAddress || ""}`;
    const icon = L.divIcon({ className: "order-marker", html: number, iconSize: [28, 28], iconAnchor: [14, 14] });
    const popup = h(
      "div",
      {},
      h("strong", {}, h("a", { href: `/dashboard/order?id=${encodeURIComponent(order.orderId)}`, text: order.externalOrderId })),
      h("br"),
      order.customerName || "",
      h("br"),
      order.deliveryAddress || "",
    );
    L.marker(point, { icon, title: label, alt: label, keyboard: true }).bindPopup(popup).addTo(markers);
  });
  const pending = orders.filter((order) => !order.location || order.location.status === "pending").length;
  $("#map-summary").textContent = `${placed.length} of ${orders.length} orders on the map${pending ? ` · ${pending} waiting for geocoding` : ""}`;
  map.invalidateSize();
  if (placed.length === 1) map.setView(placed[0], 13);
  else if (placed.length > 1) map.fitBounds(L.latLngBounds(placed), { padding: [30, 30], maxZoom: 14 });
  else map.setView(UK, 5);
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
  const orders = await showDay(date);
  refreshWhilePending(date, orders);
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

const requested = new URLSearchParams(window.location.search).get("date");
go(requested && /^\d{4}-\d{2}-\d{2}$/.test(requested) ? requested : todayIso());
