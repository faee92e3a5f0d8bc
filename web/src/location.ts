/**
 * The open thread and graph, kept in the address bar so a reload returns to them.
 */

/** The graphs the deployment serves (langgraph.json). */
export const GRAPHS = ["agent", "chatbot"] as const;

/** A graph the page can talk to. */
export type GraphId = (typeof GRAPHS)[number];

/** What the address says is open. */
export interface Place {
  threadId: string | null;
  graph: GraphId;
}

/** Return `value` as a graph id, or the default one. */
export function graphId(value: unknown): GraphId {
  return GRAPHS.find((graph) => graph === value) ?? "agent";
}

/** Read the place from a query string such as `?thread=…&graph=chatbot`. */
export function readPlace(search: string): Place {
  const params = new URLSearchParams(search);
  return { threadId: params.get("thread") || null, graph: graphId(params.get("graph")) };
}

/** Return the query string for `place`. */
export function placeSearch(place: Place): string {
  const params = new URLSearchParams();
  if (place.threadId) params.set("thread", place.threadId);
  params.set("graph", place.graph);
  return `?${params.toString()}`;
}
