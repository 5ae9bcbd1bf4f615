// The gateway's own endpoints (who is calling, what they may do, the region's
// readiness), typed from schemas/openapi/gateway.json like every service's.
import type { components } from "./generated/gateway";
import { gateway, unwrap } from "./client";

export type Me = components["schemas"]["Me"];
export type Permissions = components["schemas"]["Permissions"];
export type RegionReadiness = components["schemas"]["RegionReadiness"];

/** Who is signed in; a `401` problem when nobody is. */
export const me = async () => unwrap(await gateway.GET("/auth/me"));

/** What the caller may do in the platform, or in `tenantId`. */
export const permissions = async (tenantId?: string) =>
  unwrap(await gateway.GET("/auth/permissions", { params: { query: { tenant_id: tenantId } } }));

/** Every service's readiness in this region (platform administrators and auditors). */
export const regionReadiness = async () => unwrap(await gateway.GET("/admin/readiness"));
