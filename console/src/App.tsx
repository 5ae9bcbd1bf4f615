import { useQuery } from "@tanstack/react-query";
import { NavLink, Outlet } from "react-router";
import { ApiFailure, setCsrfToken } from "./api/client";
import { usePermissions } from "./access";
import { me } from "./api/gateway";
import { ProblemView } from "./screens/ProblemView";

/** The frame of every screen: who is signed in, and where to go. */
export function Layout() {
  const session = useQuery({ queryKey: ["me"], queryFn: me, retry: false });
  const access = usePermissions();
  // The platform's own trail is for the platform team over every tenant.
  const platformAudit = access.data?.platform_wide === true && access.can("audit_log", "read");
  if (session.data?.session) setCsrfToken(session.data.session.csrf_token);
  if (session.isPending) return <p>Loading…</p>;
  if (session.isError) {
    const signedOut = session.error instanceof ApiFailure && session.error.problem.status === 401;
    return (
      <main>
        <h1>Plinth</h1>
        {signedOut ? (
          <p>
            <a href={`/auth/login?return_to=${encodeURIComponent(location.pathname)}`}>Sign in</a> to manage the
            platform.
          </p>
        ) : (
          <ProblemView error={session.error} />
        )}
      </main>
    );
  }
  return (
    <>
      <header>
        <strong>Plinth</strong> <span aria-label="Signed in as">{session.data.email ?? session.data.subject}</span>
        <form method="post" action="/auth/logout">
          <input type="hidden" name="csrf_token" value={session.data.session?.csrf_token ?? ""} />
          <button type="submit">Sign out</button>
        </form>
      </header>
      <nav aria-label="Console">
        <NavLink to="/" end>
          Overview
        </NavLink>{" "}
        <NavLink to="/tenants" end>
          Tenants
        </NavLink>{" "}
        <NavLink to="/packs">Packs</NavLink> <NavLink to="/playbooks">Playbooks</NavLink>{" "}
        <NavLink to="/modules">Modules</NavLink> <NavLink to="/policies">Policies</NavLink>{" "}
        {platformAudit && <NavLink to="/audit">Audit</NavLink>}
      </nav>
      <main>
        <Outlet />
      </main>
    </>
  );
}
