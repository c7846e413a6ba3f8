// The session token lives in sessionStorage under the key the OHIF viewer (served at /viewer/ on the same
// origin) reads, so the viewer in an iframe is signed in as the same person without handing the token over.
export const TOKEN_KEY = "yilian.token";

let unauthorized: () => void = () => undefined;

export function getToken(): string | null {
  return window.sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token: string | null): void {
  if (token) window.sessionStorage.setItem(TOKEN_KEY, token);
  else window.sessionStorage.removeItem(TOKEN_KEY);
}

/** Called when the API answers 401 to a request that carried a token: the session is over. */
export function setUnauthorizedHandler(handler: () => void): void {
  unauthorized = handler;
}

export function onUnauthorized(): void {
  unauthorized();
}

/** Seconds since the epoch at which the JWT expires, or null when it cannot be read. */
export function tokenExpiry(token: string): number | null {
  try {
    const part = token.split(".")[1];
    const json = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
    const exp = (JSON.parse(json) as { exp?: number }).exp;
    return typeof exp === "number" ? exp : null;
  } catch {
    return null;
  }
}
