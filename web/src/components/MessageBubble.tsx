/** A message bubble: text, tool call cards and, for the model, why it stopped. */
import type { MessageView } from "../view";
import { ToolCard } from "./ToolCard";

/** Draw one message. */
export function MessageBubble({ message }: { message: MessageView }) {
  const reason = message.finishReason;
  return (
    <article
      className={`message ${message.role}`}
      data-testid={`message-${message.role}`}
      data-message-id={message.id}
      title={reason ? `finish reason: ${reason}` : undefined}
    >
      {message.text && <div className="text">{message.text}</div>}
      {message.toolCalls.map((call) => (
        <ToolCard key={call.id} call={call} />
      ))}
      {reason && (
        <div className="finish" data-testid="finish-reason">
          {reason}
        </div>
      )}
    </article>
  );
}
