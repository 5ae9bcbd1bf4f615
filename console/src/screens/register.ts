// The register-tenant flow's rules, checked as the operator types: the same
// rules the registry applies, so a refusal is rare and names its field.

export interface Draft {
  display_name: string;
  slug: string;
  region: string;
  deployment_model: "hosted_saas" | "self_hosted_enterprise" | "hybrid";
  data_mode: "metadata_only" | "content";
  owner_name: string;
  owner_email: string;
  owner_phone: string;
}

export type Problems = Partial<Record<keyof Draft, string>>;

/** The slug a display name suggests: lower-case words joined by hyphens. */
export function suggestSlug(name: string): string {
  return name
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^[^a-z]+/, "")
    .replace(/-+$/, "")
    .slice(0, 40)
    .replace(/-+$/, "");
}

/** Why `slug` is not one, or nothing. */
export function slugProblem(slug: string): string | undefined {
  if (slug.length < 3 || slug.length > 40) return "3 to 40 characters";
  if (!/^[a-z][a-z0-9-]*$/.test(slug)) return "lower-case letters, digits and hyphens, starting with a letter";
  if (slug.endsWith("-") || slug.includes("--")) return "single hyphens, not at the end";
  return undefined;
}

/** The problems of each step's fields. */
export const steps: { title: string; check: (d: Draft) => Problems }[] = [
  {
    title: "Tenant identity",
    check: (d) => ({
      display_name: d.display_name.trim() ? undefined : "a name the operators will recognise",
      slug: slugProblem(d.slug),
    }),
  },
  {
    title: "Region and deployment",
    check: () => ({}),
  },
  {
    title: "Owner contact",
    check: (d) => ({
      owner_name: d.owner_name.trim() ? undefined : "who answers for the tenant",
      owner_email: /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(d.owner_email) ? undefined : "an e-mail address",
    }),
  },
  { title: "Review", check: () => ({}) },
];

/** The problems of step `i`'s fields, only those with one. */
export function checkStep(i: number, draft: Draft): Problems {
  return present(steps[i]?.check(draft) ?? {});
}

/** Only the fields with a problem. */
export function present(problems: Problems): Problems {
  return Object.fromEntries(Object.entries(problems).filter(([, v]) => v)) as Problems;
}

/** The step a field is entered on. */
export function stepOf(field: string): number {
  if (field === "display_name" || field === "slug") return 0;
  if (field.startsWith("owner")) return 2;
  return 1;
}
