#!/usr/bin/env python3
"""The dev stack's demo, made through the gateways as the MSP's platform admin would
make it: logs in with the browser login (the real authorization-code flow at the
dev identity provider), then, in each region, trusts the dev stack's module
release key, imports the example module releases (examples/modules/) signed with
it, approves all but one (left for a decision in the console) and reports them
deployed in the region, waits for the pack service to offer the approved
releases' tools, publishes the example playbooks and imports the example Domain
Packs (examples/packs/: IT service management, the default for new tenants, and
Finance 3.2.0 and 3.3.0) that call them, registers a demo tenant entitled to two
of the modules,
maps its identity-provider groups to roles, binds the MSP operator to it, onboards
it to ACTIVE through the saga (the audit service, the pack service and the module
catalog — which enables the module the request names — answer their items; the
operator's items are confirmed), and gives it the Finance demo: its
Tenant Pack, Finance 3.2.0 with it activated, and the invoice-dispute playbook
linked; and its AI provider connections: one keyed through a delegated setup
link at the gateway's setup surface (the local provider servers take keys
starting sk-demo-) and checked, one waiting for its key with a fresh link
printed. Running it again changes nothing that is already done (but mints a new
link for the waiting connection).

Environment (deploy/dev/env.sh): PLINTH_GATEWAY_US, PLINTH_GATEWAY_EU,
PLINTH_STATE_DIR (where the release key is kept). Run with the dev stack's Python
(deploy/dev/tools.sh): the standard library and `cryptography`, which signs.
"""

import base64
import datetime
import http.cookiejar
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

GATEWAYS = {
    "us": os.environ.get("PLINTH_GATEWAY_US", "http://127.0.0.1:8080"),
    "eu": os.environ.get("PLINTH_GATEWAY_EU", "http://127.0.0.1:9080"),
}
TENANTS = {
    "us": {"slug": "acme", "display_name": "Acme Corporation",
           "owner_contact": {"name": "Ana Acme", "email": "admin@acme.example"}},
    "eu": {"slug": "globex", "display_name": "Globex GmbH",
           "owner_contact": {"name": "Gil Globex", "email": "admin@globex.example"}},
}
# The demo users' groups (deploy/dev/idp/users.json) and the tenant role each holds.
GROUP_ROLES = [
    ("workspace-admins", "WorkspaceAdmin"),
    ("operators", "Operator"),
    ("approvers", "Approver"),
    ("auditors", "Auditor"),
    ("integration-admins", "IntegrationAdmin"),
]
DEADLINE_SECONDS = 120
EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "packs")
PLAYBOOKS = ["playbook-invoice-dispute-triage-1.0.0.json", "playbook-invoice-dispute-triage-1.1.0.json",
             "playbook-password-reset-1.0.0.json"]
# The invoice-dispute version the demo tenants run: its credit waits for an approver.
LINKED_PLAYBOOK = ("invoice-dispute-triage", "1.1.0")
DOMAIN_PACKS = ["itsm-1.0.0.json", "finance-3.2.0.json", "finance-3.3.0.json"]
TENANT_PACK = "acme-finance-1.4.0.json"
MODULE_EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "modules")
MODULE_RELEASES = ["itsm-triage-agent-1.0.0.json", "itsm-triage-agent-1.1.0.json",
                   "knowledge-summarizer-0.9.0.json", "finance-dispute-assistant-2.3.0.json"]
# Approved by the demo (their tools are what the example packs call);
# knowledge-summarizer 0.9.0 stays IMPORTED, for the platform team to decide in the
# console, and runs all the same: drift.
APPROVED = {("itsm-triage-agent", "1.0.0"), ("itsm-triage-agent", "1.1.0"),
            ("finance-dispute-assistant", "2.3.0")}
# What the demo tenants may enable, and what their onboarding enables.
ENTITLED_MODULES = ["itsm-triage-agent", "finance-dispute-assistant"]
REQUESTED_MODULES = ["finance-dispute-assistant"]
RELEASE_KEY_ID = "plinth-dev-release"
MANIFEST_TYPE = "application/vnd.plinth.module-manifest+json"


