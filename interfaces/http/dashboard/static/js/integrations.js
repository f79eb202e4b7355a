// Settings → Integrations: the WMS webhook, the delivery log, and "Pull from WMS".
// Read models lag the writes by a moment: after a change the page shows what the
// API answered at once, then re-reads the status until it agrees.
import {
  $,
  announce,
  api,
  ApiError,
  busy,
  confirmDanger,
  copyButton,
  describeError,
  formatCount,
  h,
  moment,
  notice,
  plural,
  startPage,
  todayIso,
} from "./common.js";

await startPage("integrations");

let status = { webhook: null, pullEndpoints: [] };
let shownWebhookSecret = null;
let deliveriesCursor = null;
/** The last "Sync now" result of each endpoint, kept across re-renders of the list. */
const syncResults = new Map();

// ------------------------------------------------------------------ status

async function loadStatus() {
  status = await api("GET", "/integrations");
  render();
  return status;
}

/** Re-read the status until ``done(status)`` holds (the read model caught up), then render. */
async function settle(done, tries = 15) {
  for (let attempt = 0; attempt < tries; attempt += 1) {
    const fresh = await api("GET", "/integrations");
    if (done(fresh) || attempt === tries - 1) {
      status = fresh;
      render();
      return;
    }
    await new Promise((resolve) => window.setTimeout(resolve, 200));
  }
}

function render() {
  renderWebhook(status.webhook);
  renderCurl(status.webhook);
  renderPull(status.pullEndpoints || []);
}

// ------------------------------------------------------------------ webhook

function renderWebhook(hook) {
  const badge = $("#webhook-badge");
  const body = $("#webhook-body");
  if (!hook) {
    badge.replaceChildren(h("span", { class: "badge", text: "Not connected" }));
    const connect = h("button", { type: "button", class: "primary", id: "connect-wms", text: "Connect WMS" });
    connect.addEventListener("click", () => busy(connect, connectWms));
    body.replaceChildren(
      h("p", {}, "Connect your WMS to get a webhook URL and a secret. Your WMS sends orders to the URL with the secret as a Bearer token."),
      connect,
    );
    return;
  }
  badge.replaceChildren(h("span", { class: hook.active ? "badge ok" : "badge bad", id: "webhook-state", text: hook.active ? "Active" : "Inactive" }));
  const url = h("code", { id: "webhook-url", text: hook.webhookUrl });
  const regenerate = h("button", { type: "button", class: "danger", id: "regenerate-secret", text: "Regenerate secret" });
  regenerate.addEventListener("click", () => busy(regenerate, regenerateSecret));
  const toggle = h("button", { type: "button", id: "toggle-active", text: hook.active ? "Deactivate" : "Activate" });
  toggle.addEventListener("click", () => busy(toggle, () => setActive(!hook.active)));
  body.replaceChildren(
    hook.active
      ? ""
      : h("div", { class: "notice error" }, "The webhook is deactivated: your WMS gets 401 Unauthorized until you activate it again."),
    h(
      "dl",
      { class: "facts" },
      h("dt", { text: "Webhook URL" }),
      h("dd", {}, h("div", { class: "copy-field" }, url, copyButton(url, "Copy URL"))),
      h("dt", { text: "Last received" }),
      h("dd", { id: "last-received" }, hook.lastReceivedAt ? moment(hook.lastReceivedAt) : "Never: no batch has been accepted yet"),
      h("dt", { text: "Connected" }),
      h("dd", {}, moment(hook.connectedAt)),
      h("dt", { text: "Refused" }),
      h("dd", { id: "refused-requests" }, ...refusedLines(hook.refusedRequests)),
      ...rotationFacts(hook),
    ),
    h("div", { class: "row" }, regenerate, rotationButton(), toggle),
  );
}

/** "12 requests refused with a wrong secret, last 3 minutes ago", one line per reason. */
function refusedLines(refused) {
  const reasons = [
    ["wrongSecret", "with a wrong secret"],
    ["deactivated", "while deactivated"],
  ];
  const lines = reasons
    .filter(([key]) => refused && refused[key] && refused[key].count > 0)
    .map(([key, words]) =>
      h("div", { class: "refused", dataset: { reason: key } }, `${plural(refused[key].count, "request")} refused ${words}, last `, moment(refused[key].lastAt)),
    );
  return lines.length ? lines : ["None: every request had the right secret"];
}

