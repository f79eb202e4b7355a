// One order: its current state, its state as of any version or moment, and its history
// (each change with its time and its source: the webhook or pull delivery it came in).
import {
  $,
  announce,
  api,
  ApiError,
  describeError,
  formatCount,
  formatDate,
  formatKg,
  formatM3,
  h,
  may,
  moment,
  notice,
  startPage,
} from "./common.js";

await startPage("order");

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const LABELS = {
  externalOrderId: "External id",
  customerName: "Customer",
  customerId: "Customer",
  deliveryAddress: "Delivery address",
  plannedDate: "Planned date",
  totalWeight: "Weight (kg)",
  volume: "Volume (m³)",
  palletCount: "Pallets",
  specialHandling: "Special handling",
  location: "Location",
  createdAt: "Created",
  updatedAt: "Last updated",
  version: "Version",
};
const STATE_FIELDS = Object.keys(LABELS);

let orderId = null;
/** Customer id -> name, for showing names where the history has ids. */
const customerNames = new Map();

// ------------------------------------------------------------------ values

function show(field, value) {
  if (value === null || value === undefined || value === "") return "—";
  if (field === "specialHandling" && Array.isArray(value)) {
    return value.length ? h("span", {}, value.map((item) => h("span", { class: "chip", text: item }))) : "none";
  }
  if (field === "location" && typeof value === "object") {
    const where = Number.isFinite(value.lat) && Number.isFinite(value.lon) ? `${value.lat.toFixed(5)}, ${value.lon.toFixed(5)}` : "";
    const status = value.status === "provided" ? "provided by the WMS" : `geocoding ${value.status || "pending"}`;
    const parts = [status, value.precision, where, value.status === "failed" ? value.reason : null].filter(Boolean);
    return parts.join(" · ");
  }
  if (field === "customerId") {
    const name = customerNames.get(value);
    return name ? h("span", { class: "customer-name", title: `customer ${value}`, text: name }) : h("code", { text: value });
  }
  if (field === "createdAt" || field === "updatedAt") return moment(value);
  if (field === "plannedDate") return h("time", { datetime: value, title: value, text: formatDate(value) });
  if (field === "totalWeight") return formatKg(value);
  if (field === "volume") return formatM3(value);
  if (field === "palletCount" || field === "version") return formatCount(value);
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function stateList(order) {
  return h(
    "dl",
    { class: "facts" },
    // One "Customer" line: the name, with the id on hover (the id alone when there is no name).
    STATE_FIELDS.filter((field) => field in order && !(field === "customerId" && order.customerName)).flatMap((field) => [
      h("dt", { text: LABELS[field] }),
      h(
        "dd",
        { dataset: { field }, title: field === "customerName" && order.customerId ? `customer ${order.customerId}` : null },
        show(field, order[field]),
      ),
    ]),
  );
}

// ------------------------------------------------------------------ finding and showing

async function find(text) {
  const message = $("#order-message");
  const wanted = text.trim();
  if (!wanted) {
    notice(message, "error", "Enter an external order id.");
    $("#find-id").focus();
    return;
  }
  try {
    let order = null;
    if (UUID.test(wanted)) {
      order = await api("GET", `/orders/${encodeURIComponent(wanted)}`).catch((error) => {
        if (error instanceof ApiError && error.status === 404) return null;
        throw error;
      });
    }
    order = order || (await api("GET", `/orders/by-external-id/${encodeURIComponent(wanted)}`));
    await open(order.orderId);
  } catch (error) {
    notice(message, "error", error instanceof ApiError && error.status === 404 ? `No order “${wanted}” in this tenant.` : describeError(error));
  }
}

async function open(id) {
  orderId = id;
  const url = new URL(window.location.href);
  url.searchParams.set("id", id);
  window.history.replaceState(null, "", url);
  const message = $("#order-message");
  try {
    const order = await api("GET", `/orders/${encodeURIComponent(id)}`);
    if (order.customerId && order.customerName) customerNames.set(order.customerId, order.customerName);
    message.replaceChildren();
    $("#order-title").textContent = `Order ${order.externalOrderId}`;
    document.title = `Order ${order.externalOrderId} · WMS Intake`;
    $("#current-state").replaceChildren(stateList(order));
    $("#as-of-state").replaceChildren();
    $("#as-of-message").replaceChildren();
    $("#order-view").hidden = false;
    const history = await loadHistory(id);
    const versions = Math.max(order.version, ...history.map((entry) => entry.version));
    fillVersions(versions);
    announce(`Order ${order.externalOrderId}, version ${order.version}.`);
  } catch (error) {
    $("#order-view").hidden = true;
    notice(message, "error", error instanceof ApiError && error.status === 404 ? "This order does not exist in this tenant." : describeError(error));
  }
}

function fillVersions(latest) {
  const select = $("#as-of-version");
  select.replaceChildren(
    ...Array.from({ length: latest }, (_, index) => latest - index).map((version) =>
      h("option", { value: String(version), text: version === latest ? `${version} (latest)` : String(version) }),
    ),
  );
}

// ------------------------------------------------------------------ as of

async function showAsOf(query, label) {
  const target = $("#as-of-state");
  const message = $("#as-of-message");
  try {
    const order = await api("GET", `/orders/${encodeURIComponent(orderId)}?${query}`);
    message.replaceChildren();
    target.replaceChildren(h("h3", { text: `${label}: version ${order.version}` }), stateList(order));
  } catch (error) {
    target.replaceChildren();
    notice(message, "error", describeError(error));
  }
}

$("#as-of-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const version = $("#as-of-version").value;
  if (version) showAsOf(`asOfVersion=${encodeURIComponent(version)}`, "As of");
});

