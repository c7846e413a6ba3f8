import { zodResolver } from "@hookform/resolvers/zod";
import { useForm } from "react-hook-form";
import { useTranslation } from "react-i18next";
import { Navigate, useLocation, useNavigate } from "react-router-dom";
import { z } from "zod";

import { useSession } from "../auth/session";
import { signInError } from "../auth/signInError";
import { HOME, LanguageSwitch } from "../components/Shell";

const schema = z.object({ username: z.string().min(1), password: z.string().min(1) });
type Form = z.infer<typeof schema>;

export default function Login() {
  const { t } = useTranslation();
  const { me, ended, signIn } = useSession();
  const navigate = useNavigate();
  const location = useLocation();
  const from = (location.state as { from?: string } | null)?.from;
  const form = useForm<Form>({ resolver: zodResolver(schema), defaultValues: { username: "", password: "" } });

  if (me) return <Navigate to={from ?? HOME[me.role]} replace />;

  const onSubmit = form.handleSubmit(async ({ username, password }) => {
    try {
      const who = await signIn(username, password);
      navigate(from ?? HOME[who.role], { replace: true });
    } catch (error) {
      form.setError("root", { message: signInError(error, t) });
    }
  });

  return (
    <main className="login">
      <form onSubmit={onSubmit} className="card narrow" aria-labelledby="login-title" noValidate>
        <div className="row between">
          <h1 id="login-title">
            {t("app.name")} · {t("session.signIn")}
          </h1>
          <LanguageSwitch />
        </div>
        {ended && (
          <p role="status" className={ended === "expired" ? "warning" : "muted"}>
            {ended === "expired" ? t("session.expired") : t("session.signedOut")}
          </p>
        )}
        <label>
          {t("session.username")}
          <input autoComplete="username" autoFocus {...form.register("username")} />
        </label>
        <label>
          {t("session.password")}
          <input type="password" autoComplete="current-password" {...form.register("password")} />
        </label>
        {form.formState.errors.root && (
          <p role="alert" className="error">
            {form.formState.errors.root.message}
          </p>
        )}
        <button type="submit" className="primary" disabled={form.formState.isSubmitting}>
          {form.formState.isSubmitting ? t("session.signingIn") : t("session.signIn")}
        </button>
      </form>
    </main>
  );
}
