import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";

import { ApiError } from "../../api/client";
import { renderUi } from "../../test/render";
import type { AdminUser, InHouseReading } from "./adminApi";
import { InHouseReadingForm } from "./InHouseReading";

const reader = (id: string, display_name: string, role: AdminUser["role"]): AdminUser => ({
  id,
  username: id,
  display_name,
  role,
  hospital_id: "h-county",
  title: "",
  is_junior: false,
  on_duty: true,
  active: true,
  created_at: "",
  licensed_for: [],
  subspecialties: [],
});
const readers = [reader("wu", "吴医生 Wu", "expert"), reader("qian", "钱主任 Qian", "senior")];

const stored: InHouseReading = {
  hospital_id: "h-county",
  enabled: true,
  modalities: ["CT"],
  reader_ids: ["wu"],
  auto_read: false,
  sla: { stat_minutes: 20, urgent_minutes: 90, routine_minutes: 480 },
  offer_timeout_minutes: 10,
  grace_minutes: 45,
  auto_reassign: false,
  max_auto_reassigns: 1,
  second_reading: "always",
  second_reading_share: 0.2,
  pause_sla_in_needs_info: true,
  critical_ack_minutes: 15,
  critical_renotify_max: 2,
  created_at: "2026-12-07T08:00:00+00:00",
  updated_at: "2026-12-07T08:00:00+00:00",
};

describe("InHouseReadingForm", () => {
  it("asks for a modality, then sends the policy with the ticked readers", async () => {
    const onSave = vi.fn().mockResolvedValue(undefined);
    renderUi(<InHouseReadingForm policy={null} readers={readers} onSave={onSave} />);
    await userEvent.click(screen.getByRole("button", { name: "Save in-house reading" }));
    expect(onSave).not.toHaveBeenCalled();
    expect(screen.getByText("Name at least one modality read in-house.")).toBeInTheDocument();

    await userEvent.type(screen.getByLabelText("Modalities read in-house"), "ct, mr");
    await userEvent.click(screen.getByRole("checkbox", { name: /Wu/ }));
    await userEvent.click(screen.getByRole("checkbox", { name: /becomes a case by itself/ }));
    await userEvent.clear(screen.getByLabelText("Routine target (minutes)"));
    await userEvent.type(screen.getByLabelText("Routine target (minutes)"), "240");
    await userEvent.selectOptions(screen.getByLabelText("Second reading"), "random_share");
    await userEvent.click(screen.getByRole("button", { name: "Save in-house reading" }));
    expect(onSave).toHaveBeenCalledWith(
      expect.objectContaining({
        enabled: true,
        modalities: ["CT", "MR"],
        reader_ids: ["wu"],
        auto_read: true,
        sla: { stat_minutes: 30, urgent_minutes: 120, routine_minutes: 240 },
        second_reading: "random_share",
        second_reading_share: 0.2,
      }),
    );
  });

  it("keeps the terms it does not show and puts the server's problem on the readers", async () => {
    const onSave = vi.fn().mockRejectedValue(
      new ApiError(422, "validation_failed", "qian reads none of MR", [{ field: "body.reader_ids.1", problem: "qian reads none of MR" }]),
    );
    renderUi(<InHouseReadingForm policy={stored} readers={readers} onSave={onSave} onRemove={vi.fn()} />);
    expect(screen.getByRole("checkbox", { name: /Wu/ })).toBeChecked();
    expect(screen.getByRole("checkbox", { name: /Qian/ })).not.toBeChecked();
    await userEvent.click(screen.getByRole("checkbox", { name: /Qian/ }));
    await userEvent.clear(screen.getByLabelText("Modalities read in-house"));
    await userEvent.type(screen.getByLabelText("Modalities read in-house"), "MR");
    await userEvent.click(screen.getByRole("button", { name: "Save in-house reading" }));
    const body = onSave.mock.calls[0][0];
    expect(body).toMatchObject({ modalities: ["MR"], reader_ids: ["wu", "qian"], grace_minutes: 45, auto_reassign: false });
    expect(body).not.toHaveProperty("hospital_id");
    expect(body).not.toHaveProperty("updated_at");
    expect(await screen.findAllByText("qian reads none of MR")).not.toHaveLength(0);
  });

  it("asks before removing the policy", async () => {
    const onRemove = vi.fn();
    renderUi(<InHouseReadingForm policy={stored} readers={readers} onSave={vi.fn()} onRemove={onRemove} />);
    await userEvent.click(screen.getByRole("button", { name: "Remove the policy" }));
    expect(onRemove).not.toHaveBeenCalled();
    await userEvent.click(screen.getAllByRole("button", { name: "Remove the policy" })[0]);
    expect(onRemove).toHaveBeenCalledOnce();
  });
});
