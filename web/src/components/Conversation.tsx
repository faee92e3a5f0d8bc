/**
 * One thread, streamed with the SDK's `useStream` hook: messages, tool cards, the
 * summary marker, the review panel and the composer.
 */
import { useEffect, useRef, useState } from "react";
import { useStream } from "@langchain/langgraph-sdk/react";
import type { Client, Message } from "@langchain/langgraph-sdk";

import { parseReview, type Decision } from "../approval";
import type { GraphId } from "../location";
import { titleFrom } from "../threads";
import { messageViews, stoppedReply, summaryView, withStopped, type StoppedReply } from "../view";
import { Composer } from "./Composer";
import { MessageBubble } from "./MessageBubble";
import { ReviewPanel } from "./ReviewPanel";

/** The graphs' state as the page reads it. */
interface ChatState extends Record<string, unknown> {
  messages?: Message[];
  summary?: string;
}

interface ConversationProps {
  client: Client;
  graph: GraphId;
  threadId: string | null;
  reviewTools: boolean;
  onThreadId: (threadId: string) => void;
  onRunEnded: () => void;
  /** Report what went wrong, or null when a new run starts. */
  onProblem: (error: unknown) => void;
}

/** Run options every run of the page shares. */
const RUN_OPTIONS = {
  // A reload rejoins the run (reconnectOnMount) instead of cancelling it.
  streamResumable: true,
  onDisconnect: "continue",
} as const;

/** Show a thread and run it. */
export function Conversation(props: ConversationProps) {
  const { client, graph, threadId, reviewTools, onThreadId, onRunEnded, onProblem } = props;
  const stream = useStream<ChatState>({
    client,
    assistantId: graph,
    threadId,
    onThreadId,
    reconnectOnMount: true,
    fetchStateHistory: false,
    onFinish: () => {
      onRunEnded();
    },
  });
  const { error } = stream;

  useEffect(() => {
    if (error !== undefined && error !== null) onProblem(error);
  }, [error, onProblem]);

  // What Stop cut short stays on screen: the server keeps no partial reply.
  const [stopped, setStopped] = useState<StoppedReply[]>([]);
  const bottom = useRef<HTMLDivElement>(null);
  const views = withStopped(messageViews(stream.messages), stopped);
  const lastText = views.at(-1)?.text.length ?? 0;
  useEffect(() => {
    bottom.current?.scrollIntoView({ block: "end" });
  }, [views.length, lastText]);

  const context = graph === "agent" ? { approve_tools: reviewTools } : undefined;
  const summary = summaryView(stream.values);
  const review = stream.isLoading ? null : parseReview(stream.interrupt?.value);

  function send(text: string) {
    onProblem(null);
    const message: Message = { id: crypto.randomUUID(), type: "human", content: text };
    void stream.submit(
      { messages: [message] },
      {
        ...RUN_OPTIONS,
        context,
        metadata: threadId ? undefined : { title: titleFrom(text) },
        optimisticValues: (previous) => ({
          ...previous,
          messages: [...(previous.messages ?? []), message],
        }),
      },
    );
  }

  function resume(value: { decisions: Decision[] }) {
    onProblem(null);
    void stream.submit(null, { ...RUN_OPTIONS, context, command: { resume: value } });
  }

  return (
    <main className="conversation" data-loading={stream.isLoading ? "true" : "false"}>
      <div className="messages" data-testid="messages">
        {summary && (
          <details className="summary" data-testid="summary">
            <summary>Earlier messages were summarized</summary>
            <p>{summary.text}</p>
          </details>
        )}
        {views.map((view) => (
          <MessageBubble key={view.id} message={view} />
        ))}
        {review && <ReviewPanel key={stream.interrupt?.id ?? "review"} review={review} onResume={resume} />}
        <div ref={bottom} />
      </div>
      <Composer
        busy={stream.isLoading}
        onSend={send}
        onStop={() => {
          const reply = stoppedReply(views);
          if (reply) setStopped([...stopped, reply]);
          void stream.stop();
        }}
      />
    </main>
  );
}
