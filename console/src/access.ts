// What the caller may do, as the gateway derives it from the permission table
// the services enforce. The console only hides what would be refused; every
// request is decided again by the backend.
import { useQuery } from "@tanstack/react-query";
import { permissions } from "./api/gateway";

export type Action = "read" | "create" | "update" | "delete";

/** The caller's permissions in the platform, or in `tenantId`. */
export function usePermissions(tenantId?: string) {
  const answer = useQuery({
    queryKey: ["permissions", tenantId ?? ""],
    queryFn: () => permissions(tenantId),
    staleTime: 30_000,
  });
  const can = (resource: string, action: Action) =>
    answer.data?.allowed[resource]?.includes(action) ?? false;
  return { ...answer, can };
}
