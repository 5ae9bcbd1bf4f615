import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { Link, useNavigate } from "react-router";
import { ApiFailure, registry, unwrap } from "../api/client";
import { me } from "../api/gateway";
import { checkStep, type Draft, type Problems, stepOf, steps, suggestSlug } from "./register";
import { ProblemView } from "./ProblemView";

/** Register tenant workspace: a guided flow — identity, region and
 * deployment, owner contact, review — each step checked before the next. The
 * tenant is registered PENDING, metadata-only unless content is chosen. */
export function RegisterTenant() {
  const session = useQuery({ queryKey: ["me"], queryFn: me, retry: false });
  const region = session.data?.region ?? "us";
  const navigate = useNavigate();
  const queries = useQueryClient();
  const [step, setStep] = useState(0);
  const [slugTouched, setSlugTouched] = useState(false);
  const [shown, setShown] = useState<Problems>({});
  const [draft, setDraft] = useState<Draft>({
    display_name: "",
    slug: "",
    region,
    deployment_model: "hosted_saas",
    data_mode: "metadata_only",
    owner_name: "",
    owner_email: "",
    owner_phone: "",
  });
  const set = (field: keyof Draft, value: string) => {
    const next = { ...draft, [field]: value };
    if (field === "display_name" && !slugTouched) next.slug = suggestSlug(value);
    if (field === "slug") setSlugTouched(true);
    setDraft(next);
    // Once shown, a problem follows the field as it is typed.
    if (Object.keys(shown).length) setShown(checkStep(step, next));
  };
  const register = useMutation({
    mutationFn: async () =>
      unwrap(
        await registry.POST("/admin/tenants", {
          body: {
            slug: draft.slug,
            display_name: draft.display_name.trim(),
            region: draft.region,
            deployment_model: draft.deployment_model,
            data_mode: draft.data_mode,
            owner_contact: {
              name: draft.owner_name.trim(),
              email: draft.owner_email.trim(),
              phone: draft.owner_phone.trim() || null,
            },
          },
        }),
      ),
    onSuccess: async (tenant) => {
      await queries.invalidateQueries({ queryKey: ["tenants"] });
      navigate(`/tenants/${tenant.tenant_id}`);
    },
    onError: (error) => {
      // A refused field goes back to its step, its problem beside it.
      const field = error instanceof ApiFailure ? error.problem.field : undefined;
      if (field) {
        setStep(stepOf(field));
        setShown({ [field.replace("owner_contact.", "owner_")]: error.message } as Problems);
      }
    },
  });
  const next = (e: FormEvent) => {
    e.preventDefault();
    const problems = checkStep(step, draft);
    setShown(problems);
    if (Object.keys(problems).length) {
      document.getElementById(`field-${Object.keys(problems)[0]}`)?.focus();
      return;
    }
    if (step < steps.length - 1) setStep(step + 1);
    else register.mutate();
  };
  const field = (name: keyof Draft, label: string, input: React.ReactNode) => (
    <div className="field">
      <label htmlFor={`field-${name}`}>{label}</label>
      {input}
      {shown[name] && (
        <span id={`problem-${name}`} className="inline-problem" role="alert">
          {shown[name]}
        </span>
      )}
    </div>
  );
  const text = (name: keyof Draft, type = "text") => (
    <input
      id={`field-${name}`}
      type={type}
      value={draft[name]}
      aria-invalid={shown[name] ? true : undefined}
      aria-describedby={shown[name] ? `problem-${name}` : undefined}
      onChange={(e) => set(name, e.target.value)}
    />
  );
  const other = session.data?.regions.filter((r) => r.region !== region) ?? [];
  return (
    <section aria-labelledby="register">
      <h1 id="register">Register tenant workspace</h1>
      <p>
        Guided tenant registration for the platform tenant workspace. Step {step + 1} of {steps.length}:{" "}
        <strong>{steps[step]?.title}</strong>
      </p>
      <ol className="steps" aria-label="Steps">
        {steps.map((s, i) => (
          <li key={s.title} aria-current={i === step ? "step" : undefined}>
            {s.title}
          </li>
        ))}
      </ol>
      <form onSubmit={next} noValidate>
        {step === 0 && (
          <fieldset>
            <legend>Tenant identity</legend>
            {field("display_name", "Display name", text("display_name"))}
            {field("slug", "Slug (unique in the region, never changes)", text("slug"))}
          </fieldset>
        )}
        {step === 1 && (
          <fieldset>
            <legend>Region and deployment</legend>
            {field(
              "region",
              "Region",
              <select id="field-region" value={draft.region} onChange={(e) => set("region", e.target.value)}>
                <option value={region}>{region.toUpperCase()} (this console)</option>
              </select>,
            )}
            {other.map((r) => (
              <p key={r.region}>
                A tenant whose data must stay in {r.region.toUpperCase()} is registered in the{" "}
                <a href={`${r.base_url.replace(/\/$/, "")}/tenants/new`}>{r.region.toUpperCase()} console</a>.
              </p>
            ))}
            {field(
              "deployment_model",
              "Deployment model",
              <select
                id="field-deployment_model"
                value={draft.deployment_model}
                onChange={(e) => set("deployment_model", e.target.value)}
              >
                <option value="hosted_saas">Hosted SaaS</option>
                <option value="self_hosted_enterprise">Self-hosted enterprise</option>
                <option value="hybrid">Hybrid</option>
              </select>,
            )}
            {field(
              "data_mode",
              "Data mode",
              <select id="field-data_mode" value={draft.data_mode} onChange={(e) => set("data_mode", e.target.value)}>
                <option value="metadata_only">Metadata only (the default: no content leaves the tenant)</option>
                <option value="content">Content</option>
              </select>,
            )}
          </fieldset>
        )}
        {step === 2 && (
          <fieldset>
            <legend>Owner contact</legend>
            {field("owner_name", "Name", text("owner_name"))}
            {field("owner_email", "E-mail", text("owner_email", "email"))}
            {field("owner_phone", "Phone (optional)", text("owner_phone", "tel"))}
          </fieldset>
        )}
        {step === 3 && (
          <dl className="facts" aria-label="Review">
            <dt>Display name</dt>
            <dd>{draft.display_name}</dd>
            <dt>Slug</dt>
            <dd>
              <code>{draft.slug}</code>
            </dd>
            <dt>Region</dt>
            <dd>{draft.region.toUpperCase()}</dd>
            <dt>Deployment model</dt>
            <dd>{draft.deployment_model}</dd>
            <dt>Data mode</dt>
            <dd>{draft.data_mode}</dd>
            <dt>Owner</dt>
            <dd>
              {draft.owner_name} &lt;{draft.owner_email}&gt; {draft.owner_phone}
            </dd>
          </dl>
        )}
        <div className="actions">
          {step > 0 && (
            <button type="button" onClick={() => setStep(step - 1)}>
              Back
            </button>
          )}
          <button type="submit" className="primary" disabled={register.isPending}>
            {step < steps.length - 1 ? "Next" : "Register tenant"}
          </button>{" "}
          <Link to="/tenants">Cancel</Link>
        </div>
      </form>
      {register.isError && <ProblemView error={register.error} />}
    </section>
  );
}
