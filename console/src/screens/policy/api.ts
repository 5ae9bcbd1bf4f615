// The policy service's record routes, the same for the platform's records
// (platform and module scopes) and a tenant's (tenant and tenant/module).
import { policy, unwrap } from "../../api/client";
import type { components } from "../../api/generated/policy";
import type { Level } from "./record";

export type PolicyRecord = components["schemas"]["Record"];
export type RecordVersion = components["schemas"]["Version"];
export type Effective = components["schemas"]["Effective"];
export type Decided = components["schemas"]["Decided"];

/** Whose records: the platform's, or one tenant's. */
export type Owner = { tenantId?: string };

/** The levels a record of `owner` may have. */
export const levelsOf = (owner: Owner): Level[] =>
  owner.tenantId ? ["tenant", "tenant_module"] : ["platform", "module"];

/** The permission table's resource for `owner`'s records. */
export const resourceOf = (owner: Owner) => (owner.tenantId ? "tenant_policy_record" : "policy_record");

/** The query key of `owner`'s records (and, with an id, of one of them). */
export const recordsKey = (owner: Owner, recordId?: string) =>
  recordId ? ["policy-records", owner.tenantId ?? "platform", recordId] : ["policy-records", owner.tenantId ?? "platform"];

type Document = Record<string, unknown>;

export async function listRecords(owner: Owner) {
  if (owner.tenantId) {
    return unwrap(
      await policy.GET("/admin/policies/tenants/{tenant_id}/records", {
        params: { path: { tenant_id: owner.tenantId }, query: {} },
      }),
    );
  }
  return unwrap(await policy.GET("/admin/policies/records", { params: { query: {} } }));
}

export async function getRecord(owner: Owner, recordId: string) {
  if (owner.tenantId) {
    return unwrap(
      await policy.GET("/admin/policies/tenants/{tenant_id}/records/{record_id}", {
        params: { path: { tenant_id: owner.tenantId, record_id: recordId } },
      }),
    );
  }
  return unwrap(
    await policy.GET("/admin/policies/records/{record_id}", { params: { path: { record_id: recordId } } }),
  );
}

export async function createRecord(owner: Owner, document: Document) {
  if (owner.tenantId) {
    return unwrap(
      await policy.POST("/admin/policies/tenants/{tenant_id}/records", {
        params: { path: { tenant_id: owner.tenantId } },
        body: document,
      }),
    );
  }
  return unwrap(await policy.POST("/admin/policies/records", { body: document }));
}

export async function saveDraft(owner: Owner, recordId: string, document: Document) {
  if (owner.tenantId) {
    return unwrap(
      await policy.PUT("/admin/policies/tenants/{tenant_id}/records/{record_id}/draft", {
        params: { path: { tenant_id: owner.tenantId, record_id: recordId } },
        body: document,
      }),
    );
  }
  return unwrap(
    await policy.PUT("/admin/policies/records/{record_id}/draft", {
      params: { path: { record_id: recordId } },
      body: document,
    }),
  );
}

/** Publishes the record's draft, or retires the record, with `reason`. */
export async function decideRecord(owner: Owner, recordId: string, step: "publish" | "retire", reason: string) {
  if (owner.tenantId) {
    const path = { tenant_id: owner.tenantId, record_id: recordId };
    return unwrap(
      step === "publish"
        ? await policy.POST("/admin/policies/tenants/{tenant_id}/records/{record_id}/publish", {
            params: { path },
            body: { reason },
          })
        : await policy.POST("/admin/policies/tenants/{tenant_id}/records/{record_id}/retire", {
            params: { path },
            body: { reason },
          }),
    );
  }
  const path = { record_id: recordId };
  return unwrap(
    step === "publish"
      ? await policy.POST("/admin/policies/records/{record_id}/publish", { params: { path }, body: { reason } })
      : await policy.POST("/admin/policies/records/{record_id}/retire", { params: { path }, body: { reason } }),
  );
}

/** Where the console shows record `decided` of a field's provenance; none for
 * the tenant's entitlement, which is the registry's. */
export function recordLink(decided: Decided, tenantId: string): string | undefined {
  if (decided.record_id === "entitlement") return undefined;
  return decided.level === "tenant" || decided.level === "tenant_module"
    ? `/tenants/${tenantId}/policy/${decided.record_id}`
    : `/policies/${decided.record_id}`;
}