// A rotation keeps the old secret working beside the new one for a while, so the
// WMS can be switched over without a single 401.
function rotationFacts(hook) {
  if (!hook.previousSecretExpiresAt) return [];
  const end = h("button", { type: "button", class: "small", id: "end-previous-secret", text: "End now" });
  end.addEventListener("click", () => busy(end, endPreviousSecret));
  return [
    h("dt", { text: "Previous secret" }),
    h("dd", { id: "previous-secret" }, "still works; expires ", moment(hook.previousSecretExpiresAt), " ", end),
  ];
}

function rotationButton() {
  const rotate = h("button", { type: "button", id: "rotate-secret", text: "Rotate secret (old one works 24 h)" });
  rotate.addEventListener("click", () => busy(rotate, rotateSecret));
  return rotate;
}

async function rotateSecret() {
  try {
    const rotated = await api("POST", "/integrations/wms/webhook/secret", { previousValidForSeconds: 86400 });
    showWebhookSecret("Your new webhook secret", rotated.secret);
    announce("A new webhook secret was created; the previous one keeps working for 24 hours.");
    await settle((fresh) => Boolean(fresh.webhook && fresh.webhook.previousSecretExpiresAt));
  } catch (error) {
    notice($("#webhook-message"), "error", describeError(error));
  }
}

async function endPreviousSecret() {
  try {
    await api("DELETE", "/integrations/wms/webhook/previous-secret");
    announce("The previous webhook secret no longer works.");
    await settle((fresh) => Boolean(fresh.webhook && !fresh.webhook.previousSecretExpiresAt));
  } catch (error) {
    notice($("#webhook-message"), "error", describeError(error));
  }
}

async function connectWms() {
  try {
    const connected = await api("POST", "/integrations/wms/webhook");
    status.webhook = { webhookUrl: connected.webhookUrl, active: connected.active, connectedAt: new Date().toISOString(), lastReceivedAt: null };
    showWebhookSecret("Your webhook secret", connected.secret);
    render();
    await settle((fresh) => fresh.webhook !== null);
  } catch (error) {
    if (error instanceof ApiError && error.status === 409) {
      notice($("#webhook-message"), "info", "The WMS webhook was already connected (perhaps by another admin). Regenerate the secret if you don't have it.");
      await loadStatus();
      return;
    }
    notice($("#webhook-message"), "error", describeError(error));
  }
}

async function regenerateSecret() {
  const confirmed = await confirmDanger("Regenerate the webhook secret?", "The current secret stops working at once: your WMS gets 401 Unauthorized until you store the new secret in it.", "Regenerate secret");
  if (!confirmed) return;
  try {
    const { secret } = await api("POST", "/integrations/wms/webhook/secret");
    showWebhookSecret("Your new webhook secret", secret);
    renderCurl(status.webhook);
    announce("A new webhook secret was created; the old one no longer works.");
  } catch (error) {
    notice($("#webhook-message"), "error", describeError(error));
  }
}

async function setActive(active) {
  if (!active) {
    const confirmed = await confirmDanger("Deactivate the webhook?", "Batches sent to the webhook are refused with 401 Unauthorized until you activate it again. Nothing else changes.", "Deactivate");
    if (!confirmed) return;
  }
  try {
    await api("PATCH", "/integrations/wms/webhook", { active });
    status.webhook = { ...status.webhook, active };
    render();
    announce(active ? "The webhook is active." : "The webhook is deactivated.");
    await settle((fresh) => fresh.webhook && fresh.webhook.active === active);
  } catch (error) {
    notice($("#webhook-message"), "error", describeError(error));
  }
}

function showWebhookSecret(title, secret) {
  shownWebhookSecret = secret;
  $("#webhook-message").replaceChildren();
  showSecret($("#webhook-secret-panel"), {
    id: "webhook-secret",
    title,
    secret,
    note: "Store it in your WMS's integration settings: it is sent as “Authorization: Bearer <secret>”. You can regenerate a new secret here later.",
    onDone: () => {
      shownWebhookSecret = null;
      renderCurl(status.webhook);
    },
  });
}

