// The gateway's own endpoints (who is signed in, the region's readiness). The
// gateway publishes no OpenAPI document of its own yet; these types follow
// services/gateway/src/http.rs and ops.rs.
import { ApiFailure, asProblem } from "./client";

export interface Me {
  subject: string;
  email?: string | null;
  groups: string[];
  issuer: string;
  session?: { csrf_token: string; idle_expires_at: number; expires_at: number };
}

export interface Check {
  name: string;
  ok: boolean;
  reason?: string;
}

export interface RegionReadiness {
  region: string;
  ready: boolean;
  gateway: { ready: boolean };
  services: { service: string; ready: boolean; checks: Check[]; reason: string | null }[];
}

async function get<T>(path: string): Promise<T> {
  const response = await fetch(path, { credentials: "same-origin" });
  const body: unknown = await response.json().catch(() => undefined);
  if (!response.ok) throw new ApiFailure(asProblem(body, response));
  return body as T;
}

/** Who is signed in; a `401` problem when nobody is. */
export const me = () => get<Me>("/auth/me");

/** Every service's readiness in this region (platform administrators and auditors). */
export const regionReadiness = () => get<RegionReadiness>("/admin/readiness");