def log(message):
    print(f"[demo] {message}", file=sys.stderr)


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """Keeps cookies and sees every redirect, as the login needs."""

    def __init__(self):
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirects())
        self.csrf = {}

    def send(self, method, url, body=None, headers=None, form=None):
        data = None
        headers = dict(headers or {})
        if body is not None:
            data = json.dumps(body).encode()
            headers["content-type"] = "application/json"
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["content-type"] = "application/x-www-form-urlencoded"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with self.opener.open(request) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as answer:
            return answer.code, answer.headers, answer.read()

    def authorize(self, url, user, until):
        """Walks the browser through the identity provider from `url`: its login
        page as `user` (any password), its consent page, until it is sent to a
        URL starting with `until`, which is returned."""
        for _ in range(20):
            if url.startswith(until):
                return url
            status, headers, page = self.send("GET", url)
            while headers.get("Location") is None:
                text = page.decode()
                form = ({"prompt": "consent"} if 'value="consent"' in text
                        else {"prompt": "login", "login": user, "password": "demo"})
                status, headers, page = self.send("POST", url, form=form)
            location = headers["Location"]
            url = location if location.startswith("http") else urllib.parse.urljoin(url, location)
        raise SystemExit(f"the identity provider did not send the browser to {until}")

    def log_in(self, gateway, user):
        """The browser login at `gateway` as `user`."""
        status, headers, _ = self.send("GET", f"{gateway}/auth/login?return_to=/auth/me")
        if status != 303:
            raise SystemExit(f"{gateway}/auth/login answered {status}")
        url = self.authorize(headers["Location"], user, f"{gateway}/auth/callback")
        status, _, body = self.send("GET", url)
        if status != 303:
            raise SystemExit(f"the login at {gateway} failed: {status} {body[:300]!r}")
        status, _, body = self.send("GET", f"{gateway}/auth/me")
        me = json.loads(body)
        self.csrf[gateway] = me["session"]["csrf_token"]
        return me

    def api(self, gateway, method, path, body=None, expect=(200, 201, 202)):
        headers = {"x-csrf-token": self.csrf[gateway]} if method != "GET" else {}
        status, _, answer = self.send(method, f"{gateway}{path}", body=body, headers=headers)
        parsed = json.loads(answer) if answer else None
        if expect and status not in expect:
            raise SystemExit(f"{method} {gateway}{path}: {status} {parsed}")
        return status, parsed


def wait_until(what, check):
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what}")
        time.sleep(0.5)


def timestamp(rfc3339):
    """Seconds since the epoch of an RFC 3339 time, to the fraction it has."""
    m = re.fullmatch(r"(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", rfc3339)
    zone = "+00:00" if m[3] == "Z" else m[3]
    return datetime.datetime.fromisoformat(m[1] + zone).timestamp() + float(f"0.{m[2] or 0}")


def all_items(browser, gateway, path):
    items, cursor = [], None
    while True:
        query = f"?limit=100" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
        _, page = browser.api(gateway, "GET", path + query)
        items += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return items


def example(name):
    with open(os.path.join(EXAMPLES, name)) as f:
        return json.load(f)


def seed_packs(browser, gateway):
    """The playbooks and Domain Packs every tenant of the region may run; an
    import of what is already imported answers the stored version."""
    for name in PLAYBOOKS:
        browser.api(gateway, "POST", "/admin/playbooks", example(name))
    for name in DOMAIN_PACKS:
        browser.api(gateway, "POST", "/admin/packs/domain/import", example(name))


def release_key():
    """The dev stack's module release key (Ed25519), made once and kept."""
    path = os.path.join(os.environ.get("PLINTH_STATE_DIR", ".dev-state"), "keys", "module-release.key")
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        raw = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
        with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(raw.hex())
    with open(path) as f:
        return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(f.read().strip()))


