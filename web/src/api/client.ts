// The one way the web app talks to the API: JSON in and out, the session's bearer token, and errors from the
// API's catalogue ({error, message, details}) as ApiError so screens can show the server's own words.
import { getToken, onUnauthorized } from "../auth/token";

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

type Body = Record<string, unknown> | unknown[] | FormData | undefined;

export async function api<T>(method: string, path: string, body?: Body, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers);
  const token = getToken();
  if (token) headers.set("Authorization", `Bearer ${token}`);
  let payload: BodyInit | undefined;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers.set("Content-Type", "application/json");
    payload = JSON.stringify(body);
  }
  let response: Response;
  try {
    response = await fetch(path, { ...init, method, headers, body: payload });
  } catch {
    throw new ApiError(0, "network_error", "network");
  }
  if (response.status === 401 && token) onUnauthorized();
  if (!response.ok) throw await errorFrom(response);
  if (response.status === 204) return undefined as T;
  const type = response.headers.get("content-type") ?? "";
  return (type.includes("json") ? await response.json() : await response.text()) as T;
}

export async function errorFrom(response: Response): Promise<ApiError> {
  try {
    const body = (await response.json()) as { error?: string; message?: string; details?: unknown };
    return new ApiError(response.status, body.error ?? "error", body.message ?? response.statusText, body.details);
  } catch {
    return new ApiError(response.status, "error", response.statusText || `HTTP ${response.status}`);
  }
}

export const get = <T>(path: string) => api<T>("GET", path);
export const post = <T>(path: string, body?: Body) => api<T>("POST", path, body ?? {});
export const put = <T>(path: string, body?: Body) => api<T>("PUT", path, body ?? {});

/** Query string from the defined, non-empty values; arrays repeat the key (FastAPI's list form). */
export function qs(params: Record<string, string | number | boolean | string[] | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === "") continue;
    if (Array.isArray(value)) value.forEach((v) => search.append(key, v));
    else search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}
