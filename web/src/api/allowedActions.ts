// What the signed-in person may do to a case is the server's answer: every referral it returns carries
// `allowed_actions` for the caller (domain.referral.allowed_actions, read from the transition table). The web app
// shows exactly those buttons and keeps no copy of the rules; the server still checks every action it is sent.
import { personActionValues, type PersonAction } from "./generated/schema";
import type { Referral } from "./types";

/** Every action a person may be offered, as the OpenAPI document lists them (generated). */
export const REFERRAL_ACTIONS: readonly ReferralAction[] = personActionValues;
export type ReferralAction = PersonAction;

/** Whether the server offers `action` to the signed-in person on this case. */
export function allows(referral: Pick<Referral, "allowed_actions">, action: ReferralAction): boolean {
  return referral.allowed_actions.includes(action);
}

/** Whether any of `actions` is offered. */
export function allowsAny(referral: Pick<Referral, "allowed_actions">, ...actions: ReferralAction[]): boolean {
  return actions.some((action) => allows(referral, action));
}
