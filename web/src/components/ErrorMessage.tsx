// Shows an API error in the server's own words (the catalogue's message), with a retry when one makes sense.
import { useTranslation } from "react-i18next";

import { ApiError } from "../api/client";

export function errorText(error: unknown, t: (key: string) => string): string {
  if (error instanceof ApiError) {
    if (error.code === "network_error") return t("error.network");
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

export function ErrorMessage({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { t } = useTranslation();
  if (!error) return null;
  return (
    <div role="alert" className="error">
      <strong>{t("error.title")}: </strong>
      {errorText(error, t)}
      {error instanceof ApiError && error.code !== "network_error" && <code className="code"> ({error.code})</code>}
      {onRetry && (
        <button type="button" className="link" onClick={onRetry}>
          {t("error.retry")}
        </button>
      )}
    </div>
  );
}

export function Loading() {
  const { t } = useTranslation();
  return (
    <p role="status" aria-live="polite" className="muted">
      {t("action.loading")}
    </p>
  );
}
