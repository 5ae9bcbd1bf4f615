import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { ApiFailure } from "../api/client";
import { ProblemView } from "./ProblemView";

describe("ProblemView", () => {
  it("shows the problem's message, code and request id", () => {
    render(
      <ProblemView
        error={
          new ApiFailure({
            type: "urn:plinth:problem:forbidden",
            title: "Forbidden",
            status: 403,
            detail: "Only platform administrators register tenants",
            code: "forbidden",
            request_id: "req_0123456789abcdef0123456789abcdef",
          })
        }
      />,
    );
    const alert = screen.getByRole("alert");
    expect(alert.textContent).toContain("Only platform administrators register tenants");
    expect(alert.textContent).toContain("forbidden");
    expect(alert.textContent).toContain("req_0123456789abcdef0123456789abcdef");
  });
});
