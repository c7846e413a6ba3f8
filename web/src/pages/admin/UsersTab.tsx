// Staff accounts: list, create, edit (role, hospital, reading licences and subspecialties), set a password,
// deactivate. Accounts are never deleted: their names stay on the cases and reports they signed.
import { zodResolver } from "@hookform/resolvers/zod";
import { useMemo, useState } from "react";
import { useFieldArray, useForm } from "react-hook-form";
import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";

import { ErrorMessage } from "../../components/ErrorMessage";
import {
  READER_ROLES,
  STAFF_ROLES,
  showServerErrors,
  useAdminHospitals,
  useAdminUsers,
  useSave,
  useSetPassword,
  type AdminHospital,
  type AdminUser,
  type Bodies,
  type StaffRole,
} from "./adminApi";
import { EntityEditor, EntityList, EntityRoutes, EntityTable } from "./EntityRoutes";
import { ActiveBadge, ActiveToggle, errorAt, errorMessage, Field, FilterSelect, FormButtons, SaveFailureNotice, useSaveSubmit } from "./formParts";
import { newUserSchema, passwordSchema, storedUserFields, userBody, userDefaults, userSchema, type UserForm as Values } from "./schemas";

function UserList() {
  const { t } = useTranslation("admin");
  const users = useAdminUsers();
  const hospitals = useAdminHospitals();
  const save = useSave("users");
  const [role, setRole] = useState("");
  const [hospital, setHospital] = useState("");
  const nameOf = (id: string | null) => (id ? (hospitals.data?.find((h) => h.id === id)?.name ?? id) : "—");
  const shown = (users.data ?? []).filter((u) => (!role || u.role === role) && (!hospital || u.hospital_id === hospital));
  const setActive = (u: AdminUser, active: boolean) =>
    save.mutate({ id: u.id, body: { ...storedUserFields(u), active } });
  return (
    <EntityList headingId="users-heading" title={t("tabs.users")} newLabel={t("user.new")}>
      <div className="filters">
        <FilterSelect label={t("user.filterRole")} value={role} onChange={setRole}>
          <option value="">{t("all")}</option>
          {STAFF_ROLES.map((r) => (
            <option key={r} value={r}>
              {t(`common:role.${r}`)}
            </option>
          ))}
        </FilterSelect>
        <FilterSelect label={t("user.filterHospital")} value={hospital} onChange={setHospital}>
          <option value="">{t("all")}</option>
          {(hospitals.data ?? []).map((h) => (
            <option key={h.id} value={h.id}>
              {h.name}
            </option>
          ))}
        </FilterSelect>
      </div>
      <EntityTable
        query={users}
        saveError={save.error}
        columns={[t("user.displayName"), t("user.username"), t("user.role"), t("user.hospital"), t("user.licensedFor"), t("status")]}
        rows={() =>
          shown.map((u) => (
            <tr key={u.id} className={u.active ? "" : "inactive"}>
              <td data-label={t("user.displayName")}>
                {u.display_name}
                {u.title && <div className="muted small">{u.title}</div>}
              </td>
              <td data-label={t("user.username")}>
                <code>{u.username}</code>
              </td>
              <td data-label={t("user.role")}>
                {t(`common:role.${u.role}`)}
                {u.is_junior && <span className="muted small"> · {t("user.junior")}</span>}
              </td>
              <td data-label={t("user.hospital")}>{nameOf(u.hospital_id)}</td>
              <td data-label={t("user.licensedFor")} className="small">
                {u.licensed_for.map(nameOf).join(", ") || "—"}
              </td>
              <td data-label={t("status")}>
                <ActiveBadge active={u.active} />
              </td>
              <td className="row">
                <Link to={u.id} aria-label={t("editNamed", { name: u.username })}>
                  {t("common:action.edit")}
                </Link>
                <ActiveToggle
                  active={u.active}
                  question={t("user.confirmDeactivate", { name: u.display_name })}
                  pending={save.isPending}
                  onChange={(active) => setActive(u, active)}
                />
              </td>
            </tr>
          ))
        }
      />
    </EntityList>
  );
}

const FIELDS = [
  "id",
  "username",
  "password",
  "display_name",
  "role",
  "hospital_id",
  "title",
  "is_junior",
  "licensed_for",
  "subspecialties",
  "active",
] as const;

