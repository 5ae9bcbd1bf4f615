import { useMutation } from "@tanstack/react-query";
import { useId, useState } from "react";
import { providers, unwrap } from "../../api/client";
import type { components } from "../../api/generated/provider-setup";
import { Badge } from "../../ui/Badge";
import { Confirm } from "../../ui/Confirm";
import { when } from "../../ui/when";
import { ProblemView } from "../ProblemView";

type SetupRequest = components["schemas"]["SetupRequest"];
type MintedLink = components["schemas"]["MintedLink"];

/** Whose setup requests: an AI provider connection's or a connector's; each
 * has its own routes (and its own permission). */
export type SetupOwner = "connection" | "connector";

async function mintLink(owner: SetupOwner, tenantId: string, requestId: string): Promise<MintedLink> {
  const params = { path: { tenant_id: tenantId, request_id: requestId } };
  return unwrap(
    owner === "connection"
      ? await providers.POST("/admin/providers/tenants/{tenant_id}/setup-requests/{request_id}/links", {
          params,
          body: {},
        })
      : await providers.POST("/admin/providers/tenants/{tenant_id}/connectors/setup-requests/{request_id}/links", {
          params,
          body: {},
        }),
  );
}

async function revokeLink(owner: SetupOwner, tenantId: string, linkId: string) {
  const params = { path: { tenant_id: tenantId, link_id: linkId } };
  return unwrap(
    owner === "connection"
      ? await providers.POST("/admin/providers/tenants/{tenant_id}/links/{link_id}/revoke", { params })
      : await providers.POST("/admin/providers/tenants/{tenant_id}/connectors/links/{link_id}/revoke", { params }),
  );
}

async function cancelRequest(owner: SetupOwner, tenantId: string, requestId: string) {
  const params = { path: { tenant_id: tenantId, request_id: requestId } };
  return unwrap(
    owner === "connection"
      ? await providers.POST("/admin/providers/tenants/{tenant_id}/setup-requests/{request_id}/cancel", { params })
      : await providers.POST("/admin/providers/tenants/{tenant_id}/connectors/setup-requests/{request_id}/cancel", {
          params,
        }),
  );
}

/** The setup requests of a connection or connector with their delegated links:
 * where the caller may, a link is minted (its URL shown here once, to copy and
 * hand over), revoked, or the request cancelled. The console never takes a
 * secret: whoever holds the link enters it on the setup surface. */
export function SetupRequests({
  owner,
  tenantId,
  requests,
  canWrite,
  onChange,
}: {
  owner: SetupOwner;
  tenantId: string;
  requests: SetupRequest[];
  canWrite: boolean;
  onChange: () => void;
}) {
  const [minted, setMinted] = useState<MintedLink | null>(null);
  const mint = useMutation({
    mutationFn: (requestId: string) => mintLink(owner, tenantId, requestId),
    onSuccess: (link) => {
      setMinted(link);
      onChange();
    },
  });
  const revoke = useMutation({
    mutationFn: (linkId: string) => revokeLink(owner, tenantId, linkId),
    onSuccess: () => {
      setMinted(null);
      onChange();
    },
  });
  const cancel = useMutation({
    mutationFn: (requestId: string) => cancelRequest(owner, tenantId, requestId),
    onSuccess: () => {
      setMinted(null);
      onChange();
    },
  });
  const secret = owner === "connection" ? "key" : "credentials";
  return (
    <section aria-labelledby={`requests-${owner}`}>
      <h2 id={`requests-${owner}`}>Setup requests</h2>
      {requests.length === 0 && <p>No setup request.</p>}
      {requests.length > 0 && (
        <table aria-label="Setup requests">
          <thead>
            <tr>
              <th scope="col">Purpose</th>
              <th scope="col">Status</th>
              <th scope="col">Note</th>
              <th scope="col">Links</th>
              {canWrite && <th scope="col">Action</th>}
            </tr>
          </thead>
          <tbody>
            {requests.map((r) => {
              const live = r.links.find((l) => l.state === "live");
              return (
                <tr key={r.request_id}>
                  <td>{r.purpose === "rotation" ? "rotation" : `first ${secret}`}</td>
                  <td>
                    <Badge status={r.status} />
                  </td>
                  <td>{r.note}</td>
                  <td>
                    {r.links.length === 0 && "none minted"}
                    <ul className="plain">
                      {r.links.map((l) => (
                        <li key={l.link_id}>
                          <Badge status={l.state} /> minted {when(l.created_at)} by {l.created_by}, expires{" "}
                          {when(l.expires_at)}
                          {l.attempts > 0 && `, ${l.attempts} entered`}
                        </li>
                      ))}
                    </ul>
                  </td>
                  {canWrite && (
                    <td>
                      {r.status === "OPEN" && (
                        <>
                          <button type="button" disabled={mint.isPending} onClick={() => mint.mutate(r.request_id)}>
                            {live ? "Mint a new setup link" : "Mint setup link"}
                          </button>{" "}
                          {live && (
                            <Confirm
                              label="Revoke link"
                              title="Revoke the setup link?"
                              confirmLabel="Revoke"
                              onConfirm={() => revoke.mutate(live.link_id)}
                            >
                              <p>Whoever holds it can no longer enter the {secret}. A new link can be minted.</p>
                            </Confirm>
                          )}{" "}
                          <Confirm
                            label="Cancel request"
                            title="Cancel the setup request?"
                            confirmLabel="Cancel request"
                            onConfirm={() => cancel.mutate(r.request_id)}
                          >
                            <p>Its unused links are revoked; no {secret} can be entered for it.</p>
                          </Confirm>
                        </>
                      )}
                    </td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {minted && <MintedPanel link={minted} secret={secret} />}
      {mint.isError && <ProblemView error={mint.error} />}
      {revoke.isError && <ProblemView error={revoke.error} />}
      {cancel.isError && <ProblemView error={cancel.error} />}
    </section>
  );
}

/** A link just minted: its URL, shown this once (only its hash is kept). */
function MintedPanel({ link, secret }: { link: MintedLink; secret: string }) {
  const id = useId();
  const [copied, setCopied] = useState<boolean | null>(null);
  return (
    <div className="panel minted" role="region" aria-label="New setup link">
      <p role="status">
        Setup link minted; it expires {when(link.expires_at)}. It is shown once: copy it now and hand it to whoever
        enters the {secret}. Opening it grants nothing else.
      </p>
      <div className="field">
        <label htmlFor={id}>Setup link</label>
        <input id={id} readOnly value={link.url} onFocus={(e) => e.target.select()} />
      </div>
      <button
        type="button"
        onClick={() =>
          navigator.clipboard.writeText(link.url).then(
            () => setCopied(true),
            () => setCopied(false),
          )
        }
      >
        Copy link
      </button>{" "}
      {copied === true && <span role="status">Copied.</span>}
      {copied === false && <span role="status">Copying is not allowed here: select the link and copy it.</span>}
    </div>
  );
}
