/**
 * Tool-call review: read what the `agent` graph asks when `approve_tools` is on, and
 * build the answer it resumes from.
 *
 * The graph interrupts with LangChain's human-in-the-loop shape, `action_requests`
 * (name, args, description) and `review_configs` (allowed decisions), plus `error`
 * when it asks again after a decision that did not fit. It resumes from
 * `{"decisions": [...]}`, one decision per call, in order.
 */

/** What a reviewer may do with a call. */
export type DecisionType = "approve" | "edit" | "reject";

/** Every decision type, in the order the buttons show them. */
export const DECISION_TYPES: readonly DecisionType[] = ["approve", "edit", "reject"];

/** One call waiting for review. */
export interface ActionRequest {
  name: string;
  args: Record<string, unknown>;
  description: string | null;
  allowed: DecisionType[];
}

/** What the thread waits on. */
export interface Review {
  requests: ActionRequest[];
  /** Why the last answer was refused, when the graph asks again. */
  error: string | null;
}

/** A reviewer's answer for one call. */
export type Decision =
  | { type: "approve" }
  | { type: "edit"; edited_action: { name: string; args: Record<string, unknown> } }
  | { type: "reject"; message?: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function allowedDecisions(config: unknown): DecisionType[] {
  const allowed = isRecord(config) ? config.allowed_decisions : undefined;
  if (!Array.isArray(allowed)) return [...DECISION_TYPES];
  return DECISION_TYPES.filter((type) => allowed.includes(type));
}

/** Return the review an interrupt's value asks for, or null if it is not one. */
export function parseReview(value: unknown): Review | null {
  if (!isRecord(value) || !Array.isArray(value.action_requests)) return null;
  const configs = Array.isArray(value.review_configs) ? value.review_configs : [];
  const requests = (value.action_requests as unknown[]).filter(isRecord).map((action, index) => ({
    name: typeof action.name === "string" ? action.name : "tool",
    args: isRecord(action.args) ? action.args : {},
    description: typeof action.description === "string" ? action.description : null,
    allowed: allowedDecisions(configs[index]),
  }));
  if (requests.length === 0) return null;
  return { requests, error: typeof value.error === "string" ? value.error : null };
}

/**
 * Read edited arguments typed as JSON.
 *
 * @throws Error with one line when the text is not a JSON object.
 */
export function parseEditedArgs(text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error('the arguments must be JSON, like {"a": 2, "b": 3}');
  }
  if (!isRecord(parsed)) throw new Error('the arguments must be a JSON object, like {"a": 2}');
  return parsed;
}

/** Return the decision for a button press on one request. */
export function decide(
  request: ActionRequest,
  type: DecisionType,
  detail?: { args?: Record<string, unknown>; message?: string },
): Decision {
  if (type === "edit") {
    return { type, edited_action: { name: request.name, args: detail?.args ?? request.args } };
  }
  if (type === "reject") {
    const message = detail?.message?.trim();
    return message ? { type, message } : { type };
  }
  return { type };
}

/**
 * Return the resume value once every request has a decision, else null.
 *
 * @param decisions One slot per request, in order; an empty slot is still undecided.
 */
export function resumeValue(
  review: Review,
  decisions: readonly (Decision | undefined)[],
): { decisions: Decision[] } | null {
  const chosen = review.requests.map((_, index) => decisions[index]);
  if (chosen.some((decision) => decision === undefined)) return null;
  return { decisions: chosen as Decision[] };
}
