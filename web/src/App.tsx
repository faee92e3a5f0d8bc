/**
 * The page: sign-in, the thread list, the open thread and the error banner.
 *
 * The open thread and graph live in the address (`?thread=…&graph=…`), the session in
 * local storage: a reload comes back to the same reply, and `useStream` rejoins its run.
 */
import { useCallback, useEffect, useMemo, useState } from "react";
import { Client } from "@langchain/langgraph-sdk";

import { Banner } from "./components/Banner";
import { Conversation } from "./components/Conversation";
import { SignIn } from "./components/SignIn";
import { ThreadList } from "./components/ThreadList";
import { loadConfig, type PageConfig } from "./config";
import { describeError } from "./errors";
import { GRAPHS, graphId, placeSearch, readPlace, type Place } from "./location";
import { authHeaders, clearSession, loadSession, saveSession, type Session } from "./session";
import { threadRows, type ThreadRow } from "./threads";

const REVIEW_KEY = "lgchat:review-tools";

function usePlace(): [Place, (place: Place) => void] {
  const [place, setPlace] = useState(() => readPlace(window.location.search));
  const go = useCallback((next: Place) => {
    window.history.replaceState(null, "", placeSearch(next));
    setPlace(next);
  }, []);
  return [place, go];
}

interface ChatProps {
  config: PageConfig;
  session: Session;
  onSignOut: () => void;
  onProblem: (line: string | null) => void;
}

function Chat({ config, session, onSignOut, onProblem }: ChatProps) {
  const [place, go] = usePlace();
  const [rows, setRows] = useState<ThreadRow[]>([]);
  const [listVersion, setListVersion] = useState(0);
  const [menuOpen, setMenuOpen] = useState(false);
  const [reviewTools, setReviewTools] = useState(
    () => localStorage.getItem(REVIEW_KEY) === "true",
  );
  // The SDK retries failed calls 5 times by default, which would hold a down server's
  // banner back for half a minute.
  const client = useMemo(
    () =>
      new Client({
        apiUrl: config.apiUrl,
        defaultHeaders: authHeaders(session),
        callerOptions: { maxRetries: 0 },
      }),
    [config.apiUrl, session],
  );
  const report = useCallback(
    (error: unknown) => {
      onProblem(error === null ? null : describeError(error, config.apiUrl));
    },
    [config.apiUrl, onProblem],
  );

  useEffect(() => {
    let current = true;
    client.threads
      .search({ limit: 50, sortBy: "updated_at", sortOrder: "desc" })
      .then((threads) => {
        if (current) setRows(threadRows(threads));
      })
      .catch((error: unknown) => {
        if (current) report(error);
      });
    return () => {
      current = false;
    };
  }, [client, listVersion, report]);

  const refreshList = useCallback(() => {
    setListVersion((version) => version + 1);
  }, []);
  const onThreadId = useCallback(
    (threadId: string) => {
      go({ ...readPlace(window.location.search), threadId });
      refreshList();
    },
    [go, refreshList],
  );

  return (
    <div className={`layout${menuOpen ? " menu-open" : ""}`}>
      <header className="top">
        <button
          type="button"
          className="menu"
          aria-expanded={menuOpen}
          onClick={() => {
            setMenuOpen(!menuOpen);
          }}
        >
          Threads
        </button>
        <label>
          Graph{" "}
          <select
            aria-label="Graph"
            value={place.graph}
            onChange={(event) => {
              go({ threadId: null, graph: graphId(event.target.value) });
            }}
          >
            {GRAPHS.map((graph) => (
              <option key={graph}>{graph}</option>
            ))}
          </select>
        </label>
        {place.graph === "agent" && (
          <label className="toggle">
            <input
              type="checkbox"
              checked={reviewTools}
              onChange={(event) => {
                localStorage.setItem(REVIEW_KEY, String(event.target.checked));
                setReviewTools(event.target.checked);
              }}
            />{" "}
            Review tool calls
          </label>
        )}
        <span className="user" data-testid="user">
          {session.user}
        </span>
        <button type="button" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <ThreadList
        rows={rows}
        activeId={place.threadId}
        onOpen={(row) => {
          setMenuOpen(false);
          go({ threadId: row.id, graph: graphId(row.graphId ?? place.graph) });
        }}
        onNew={() => {
          setMenuOpen(false);
          go({ threadId: null, graph: place.graph });
        }}
      />
      <Conversation
        // Not keyed by thread: useStream follows `threadId` itself, and a remount when it
        // names the thread it just created would drop the run it streams.
        key={place.graph}
        client={client}
        graph={place.graph}
        threadId={place.threadId}
        reviewTools={reviewTools}
        onThreadId={onThreadId}
        onRunEnded={refreshList}
        onProblem={report}
      />
    </div>
  );
}

/** The whole page. */
export function App() {
  const [config, setConfig] = useState<PageConfig | null>(null);
  const [session, setSession] = useState(() => loadSession(localStorage));
  const [problem, setProblem] = useState<string | null>(null);

  useEffect(() => {
    loadConfig()
      .then(setConfig)
      .catch((error: unknown) => {
        setProblem(error instanceof Error ? error.message : String(error));
      });
  }, []);

  return (
    <>
      <Banner
        line={problem}
        onDismiss={() => {
          setProblem(null);
        }}
      />
      {config && !session && (
        <SignIn
          config={config}
          onProblem={setProblem}
          onSignedIn={(next) => {
            saveSession(localStorage, next);
            setProblem(null);
            setSession(next);
          }}
        />
      )}
      {config && session && (
        <Chat
          config={config}
          session={session}
          onProblem={setProblem}
          onSignOut={() => {
            clearSession(localStorage);
            window.history.replaceState(null, "", "/");
            setSession(null);
          }}
        />
      )}
    </>
  );
}
