import { describe, expect, it } from "vitest";

import { decide, parseEditedArgs, parseReview, resumeValue, type Review } from "../src/approval";

const payload = {
  action_requests: [
    { name: "add", args: { a: 2, b: 3 }, description: "Tool execution pending approval" },
    { name: "multiply", args: { a: 4, b: 5 } },
  ],
  review_configs: [
    { action_name: "add", allowed_decisions: ["approve", "reject"] },
    { action_name: "multiply", allowed_decisions: ["approve", "edit", "reject"] },
  ],
};

describe("parseReview", () => {
  it("reads the human-in-the-loop payload", () => {
    expect(parseReview(payload)).toEqual({
      requests: [
        { name: "add", args: { a: 2, b: 3 }, description: "Tool execution pending approval", allowed: ["approve", "reject"] },
        { name: "multiply", args: { a: 4, b: 5 }, description: null, allowed: ["approve", "edit", "reject"] },
      ],
      error: null,
    });
  });

  it("keeps the graph's error line when it asks again", () => {
    expect(parseReview({ ...payload, error: "decision 2 (multiply): b: Input should be a valid number" })?.error).toBe(
      "decision 2 (multiply): b: Input should be a valid number",
    );
  });

  it("allows every decision when the configs are missing", () => {
    expect(parseReview({ action_requests: [{ name: "add", args: {} }] })?.requests[0]?.allowed).toEqual([
      "approve",
      "edit",
      "reject",
    ]);
  });

  it("is null for anything that is not a review", () => {
    expect(parseReview(undefined)).toBeNull();
    expect(parseReview("question?")).toBeNull();
    expect(parseReview({ action_requests: [] })).toBeNull();
    expect(parseReview({ action_requests: "add" })).toBeNull();
  });
});

describe("decisions", () => {
  const review = parseReview(payload) as Review;
  const [add, multiply] = review.requests as [Review["requests"][0], Review["requests"][0]];

  it("builds each decision type", () => {
    expect(decide(add, "approve")).toEqual({ type: "approve" });
    expect(decide(multiply, "edit", { args: { a: 4, b: 6 } })).toEqual({
      type: "edit",
      edited_action: { name: "multiply", args: { a: 4, b: 6 } },
    });
    expect(decide(add, "reject", { message: "  not today " })).toEqual({ type: "reject", message: "not today" });
    expect(decide(add, "reject", { message: "   " })).toEqual({ type: "reject" });
  });

  it("answers only once every call has a decision, in order", () => {
    expect(resumeValue(review, [{ type: "approve" }])).toBeNull();
    expect(resumeValue(review, [undefined, { type: "approve" }])).toBeNull();
    expect(resumeValue(review, [{ type: "approve" }, { type: "reject" }])).toEqual({
      decisions: [{ type: "approve" }, { type: "reject" }],
    });
  });

  it("reads edited arguments as a JSON object or says why not in one line", () => {
    expect(parseEditedArgs('{"a": 4, "b": 6}')).toEqual({ a: 4, b: 6 });
    expect(() => parseEditedArgs("a=4")).toThrow('the arguments must be JSON, like {"a": 2, "b": 3}');
    expect(() => parseEditedArgs("[1, 2]")).toThrow("the arguments must be a JSON object");
    expect(() => parseEditedArgs("null")).toThrow("the arguments must be a JSON object");
  });
});
