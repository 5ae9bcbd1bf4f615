import { usePermissions } from "../../access";
import { useTenantScope } from "../TenantContext";
import { AuditTrail } from "./AuditTrail";

/** The platform's audit trail: what the platform team did, and every refusal
 * at the gateway that named no tenant. */
export function PlatformAudit() {
  const access = usePermissions();
  if (access.isPending) return <p>Loading…</p>;
  if (!access.can("audit_log", "read") || !access.data?.platform_wide) {
    return <p>The platform's audit trail is for the platform's administrators and auditors.</p>;
  }
  return <AuditTrail log="platform" title="Platform audit trail" />;
}

/** The selected tenant's audit trail. */
export function TenantAudit() {
  const { tenant } = useTenantScope();
  return <AuditTrail key={tenant.tenant_id} log={tenant.tenant_id} title={`Audit trail of ${tenant.display_name}`} />;
}
