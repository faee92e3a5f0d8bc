/**
 * The user's thread list: a title for each thread and the order to show them in.
 *
 * A thread's title is its first message. The page stores it in the thread's
 * metadata when it creates the thread, because not every engine returns a
 * thread's values from a search (Aegra does not); the first human message in
 * the values is the fallback for threads made elsewhere (the CLI, Studio).
 */
import type { Thread } from "@langchain/langgraph-sdk";

/** Longest title shown in the list, in characters. */
export const TITLE_LENGTH = 60;

/** Title of a thread that has no message yet. */
export const UNTITLED = "New chat";

/** One row of the thread list. */
export interface ThreadRow {
  id: string;
  title: string;
  /** The graph the thread was run on (`chatbot` or `agent`), when known. */
  graphId: string | null;
  status: Thread["status"];
  updatedAt: string;
}

/** Return a title for a first message: its first line, shortened with an ellipsis. */
export function titleFrom(text: string): string {
  const line = text.trim().split("\n")[0]?.trim() ?? "";
  if (!line) return UNTITLED;
  return line.length > TITLE_LENGTH ? `${line.slice(0, TITLE_LENGTH - 1)}…` : line;
}

function firstHumanText(values: unknown): string | null {
  if (typeof values !== "object" || values === null) return null;
  const messages = (values as { messages?: unknown }).messages;
  if (!Array.isArray(messages)) return null;
  for (const message of messages as unknown[]) {
    if (typeof message !== "object" || message === null) continue;
    const { type, content } = message as { type?: unknown; content?: unknown };
    if (type === "human" && typeof content === "string") return content;
  }
  return null;
}

/** Return the list row for a thread. */
export function threadRow(thread: Thread): ThreadRow {
  const metadata = (thread.metadata ?? {}) as Record<string, unknown>;
  const stored = typeof metadata.title === "string" ? metadata.title : null;
  const graphId = typeof metadata.graph_id === "string" ? metadata.graph_id : null;
  return {
    id: thread.thread_id,
    title: titleFrom(stored ?? firstHumanText(thread.values) ?? ""),
    graphId,
    status: thread.status,
    updatedAt: thread.updated_at,
  };
}

/** Return the rows newest first (by last update), each thread once. */
export function threadRows(threads: readonly Thread[]): ThreadRow[] {
  const seen = new Set<string>();
  return threads
    .map(threadRow)
    .filter((row) => !seen.has(row.id) && Boolean(seen.add(row.id)))
    .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
}
