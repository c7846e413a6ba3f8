// Who is signed in. Sign-in stores the JWT (auth/token.ts); the session ends on sign-out, on the token's expiry
// (a timer, so an idle screen does not sit on a dead token) or on any 401, and the sign-in page says which.
import { useQueryClient } from "@tanstack/react-query";
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";

import { ApiError, api, ok } from "../api/client";
import type { Me } from "../api/types";
import { getToken, setToken, setUnauthorizedHandler, tokenExpiry } from "./token";

export type EndReason = "signed_out" | "expired" | null;

interface Session {
  me: Me | null;
  loading: boolean;
  ended: EndReason;
  signIn: (username: string, password: string) => Promise<Me>;
  signOut: (reason?: EndReason) => void;
  refreshMe: () => Promise<void>;
}

const SessionContext = createContext<Session | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [me, setMe] = useState<Me | null>(null);
  const [loading, setLoading] = useState(() => getToken() !== null);
  const [ended, setEnded] = useState<EndReason>(null);

  const signOut = useCallback(
    (reason: EndReason = "signed_out") => {
      setToken(null);
      setMe(null);
      setEnded(reason);
      queryClient.clear();
    },
    [queryClient],
  );

  const refreshMe = useCallback(async () => {
    setMe(await ok(api.GET("/api/me")));
  }, []);

  useEffect(() => {
    setUnauthorizedHandler(() => signOut("expired"));
    if (getToken() === null) return;
    refreshMe()
      .catch(() => signOut("expired"))
      .finally(() => setLoading(false));
  }, [refreshMe, signOut]);

  // End the session when the token expires, even if the screen is idle.
  useEffect(() => {
    const token = getToken();
    const exp = me && token ? tokenExpiry(token) : null;
    if (exp === null) return;
    const timer = window.setTimeout(() => signOut("expired"), Math.max(0, exp * 1000 - Date.now()));
    return () => window.clearTimeout(timer);
  }, [me, signOut]);

  const signIn = useCallback(async (username: string, password: string) => {
    const result = await ok(api.POST("/api/auth/login", { body: { username, password } }));
    setToken(result.access_token);
    try {
      const who = await ok(api.GET("/api/me"));
      setMe(who);
      setEnded(null);
      return who;
    } catch (error) {
      setToken(null);
      throw error instanceof ApiError ? error : new ApiError(0, "error", String(error));
    }
  }, []);

  const value = useMemo(
    () => ({ me, loading, ended, signIn, signOut, refreshMe }),
    [me, loading, ended, signIn, signOut, refreshMe],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside SessionProvider");
  return session;
}

/** The signed-in person; only for screens behind <RequireRole>. */
export function useMe(): Me {
  const { me } = useSession();
  if (!me) throw new Error("useMe without a signed-in user");
  return me;
}
