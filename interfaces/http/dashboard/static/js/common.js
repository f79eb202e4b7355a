// Shared by every dashboard page: the session, API calls, the header, and small UI helpers.
// Pages build their DOM with h(): text always goes in as text, never as HTML.

const SIGN_IN = "/dashboard/";

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

let current = null;

/** The signed-in session; a browser without one is sent to the sign-in page. */
export async function getSession() {
  const response = await fetch("/dashboard/session", { headers: { Accept: "application/json" }, credentials: "same-origin" });
  if (response.status === 401) {
    toSignIn();
    throw new ApiError(401, { error: "Not signed in" });
  }
  if (!response.ok) throw new ApiError(response.status, await readJson(response));
  current = await response.json();
  return current;
}

export function may(permission) {
  return Boolean(current && current.permissions.includes(permission));
}

/** Call the tenant API as the signed-in user: cookie + CSRF token, never the API key. */
export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = current.csrfToken;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(`/api/tenants/${current.tenantId}${path}`, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await readJson(response);
  if (response.status === 401) {
    toSignIn();
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

async function readJson(response) {
  if (response.status === 204) return null;
  try {
    return await response.json();
  } catch {
    return null;
  }
}

function toSignIn() {
  const next = window.location.pathname + window.location.search;
  window.location.assign(`${SIGN_IN}?next=${encodeURIComponent(next)}`);
}

/** A readable sentence for a failed call. */
export function describeError(error) {
  if (!(error instanceof ApiError)) return `Something went wrong: ${error.message || error}`;
  const known = {
    401: "Your session has ended: please sign in again.",
    403: "Your role does not allow this.",
    404: error.body && error.body.error ? error.body.error : "Not found.",
  };
  return known[error.status] || error.message;
}

// ------------------------------------------------------------------ DOM

/** h("a", {href, class, text, onclick, attrs...}, ...children) */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") element.className = value;
    else if (key === "text") element.textContent = value;
    else if (key === "dataset") Object.assign(element.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") element.addEventListener(key.slice(2), value);
    else if (value === true) element.setAttribute(key, "");
    else element.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

/** Say something to screen readers (and keep it visible where a page shows it). */
export function announce(message) {
  const region = document.getElementById("announcer");
  if (region) {
    region.textContent = "";
    window.setTimeout(() => { region.textContent = message; }, 30);
  }
}

export function notice(container, kind, message) {
  container.replaceChildren(h("div", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, message));
}

/** Disable a button while an action runs, so one click is one request. */
export async function busy(button, action) {
  button.disabled = true;
  try {
    return await action();
  } finally {
    button.disabled = false;
  }
}

// ------------------------------------------------------------------ header

export function renderHeader(session, currentPage) {
  const header = document.getElementById("site-header");
  const listId = "site-nav-list";
  const nav = h(
    "nav",
    { class: "site-nav", "aria-label": "Main" },
    h(
      "ul",
      { id: listId },
      session.pages
        .filter((page) => page.nav !== false)
        .map((page) =>
          h("li", {}, h("a", { href: page.path, "aria-current": page.name === currentPage ? "page" : null, text: page.title })),
        ),
    ),
  );
  // On a phone the navigation folds behind one "Menu" button (CSS shows it only there).
  const toggle = h("button", { type: "button", class: "button small menu-toggle", "aria-controls": listId, "aria-expanded": "false", text: "Menu" });
  toggle.addEventListener("click", () => {
    const open = header.classList.toggle("nav-open");
    toggle.setAttribute("aria-expanded", String(open));
  });
  const signOut = h("button", { type: "button", class: "button small", text: "Sign out", onclick: () => doSignOut(signOut) });
  const tenantName = h("strong", { id: "tenant-name", title: `tenant ${session.tenantId}`, text: session.tenantId.slice(0, 8) });
  header.replaceChildren(
    h(
      "div",
      { class: "bar" },
      h("a", { class: "brand", href: session.home, text: "WMS Intake" }),
      toggle,
      nav,
      h(
        "div",
        { class: "who" },
        h("span", {}, tenantName, " · ", h("span", { class: "role", text: session.role })),
        signOut,
      ),
    ),
  );
  // The name comes from the API; until it arrives (or if it can't) the id's start stands in.
  api("GET", "")
    .then((tenant) => { tenantName.textContent = tenant.name; })
    .catch(() => {});
}

async function doSignOut(button) {
  button.disabled = true;
  await fetch("/dashboard/session", {
    method: "DELETE",
    headers: { "X-CSRF-Token": current ? current.csrfToken : "" },
    credentials: "same-origin",
  });
  window.location.assign(SIGN_IN);
}

// ------------------------------------------------------------------ time and numbers

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "always" });

export function formatLocal(iso) {
  return iso ? dateTime.format(new Date(iso)) : "—";
}

/** "just now", "3 minutes ago", "2 hours ago", "4 days ago" */
export function timeAgo(iso, now = Date.now()) {
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  const past = Math.abs(seconds);
  if (past < 60) return seconds <= 0 ? "just now" : "in less than a minute";
  if (past < 3600) return relative.format(Math.trunc(seconds / 60), "minute");
  if (past < 86400) return relative.format(Math.trunc(seconds / 3600), "hour");
  return relative.format(Math.trunc(seconds / 86400), "day");
}

/** A moment as local time with "(x minutes ago)", kept fresh while the page is open. */
export function moment(iso) {
  if (!iso) return h("span", { text: "—" });
  return h(
    "span",
    { class: "moment" },
    h("time", { datetime: iso, text: formatLocal(iso) }),
    " ",
    h("span", { class: "ago", dataset: { ago: iso }, text: `(${timeAgo(iso)})` }),
  );
}

window.setInterval(() => {
  for (const element of document.querySelectorAll("[data-ago]")) {
    element.textContent = `(${timeAgo(element.dataset.ago)})`;
  }
}, 30000);

// Numbers are formatted one way everywhere: the user's locale separators, a fixed
// number of decimals per unit, and "—" for a value that is not known.
const formats = new Map();

function numberFormat(digits) {
  if (!formats.has(digits)) {
    formats.set(digits, new Intl.NumberFormat(undefined, { minimumFractionDigits: 0, maximumFractionDigits: digits }));
  }
  return formats.get(digits);
}

export function formatNumber(value, digits = 2) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  return numberFormat(digits).format(value);
}

