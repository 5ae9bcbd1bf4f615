// The console's clients of the public API, one per service document, all
// through this region's gateway (same origin): the session cookie goes along,
// and every write carries the session's CSRF token.
import createClient, { type Middleware } from "openapi-fetch";
import type { paths as AuditPaths } from "./generated/audit";
import type { paths as GatewayPaths } from "./generated/gateway";
import type { paths as ModulePaths } from "./generated/module-catalog";
import type { paths as PackPaths } from "./generated/pack-service";
import type { paths as PolicyPaths } from "./generated/policy";
import type { paths as ProviderPaths } from "./generated/provider-setup";
import type { components, paths as RegistryPaths } from "./generated/tenant-registry";

/** A problem as every service answers one (`application/problem+json`). */
export type Problem = components["schemas"]["Problem"];

let csrfToken = "";

/** Sets the CSRF token writes carry, from the session (`GET /auth/me`). */
export function setCsrfToken(token: string): void {
  csrfToken = token;
}

const csrf: Middleware = {
  onRequest({ request }) {
    if (request.method !== "GET" && request.method !== "HEAD" && csrfToken) {
      request.headers.set("x-csrf-token", csrfToken);
    }
    return request;
  },
};

function client<Paths extends {}>() {
  const c = createClient<Paths>({ baseUrl: "", credentials: "same-origin" });
  c.use(csrf);
  return c;
}

export const gateway = client<GatewayPaths>();
export const registry = client<RegistryPaths>();
export const packs = client<PackPaths>();
export const audit = client<AuditPaths>();
export const modules = client<ModulePaths>();
export const providers = client<ProviderPaths>();
export const policy = client<PolicyPaths>();

/** A failed call: the problem the API answered, or one made here when the
 * answer was not a problem (the network, a proxy). */
export class ApiFailure extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail);
  }
}

/** The data of an answer, or an [`ApiFailure`] with its problem. */
export function unwrap<T>(answer: { data?: T; error?: unknown; response: Response }): T {
  if (answer.data !== undefined) return answer.data;
  throw new ApiFailure(asProblem(answer.error, answer.response));
}

export function asProblem(error: unknown, response: Response): Problem {
  if (error && typeof error === "object" && "code" in error && "detail" in error) {
    return error as Problem;
  }
  return {
    type: "urn:plinth:problem:unavailable",
    title: response.statusText || "Unavailable",
    status: response.status,
    detail: `The request failed with status ${response.status}.`,
    code: "unavailable",
    request_id: response.headers.get("x-request-id") ?? "",
  };
}
