import type { components } from "../../api/generated/provider-setup";
import { Badge } from "../../ui/Badge";
import { when } from "../../ui/when";

type KeyVersion = components["schemas"]["KeyVersion"];
type Validation = components["schemas"]["Validation"];

/** The sealed versions of a key or of a connector's credentials: metadata
 * only, never a secret. */
export function CredentialVersions({ versions, what }: { versions: KeyVersion[]; what: string }) {
  return (
    <section aria-label={what}>
      <h2>{what}</h2>
      {versions.length === 0 && <p>Nothing entered yet.</p>}
      {versions.length > 0 && (
        <table aria-label={what}>
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Status</th>
              <th scope="col">Sealed by</th>
              <th scope="col">Entered</th>
              <th scope="col">Usable until</th>
              <th scope="col">Destroyed</th>
            </tr>
          </thead>
          <tbody>
            {versions.map((v) => (
              <tr key={v.version}>
                <td>{v.version}</td>
                <td>
                  <Badge status={v.status} />
                </td>
                <td>
                  {v.backend} <code>{v.key_id}</code>
                </td>
                <td>{when(v.created_at)}</td>
                <td>{when(v.usable_until)}</td>
                <td>{when(v.destroyed_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** What was entered through links and how it was checked. */
export function Validations({ validations }: { validations: Validation[] }) {
  if (validations.length === 0) return null;
  return (
    <table aria-label="Validations">
      <caption>Entries through setup links</caption>
      <thead>
        <tr>
          <th scope="col">Outcome</th>
          <th scope="col">Provider answer</th>
          <th scope="col">Activated</th>
          <th scope="col">Checked</th>
        </tr>
      </thead>
      <tbody>
        {validations.map((v) => (
          <tr key={v.validation_id}>
            <td>
              <Badge status={v.outcome} />
            </td>
            <td>
              {v.http_status ? `HTTP ${v.http_status}, ${v.models} models, ${v.latency_ms} ms` : "no call made"}
            </td>
            <td>{v.activated ? "yes" : "no"}</td>
            <td>{when(v.checked_at)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
