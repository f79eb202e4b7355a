// Sign-in: the API key goes to the server once, in exchange for a session cookie.
import { $, notice } from "./common.js";

const form = $("#sign-in-form");
const input = $("#api-key");
const errors = $("#sign-in-error");

/** Only a path inside the dashboard is a place to go back to (never another site). */
function nextPath(fallback) {
  const next = new URLSearchParams(window.location.search).get("next");
  return next && next.startsWith("/dashboard/") && !next.startsWith("//") ? next : fallback;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const apiKey = input.value.trim();
  if (!apiKey) {
    notice(errors, "error", "Enter your API key.");
    input.focus();
    return;
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const response = await fetch("/dashboard/session", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      credentials: "same-origin",
      body: JSON.stringify({ apiKey }),
    });
    if (response.status === 201) {
      const session = await response.json();
      input.value = "";
      window.location.assign(nextPath(session.home));
      return;
    }
    notice(
      errors,
      "error",
      response.status === 401
        ? "That API key was not accepted: it is wrong, revoked, or incomplete."
        : `Sign-in failed (HTTP ${response.status}).`,
    );
    input.focus();
  } catch (error) {
    notice(errors, "error", `The service could not be reached: ${error.message}`);
  } finally {
    button.disabled = false;
  }
});
input.focus();
