// The one way the web app talks to the API: openapi-fetch typed by the API's own OpenAPI document
// (./generated/schema.ts, `make api-client`), the session's bearer token, a 401 that ends the session, and errors from
// the API's catalogue ({error, message, details}) thrown as ApiError so screens can show the server's own words.
//
//   const referral = await ok(api.GET("/api/referrals/{referral_id}", { params: { path: { referral_id: id } } }));
import createClient, { type Middleware } from "openapi-fetch";

import { getToken, onUnauthorized } from "../auth/token";
import type { ErrorBody, paths } from "./generated/schema";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** The session's token on every request; a 401 to a request that carried one ends the session. */
function signed(request: Request): Request {
  const token = getToken();
  if (token) request.headers.set("Authorization", `Bearer ${token}`);
  return request;
}

function checked(request: Request, response: Response): Response {
  if (response.status === 401 && request.headers.has("Authorization")) onUnauthorized();
  return response;
}

const session: Middleware = {
  onRequest: ({ request }) => signed(request),
  onResponse: ({ request, response }) => checked(request, response),
};

export const api = createClient<paths>({
  baseUrl: window.location.origin,
  // The global fetch at the time of the request, not of this module's import (tests replace it).
  fetch: (request) => globalThis.fetch(request),
});
api.use(session);

/** An error body as the API's catalogue writes it (ErrorBody), or the status line when the body is not one. */
export function apiError(status: number, statusText: string, body: unknown): ApiError {
  if (body && typeof body === "object" && "error" in body) {
    const { error, message, details } = body as Partial<ErrorBody>;
    return new ApiError(status, String(error), typeof message === "string" ? message : statusText, details ?? null);
  }
  return new ApiError(status, "error", statusText || `HTTP ${status}`);
}

type Answer<T> = { data?: T; error?: unknown; response: Response };

/** The body of a successful answer, typed by the route; an ApiError otherwise (status 0: the network failed). */
export async function ok<T>(request: Promise<Answer<T>>): Promise<T> {
  let answer: Answer<T>;
  try {
    answer = await request;
  } catch {
    throw new ApiError(0, "network_error", "network");
  }
  const { response } = answer;
  if (!response.ok) throw apiError(response.status, response.statusText, answer.error);
  return answer.data as T;
}

/**
 * DICOMweb's JSON (QIDO-RS), which the OpenAPI document leaves to its standard: the same session, untyped.
 * QIDO answers 204 with no body when nothing matches: an empty list.
 */
export async function dicomJson(path: string, query: Record<string, string | number>): Promise<unknown[]> {
  const search = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]));
  const request = signed(new Request(`${window.location.origin}${path}?${search}`));
  let response: Response;
  try {
    response = checked(request, await globalThis.fetch(request));
  } catch {
    throw new ApiError(0, "network_error", "network");
  }
  const text = await response.text();
  if (!response.ok) throw apiError(response.status, response.statusText, parsed(text));
  return text ? (JSON.parse(text) as unknown[]) : [];
}

/** JSON text as a value; null when it is not JSON (a proxy's HTML error page, say). */
export function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
