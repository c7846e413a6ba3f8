// A refusal of the cloud film doors, in the reader's language.
import { useTranslation } from "react-i18next";

import { filmErrorKey } from "./patientSession";

export function FilmError({ error }: { error: unknown }) {
  const { t } = useTranslation("film");
  const key = filmErrorKey(error);
  const message = error instanceof Error ? error.message : String(error);
  return (
    <p role="alert" className="error film-error" data-kind={key}>
      {key === "other" ? t("error.other", { message }) : t(`error.${key}`)}
    </p>
  );
}

export function FilmNotice() {
  const { t } = useTranslation("film");
  return (
    <p className="disclaimer film-notice" role="note">
      {t("notice")}
    </p>
  );
}
