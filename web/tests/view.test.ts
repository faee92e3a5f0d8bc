import type { Message } from "@langchain/langgraph-sdk";
import { describe, expect, it } from "vitest";

import {
  contentText,
  formatArgs,
  messageViews,
  stoppedReply,
  summaryView,
  withStopped,
  type MessageView,
} from "../src/view";

const human = (id: string, content: string): Message => ({ id, type: "human", content });

describe("formatArgs", () => {
  it("spaces JSON the way Python prints it", () => {
    expect(formatArgs({})).toBe("{}");
    expect(formatArgs({ a: 2 })).toBe('{"a": 2}');
    expect(formatArgs({ a: 2, b: 3 })).toBe('{"a": 2, "b": 3}');
    expect(formatArgs({ text: "x, y", list: [1, 2] })).toBe('{"text": "x, y", "list": [1,2]}');
    expect(formatArgs({ missing: undefined })).toBe('{"missing": null}');
  });
});

describe("contentText", () => {
  it("reads strings and text blocks, and skips other blocks", () => {
    expect(contentText("hi")).toBe("hi");
    expect(
      contentText([
        { type: "text", text: "a" },
        { type: "image_url", image_url: { url: "x" } },
        { type: "text", text: "b" },
      ]),
    ).toBe("ab");
  });
});

describe("messageViews", () => {
  it("puts each tool result on its call's card and gives tool messages no bubble", () => {
    const messages: Message[] = [
      human("h1", "Multiply 2 and 3"),
      {
        id: "a1",
        type: "ai",
        content: "",
        tool_calls: [{ id: "c1", name: "multiply", args: { a: 2, b: 3 } }],
        response_metadata: { finish_reason: "tool_calls" },
      },
      { id: "t1", type: "tool", content: "6", tool_call_id: "c1" },
      { id: "a2", type: "ai", content: "2 × 3 = 6.", response_metadata: { finish_reason: "stop" } },
    ];
    expect(messageViews(messages)).toEqual([
      { id: "h1", role: "human", text: "Multiply 2 and 3", finishReason: null, toolCalls: [] },
      {
        id: "a1",
        role: "ai",
        text: "",
        finishReason: "tool_calls",
        toolCalls: [
          { id: "c1", name: "multiply", args: { a: 2, b: 3 }, argsText: '{"a": 2, "b": 3}', state: "done", result: "6" },
        ],
      },
      { id: "a2", role: "ai", text: "2 × 3 = 6.", finishReason: "stop", toolCalls: [] },
    ]);
  });

  it("shows a call without a result as pending, and a failed result as an error", () => {
    const messages: Message[] = [
      {
        id: "a1",
        type: "ai",
        content: "",
        tool_calls: [
          { id: "c1", name: "add", args: { a: 2 } },
          { id: "c2", name: "multiply", args: {} },
        ],
      },
      { id: "t2", type: "tool", content: "rejected", tool_call_id: "c2", status: "error" },
    ];
    const [view] = messageViews(messages);
    expect(view?.toolCalls.map((call) => [call.state, call.argsText, call.result])).toEqual([
      ["pending", '{"a": 2}', null],
      ["error", "{}", "rejected"],
    ]);
    expect(view?.finishReason).toBeNull();
  });

  it("shows a call without a result that a later message follows as dropped", () => {
    const call = { id: "a1", type: "ai", content: "", tool_calls: [{ id: "c1", name: "add", args: {} }] } as Message;
    const pending = messageViews([human("h1", "add"), call]);
    expect(pending[1]?.toolCalls[0]?.state).toBe("pending");
    const dropped = messageViews([human("h1", "add"), call, human("h2", "never mind")]);
    expect(dropped[1]?.toolCalls[0]?.state).toBe("dropped");
  });

  it("reads a streaming call from its merged chunks, ahead of the hook's re-parse", () => {
    const streaming = (args: string) =>
      ({
        id: "a1",
        type: "ai",
        content: "",
        tool_calls: [],
        tool_call_chunks: [{ id: "c1", name: "multiply", args, index: 0 }],
      }) as unknown as Message;
    const calls = (args: string) =>
      messageViews([streaming(args)])[0]?.toolCalls.map((call) => [call.id, call.name, call.argsText]);
    expect(calls("")).toEqual([["c1", "multiply", "{}"]]);
    expect(calls('{"a": 2')).toEqual([["c1", "multiply", '{"a": 2}']]);
    expect(calls('{"a": 2, "b": 3}')).toEqual([["c1", "multiply", '{"a": 2, "b": 3}']]);
    expect(calls("[1,")).toEqual([["c1", "multiply", "{}"]]);
  });

  it("leaves out empty AI chunks and system messages", () => {
    const messages: Message[] = [
      { id: "s", type: "system", content: "be brief" },
      { id: "a", type: "ai", content: "" },
      human("h", "hi"),
    ];
    expect(messageViews(messages).map((view) => view.id)).toEqual(["h"]);
  });

  it("names messages without an id by position", () => {
    expect(messageViews([{ type: "human", content: "x" }])[0]?.id).toBe("message-0");
  });
});

describe("summaryView", () => {
  it("shows the marker only when there is a summary", () => {
    expect(summaryView({ messages: [] })).toBeNull();
    expect(summaryView({ summary: "  " })).toBeNull();
    expect(summaryView(null)).toBeNull();
    expect(summaryView({ summary: " The user is Ada. " })).toEqual({ text: "The user is Ada." });
  });
});

describe("stopped replies", () => {
  const view = (id: string, role: "human" | "ai", text = id): MessageView => ({
    id,
    role,
    text,
    finishReason: null,
    toolCalls: [],
  });

  it("keeps the model's last bubble, marked stopped, after the message it answered", () => {
    expect(stoppedReply([view("h1", "human"), view("a1", "ai", "1 2 3")])).toEqual({
      afterId: "h1",
      view: { ...view("a1", "ai", "1 2 3"), finishReason: "stopped" },
    });
    expect(stoppedReply([view("h1", "human")])).toBeNull();
    expect(stoppedReply([])).toBeNull();
  });

  it("puts a lost reply back in place, and never twice", () => {
    const lost = { afterId: "h1", view: view("a1", "ai") };
    const later = [view("h1", "human"), view("h2", "human"), view("a2", "ai")];
    expect(withStopped(later, [lost]).map((v) => v.id)).toEqual(["h1", "a1", "h2", "a2"]);
    expect(withStopped([view("h1", "human"), view("a1", "ai")], [lost]).map((v) => v.id)).toEqual(["h1", "a1"]);
    expect(withStopped([view("x", "human")], [lost]).map((v) => v.id)).toEqual(["a1", "x"]);
    expect(withStopped(later, [])).toEqual(later);
  });
});
