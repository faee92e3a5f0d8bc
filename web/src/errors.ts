/**
 * Turn anything the SDK, the server or the page throws into one line for the banner.
 *
 * The banner never shows a stack: a server that is down, a refused token, a run that
 * failed and bad input each get a sentence that says what happened and what to do.
 */

/** An HTTP failure as the SDK reports it (`HTTPError` has `status` and `text`). */
interface HttpFailure {
  status: number;
  text?: unknown;
}

function isHttpFailure(error: unknown): error is HttpFailure {
  return (
    typeof error === "object" &&
    error !== null &&
    typeof (error as { status?: unknown }).status === "number"
  );
}

/** Return the first non-empty line of `text`, trimmed, at most `limit` characters. */
export function firstLine(text: string, limit = 300): string {
  const line = text.split("\n").find((candidate) => candidate.trim() !== "")?.trim() ?? "";
  return line.length > limit ? `${line.slice(0, limit - 1)}…` : line;
}

/** Return the `detail` (or `message`, or `error`) of a JSON error body, else the body. */
export function errorDetail(body: unknown): string {
  if (typeof body !== "string") return "";
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === "object" && parsed !== null) {
      const { detail, message, error } = parsed as Record<string, unknown>;
      const found = [detail, message, error].find((value) => typeof value === "string");
      if (typeof found === "string") return firstLine(found);
    }
  } catch {
    // Not JSON: the body itself is the detail.
  }
  return firstLine(body);
}

function isNetworkFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  // The SDK wraps a refused connection in a `ConnectionError`; a bare fetch fails with
  // a TypeError: Chromium's "Failed to fetch", Firefox's "NetworkError…", Safari's
  // "Load failed".
  if (error.name === "ConnectionError") return true;
  return error.name === "TypeError" && /fetch|network|load failed/i.test(error.message);
}

/**
 * Return the banner's line for `error`.
 *
 * @param error What was thrown, or a stream's `error`.
 * @param apiUrl The deployment the page talks to, named when it cannot be reached.
 */
export function describeError(error: unknown, apiUrl: string): string {
  if (isNetworkFailure(error)) {
    return `Cannot reach the server at ${apiUrl}: is it running?`;
  }
  if (isHttpFailure(error)) {
    const detail = errorDetail(error.text);
    const suffix = detail ? `: ${detail}` : "";
    if (error.status === 401 || error.status === 403) {
      return `The server refused your sign-in (HTTP ${error.status})${suffix}. Sign in again.`;
    }
    if (error.status === 404) return `Not found (HTTP 404)${suffix}.`;
    return `The server answered HTTP ${error.status}${suffix}.`;
  }
  if (error instanceof Error) {
    if (error.name === "AbortError") return "Stopped.";
    const message = firstLine(error.message) || error.name;
    // StreamError carries the run's own error class as its name; Aegra's message
    // names it already.
    const named = !error.name || error.name === "Error" || message.startsWith(error.name);
    return `The run failed: ${named ? "" : `${error.name}: `}${message}`;
  }
  if (typeof error === "string" && error.trim()) return firstLine(error);
  return "Something went wrong, and the server did not say what.";
}