/** A secret shown once: a clear warning, a copy button, and gone from the page when dismissed. */
function showSecret(panel, { id, title, secret, note, onDone }) {
  const code = h("code", { id, text: secret });
  const heading = h("h3", { id: `${id}-title`, tabindex: "-1", text: title });
  const done = h("button", { type: "button", text: "I've stored it" });
  done.addEventListener("click", () => {
    panel.replaceChildren();
    if (onDone) onDone();
  });
  panel.replaceChildren(
    h(
      "div",
      { class: "secret-once", role: "region", "aria-labelledby": `${id}-title` },
      heading,
      h("p", { class: "warning", text: "Copy it now: you won't see this secret again." }),
      h("p", { text: note }),
      h("div", { class: "copy-field" }, code, copyButton(code, "Copy secret")),
      h("div", { class: "row" }, done),
    ),
  );
  heading.focus();
}

// ------------------------------------------------------------------ cURL example

function renderCurl(hook) {
  const section = $("#curl-section");
  section.hidden = !hook;
  if (!hook) return;
  const order = {
    externalOrderId: "ORD-1",
    deliveryAddress: "10 High St, London SW1A 1AA",
    customerName: "Acme",
    plannedDate: todayIso(),
  };
  const secret = shownWebhookSecret || "YOUR_SECRET";
  $("#curl-hint").textContent = shownWebhookSecret
    ? "Paste into a terminal to send one order. It holds the secret shown above: treat it as a password."
    : "Paste into a terminal to send one order. Replace YOUR_SECRET with the webhook secret stored in your WMS.";
  const code = $("#curl-example");
  code.textContent = [
    `curl -X POST "${hook.webhookUrl}" \\`,
    `  -H "Content-Type: application/json" \\`,
    `  -H "Authorization: Bearer ${secret}" \\`,
    `  -d '${JSON.stringify(order)}'`,
  ].join("\n");
  $("#curl-actions").replaceChildren(copyButton(code, "Copy command"));
}

// ------------------------------------------------------------------ delivery log

async function loadDeliveries({ older = false } = {}) {
  const section = $("#deliveries-section");
  section.hidden = false;
  const query = older && deliveriesCursor ? `?limit=25&cursor=${encodeURIComponent(deliveriesCursor)}` : "?limit=25";
  try {
    const page = await api("GET", `/integrations/wms/deliveries${query}`);
    const rows = page.deliveries.map(deliveryRow);
    const body = $("#deliveries-rows");
    if (older) body.append(...rows);
    else body.replaceChildren(...(rows.length ? rows : [h("tr", {}, h("td", { colspan: "5", class: "hint", text: "No batches received yet." }))]));
    deliveriesCursor = page.nextCursor;
    $("#deliveries-more").hidden = !page.nextCursor;
    $("#deliveries-message").replaceChildren();
  } catch (error) {
    notice($("#deliveries-message"), "error", describeError(error));
  }
}

function deliveryRow(delivery) {
  const accepted = delivery.status >= 200 && delivery.status < 300;
  const warnings = delivery.warnings || [];
  const result = accepted
    ? warnings.length
      ? h(
          "details",
          { class: "delivery-warnings", open: true },
          h("summary", {}, partialResult(delivery), " ", h("span", { class: "badge warn", text: plural(warnings.length, "ignored field") })),
          h(
            "ul",
            { class: "warnings" },
            warnings.map((warning) =>
              h(
                "li",
                {},
                `Order at index ${warning.index}`,
                warning.externalOrderId ? h("span", {}, " (", h("code", { text: warning.externalOrderId }), ")") : "",
                ": ",
                h("code", { text: warning.field }),
                ` — ${warning.message}`,
              ),
            ),
          ),
        )
      : partialResult(delivery)
    : h(
        "details",
        { class: "rejection" },
        h("summary", {}, h("span", { class: "badge bad", text: `Rejected · ${delivery.status}` }), " ", (delivery.error && delivery.error.error) || ""),
        h("pre", { text: JSON.stringify(delivery.error, null, 2) }),
      );
  return h(
    "tr",
    { class: `${accepted ? "delivery accepted" : "delivery rejected"}${warnings.length ? " with-warnings" : ""}` },
    h("td", { "data-label": "Received" }, moment(delivery.receivedAt)),
    h("td", { "data-label": "Channel", text: delivery.secretUsed === "previous" ? `${delivery.channel} · previous secret` : delivery.channel }),
    h("td", {}, result),
    h("td", { class: "num", "data-label": "Orders", text: accepted ? formatCount(delivery.processed) : "0" }),
    h("td", { "data-label": "Request id" }, h("code", { text: delivery.requestId })),
  );
}