def signed(key, body):
    """`body` in a DSSE envelope signed by `key`: the signature is over the
    envelope's pre-authentication encoding (PAE) of the payload type and body."""
    pae = b"DSSEv1 %d %s %d %s" % (len(MANIFEST_TYPE), MANIFEST_TYPE.encode(), len(body), body)
    return {"payloadType": MANIFEST_TYPE, "payload": base64.b64encode(body).decode(),
            "signatures": [{"keyid": RELEASE_KEY_ID,
                            "sig": base64.b64encode(key.sign(pae)).decode()}]}


def seed_modules(browser, gateway, region):
    """The region's module catalog: the release key trusted, the example releases
    imported signed (an import of what is already imported answers the stored
    release), approved but one, and reported deployed by version tag."""
    key = release_key()
    _, signers = browser.api(gateway, "GET", "/admin/trust/signers")
    if not any(s["key_id"] == RELEASE_KEY_ID and not s["revoked_at"] for s in signers["items"]):
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        browser.api(gateway, "POST", "/admin/trust/signers", {
            "identity": "The dev stack's module release pipeline", "algorithm": "ed25519",
            "key_id": RELEASE_KEY_ID, "public_key": public,
            "sources": ["github.com/plinth-modules", "gitlab.com/plinth-modules"],
            "not_after": "2099-01-01T00:00:00Z"})
    deployed = {}
    tools = set()
    for name in MODULE_RELEASES:
        with open(os.path.join(MODULE_EXAMPLES, name), "rb") as f:
            body = f.read()
        _, release = browser.api(gateway, "POST", "/admin/modules/import", {"envelope": signed(key, body)})
        module, version = release["module_id"], release["version"]
        if (module, version) in APPROVED:
            tools.update(t["id"] for t in json.loads(body)["tools"])
        if (module, version) in APPROVED and release["status"] == "IMPORTED":
            if not release["review_passed"]:
                # Imported before the key was trusted for its source: reviewed again.
                browser.api(gateway, "POST", f"/admin/modules/{module}/{version}/review")
            browser.api(gateway, "POST", f"/admin/modules/{module}/{version}/approve",
                        {"reason": "Reviewed for the dev stack's demo"})
        repository = release["image"].split("@")[0]
        deployed.setdefault(module, []).append(
            {"image": f"{repository}:{version}", "digest": release["image_digest"]})
    for module, images in deployed.items():
        browser.api(gateway, "PUT", f"/admin/deployments/{region}/{module}", {"images": images})
    log(f"{len(MODULE_RELEASES)} module releases imported signed, {len(APPROVED)} approved, deployed in {region}")

    def offered():
        _, listed = browser.api(gateway, "GET", "/admin/packs/tools")
        return tools <= {t["id"] for t in listed["items"] if t["offered"]}

    wait_until("the pack service to offer the approved releases' tools", offered)


def seed_finance_demo(browser, gateway, tid, slug):
    """The tenant's Finance demo: its Tenant Pack, Finance 3.2.0 with it active,
    the invoice-dispute playbook linked (unless it already runs Finance)."""
    wait_until(f"the pack service to hear of {slug}",
               lambda: browser.api(gateway, "GET", f"/admin/packs/tenant/{tid}", expect=None)[0] == 200)
    _, active = browser.api(gateway, "GET", f"/admin/packs/tenant/{tid}/active")
    if not (active["active"] and active["active"]["domain"] == "finance"):
        browser.api(gateway, "POST", "/admin/packs/tenant/import",
                    {"tenant_id": tid, "pack": example(TENANT_PACK)})
        browser.api(gateway, "POST", "/admin/packs/activate",
                    {"tenant_id": tid, "domain_pack_version": "3.2.0", "tenant_pack_version": "1.4.0"})
        log(f"{slug} runs Finance 3.2.0 with its Tenant Pack 1.4.0")
    playbook, version = LINKED_PLAYBOOK
    _, config = browser.api(gateway, "GET", f"/runtime/tenants/{tid}/config")
    if not any(p["id"] == playbook and p["version"] == version for p in config["playbooks"]):
        browser.api(gateway, "POST", f"/admin/packs/tenant/{tid}/playbooks",
                    {"playbook": playbook, "version": version})
        log(f"{slug} runs {playbook} {version} on billing disputes")