/** Counts: "5,000". */
export const formatCount = (value) => formatNumber(value, 0);
/** Weights in kg: to the gram ("25.5", "999.999"), so no weight is rounded up to a whole one. */
export const formatKg = (value) => formatNumber(value, 3);
/** Volumes in m³: up to 3 decimals ("1.25", "0.125"). */
export const formatM3 = (value) => formatNumber(value, 3);

/** A total of a field over orders, saying how many are unknown: {text, note}. */
export function totalOf(orders, field, format) {
  const known = orders.filter((order) => typeof order[field] === "number");
  if (!orders.length) return { text: "—", note: "" };
  if (!known.length) return { text: "—", note: `${formatCount(orders.length)} of ${formatCount(orders.length)} unknown` };
  const text = format(known.reduce((total, order) => total + order[field], 0));
  const unknown = orders.length - known.length;
  return { text, note: unknown ? `${formatCount(unknown)} of ${formatCount(orders.length)} unknown` : "" };
}

const calendarDate = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone: "UTC" });
const longCalendarDate = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeZone: "UTC" });

/** A calendar date (YYYY-MM-DD) in the user's locale ("22 Feb 2025"); "—" when there is none. */
export function formatDate(isoDate, { long = false } = {}) {
  if (!isoDate) return "—";
  const when = new Date(`${isoDate}T00:00:00Z`);
  if (Number.isNaN(when.getTime())) return isoDate;
  return (long ? longCalendarDate : calendarDate).format(when);
}

/** The words for a geocoding status (with the failure's reason). */
export function geocodingBadge(location) {
  const status = (location && location.status) || "pending";
  const kind = { ok: "badge ok", provided: "badge ok", pending: "badge warn", failed: "badge bad" }[status] || "badge";
  const precision = status === "ok" && location.precision ? ` · ${location.precision}` : "";
  const badge = h("span", { class: kind, text: `${status}${precision}` });
  if (status !== "failed" || !location.reason) return badge;
  return h("span", { class: "geocoding-failed" }, badge, " ", h("span", { class: "reason", text: location.reason }));
}

/** "1 order", "3 orders" */
export function plural(count, noun) {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

export function todayIso() {
  const now = new Date();
  const local = new Date(now.getTime() - now.getTimezoneOffset() * 60000);
  return local.toISOString().slice(0, 10);
}

// ------------------------------------------------------------------ copy and confirm

/** A "Copy" button for the text of ``source`` (an element) or a function returning text. */
export function copyButton(source, label = "Copy") {
  const button = h("button", { type: "button", class: "button small", text: label });
  button.addEventListener("click", async () => {
    const text = typeof source === "function" ? source() : source.textContent;
    const copied = await copyText(text, typeof source === "function" ? null : source);
    button.textContent = copied ? "Copied" : "Select and copy";
    announce(copied ? "Copied to the clipboard" : "Copy is not available here: the text is selected, press Ctrl+C");
    window.setTimeout(() => { button.textContent = label; }, 2000);
  });
  return button;
}

async function copyText(text, element) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // Permission refused: fall back to selecting the text for the user.
    }
  }
  if (element) {
    const range = document.createRange();
    range.selectNodeContents(element);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }
  return false;
}

/** An accessible modal confirmation; resolves true when the user confirms. */
export function confirmAction({ title, message, confirm, danger = false }) {
  return new Promise((resolve) => {
    const ok = h("button", { type: "button", class: danger ? "danger primary" : "primary", text: confirm });
    const cancel = h("button", { type: "button", text: "Cancel" });
    const heading = h("h2", { id: "confirm-title", text: title });
    const dialog = h(
      "dialog",
      { "aria-labelledby": "confirm-title", "aria-describedby": "confirm-message" },
      heading,
      h("p", { id: "confirm-message", text: message }),
      h("div", { class: "row" }, cancel, ok),
    );
    const finish = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    ok.addEventListener("click", () => finish(true));
    cancel.addEventListener("click", () => finish(false));
    dialog.addEventListener("cancel", (event) => { event.preventDefault(); finish(false); });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}

/** The confirmation of an action that cannot be taken back (its button shows the danger). */
export function confirmDanger(title, message, confirm) {
  return confirmAction({ title, message, confirm, danger: true });
}

/** The shell every signed-in page starts with. */
export async function startPage(pageName) {
  const session = await getSession();
  renderHeader(session, pageName);
  return session;
}
