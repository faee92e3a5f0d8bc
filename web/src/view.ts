/**
 * The chat as the page draws it, worked out from the hook's messages and values.
 *
 * Each AI message becomes a bubble with its text, its finish reason and a card per
 * tool call; a tool message fills in the card of the call it answers instead of
 * getting a bubble of its own. The pure functions here are what Vitest checks.
 */
import { parsePartialJson } from "@langchain/core/output_parsers";
import type { Message } from "@langchain/langgraph-sdk";

/**
 * Where a tool call is. `dropped`: the user sent a new message instead of reviewing
 * it, so it never ran (over `runs`, the thread keeps such a call without a result).
 */
export type ToolCallState = "pending" | "done" | "error" | "dropped";

/** One tool call card. */
export interface ToolCallView {
  id: string;
  name: string;
  /** The arguments as parsed so far (partial while they stream). */
  args: Record<string, unknown>;
  /** `args` as one line of JSON, with a space after each `:` and `,` at the top level. */
  argsText: string;
  state: ToolCallState;
  /** The tool's answer, once it has one. */
  result: string | null;
}

/** A message bubble. */
export interface MessageView {
  id: string;
  role: "human" | "ai";
  text: string;
  /** Why the model stopped (`stop`, `tool_calls`, `length`…), once it has. */
  finishReason: string | null;
  toolCalls: ToolCallView[];
}

/** What the conversation's memory says about the messages it no longer keeps. */
export interface SummaryView {
  text: string;
}

type Content = Message["content"];

/** Return the text of a message's content: a string, or its text blocks joined. */
export function contentText(content: Content): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((block) => {
      if (typeof block === "string") return block;
      const { type, text } = block as { type?: unknown; text?: unknown };
      return type === "text" && typeof text === "string" ? text : "";
    })
    .join("");
}

/** Return arguments as `{"a": 2, "b": 3}`: JSON, spaced the way Python prints it. */
export function formatArgs(args: Record<string, unknown>): string {
  const entries = Object.entries(args).map(
    ([key, value]) => `${JSON.stringify(key)}: ${value === undefined ? "null" : JSON.stringify(value)}`,
  );
  return `{${entries.join(", ")}}`;
}

function finishReason(message: Message): string | null {
  const metadata = (message as { response_metadata?: unknown }).response_metadata;
  if (typeof metadata !== "object" || metadata === null) return null;
  const reason = (metadata as { finish_reason?: unknown }).finish_reason;
  return typeof reason === "string" && reason ? reason : null;
}

interface ToolResult {
  text: string;
  failed: boolean;
}

function toolResults(messages: readonly Message[]): Map<string, ToolResult> {
  const results = new Map<string, ToolResult>();
  for (const message of messages) {
    if (message.type !== "tool") continue;
    results.set(message.tool_call_id, {
      text: contentText(message.content),
      failed: message.status === "error",
    });
  }
  return results;
}

interface CallSketch {
  id: string | undefined;
  name: string;
  args: Record<string, unknown>;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Return a streaming message's calls as its merged chunks say so far, or null.
 *
 * The hook re-parses a streaming message's `tool_calls` at most every 50 ms (a call
 * whose header has just arrived is not even in them yet), so fast fragments would skip
 * states. Its `tool_call_chunks` hold every fragment merged so far, which
 * langchain-core's partial-JSON parser reads as they are.
 */
function streamedCalls(message: Message): CallSketch[] | null {
  const chunks = (message as { tool_call_chunks?: unknown }).tool_call_chunks;
  if (!Array.isArray(chunks) || chunks.length === 0) return null;
  return (chunks as { id?: unknown; name?: unknown; args?: unknown }[]).map((chunk) => {
    const text = typeof chunk.args === "string" ? chunk.args : "";
    const parsed: unknown = text ? parsePartialJson(text) : {};
    return {
      id: typeof chunk.id === "string" ? chunk.id : undefined,
      name: typeof chunk.name === "string" ? chunk.name : "tool",
      args: isObject(parsed) ? parsed : {},
    };
  });
}

function toolCallViews(
  message: Message,
  results: Map<string, ToolResult>,
  answered: boolean,
): ToolCallView[] {
  if (message.type !== "ai") return [];
  const calls =
    streamedCalls(message) ??
    (message.tool_calls ?? []).map(({ id, name, args }) => ({ id, name, args: isObject(args) ? args : {} }));
  return calls.map(({ name, args, ...call }, index) => {
    const id = call.id ?? `${message.id ?? "call"}-${index}`;
    const result = results.get(id);
    const unfinished: ToolCallState = answered ? "dropped" : "pending";
    const state: ToolCallState = result ? (result.failed ? "error" : "done") : unfinished;
    return { id, name, args, argsText: formatArgs(args), state, result: result?.text ?? null };
  });
}

/**
 * Return the bubbles for a thread's messages, in order.
 *
 * A call with no result that a later human message follows was dropped. System
 * messages and tool messages get no bubble; an AI message with neither text
 * nor calls (a stream's first, empty chunk) is left out until it has something.
 */
export function messageViews(messages: readonly Message[]): MessageView[] {
  const results = toolResults(messages);
  const lastHuman = messages.findLastIndex((message) => message.type === "human");
  const views: MessageView[] = [];
  for (const [index, message] of messages.entries()) {
    if (message.type !== "human" && message.type !== "ai") continue;
    const text = contentText(message.content);
    const toolCalls = toolCallViews(message, results, index < lastHuman);
    if (message.type === "ai" && !text && toolCalls.length === 0) continue;
    views.push({
      id: message.id ?? `message-${index}`,
      role: message.type,
      text,
      finishReason: message.type === "ai" ? finishReason(message) : null,
      toolCalls,
    });
  }
  return views;
}

/** Return the summary marker's content, or null while nothing was summarized. */
export function summaryView(values: unknown): SummaryView | null {
  if (typeof values !== "object" || values === null) return null;
  const summary = (values as { summary?: unknown }).summary;
  return typeof summary === "string" && summary.trim() ? { text: summary.trim() } : null;
}

/** A reply cut short by Stop, which the server does not keep, shown where it was. */
export interface StoppedReply {
  /** The message it followed, or null at the top. */
  afterId: string | null;
  view: MessageView;
}

/** Return what Stop should keep of the bubbles on screen: the last one, if the model's. */
export function stoppedReply(views: readonly MessageView[]): StoppedReply | null {
  const last = views.at(-1);
  if (last?.role !== "ai") return null;
  return { afterId: views.at(-2)?.id ?? null, view: { ...last, finishReason: "stopped" } };
}

/**
 * Return the bubbles with the stopped replies put back after the message each followed.
 *
 * A reply the thread holds after all (it was complete when Stop came) is not doubled.
 */
export function withStopped(
  views: readonly MessageView[],
  stopped: readonly StoppedReply[],
): MessageView[] {
  const ids = new Set(views.map((view) => view.id));
  const lost = stopped.filter((reply) => !ids.has(reply.view.id));
  const result: MessageView[] = lost
    .filter((reply) => reply.afterId === null || !ids.has(reply.afterId))
    .map((reply) => reply.view);
  for (const view of views) {
    result.push(view, ...lost.filter((reply) => reply.afterId === view.id).map((reply) => reply.view));
  }
  return result;
}
