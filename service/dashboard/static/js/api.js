// Reading accordlog's HTTP API from the page: JSON in, RFC 9457 problem details as errors.

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

/** The URL of an API path with the query parameters that have a value. */
export function apiUrl(path, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") query.set(key, String(value));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

/** GET a JSON document; throws ApiError with the problem details on an error status. */
export async function getJson(path, params = {}, signal = undefined) {
  const response = await fetch(apiUrl(path, params), {
    headers: { Accept: "application/json" },
    signal,
  });
  if (!response.ok) {
    let problem = null;
    try {
      problem = await response.json();
    } catch {
      // not JSON: the status says enough
    }
    throw new ApiError(response.status, problem);
  }
  return response.json();
}

/** Like getJson, but a 404 (nothing there at that date) answers `fallback` instead. */
export async function getJsonOr(fallback, path, params = {}, signal = undefined) {
  try {
    return await getJson(path, params, signal);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return fallback;
    throw error;
  }
}
