// The second step of an action that cannot be taken back (sending a preliminary report, signing a final one):
// what it will do, then confirm or cancel.
import { useTranslation } from "react-i18next";

export function ConfirmStep({
  textId,
  text,
  confirmLabel,
  pendingLabel,
  pending,
  onConfirm,
  onCancel,
}: {
  textId: string;
  text: string;
  confirmLabel: string;
  pendingLabel: string;
  pending: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const { t } = useTranslation();
  return (
    <div className="rd-confirm" role="alertdialog" aria-labelledby={textId}>
      <p id={textId}>{text}</p>
      <div className="row">
        <button type="button" className="primary" disabled={pending} onClick={onConfirm}>
          {pending ? pendingLabel : confirmLabel}
        </button>
        <button type="button" disabled={pending} onClick={onCancel}>
          {t("action.cancel")}
        </button>
      </div>
    </div>
  );
}
