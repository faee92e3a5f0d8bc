/** Approve, edit or reject each tool call the `agent` graph waits on. */
import { useState } from "react";

import {
  decide,
  parseEditedArgs,
  resumeValue,
  type ActionRequest,
  type Decision,
  type Review,
} from "../approval";
import { formatArgs } from "../view";

const DONE_LABEL = { approve: "approved", edit: "edited", reject: "rejected" } as const;
const BUTTON_LABEL = { approve: "Approve", edit: "Edit", reject: "Reject" } as const;

interface ReviewCardProps {
  request: ActionRequest;
  decision: Decision | undefined;
  onDecide: (decision: Decision) => void;
}

function ReviewCard({ request, decision, onDecide }: ReviewCardProps) {
  const [mode, setMode] = useState<"choose" | "edit" | "reject">("choose");
  const [draft, setDraft] = useState(formatArgs(request.args));
  const [reason, setReason] = useState("");
  const [problem, setProblem] = useState<string | null>(null);

  if (decision) {
    return (
      <div className="review-card" data-testid="review-card" data-decided={decision.type}>
        <span className="tool-name">{request.name}</span> <code>{formatArgs(request.args)}</code>{" "}
        <span className="tool-state">{DONE_LABEL[decision.type]}</span>
      </div>
    );
  }

  function applyEdit() {
    try {
      onDecide(decide(request, "edit", { args: parseEditedArgs(draft) }));
    } catch (error) {
      setProblem(error instanceof Error ? error.message : String(error));
    }
  }

  return (
    <div className="review-card" data-testid="review-card">
      <div className="tool-head">
        <span className="tool-name">{request.name}</span>
        <code className="tool-args">{formatArgs(request.args)}</code>
      </div>
      {request.description && <p className="note">{request.description}</p>}
      {mode === "edit" && (
        <div className="review-edit">
          <textarea
            aria-label={`Arguments for ${request.name}`}
            value={draft}
            onChange={(event) => {
              setDraft(event.target.value);
            }}
          />
          <button type="button" onClick={applyEdit}>
            Run with these arguments
          </button>
        </div>
      )}
      {mode === "reject" && (
        <div className="review-edit">
          <input
            aria-label={`Why reject ${request.name}`}
            placeholder="Reason (optional)"
            value={reason}
            onChange={(event) => {
              setReason(event.target.value);
            }}
          />
          <button
            type="button"
            onClick={() => {
              onDecide(decide(request, "reject", { message: reason }));
            }}
          >
            Reject call
          </button>
        </div>
      )}
      {problem && <p className="review-problem">{problem}</p>}
      {mode === "choose" && (
        <div className="review-buttons">
          {request.allowed.map((type) => (
            <button
              key={type}
              type="button"
              onClick={() => {
                // Approve needs nothing more; edit and reject ask for args or a reason.
                if (type === "approve") onDecide(decide(request, type));
                else setMode(type);
              }}
            >
              {BUTTON_LABEL[type]}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}

interface ReviewPanelProps {
  review: Review;
  onResume: (value: { decisions: Decision[] }) => void;
}

/** Collect one decision per call; the answer goes once every call has one. */
export function ReviewPanel({ review, onResume }: ReviewPanelProps) {
  const [decisions, setDecisions] = useState<(Decision | undefined)[]>([]);

  function onDecide(index: number, decision: Decision) {
    const next = [...decisions];
    next[index] = decision;
    setDecisions(next);
    const value = resumeValue(review, next);
    if (value) onResume(value);
  }

  return (
    <section className="review" data-testid="review" aria-label="Tool calls to review">
      <h2>Review {review.requests.length === 1 ? "this tool call" : "these tool calls"}</h2>
      {review.error && <p className="review-problem">{review.error}</p>}
      {review.requests.map((request, index) => (
        <ReviewCard
          key={index}
          request={request}
          decision={decisions[index]}
          onDecide={(decision) => {
            onDecide(index, decision);
          }}
        />
      ))}
    </section>
  );
}