// A partial acceptance (atomic=false) opens to the items it refused, as their sender got them.
function partialResult(delivery) {
  const badge = h("span", { class: "badge ok", text: "Accepted" });
  if (!delivery.rejected) return badge;
  return h(
    "details",
    { class: "rejection partial" },
    h("summary", {}, badge, " ", `partially: ${delivery.processed} stored, ${delivery.rejected} rejected`),
    h("pre", { text: JSON.stringify(delivery.rejectedItems, null, 2) }),
  );
}

// ------------------------------------------------------------------ pull from WMS

function renderPull(endpoints) {
  const list = $("#pull-list");
  if (!endpoints.length) {
    list.replaceChildren(h("li", { class: "hint", text: "No pull endpoint yet." }));
    return;
  }
  list.replaceChildren(...endpoints.map(endpointItem));
}

function endpointItem(endpoint) {
  const result = syncResults.get(endpoint.id) || h("div", { class: "sync-result" });
  syncResults.set(endpoint.id, result);
  const sync = h("button", { type: "button", class: "primary small", text: "Sync now" });
  sync.addEventListener("click", () => busy(sync, () => syncNow(endpoint, result)));
  const secret = h("button", { type: "button", class: "small", text: "New secret" });
  secret.addEventListener("click", () => busy(secret, () => regeneratePullSecret(endpoint)));
  const remove = h("button", { type: "button", class: "danger small", text: "Remove" });
  remove.addEventListener("click", () => busy(remove, () => removeEndpoint(endpoint)));
  const error = endpoint.lastError;
  return h(
    "li",
    { class: "endpoint", dataset: { endpointId: endpoint.id }, "aria-label": `Pull endpoint ${endpoint.url}` },
    h("h3", {}, h("span", { class: "badge", text: endpoint.method }), h("code", { class: "endpoint-url", text: endpoint.url })),
    h(
      "dl",
      { class: "facts" },
      h("dt", { text: "Schedule" }),
      h("dd", { text: endpoint.intervalMinutes ? `Every ${endpoint.intervalMinutes} minutes` : "On demand (Sync now)" }),
      h("dt", { text: "Last sync" }),
      h("dd", { class: "last-sync" }, lastSync(endpoint)),
      error ? h("dt", { text: "Last error" }) : "",
      error ? h("dd", { class: "last-error", text: typeof error === "string" ? error : JSON.stringify(error) }) : "",
      h("dt", { text: "Next sync" }),
      h("dd", {}, nextSync(endpoint)),
    ),
    h("div", { class: "row" }, sync, secret, remove),
    result,
  );
}

function lastSync(endpoint) {
  if (!endpoint.lastSyncAt) return "Never";
  const ok = ["ok", "success", "succeeded"].includes(String(endpoint.lastSyncStatus).toLowerCase());
  const label = ok ? `OK · ${plural(endpoint.lastProcessed ?? 0, "order")}` : "Failed";
  return h("span", {}, h("span", { class: ok ? "badge ok" : "badge bad", text: label }), " ", moment(endpoint.lastSyncAt));
}

function nextSync(endpoint) {
  if (!endpoint.intervalMinutes) return "Only when you press Sync now";
  if (endpoint.nextSyncAt) return moment(endpoint.nextSyncAt);
  if (!endpoint.lastSyncAt) return "Due now";
  const due = new Date(new Date(endpoint.lastSyncAt).getTime() + endpoint.intervalMinutes * 60000);
  return moment(due.toISOString());
}

async function syncNow(endpoint, result) {
  notice(result, "info", "Syncing…");
  try {
    const body = await api("POST", `/integrations/wms/pull-endpoints/${endpoint.id}/sync`);
    const created = body.orders.filter((order) => order.created).length;
    notice(result, "success", `Sync done: ${plural(body.processed, "order")} pulled (${created} created, ${body.processed - created} updated).`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 502) {
      result.replaceChildren(
        h(
          "div",
          { class: "notice error", role: "alert" },
          h("strong", { text: `Sync failed: ${error.message}` }),
          error.body && error.body.details
            ? h("details", {}, h("summary", { text: "Details" }), h("pre", { text: JSON.stringify(error.body.details, null, 2) }))
            : "",
        ),
      );
    } else {
      notice(result, "error", describeError(error));
    }
  }
  announce(result.textContent);
  await settle((fresh) => {
    const found = (fresh.pullEndpoints || []).find((candidate) => candidate.id === endpoint.id);
    return found && found.lastSyncAt && found.lastSyncAt !== endpoint.lastSyncAt;
  });
  await loadDeliveries();
}

