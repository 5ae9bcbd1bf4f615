// The gateway's home page: who is logged in, the tenants they see, registering a
// tenant, and a tenant's audit trail — all through the same API as any client,
// carried by the session cookie, with the session's CSRF token on changes.
"use strict";

const region = document.body.dataset.region;
let csrf = "";

function show(problem) {
  document.getElementById("problem").textContent = problem ? `${problem.title}: ${problem.detail}` : "";
}

async function api(method, path, body) {
  const headers = { accept: "application/json" };
  if (method !== "GET") headers["x-csrf-token"] = csrf;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = res.headers.get("content-type")?.includes("json") ? await res.json() : null;
  return { status: res.status, data };
}

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

async function loadTenants() {
  const { status, data } = await api("GET", "/admin/tenants?limit=200");
  if (status !== 200) return show(data);
  const body = document.querySelector("#tenants tbody");
  body.replaceChildren();
  for (const t of data.items) {
    const row = body.insertRow();
    cell(row, t.slug);
    cell(row, t.display_name);
    cell(row, t.status);
    cell(row, t.tenant_id, "id");
    const button = document.createElement("button");
    button.textContent = "Audit trail";
    button.addEventListener("click", () => loadAudit(t));
    row.insertCell().append(button);
  }
}

async function loadAudit(tenant) {
  const { status, data } = await api("GET", `/admin/audit/logs/${tenant.tenant_id}/entries?limit=200`);
  document.getElementById("audit-section").hidden = false;
  document.getElementById("audit-tenant").textContent = tenant.slug;
  const body = document.querySelector("#audit tbody");
  body.replaceChildren();
  if (status !== 200) return show(data);
  show(null);
  for (const item of data.items) {
    const r = item.entry.record || {};
    const row = body.insertRow();
    cell(row, item.index);
    cell(row, item.entry.recorded_at);
    cell(row, r.actor ?? "");
    cell(row, r.action ?? "");
    cell(row, r.outcome ?? "");
  }
}

document.getElementById("register").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const { status, data } = await api("POST", "/admin/tenants", {
    slug: form.get("slug"),
    display_name: form.get("display_name"),
    region,
    deployment_model: "hosted_saas",
    owner_contact: { name: form.get("owner_name"), email: form.get("owner_email") },
  });
  const result = document.getElementById("register-result");
  if (status === 201) {
    result.className = "";
    result.textContent = `Registered ${data.slug} (${data.tenant_id}).`;
    event.target.reset();
    loadTenants();
  } else {
    result.className = "error";
    result.textContent = data ? `${data.title}: ${data.detail}` : `The gateway answered ${status}.`;
  }
});

(async () => {
  const { status, data } = await api("GET", "/auth/me");
  if (status !== 200 || !data.session) {
    document.getElementById("login").hidden = false;
    return;
  }
  csrf = data.session.csrf_token;
  document.getElementById("who").textContent = `${data.email ?? data.subject}`;
  const logout = document.getElementById("logout");
  logout.elements.csrf_token.value = csrf;
  logout.hidden = false;
  document.querySelector("main").hidden = false;
  loadTenants();
})();
