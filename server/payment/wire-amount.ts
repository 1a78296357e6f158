/**
 * An amount as a provider writes it, from pa's `amount_minor` (ISO 4217 minor units): the inverse
 * of reading a record, for producers of realistic records and for checking that reading loses
 * nothing. Integer arithmetic only.
 */
import type { AmountUnit } from "./amount-units.js";
import { formatMinor, rescaleUnits } from "./money.js";
import type { CurrencyRule } from "./provider-currencies.js";

/**
 * `amountMinor` as the provider's raw `amount`: an integer count of its minor units ("minor", e.g.
 * Stripe's 500 for 5 ISK), or decimal text in major units with the places it accepts ("major",
 * e.g. PayPal's "100" for 100 HUF). Undefined when the amount is finer than the provider accepts
 * (Stripe takes no fraction of a króna).
 */
export function toWireAmount(
  amountMinor: bigint,
  isoExponent: number,
  rule: CurrencyRule,
  unit: AmountUnit,
): bigint | string | undefined {
  const accepted = rescaleUnits(amountMinor, isoExponent, rule.places);
  if (accepted === undefined) return undefined;
  if (unit === "major") return formatMinor(accepted, rule.places);
  return rescaleUnits(accepted, rule.places, rule.wireExponent);
}