# Each demo tenant's AI provider connections: one keyed through its setup link
# (the local provider servers take keys starting sk-demo-), one left waiting for
# its key, with a live link printed for a person to open.
PROVIDERS = {
    "us": [{"name": "primary-openai", "kind": "openai", "base_url": "http://127.0.0.1:8191/v1",
            "default_model": "gpt-4o-mini"},
           {"name": "azure-gpt4o", "kind": "azure_openai", "base_url": "http://127.0.0.1:8192",
            "deployment": "gpt4o-prod", "api_version": "2024-10-21", "default_model": "gpt-4o",
            "note": "Paste the key of the Azure OpenAI resource (any key starting sk-demo- in the dev stack)"}],
    "eu": [{"name": "primary-anthropic", "kind": "anthropic", "base_url": "http://127.0.0.1:8193/v1",
            "default_model": "claude-haiku-4-5"},
           {"name": "openai-eu", "kind": "openai", "base_url": "http://127.0.0.1:8191/v1",
            "default_model": "gpt-4o-mini",
            "note": "Paste the OpenAI key (any key starting sk-demo- in the dev stack)"}],
}


def redeem(gateway, url, key=None, credentials=None):
    """Enters `key` (a provider's) or `credentials` (a connector's) through the
    setup link `url` as its holder would: the setup surface at the gateway, no
    login, the token from the link's fragment."""
    token = url.split("#", 1)[1]
    entered = {"key": key} if key is not None else {"credentials": credentials}
    request = urllib.request.Request(
        f"{gateway}/setup/api/redeem", method="POST",
        data=json.dumps({"token": token, **entered}).encode(),
        headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as answer:
        return answer.code, json.loads(answer.read() or b"null")


def seed_providers(browser, gateway, tid, slug, region):
    """The tenant's provider connections: the first keyed through a delegated
    link and checked; the second waiting, with a fresh link to open. Returns
    that link."""
    base = f"/admin/providers/tenants/{tid}/connections"
    wait_until(f"provider setup to hear of {slug}",
               lambda: browser.api(gateway, "GET", base, expect=None)[0] == 200)
    first, waiting = PROVIDERS[region]
    have = {c["name"]: c for c in all_items(browser, gateway, base)}
    for spec in (first, waiting):
        if spec["name"] not in have:
            _, have[spec["name"]] = browser.api(gateway, "POST", base, spec)
            log(f"{slug}: connection {spec['name']} created, waiting for its key")
    keyed = have[first["name"]]
    if keyed["status"] == "PENDING":
        _, one = browser.api(gateway, "GET", f"{base}/{keyed['connection_id']}")
        request = next(r for r in one["requests"] if r["status"] == "OPEN")
        _, link = browser.api(gateway, "POST",
                              f"/admin/providers/tenants/{tid}/setup-requests/{request['request_id']}/links", {})
        status, answer = redeem(gateway, link["url"], f"sk-demo-{slug}-{first['kind']}")
        if status != 200:
            raise SystemExit(f"the demo key was not taken: {status} {answer}")
        log(f"{slug}: the {first['kind']} key entered through its setup link is version {answer['version']}")
        browser.api(gateway, "POST", f"{base}/{keyed['connection_id']}/health/check", {})
    _, one = browser.api(gateway, "GET", f"{base}/{have[waiting['name']]['connection_id']}")
    open_requests = [r for r in one["requests"] if r["status"] == "OPEN"]
    if not open_requests:
        return None
    _, link = browser.api(gateway, "POST",
                          f"/admin/providers/tenants/{tid}/setup-requests/{open_requests[0]['request_id']}/links",
                          {"minutes": 24 * 60})
    return link["url"]


def seed_connectors(browser, gateway, tid, slug):
    """The tenant's workspace "Service desk" with a HaloPSA connector installed
    by its integration administrator, its credentials entered through a setup
    link."""
    base = f"/admin/tenants/{tid}/workspaces"
    desks = [w for w in all_items(browser, gateway, base) if w["name"] == "Service desk"]
    workspace = desks[0] if desks else browser.api(gateway, "POST", base, {"name": "Service desk"})[1]
    integrator = Browser()
    integrator.log_in(gateway, f"{slug}-integrations")
    wait_until(f"{slug}-integrations to act as IntegrationAdmin",
               lambda: "IntegrationAdmin" in integrator.api(
                   gateway, "GET", f"/auth/permissions?tenant_id={tid}")[1]["roles"])
    connectors = f"/admin/providers/tenants/{tid}/connectors"
    if any(c["name"] == "service-desk-halo" for c in all_items(integrator, gateway, connectors)):
        return
    spec = {"workspace_id": workspace["workspace_id"], "name": "service-desk-halo", "kind": "halopsa",
            "base_url": f"https://{slug}.halopsa.example/api", "settings": {"client_id": "plinth-demo"}}
    # Installed once provider setup has heard of the workspace.
    installed = wait_until(f"provider setup to hear of {slug}'s Service desk", lambda: (
        lambda answer: answer if answer[0] == 201 else None)(
            integrator.api(gateway, "POST", connectors, spec, expect=(201, 404))))[1]
    request = installed["requests"][0]["request_id"]
    _, link = integrator.api(gateway, "POST", f"{connectors}/setup-requests/{request}/links", {})
    status, answer = redeem(gateway, link["url"], credentials={"client_secret": f"halo-demo-{slug}"})
    if status != 200:
        raise SystemExit(f"the demo connector's credentials were not taken: {status} {answer}")
    log(f"{slug}: HaloPSA connector installed in Service desk by {slug}-integrations, "
        f"its credentials entered through a setup link (version {answer['version']})")


def seed_runner_workspace(browser, gateway, tid, slug):
    """The workspace the region's runner runs the tenant's tickets in: Accounts
    payable, at L1 (each step announced; the playbook's own gates stand)."""
    base = f"/admin/tenants/{tid}/workspaces"
    found = [w for w in all_items(browser, gateway, base) if w["name"] == "Accounts payable"]
    if found:
        return found[0]["workspace_id"]
    _, workspace = browser.api(gateway, "POST", base, {"name": "Accounts payable", "approval_tier": "L1"})
    log(f"{slug}: workspace Accounts payable (L1), where the runner runs its tickets")
    return workspace["workspace_id"]


def runner_config(region):
    return os.path.join(os.environ.get("PLINTH_STATE_DIR", ".dev-state"), f"runner-{region}.toml")


def write_runner_config(region, tid, workspace):
    """The tenants the region's runner serves (deploy/dev/services.sh runners)."""
    with open(runner_config(region), "w") as f:
        f.write(f'tenants = [{{ tenant_id = "{tid}", workspace_id = "{workspace}" }}]\n')


def seed_ticket(region):
    """Ops, as the tenant's operator: a billing dispute submitted, unless a run
    already waits for an approver; then the run the region's runner makes of it,
    waiting at its credit step."""
    gateway = GATEWAYS[region]
    slug = TENANTS[region]["slug"]
    operator = Browser()
    operator.log_in(gateway, f"{slug}-operator")
    with open(runner_config(region)) as f:
        tid = re.search(r'tenant_id = "([^"]+)"', f.read()).group(1)
    runs = f"/admin/policies/tenants/{tid}/runs?status=WAITING_APPROVAL"
    waiting = lambda: operator.api(gateway, "GET", runs)[1]["items"]
    if not waiting():
        _, decided = operator.api(gateway, "POST", f"/runtime/tenants/{tid}/classify", {"ticket": {
            "id": f"AP-{int(time.time()) % 100000}",
            "fields": {"subject": "Invoice 4411 charged twice", "channel": "portal", "amount": 1250}}})
        log(f"{slug}: {slug}-operator submitted a billing dispute in Ops ({decided['category']}, "
            f"{decided['priority']})")
        wait_until(f"{slug}'s runner to run it up to its approval", waiting)
    run = waiting()[0]
    log(f"{slug}: run {run['run_id']} of {run['subject']['id']} {run['subject']['version']} waits for "
        f"an approver: {gateway}/tenants/{tid}/approvals (sign in as {slug}-approver)")


def seed_region(browser, region):
    gateway = GATEWAYS[region]
    seed_modules(browser, gateway, region)
    seed_packs(browser, gateway)
    spec = TENANTS[region]
    slug = spec["slug"]
    found = [t for t in all_items(browser, gateway, "/admin/tenants") if t["slug"] == slug]
    if found:
        tenant = found[0]
    else:
        _, tenant = browser.api(gateway, "POST", "/admin/tenants", {
            **spec, "region": region, "deployment_model": "hosted_saas"})
        log(f"registered {slug} in {region}: {tenant['tenant_id']}")
    tid = tenant["tenant_id"]
    base = f"/admin/tenants/{tid}"

    mapped = {m["principal"] for m in all_items(browser, gateway, f"{base}/group-mappings")}
    for group, role in GROUP_ROLES:
        name = f"{slug}-{group}"
        if name not in mapped:
            browser.api(gateway, "POST", f"{base}/group-mappings", {"idp_group": name, "role": role})
    bound = {(b["principal"], b["role"]) for b in all_items(browser, gateway, f"{base}/role-bindings")}
    if ("msp-operator", "PlatformAdmin") not in bound:
        browser.api(gateway, "POST", f"{base}/role-bindings",
                    {"subject": "msp-operator", "role": "PlatformAdmin"})

    status, _ = browser.api(gateway, "GET", f"{base}/onboarding", expect=None)
    requested_now = status == 404 and tenant["status"] == "PENDING"
    if requested_now:
        _, entitled = browser.api(gateway, "GET", f"{base}/entitlements")
        browser.api(gateway, "PUT", f"{base}/entitlements", {
            key: entitled[key] for key in ["plan", "api_rate_per_second", "max_workspaces",
                                           "max_provider_connections", "monthly_token_budget"]
        } | {"modules": ENTITLED_MODULES})
        browser.api(gateway, "POST", f"{base}/onboarding", {"requested_modules": REQUESTED_MODULES})
        log(f"onboarding {slug}")

    def items():
        _, onboarding = browser.api(gateway, "GET", f"{base}/onboarding")
        return {i["key"]: i for i in onboarding["items"]}

    def services_answered():
        return all(i["state"] == "satisfied" for i in items().values() if i["owner"] != "operator")

    wait_until(f"{slug}'s audit log, default packs and modules", services_answered)
    if requested_now:
        _, onboarding = browser.api(gateway, "GET", f"{base}/onboarding")
        answered = max(timestamp(i["updated_at"]) for i in onboarding["items"]
                       if i["owner"] != "operator")
        saga = answered - timestamp(onboarding["requested_at"])
        log(f"{slug}'s services answered the onboarding saga in {saga * 1000:.0f} ms")
    for key, item in items().items():
        if item["owner"] == "operator" and item["state"] != "satisfied":
            browser.api(gateway, "POST", f"{base}/onboarding/items/{key}/confirm")
    wait_until(f"{slug} to be ACTIVE",
               lambda: browser.api(gateway, "GET", base)[1]["status"] == "ACTIVE")
    kept = "" if requested_now else ", kept from an earlier run"
    log(f"{slug} ({region}) is ACTIVE{kept}: {tid}")
    seed_finance_demo(browser, gateway, tid, slug)
    link = seed_providers(browser, gateway, tid, slug, region)
    seed_connectors(browser, gateway, tid, slug)
    write_runner_config(region, tid, seed_runner_workspace(browser, gateway, tid, slug))
    if link:
        log(f"{slug}: a setup link for its {PROVIDERS[region][1]['name']} key, valid a day "
            f"(open it in a browser, enter any key starting sk-demo-): {link}")
    return tid


def main():
    if sys.argv[1:] == ["tickets"]:
        for region in GATEWAYS:
            seed_ticket(region)
        return
    browser = Browser()
    for region, gateway in GATEWAYS.items():
        me = browser.log_in(gateway, "msp-admin")
        log(f"logged in at {gateway} as {me['subject']}")
    for region in GATEWAYS:
        seed_region(browser, region)


if __name__ == "__main__":
    main()
