import { ApiFailure, type Problem } from "../api/client";

/** A failed request as the console shows it: what went wrong, its stable
 * code, and the request id to quote to the platform team. */
export function ProblemView({ error }: { error: unknown }) {
  const problem: Problem =
    error instanceof ApiFailure
      ? error.problem
      : {
          type: "urn:plinth:problem:internal",
          title: "Error",
          status: 0,
          detail: String(error),
          code: "internal",
          request_id: "",
        };
  return (
    <div role="alert" className="problem">
      <strong>{problem.detail}</strong>
      <div>
        <code>{problem.code}</code>
        {problem.request_id && <> · request <code>{problem.request_id}</code></>}
      </div>
    </div>
  );
}
