/** Development sign-in: a user name for a dev token, or a pasted token. */
import { useState, type SyntheticEvent } from "react";

import type { PageConfig } from "../config";
import { devSignIn, type Session } from "../session";

interface SignInProps {
  config: PageConfig;
  onSignedIn: (session: Session) => void;
  onProblem: (line: string) => void;
}

/** Ask who is using the page, and get them a token. */
export function SignIn({ config, onSignedIn, onProblem }: SignInProps) {
  const [user, setUser] = useState("");
  const [token, setToken] = useState("");
  const [busy, setBusy] = useState(false);

  async function submit(event: SyntheticEvent) {
    event.preventDefault();
    const name = user.trim();
    if (!name) {
      onProblem("Type a user name to sign in.");
      return;
    }
    if (token.trim() || !config.devTokens) {
      onSignedIn({ user: name, token: token.trim() || null });
      return;
    }
    setBusy(true);
    try {
      onSignedIn(await devSignIn(name));
    } catch (error) {
      onProblem(error instanceof Error ? error.message : String(error));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="sign-in" onSubmit={(event) => void submit(event)}>
      <h1>LangGraph streaming chat</h1>
      <label>
        User
        <input
          name="user"
          autoComplete="username"
          value={user}
          onChange={(event) => {
            setUser(event.target.value);
          }}
          autoFocus
        />
      </label>
      <details open={!config.devTokens && config.auth !== "off"}>
        <summary>Use a token instead</summary>
        <label>
          Bearer token
          <input
            name="token"
            value={token}
            onChange={(event) => {
              setToken(event.target.value);
            }}
          />
        </label>
      </details>
      <button type="submit" disabled={busy}>
        Sign in
      </button>
      {config.devTokens && (
        <p className="note">
          Development sign-in: the page's server mints a token for any name. A real deployment
          takes tokens from an identity provider.
        </p>
      )}
    </form>
  );
}
