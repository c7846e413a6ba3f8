// A new notice, heard on the live stream, shown for a moment in the reader's language (the inbox keeps it).
import { useEffect } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";

import type { Notification } from "../api/generated/schema";
import { useNoticeText } from "../i18n/notice";

export const TOAST_MS = 8000;

export function NoticeToast({ notice, onDone }: { notice: Notification | null; onDone: () => void }) {
  const { t } = useTranslation();
  const text = useNoticeText();
  useEffect(() => {
    if (!notice) return;
    const timer = window.setTimeout(onDone, TOAST_MS);
    return () => window.clearTimeout(timer);
  }, [notice, onDone]);
  // The live region is always there, so screen readers announce what appears in it.
  return (
    <div className="notice-toast-region no-print" role="status" aria-live="polite">
      {notice && (
        <div className="notice-toast" data-kind={notice.kind}>
          <strong>
            {notice.referral_id ? (
              <Link to={`/cases/${notice.referral_id}`} onClick={onDone}>
                {text(notice).title}
              </Link>
            ) : (
              text(notice).title
            )}
          </strong>
          <div className="small">{text(notice).body}</div>
          <button type="button" className="link small" onClick={onDone} aria-label={t("notifications.dismiss")}>
            ×
          </button>
        </div>
      )}
    </div>
  );
}
