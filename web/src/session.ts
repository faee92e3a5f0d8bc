/**
 * Who is signed in: the user's name and bearer token, kept in this browser's storage.
 *
 * Development sign-in asks the page's own server for a token (`POST /dev-token`, which
 * `make web` serves with the deployment's one-off secret). A real deployment gets its
 * tokens from an identity provider; the page also takes a pasted token for that.
 */
import { errorDetail } from "./errors";

/** A signed-in user. */
export interface Session {
  user: string;
  /** The bearer token, or null when the deployment runs without auth. */
  token: string | null;
}

/** The storage key; one per browser profile, so two profiles are two users. */
export const SESSION_KEY = "lgchat:session";

/** Return the stored session, or null when nobody is signed in. */
export function loadSession(storage: Storage): Session | null {
  const raw = storage.getItem(SESSION_KEY);
  if (!raw) return null;
  try {
    const parsed = JSON.parse(raw) as Partial<Session>;
    if (typeof parsed.user !== "string" || !parsed.user) return null;
    return { user: parsed.user, token: typeof parsed.token === "string" ? parsed.token : null };
  } catch {
    return null;
  }
}

/** Keep `session` for the next visit. */
export function saveSession(storage: Storage, session: Session): void {
  storage.setItem(SESSION_KEY, JSON.stringify(session));
}

/** Forget who is signed in. */
export function clearSession(storage: Storage): void {
  storage.removeItem(SESSION_KEY);
}

/**
 * Sign `user` in with a development token from the page's server.
 *
 * @throws Error with one line when the server refuses or is not there.
 */
export async function devSignIn(user: string, fetchImpl: typeof fetch = fetch): Promise<Session> {
  const name = user.trim();
  if (!name) throw new Error("Type a user name to sign in.");
  let response: Response;
  try {
    response = await fetchImpl("/dev-token", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ user: name }),
    });
  } catch {
    throw new Error("Cannot reach the page's server for a development token.");
  }
  const body = await response.text();
  if (!response.ok) {
    throw new Error(`No development token (HTTP ${response.status}): ${errorDetail(body)}`);
  }
  const { token } = JSON.parse(body) as { token?: unknown };
  if (typeof token !== "string") throw new Error("The page's server sent no token.");
  return { user: name, token };
}

/** Return the headers that carry the session's token. */
export function authHeaders(session: Session): Record<string, string> {
  return session.token ? { Authorization: `Bearer ${session.token}` } : {};
}
