/** One tool call: its name, its arguments as they stream in, then its result. */
import type { ToolCallView } from "../view";

const STATE_LABEL = { pending: "running", done: "done", error: "error", dropped: "not run" } as const;

/** Draw a tool call card. */
export function ToolCard({ call }: { call: ToolCallView }) {
  return (
    <div className="tool-card" data-testid="tool-call" data-state={call.state}>
      <div className="tool-head">
        <span className="tool-name">{call.name}</span>
        <code className="tool-args" data-testid="tool-args">
          {call.argsText}
        </code>
        <span className="tool-state">{STATE_LABEL[call.state]}</span>
      </div>
      {call.result !== null && (
        <div className="tool-result" data-testid="tool-result">
          {call.result}
        </div>
      )}
    </div>
  );
}
