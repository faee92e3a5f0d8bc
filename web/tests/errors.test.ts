import { describe, expect, it } from "vitest";

import { describeError, errorDetail, firstLine } from "../src/errors";

const API = "http://127.0.0.1:2024";

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly text: string,
  ) {
    super(`HTTP ${String(status)}: ${text}`);
  }
}

class StreamError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

describe("describeError", () => {
  it("names the server that cannot be reached", () => {
    expect(describeError(new TypeError("Failed to fetch"), API)).toBe(
      "Cannot reach the server at http://127.0.0.1:2024: is it running?",
    );
    const wrapped = new Error("Unable to connect to LangGraph server. Original error: Failed to fetch");
    wrapped.name = "ConnectionError";
    expect(describeError(wrapped, API)).toBe("Cannot reach the server at http://127.0.0.1:2024: is it running?");
    expect(describeError(new TypeError("NetworkError when attempting to fetch resource."), API)).toBe(
      "Cannot reach the server at http://127.0.0.1:2024: is it running?",
    );
  });

  it("says a refused token was refused, with the server's reason", () => {
    expect(describeError(new HttpError(401, '{"detail":"invalid token: Not enough segments"}'), API)).toBe(
      "The server refused your sign-in (HTTP 401): invalid token: Not enough segments. Sign in again.",
    );
    expect(describeError(new HttpError(403, ""), API)).toBe("The server refused your sign-in (HTTP 403). Sign in again.");
  });

  it("reports other HTTP answers with their detail", () => {
    expect(describeError(new HttpError(404, '{"detail":"Thread not found"}'), API)).toBe(
      "Not found (HTTP 404): Thread not found.",
    );
    expect(describeError(new HttpError(500, "Internal Server Error\ntrace..."), API)).toBe(
      "The server answered HTTP 500: Internal Server Error.",
    );
  });

  it("keeps a run error to its first line, with the error's class", () => {
    expect(
      describeError(new StreamError("BadRequestError", "Error code: 400 - refused\nTraceback (most recent call last):"), API),
    ).toBe("The run failed: BadRequestError: Error code: 400 - refused");
    expect(describeError(new Error("boom"), API)).toBe("The run failed: boom");
    expect(
      describeError(new StreamError("OpenAIInvalidRequestError", "OpenAIInvalidRequestError: execution failed"), API),
    ).toBe("The run failed: OpenAIInvalidRequestError: execution failed");
  });

  it("never shows an empty line", () => {
    expect(describeError(undefined, API)).toBe("Something went wrong, and the server did not say what.");
    expect(describeError("  \n plain words \n", API)).toBe("plain words");
  });
});

describe("helpers", () => {
  it("firstLine skips blank lines and shortens long ones", () => {
    expect(firstLine("\n\n  second  \nthird")).toBe("second");
    expect(firstLine("x".repeat(400), 10)).toBe(`${"x".repeat(9)}…`);
  });

  it("errorDetail prefers detail, then message, then error", () => {
    expect(errorDetail('{"message":"m","error":"e"}')).toBe("m");
    expect(errorDetail('{"error":"e"}')).toBe("e");
    expect(errorDetail("not json")).toBe("not json");
    expect(errorDetail(42)).toBe("");
  });
});