export function UserForm({
  user,
  hospitals,
  onSave,
}: {
  user?: AdminUser;
  hospitals: AdminHospital[];
  onSave: (body: Bodies["users"]) => Promise<unknown>;
}) {
  const { t } = useTranslation("admin");
  const creating = !user;
  const form = useForm<Values>({
    resolver: zodResolver(creating ? newUserSchema : userSchema),
    defaultValues: userDefaults(user),
  });
  const { register, formState, watch, control } = form;
  const subs = useFieldArray({ control, name: "subspecialties" });
  const errors = formState.errors;
  const role = watch("role") as StaffRole;
  const reader = READER_ROLES.includes(role);
  // Readers read for requesting hospitals; keep any licence already held visible even if its level changed.
  const licensable = useMemo(
    () => hospitals.filter((h) => h.level !== "tertiary" || (user?.licensed_for ?? []).includes(h.id)),
    [hospitals, user],
  );

  const { submit, failure } = useSaveSubmit(
    form,
    (values) => onSave(userBody(values, creating)),
    FIELDS,
  );

  return (
    <form onSubmit={submit} noValidate className="card admin-form">
      <div className="grid2">
        <Field label={t("user.username")} hint={t("hint.username")} error={errors.username}>
          {(aria) => <input {...aria} {...register("username")} autoComplete="off" />}
        </Field>
        <Field label={t("user.displayName")} error={errors.display_name}>
          {(aria) => <input {...aria} {...register("display_name")} />}
        </Field>
        <Field label={t("user.role")} error={errors.role}>
          {(aria) => (
            <select {...aria} {...register("role")}>
              {STAFF_ROLES.map((r) => (
                <option key={r} value={r}>
                  {t(`common:role.${r}`)}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label={t("user.hospital")} hint={t("hint.userHospital")} error={errors.hospital_id}>
          {(aria) => (
            <select {...aria} {...register("hospital_id")}>
              <option value="">{t("user.noHospital")}</option>
              {hospitals.map((h) => (
                <option key={h.id} value={h.id}>
                  {h.name}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label={t("user.title")} hint={t("hint.title")} error={errors.title}>
          {(aria) => <input {...aria} {...register("title")} />}
        </Field>
        {creating && (
          <Field label={t("user.password")} hint={t("hint.password")} error={errors.password}>
            {(aria) => <input {...aria} type="password" autoComplete="new-password" {...register("password")} />}
          </Field>
        )}
        {creating && (
          <Field label={t("user.idOptional")} hint={t("hint.id")} error={errors.id}>
            {(aria) => <input {...aria} {...register("id")} autoComplete="off" />}
          </Field>
        )}
      </div>

      {reader && (
        <fieldset>
          <legend>{t("user.reading")}</legend>
          <label className="inline">
            <input type="checkbox" {...register("is_junior")} />
            {t("user.isJunior")}
          </label>
          <fieldset className="nested" aria-describedby="licences-hint">
            <legend>{t("user.licensedFor")}</legend>
            <p id="licences-hint" className="muted small">
              {t("hint.licences")}
            </p>
            <div className="checks">
              {licensable.map((h) => (
                <label key={h.id} className="inline">
                  <input type="checkbox" value={h.id} {...register("licensed_for")} />
                  {h.name}
                </label>
              ))}
            </div>
            {errors.licensed_for && (
              <p role="alert" className="field-error small">
                {errorMessage(errors.licensed_for as never, t)}
              </p>
            )}
          </fieldset>
          <fieldset className="nested">
            <legend>{t("user.subspecialties")}</legend>
            <p className="muted small">{t("hint.subspecialties")}</p>
            {subs.fields.map((f, i) => (
              <div key={f.id} className="row sub-row">
                <Field label={t("user.modality", { n: i + 1 })} error={errorAt(errors, `subspecialties.${i}.modality`)}>
                  {(aria) => <input {...aria} {...register(`subspecialties.${i}.modality`)} placeholder="CT" />}
                </Field>
                <Field label={t("user.bodyPart", { n: i + 1 })} error={errorAt(errors, `subspecialties.${i}.body_part`)}>
                  {(aria) => <input {...aria} {...register(`subspecialties.${i}.body_part`)} placeholder="CHEST" />}
                </Field>
                <button type="button" onClick={() => subs.remove(i)}>
                  {t("user.removeSub", { n: i + 1 })}
                </button>
              </div>
            ))}
            <button type="button" onClick={() => subs.append({ modality: "", body_part: "" })}>
              {t("user.addSub")}
            </button>
            {errorAt(errors, "subspecialties") && (
              <p role="alert" className="field-error small">
                {errorMessage(errorAt(errors, "subspecialties"), t)}
              </p>
            )}
          </fieldset>
        </fieldset>
      )}

      <label className="inline">
        <input type="checkbox" {...register("active")} />
        {t("user.active")}
      </label>
      {errors.active && (
        <p role="alert" className="field-error small">
          {errorMessage(errors.active, t)}
        </p>
      )}
      <SaveFailureNotice failure={failure} />
      <FormButtons pending={formState.isSubmitting} />
    </form>
  );
}

function PasswordForm({ user }: { user: AdminUser }) {
  const { t } = useTranslation("admin");
  const setPassword = useSetPassword();
  const form = useForm<{ password: string }>({ resolver: zodResolver(passwordSchema), defaultValues: { password: "" } });
  const submit = form.handleSubmit(async ({ password }) => {
    try {
      await setPassword.mutateAsync({ id: user.id, password });
      form.reset();
    } catch (error) {
      showServerErrors(error, form.setError, ["password"]);
    }
  });
  return (
    <form onSubmit={submit} noValidate className="card admin-form" aria-labelledby="password-heading">
      <h3 id="password-heading">{t("user.setPasswordTitle")}</h3>
      <Field label={t("user.newPassword")} hint={t("hint.password")} error={form.formState.errors.password}>
        {(aria) => <input {...aria} type="password" autoComplete="new-password" {...form.register("password")} />}
      </Field>
      <ErrorMessage error={setPassword.error} />
      {setPassword.isSuccess && (
        <p role="status" className="success">
          {t("user.passwordSet", { name: user.display_name })}
        </p>
      )}
      <button type="submit" disabled={form.formState.isSubmitting}>
        {t("user.setPassword")}
      </button>
    </form>
  );
}

function UserEditor() {
  const { t } = useTranslation("admin");
  const hospitals = useAdminHospitals();
  const users = useAdminUsers();
  return (
    <EntityEditor
      collection="users"
      entities={users}
      needs={hospitals}
      heading={(user) => (user ? t("user.edit", { name: user.display_name }) : t("user.new"))}
      savedName={(body) => String(body.display_name)}
      form={(user, onSave) => (
        <>
          <UserForm key={user?.id ?? "new"} user={user} hospitals={hospitals.data ?? []} onSave={onSave} />
          {user && <PasswordForm user={user} />}
        </>
      )}
    />
  );
}

export default function UsersTab() {
  return <EntityRoutes list={<UserList />} editor={<UserEditor />} />;
}
