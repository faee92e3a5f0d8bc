import type { Thread } from "@langchain/langgraph-sdk";
import { describe, expect, it } from "vitest";

import { TITLE_LENGTH, threadRow, threadRows, titleFrom, UNTITLED } from "../src/threads";

function thread(id: string, updated: string, metadata: Record<string, unknown>, values?: unknown): Thread {
  return {
    thread_id: id,
    created_at: updated,
    updated_at: updated,
    metadata,
    status: "idle",
    values,
    interrupts: {},
  } as Thread;
}

describe("titleFrom", () => {
  it("uses the first line and shortens it", () => {
    expect(titleFrom("  Multiply 2 and 3\nthanks")).toBe("Multiply 2 and 3");
    expect(titleFrom("   ")).toBe(UNTITLED);
    const long = titleFrom("w".repeat(100));
    expect(long).toHaveLength(TITLE_LENGTH);
    expect(long.endsWith("…")).toBe(true);
  });
});

describe("threadRows", () => {
  it("titles threads from metadata, else the first human message, newest first", () => {
    const rows = threadRows([
      thread("old", "2026-12-01T10:00:00Z", { title: "From metadata", graph_id: "agent" }),
      thread("new", "2026-12-02T10:00:00Z", { graph_id: "chatbot" }, {
        messages: [
          { type: "system", content: "x" },
          { type: "human", content: "From the values" },
        ],
      }),
      thread("empty", "2026-12-01T11:00:00Z", {}),
      thread("old", "2026-12-01T10:00:00Z", { title: "duplicate" }),
    ]);
    expect(rows.map((row) => [row.id, row.title, row.graphId])).toEqual([
      ["new", "From the values", "chatbot"],
      ["empty", UNTITLED, null],
      ["old", "From metadata", "agent"],
    ]);
  });

  it("keeps the status and update time", () => {
    expect(threadRow(thread("t", "2026-12-02T00:00:00Z", {}))).toMatchObject({ status: "idle", updatedAt: "2026-12-02T00:00:00Z" });
  });
});
