// Following projections' changes over Server-Sent Events, from their current head onwards.
// Each message is a CloudEvent in `data`; the browser resumes with Last-Event-ID by itself.

import { apiUrl, getJson } from "./api.js";

/**
 * Follow the changes of `projections`; `onChange(cloudEvent)` for each, `onState(state)` with
 * "live" (every stream open), "reconnecting" or "offline". Returns a function that stops it all.
 */
export async function follow(projections, onChange, onState) {
  const sources = new Map();
  const report = () => {
    const states = [...sources.values()].map((source) => source.readyState);
    if (states.every((state) => state === EventSource.OPEN)) onState("live");
    else if (states.some((state) => state === EventSource.CLOSED)) onState("offline");
    else onState("reconnecting");
  };
  // Start at the newest change of each: the page reads the current state itself.
  const heads = await Promise.all(projections.map((projection) =>
    getJson(`/v1/projections/${projection}/changes`, { tail: "true", limit: 1 })));
  for (const [index, projection] of projections.entries()) {
    const after = heads[index].next_after;
    const url = apiUrl(`/v1/projections/${projection}/changes/stream`, { after });
    const source = new EventSource(url);
    source.addEventListener("change", (message) => onChange(projection, JSON.parse(message.data)));
    source.addEventListener("open", report);
    source.addEventListener("error", report);
    sources.set(projection, source);
  }
  report();
  return () => sources.forEach((source) => source.close());
}
