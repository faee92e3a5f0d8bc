import { describe, expect, it } from "vitest";

import { parseConfig } from "../src/config";
import { graphId, placeSearch, readPlace } from "../src/location";
import { authHeaders, clearSession, devSignIn, loadSession, saveSession, SESSION_KEY } from "../src/session";

class MemoryStorage implements Storage {
  private items = new Map<string, string>();
  get length() {
    return this.items.size;
  }
  clear() {
    this.items.clear();
  }
  getItem(key: string) {
    return this.items.get(key) ?? null;
  }
  key(index: number) {
    return [...this.items.keys()][index] ?? null;
  }
  removeItem(key: string) {
    this.items.delete(key);
  }
  setItem(key: string, value: string) {
    this.items.set(key, value);
  }
}

function answering(status: number, body: unknown): typeof fetch {
  return (() => Promise.resolve(new Response(JSON.stringify(body), { status })));
}

describe("session storage", () => {
  it("keeps and forgets the signed-in user", () => {
    const storage = new MemoryStorage();
    expect(loadSession(storage)).toBeNull();
    saveSession(storage, { user: "alice", token: "t" });
    expect(loadSession(storage)).toEqual({ user: "alice", token: "t" });
    clearSession(storage);
    expect(loadSession(storage)).toBeNull();
  });

  it("ignores a damaged entry", () => {
    const storage = new MemoryStorage();
    storage.setItem(SESSION_KEY, "{not json");
    expect(loadSession(storage)).toBeNull();
    storage.setItem(SESSION_KEY, JSON.stringify({ token: "t" }));
    expect(loadSession(storage)).toBeNull();
  });

  it("sends the token as a bearer header, and nothing without one", () => {
    expect(authHeaders({ user: "a", token: "t" })).toEqual({ Authorization: "Bearer t" });
    expect(authHeaders({ user: "a", token: null })).toEqual({});
  });
});

describe("devSignIn", () => {
  it("returns the minted token", async () => {
    await expect(devSignIn(" alice ", answering(200, { token: "jwt", user: "alice" }))).resolves.toEqual({
      user: "alice",
      token: "jwt",
    });
  });

  it("says why in one line when there is no token", async () => {
    await expect(devSignIn("alice", answering(404, { error: "dev tokens are off" }))).rejects.toThrow(
      "No development token (HTTP 404): dev tokens are off",
    );
    await expect(devSignIn("  ", answering(200, {}))).rejects.toThrow("Type a user name to sign in.");
    const down = (() => Promise.reject(new TypeError("Failed to fetch"))) as typeof fetch;
    await expect(devSignIn("alice", down)).rejects.toThrow("Cannot reach the page's server");
  });
});

describe("config and place", () => {
  it("checks the page config", () => {
    expect(parseConfig({ apiUrl: "http://127.0.0.1:2024/", devTokens: true, auth: "hs256" })).toEqual({
      apiUrl: "http://127.0.0.1:2024",
      devTokens: true,
      auth: "hs256",
    });
    expect(parseConfig({ apiUrl: "https://x" }).auth).toBe("off");
    expect(() => parseConfig({ apiUrl: "ftp://x" })).toThrow("has no apiUrl");
    expect(() => parseConfig([])).toThrow("has no apiUrl");
    expect(() => parseConfig(null)).toThrow("is not a JSON object");
  });

  it("keeps the thread and graph in the address", () => {
    expect(readPlace("?thread=t1&graph=chatbot")).toEqual({ threadId: "t1", graph: "chatbot" });
    expect(readPlace("?graph=nope")).toEqual({ threadId: null, graph: "agent" });
    expect(placeSearch({ threadId: "t1", graph: "agent" })).toBe("?thread=t1&graph=agent");
    expect(placeSearch({ threadId: null, graph: "chatbot" })).toBe("?graph=chatbot");
    expect(graphId("chatbot")).toBe("chatbot");
  });
});
