/** A status as a badge: ACTIVE, DRAFT, SUSPENDED… each with its own look. */
export function Badge({ status }: { status: string }) {
  return <span className={`badge badge-${status.toLowerCase()}`}>{status}</span>;
}
