// The reference frontend: what the React dashboard does with the engine's API, in plain JS.
// It calls the API from the browser, on the API's own origin: the engine must allow ours (CORS).
"use strict";

const apiBase = ((window.__MAESTRO_CONFIG__ || {}).VITE_MAESTRO_API_BASE || "").replace(/\/$/, "");
const list = document.getElementById("workflows");
const error = document.getElementById("error");
const nameInput = document.getElementById("name");
document.getElementById("api-base").textContent = apiBase || "(not configured)";

function showError(message) {
  error.textContent = message;
  error.hidden = false;
}

async function call(method, path, body) {
  const url = apiBase + path;
  let response;
  try {
    response = await fetch(url, {
      method,
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    // A CORS refusal and an unreachable API look the same from here.
    throw new Error(`${method} ${url}: the API cannot be reached from this page (${err.message})`);
  }
  const text = await response.text();
  let data = text;
  try { data = JSON.parse(text); } catch (_) { /* not JSON: keep the text */ }
  if (!response.ok) {
    throw new Error(`${method} ${url} answered ${response.status}: ${(data && data.error) || text}`);
  }
  return data;
}

async function refresh() {
  const workflows = await call("GET", "/workflows");
  list.replaceChildren(...workflows.map((workflow) => {
    const item = document.createElement("li");
    item.textContent = workflow.name;
    item.dataset.id = workflow.id;
    return item;
  }));
  document.body.dataset.loaded = "true";
}

document.getElementById("create").addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  try {
    await call("POST", "/workflows", { name: nameInput.value, steps: [] });
    nameInput.value = "";
    await refresh();
  } catch (err) {
    showError(err.message);
  }
});

refresh().catch((err) => showError(err.message));
