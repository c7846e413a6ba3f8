// A coordinator or expert schedules a consult at once: subject, cases, time, invitees, agenda. They host it.
import { useMutation } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { useNavigate, useSearchParams } from "react-router-dom";

import { api, ok } from "../../api/client";
import { ScheduleForm, type ScheduleFormValues } from "./ScheduleForm";
import { useConsultRefresh } from "./consultApi";

export default function NewConsult() {
  const { t } = useTranslation("consult");
  const navigate = useNavigate();
  const refresh = useConsultRefresh();
  const [search] = useSearchParams();
  const referralId = search.get("referral");
  const create = useMutation({
    mutationFn: ({ title, case_ids, ...schedule }: ScheduleFormValues) =>
      ok(
        api.POST("/api/consults", {
          body: {
            title,
            referral_id: referralId,
            case_ids: case_ids.filter((id) => id !== referralId),
            comment: "",
            schedule,
          },
        }),
      ),
    onSuccess: (consult) => {
      refresh(consult);
      navigate(`/consults/${consult.id}`);
    },
  });
  return (
    <div className="page consults">
      <ScheduleForm
        heading={t("form.newTitle")}
        submitLabel={t("form.save")}
        withSubject
        initial={{ case_ids: referralId ? [referralId] : [] }}
        busy={create.isPending}
        error={create.error}
        onSubmit={(values) => create.mutate(values)}
        onCancel={() => navigate(-1)}
      />
    </div>
  );
}
