// API keys: create one with a name and a role (the key is shown once, with a copy button),
// the list with each key's last use, and revoke (after a confirmation).
import {
  $,
  announce,
  api,
  busy,
  confirmDanger,
  copyButton,
  describeError,
  h,
  moment,
  notice,
  startPage,
} from "./common.js";

const session = await startPage("api-keys");

async function loadKeys() {
  try {
    const body = await api("GET", "/api-keys");
    renderKeys(body.apiKeys);
    $("#keys-message").replaceChildren();
  } catch (error) {
    notice($("#keys-message"), "error", describeError(error));
  }
}

function renderKeys(keys) {
  // Live keys first, newest first; revoked ones after them.
  const sorted = [...keys].sort((a, b) => Number(a.revoked) - Number(b.revoked) || b.createdAt.localeCompare(a.createdAt));
  $("#keys-rows").replaceChildren(
    ...sorted.map((key) => {
      const mine = key.id === session.keyId;
      const revoke = key.revoked
        ? null
        : h("button", { type: "button", class: "button small danger", text: "Revoke", "aria-label": `Revoke ${key.name || key.id}` });
      if (revoke) revoke.addEventListener("click", () => revokeKey(key, revoke, mine));
      return h(
        "tr",
        { class: key.revoked ? "api-key revoked" : "api-key", dataset: { keyId: key.id } },
        h(
          "td",
          { "data-label": "Name" },
          h("span", { class: "key-name", title: `key ${key.id}`, text: key.name || "(no name)" }),
          mine ? h("span", { class: "badge", text: "you" }) : null,
        ),
        h("td", { "data-label": "Role", text: key.role }),
        h("td", { "data-label": "Created" }, moment(key.createdAt)),
        h("td", { "data-label": "Last used", class: "last-used" }, key.lastUsedAt ? moment(key.lastUsedAt) : h("span", { class: "hint", text: "never" })),
        h("td", { "data-label": "Status" }, h("span", { class: key.revoked ? "badge revoked" : "badge ok", text: key.revoked ? "Revoked" : "Active" })),
        h("td", {}, revoke),
      );
    }),
  );
}

async function revokeKey(key, button, mine) {
  const name = key.name || key.id;
  const message = mine
    ? "This is the key you are signed in with: it stops working at once and you will be signed out."
    : "It stops working at once, for the API and for every dashboard session signed in with it. This cannot be undone.";
  const confirmed = await confirmDanger(`Revoke “${name}”?`, message, "Revoke key");
  if (!confirmed) return;
  try {
    await busy(button, () => api("DELETE", `/api-keys/${encodeURIComponent(key.id)}`));
    announce(`Key ${name} revoked.`);
    await loadKeys();
  } catch (error) {
    notice($("#keys-message"), "error", describeError(error));
  }
}

function showNewKey(issued) {
  const value = h("code", { id: "new-api-key", text: issued.apiKey });
  const done = h("button", { type: "button", class: "primary", text: "I've stored it" });
  const panel = h(
    "div",
    { class: "secret-once", role: "region", "aria-label": "New API key" },
    h("p", { class: "warning", text: "Copy this key now: you won't see it again." }),
    h("p", {}, `Key “${issued.name || issued.id}” (${issued.role}):`),
    h("div", { class: "copy-field" }, value, copyButton(value, "Copy key")),
    h("div", { class: "row" }, done),
  );
  done.addEventListener("click", () => {
    $("#new-key-panel").replaceChildren();
    $("#key-name").focus();
  });
  $("#new-key-panel").replaceChildren(panel);
}

$("#create-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const message = $("#create-message");
  const name = $("#key-name").value.trim();
  if (!name) {
    notice(message, "error", "Give the key a name.");
    $("#key-name").focus();
    return;
  }
  const button = event.submitter || $("#create-form button[type=submit]");
  try {
    const issued = await busy(button, () => api("POST", "/api-keys", { name, role: $("#key-role").value }));
    message.replaceChildren();
    $("#key-name").value = "";
    showNewKey(issued);
    announce(`Key ${issued.name} created. Copy it now: it is shown once.`);
    await loadKeys();
  } catch (error) {
    notice(message, "error", describeError(error));
  }
});

loadKeys();
