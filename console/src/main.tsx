import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { createBrowserRouter, RouterProvider } from "react-router";
import { Layout } from "./App";
import "./console.css";
import { Access } from "./screens/Access";
import { PlatformAudit, TenantAudit } from "./screens/audit/screens";
import { ModuleCatalog, ModuleDeployments, ModuleRelease, TrustedSigners } from "./screens/modules/Catalog";
import { TenantModules } from "./screens/modules/TenantModules";
import { Ops } from "./screens/Ops";
import { Overview } from "./screens/Overview";
import { DomainPacks, TenantPacksTab } from "./screens/packs/DomainPacks";
import { Playbooks } from "./screens/packs/Playbooks";
import { Workflows } from "./screens/packs/Workflows";
import { PlatformPolicies, PlatformRecordPage, TenantRecordPage } from "./screens/policy/Records";
import { TenantPolicy } from "./screens/policy/TenantPolicy";
import { ConnectorDetail, Connectors } from "./screens/providers/Connectors";
import { ConnectionDetail, TenantProviders } from "./screens/providers/Providers";
import { TenantPacks } from "./screens/packs/TenantPacks";
import { RegisterTenant } from "./screens/RegisterTenant";
import { Approvals, RunPage, TenantRuns } from "./screens/runs/Runs";
import { TenantContext } from "./screens/TenantContext";
import { TenantDetail } from "./screens/TenantDetail";
import { Tenants } from "./screens/Tenants";
import { Workspaces } from "./screens/Workspaces";

const router = createBrowserRouter(
  [
    {
      path: "/",
      element: <Layout />,
      children: [
        { index: true, element: <Overview /> },
        { path: "tenants", element: <Tenants /> },
        { path: "tenants/new", element: <RegisterTenant /> },
        { path: "packs", element: <DomainPacks /> },
        { path: "packs/tenant", element: <TenantPacksTab /> },
        { path: "playbooks", element: <Playbooks /> },
        { path: "modules", element: <ModuleCatalog /> },
        {
          // The manifest's schema validator loads with the screen that uses it.
          path: "modules/import",
          lazy: async () => ({ Component: (await import("./screens/modules/ImportModule")).ImportModule }),
        },
        { path: "modules/deployments", element: <ModuleDeployments /> },
        { path: "modules/signers", element: <TrustedSigners /> },
        { path: "modules/:moduleId/:version", element: <ModuleRelease /> },
        { path: "policies", element: <PlatformPolicies /> },
        { path: "policies/:recordId", element: <PlatformRecordPage /> },
        { path: "audit", element: <PlatformAudit /> },
        {
          path: "tenants/:tenantId",
          element: <TenantContext />,
          children: [
            { index: true, element: <TenantDetail /> },
            { path: "workspaces", element: <Workspaces /> },
            { path: "access", element: <Access /> },
            { path: "packs", element: <TenantPacks /> },
            { path: "modules", element: <TenantModules /> },
            { path: "providers", element: <TenantProviders /> },
            { path: "providers/:connectionId", element: <ConnectionDetail /> },
            { path: "connectors", element: <Connectors /> },
            { path: "connectors/:connectorId", element: <ConnectorDetail /> },
            { path: "policy", element: <TenantPolicy /> },
            { path: "policy/:recordId", element: <TenantRecordPage /> },
            { path: "workflows", element: <Workflows /> },
            { path: "runs", element: <TenantRuns /> },
            { path: "runs/:runId", element: <RunPage /> },
            { path: "approvals", element: <Approvals /> },
            { path: "ops", element: <Ops /> },
            { path: "audit", element: <TenantAudit /> },
          ],
        },
      ],
    },
  ],
);

const queries = new QueryClient({ defaultOptions: { queries: { staleTime: 5_000 } } });

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <QueryClientProvider client={queries}>
      <RouterProvider router={router} />
    </QueryClientProvider>
  </StrictMode>,
);
