/**
 * What the page needs to know about its deployment, read from `/config.json`.
 *
 * `make web` (devtools/web.py) writes that file's answer: where `langgraph dev` serves
 * and whether development tokens can be minted next to the page.
 */

/** How the deployment checks bearer tokens. */
export type AuthMode = "off" | "hs256" | "jwks";

/** The page's settings. */
export interface PageConfig {
  /** The LangGraph deployment's URL (the Agent Server API). */
  apiUrl: string;
  /** Whether `POST /dev-token` mints development tokens next to the page. */
  devTokens: boolean;
  /** How the deployment checks tokens. */
  auth: AuthMode;
}

const AUTH_MODES: readonly AuthMode[] = ["off", "hs256", "jwks"];

/**
 * Check a `/config.json` answer and return it typed.
 *
 * @throws Error with one line when the answer is not a page config.
 */
export function parseConfig(raw: unknown): PageConfig {
  if (typeof raw !== "object" || raw === null) {
    throw new Error("the page's /config.json is not a JSON object");
  }
  const { apiUrl, devTokens, auth } = raw as Record<string, unknown>;
  if (typeof apiUrl !== "string" || !/^https?:\/\//.test(apiUrl)) {
    throw new Error("the page's /config.json has no apiUrl (http:// or https://)");
  }
  const mode = AUTH_MODES.find((candidate) => candidate === auth) ?? "off";
  return { apiUrl: apiUrl.replace(/\/+$/, ""), devTokens: devTokens === true, auth: mode };
}

/** Fetch and check the page's config. */
export async function loadConfig(fetchImpl: typeof fetch = fetch): Promise<PageConfig> {
  const response = await fetchImpl("/config.json", { cache: "no-store" });
  if (!response.ok) {
    throw new Error(`the page's /config.json answered HTTP ${response.status}`);
  }
  return parseConfig(await response.json());
}
