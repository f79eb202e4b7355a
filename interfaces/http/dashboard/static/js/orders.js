// Orders: every order of the tenant by external id, a page at a time, searchable by external id
// and filtered by planned date (or "no planned date"), each linking to its own page.
import {
  $,
  announce,
  api,
  describeError,
  formatCount,
  formatDate,
  formatLocal,
  geocodingBadge,
  h,
  notice,
  startPage,
} from "./common.js";
import { amountCells, fillRows, orderLink } from "./order-rows.js";

await startPage("orders");

const PAGE_SIZE = 25;
/** The cursors of the pages shown so far: cursors[i] opens page i + 1 (null: the first). */
let cursors = [null];
let nextCursor = null;

function filterFromUrl() {
  const params = new URLSearchParams(window.location.search);
  const planned = params.get("plannedDate");
  $("#search").value = params.get("search") || "";
  if (planned === "none") $("#date-filter").value = "none";
  else if (planned && /^\d{4}-\d{2}-\d{2}$/.test(planned)) {
    $("#date-filter").value = "date";
    $("#filter-date").value = planned;
  }
  showDateField();
}

function showDateField() {
  $("#date-field").hidden = $("#date-filter").value !== "date";
}

function query() {
  const params = new URLSearchParams();
  const search = $("#search").value.trim();
  if (search) params.set("search", search);
  const kind = $("#date-filter").value;
  if (kind === "none") params.set("plannedDate", "none");
  if (kind === "date" && $("#filter-date").value) params.set("plannedDate", $("#filter-date").value);
  return params;
}

async function show(page) {
  const params = query();
  const url = new URL(window.location.href);
  url.search = params.toString();
  window.history.replaceState(null, "", url);
  params.set("limit", String(PAGE_SIZE));
  if (cursors[page]) params.set("cursor", cursors[page]);
  const message = $("#orders-message");
  try {
    const body = await api("GET", `/orders?${params}`);
    message.replaceChildren();
    nextCursor = body.nextCursor;
    if (nextCursor) cursors[page + 1] = nextCursor;
    renderRows(body.orders);
    const first = page * PAGE_SIZE + 1;
    const last = page * PAGE_SIZE + body.orders.length;
    $("#list-summary").textContent = body.orders.length
      ? `orders ${formatCount(first)}–${formatCount(last)}${nextCursor ? "" : ` of ${formatCount(last)}`}`
      : "";
    $("#page-number").textContent = `Page ${formatCount(page + 1)}`;
    $("#previous-page").disabled = page === 0;
    $("#previous-page").dataset.page = String(page);
    $("#next-page").disabled = !nextCursor;
    announce(`${formatCount(body.orders.length)} orders shown.`);
  } catch (error) {
    notice(message, "error", describeError(error));
  }
}

function renderRows(orders) {
  const row = (order) =>
    h(
      "tr",
      { class: "order-row", dataset: { orderId: order.orderId } },
      h("td", { "data-label": "External id" }, orderLink(order)),
      h("td", { "data-label": "Customer", title: order.customerId ? `customer ${order.customerId}` : null, text: order.customerName || "—" }),
      h("td", { "data-label": "Planned date" }, order.plannedDate ? h("time", { datetime: order.plannedDate, text: formatDate(order.plannedDate) }) : h("span", { class: "hint", text: "none" })),
      amountCells(order),
      h("td", { "data-label": "Geocoding" }, geocodingBadge(order.location)),
      h("td", { "data-label": "Last updated" }, h("time", { datetime: order.updatedAt, text: formatLocal(order.updatedAt) })),
    );
  fillRows($("#list-rows"), orders, row, { columns: 8, empty: "No order matches." });
}

function restart() {
  cursors = [null];
  show(0);
}

$("#date-filter").addEventListener("change", () => {
  showDateField();
  if ($("#date-filter").value !== "date") restart();
});
$("#filter-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if ($("#date-filter").value === "date" && !$("#filter-date").value) {
    notice($("#orders-message"), "error", "Choose a date, or another planned-date filter.");
    $("#filter-date").focus();
    return;
  }
  restart();
});
$("#next-page").addEventListener("click", () => show(Number($("#previous-page").dataset.page || 0) + 1));
$("#previous-page").addEventListener("click", () => show(Math.max(0, Number($("#previous-page").dataset.page || 0) - 1)));

filterFromUrl();
show(0);