$("#as-of-time-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const value = $("#as-of-time").value;
  if (!value) {
    notice($("#as-of-message"), "error", "Choose a date and time.");
    return;
  }
  const when = new Date(value);
  showAsOf(`asOf=${encodeURIComponent(when.toISOString())}`, `As at ${when.toLocaleString()}`);
});

// ------------------------------------------------------------------ history

function eventName(type) {
  const words = String(type).replace(/^Order/, "").replace(/([a-z])([A-Z])/g, "$1 $2");
  return words || String(type);
}

function sourceOf(source) {
  if (!source) return "unknown source";
  const channel = { webhook: "Webhook delivery", pull: "Pull delivery", api: "API" }[source.channel] || source.channel;
  const parts = [h("strong", { text: channel })];
  if (source.deliveryId) parts.push(" ", h("code", { class: "delivery-id", text: source.deliveryId }));
  if (source.apiKeyId) parts.push(" · key ", h("code", { text: source.apiKeyId }));
  if (source.requestId) parts.push(" · request ", h("code", { text: source.requestId }));
  return h("span", { class: "source" }, parts);
}

function changesTable(changes, before) {
  const fields = Object.keys(changes || {});
  if (!fields.length) return h("p", { class: "hint", text: "No field changed." });
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "changes" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col", text: "Field" }), h("th", { scope: "col", text: "Before" }), h("th", { scope: "col", text: "After" }))),
      h(
        "tbody",
        {},
        fields.map((field) =>
          h(
            "tr",
            {},
            h("th", { scope: "row", text: LABELS[field] || field }),
            h("td", { class: field in before ? "change-old" : "", "data-label": "Before" }, field in before ? show(field, before[field]) : "—"),
            h("td", { "data-label": "After" }, show(field, changes[field])),
          ),
        ),
      ),
    ),
  );
}

async function loadHistory(id) {
  const list = $("#history");
  const message = $("#history-message");
  if (!may("read_history")) {
    list.replaceChildren();
    notice(message, "info", "The change history is shown to admins and auditors. You can still see the order as of any version.");
    return [];
  }
  try {
    const history = await api("GET", `/orders/${encodeURIComponent(id)}/history`);
    await learnCustomerNames(history.events);
    const state = {};
    const items = history.events.map((entry) => {
      const before = { ...state };
      Object.assign(state, entry.changes || {});
      const asOf = h("button", { type: "button", class: "small", text: `Show as of version ${entry.version}` });
      asOf.addEventListener("click", () => {
        $("#as-of-version").value = String(entry.version);
        showAsOf(`asOfVersion=${entry.version}`, "As of").then(() => $("#as-of-title").scrollIntoView({ block: "start" }));
      });
      return h(
        "li",
        { dataset: { version: String(entry.version) } },
        h("h3", {}, `Version ${entry.version} · ${eventName(entry.type)}`),
        h("p", { class: "meta" }, moment(entry.timestamp), h("br"), "Source: ", sourceOf(entry.source)),
        changesTable(entry.changes, before),
        h("div", { class: "row" }, asOf),
      );
    });
    list.replaceChildren(...items);
    message.replaceChildren();
    return history.events;
  } catch (error) {
    notice(message, "error", describeError(error));
    return [];
  }
}

/** Names of the customers the history mentions (for roles that may read customers). */
async function learnCustomerNames(events) {
  if (!may("manage_customers")) return;
  const ids = new Set();
  for (const entry of events) {
    const id = entry.changes && entry.changes.customerId;
    if (id && !customerNames.has(id)) ids.add(id);
  }
  await Promise.all(
    [...ids].map((id) =>
      api("GET", `/customers/${encodeURIComponent(id)}`)
        .then((customer) => customerNames.set(id, customer.name))
        .catch(() => {}),
    ),
  );
}

// ------------------------------------------------------------------ start

$("#find-form").addEventListener("submit", (event) => {
  event.preventDefault();
  find($("#find-id").value);
});

const params = new URLSearchParams(window.location.search);
if (params.get("id")) open(params.get("id"));
else if (params.get("externalOrderId")) find(params.get("externalOrderId"));
else $("#find-id").focus();
