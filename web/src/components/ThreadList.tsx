/** The signed-in user's threads, newest first, and the button for a new one. */
import type { ThreadRow } from "../threads";

interface ThreadListProps {
  rows: ThreadRow[];
  activeId: string | null;
  onOpen: (row: ThreadRow) => void;
  onNew: () => void;
}

/** List the threads; the open one is marked. */
export function ThreadList({ rows, activeId, onOpen, onNew }: ThreadListProps) {
  return (
    <nav className="threads" aria-label="Threads">
      <button type="button" className="new-thread" onClick={onNew}>
        + New chat
      </button>
      <ul data-testid="thread-list">
        {rows.map((row) => (
          <li key={row.id}>
            <button
              type="button"
              className="thread"
              aria-current={row.id === activeId ? "page" : undefined}
              title={`${row.graphId ?? "?"} · ${row.status}`}
              onClick={() => {
                onOpen(row);
              }}
            >
              {row.title}
            </button>
          </li>
        ))}
      </ul>
      {rows.length === 0 && <p className="note">No threads yet.</p>}
    </nav>
  );
}