async function regeneratePullSecret(endpoint) {
  const confirmed = await confirmDanger("Create a new secret for this endpoint?", "The current secret stops being sent at once: store the new one in your WMS so it keeps accepting our requests.", "Create new secret");
  if (!confirmed) return;
  try {
    const { secret } = await api("POST", `/integrations/wms/pull-endpoints/${endpoint.id}/secret`);
    showSecret($("#pull-secret-panel"), {
      id: "pull-secret",
      title: `New secret for ${endpoint.url}`,
      secret,
      note: "Store it in your WMS so it can verify our requests (we send it as “Authorization: Bearer <secret>”).",
    });
  } catch (error) {
    notice($("#pull-message"), "error", describeError(error));
  }
}

async function removeEndpoint(endpoint) {
  const confirmed = await confirmDanger("Remove this pull endpoint?", `${endpoint.url} will no longer be pulled from. Orders already received stay.`, "Remove");
  if (!confirmed) return;
  try {
    await api("DELETE", `/integrations/wms/pull-endpoints/${endpoint.id}`);
    syncResults.delete(endpoint.id);
    status.pullEndpoints = status.pullEndpoints.filter((candidate) => candidate.id !== endpoint.id);
    render();
    announce("The pull endpoint was removed.");
    await settle((fresh) => !(fresh.pullEndpoints || []).some((candidate) => candidate.id === endpoint.id));
  } catch (error) {
    notice($("#pull-message"), "error", describeError(error));
  }
}

$("#pull-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const message = $("#pull-message");
  const urlInput = $("#pull-url");
  const intervalInput = $("#pull-interval");
  const url = urlInput.value.trim();
  const interval = intervalInput.value.trim();
  if (!/^https?:\/\/\S+$/i.test(url)) {
    notice(message, "error", "Enter the endpoint's full URL, starting with https:// (or http://).");
    urlInput.focus();
    return;
  }
  if (interval && !(Number.isInteger(Number(interval)) && Number(interval) >= 1)) {
    notice(message, "error", "“Sync every” is a whole number of minutes (or empty for on demand).");
    intervalInput.focus();
    return;
  }
  const button = form.querySelector("button[type=submit]");
  await busy(button, async () => {
    try {
      const added = await api("POST", "/integrations/wms/pull-endpoints", {
        url,
        method: $("#pull-method").value,
        intervalMinutes: interval ? Number(interval) : null,
      });
      message.replaceChildren();
      form.reset();
      showSecret($("#pull-secret-panel"), {
        id: "pull-secret",
        title: `Secret for ${added.url}`,
        secret: added.secret,
        note: "Store it in your WMS so it can verify our requests: we send it as “Authorization: Bearer <secret>”.",
      });
      status.pullEndpoints = [...(status.pullEndpoints || []), { ...added, secret: undefined, lastSyncAt: null }];
      renderPull(status.pullEndpoints);
      await settle((fresh) => (fresh.pullEndpoints || []).some((candidate) => candidate.id === added.id));
    } catch (error) {
      const details = error instanceof ApiError && error.body && Array.isArray(error.body.details)
        ? `: ${error.body.details.map((d) => d.message || JSON.stringify(d)).join("; ")}`
        : "";
      notice(message, "error", `${describeError(error)}${details}`);
    }
  });
});

// ------------------------------------------------------------------ start

$("#deliveries-refresh").addEventListener("click", (event) => busy(event.currentTarget, () => Promise.all([loadStatus(), loadDeliveries()])));
$("#deliveries-more").addEventListener("click", (event) => busy(event.currentTarget, () => loadDeliveries({ older: true })));

try {
  await Promise.all([loadStatus(), loadDeliveries()]);
} catch (error) {
  notice($("#webhook-message"), "error", describeError(error));
}
