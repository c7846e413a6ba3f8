// Server-Sent Events from GET /api/events (fetch-based, so the token travels in the Authorization header and
// never in a URL). Each change to a case the person may see refreshes the cached screens that show it; a new
// notice refreshes the inbox and shows for a moment as a toast.
import { EventStreamContentType, fetchEventSource } from "@microsoft/fetch-event-source";
import { useQueryClient, type QueryClient } from "@tanstack/react-query";
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from "react";

import type { Notification } from "../api/generated/schema";
import type { Referral } from "../api/types";
import { getToken } from "../auth/token";
import { useSession } from "../auth/session";
import { NoticeToast } from "./NoticeToast";

export type LiveStatus = "connecting" | "live" | "reconnecting";
const LiveContext = createContext<LiveStatus>("connecting");

class Fatal extends Error {}

/** What one event does to the caches (and the notice it brings, if any); exported for the component tests. */
export function applyEvent(client: QueryClient, event: string, data: string): Notification | null {
  if (event === "referral") {
    const row = JSON.parse(data) as Referral;
    client.setQueryData<Referral>(["referral", row.id], (old) => (old ? { ...old, ...row } : old));
    void client.invalidateQueries({ queryKey: ["referral", row.id] });
    void client.invalidateQueries({ queryKey: ["referrals"] });
    void client.invalidateQueries({ queryKey: ["dashboard"] });
    void client.invalidateQueries({ queryKey: ["audit", row.id] });
  } else if (event === "notification") {
    void client.invalidateQueries({ queryKey: ["notifications"] });
    return JSON.parse(data) as Notification;
  } else if (event === "consult") {
    const row = JSON.parse(data) as { id: string };
    void client.invalidateQueries({ queryKey: ["consult", row.id] });
    void client.invalidateQueries({ queryKey: ["consults"] });
  } else if (event === "consult_message") {
    const line = JSON.parse(data) as { consult_id: string };
    void client.invalidateQueries({ queryKey: ["consult-messages", line.consult_id] });
  } else if (event === "resync") {
    void client.invalidateQueries();
  }
  return null;
}

export function LiveUpdates({ children }: { children: ReactNode }) {
  const client = useQueryClient();
  const { me, signOut } = useSession();
  const [status, setStatus] = useState<LiveStatus>("connecting");
  const [notice, setNotice] = useState<Notification | null>(null);
  const dismiss = useCallback(() => setNotice(null), []);

  useEffect(() => {
    if (!me) return;
    const controller = new AbortController();
    let wasLive = false;
    void fetchEventSource("/api/events", {
      signal: controller.signal,
      headers: { Authorization: `Bearer ${getToken() ?? ""}` },
      openWhenHidden: true, // a coordinator's wall screen in a background tab must keep updating
      async onopen(response) {
        if (response.ok && response.headers.get("content-type")?.startsWith(EventStreamContentType)) {
          setStatus("live");
          if (wasLive) void client.invalidateQueries(); // events may have been missed while disconnected
          wasLive = true;
          return;
        }
        if (response.status === 401) {
          signOut("expired");
          throw new Fatal();
        }
        throw new Error(`events: HTTP ${response.status}`);
      },
      onmessage(message) {
        if (message.event === "session_expired") {
          signOut("expired");
          throw new Fatal();
        }
        const heard = applyEvent(client, message.event, message.data);
        if (heard) setNotice(heard);
      },
      onclose() {
        setStatus("reconnecting");
        throw new Error("closed"); // reconnect
      },
      onerror(error) {
        if (error instanceof Fatal) throw error;
        setStatus("reconnecting");
        return 2000;
      },
    }).catch(() => undefined);
    return () => controller.abort();
  }, [me, client, signOut]);

  return (
    <LiveContext.Provider value={status}>
      {children}
      {me && <NoticeToast notice={notice} onDone={dismiss} />}
    </LiveContext.Provider>
  );
}

export function useLiveStatus(): LiveStatus {
  return useContext(LiveContext);
}
