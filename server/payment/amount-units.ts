/**
 * Which unit each provider's raw `amount` is written in. Stripe and Razorpay send integer minor
 * units (5000 is 50.00 USD); PayPal sends major units ("10.50"). Reading one as the other is a
 * 100x (or 1000x) error on money, so the mapping is configuration, not a guess.
 */
export type AmountUnit = "minor" | "major";

/** The units of the providers' own APIs; `*` is every provider not listed. */
export const DEFAULT_AMOUNT_UNITS = "stripe=minor,razorpay=minor,paypal=major,*=major";

export interface AmountUnits {
  /** The unit of `provider`'s amounts; `provider` is the raw provider name, lower-cased. */
  unitFor(provider: string): AmountUnit;
  /**
   * The effective setting, complete and canonical (defaults included, `*` last), so that it can be
   * logged at start-up and quoted back to an operator as a value to set.
   */
  readonly spec: string;
}

const ANY_PROVIDER = "*";
const PROVIDER_NAME = /^[a-z0-9][a-z0-9._-]*$/;
const ALLOWED_FORM =
  `AMOUNT_UNITS is a comma-separated list of <provider>=minor|major entries, with * for every ` +
  `provider not listed, e.g. "${DEFAULT_AMOUNT_UNITS}"`;

/**
 * Reads an AMOUNT_UNITS setting. Without `*`, its entries override the defaults one provider at a
 * time, so `stripe=major` changes Stripe alone and cannot silently flip Razorpay to major units.
 * With `*`, the setting says it all: `*` is every provider it does not list, the default
 * providers included, so `*=major` means every provider sends major units. An empty setting means
 * the defaults. Throws an Error that names the bad entry and the allowed form.
 */
export function parseAmountUnits(spec: string): AmountUnits {
  const given = new Map<string, AmountUnit>();
  if (spec.trim() !== "") {
    rejectOtherSeparators(spec);
    for (const entry of spec.split(",")) {
      const [provider, unit] = parseEntry(entry);
      if (given.has(provider)) {
        throw new Error(
          `AMOUNT_UNITS lists ${provider} more than once; give each provider one entry. ${ALLOWED_FORM}`,
        );
      }
      given.set(provider, unit);
    }
  }
  const units = given.has(ANY_PROVIDER)
    ? given
    : new Map<string, AmountUnit>([...splitSpec(DEFAULT_AMOUNT_UNITS), ...given]);
  // `*` is the fallback, so it reads last; every other entry keeps its first position.
  const fallback = units.get(ANY_PROVIDER) ?? "major";
  units.delete(ANY_PROVIDER);
  const canonical = [...units].map(([provider, unit]) => `${provider}=${unit}`);
  canonical.push(`${ANY_PROVIDER}=${fallback}`);
  return {
    spec: canonical.join(","),
    unitFor: (provider) => units.get(provider) ?? fallback,
  };
}

// "stripe=minor paypal=major" or "stripe=minor;paypal=major" would otherwise be read as one
// malformed entry; the message shows the value with commas.
function rejectOtherSeparators(spec: string): void {
  const pieces = spec
    .replace(/\s*=\s*/g, "=")
    .split(/[\s,;]+/)
    .filter(Boolean);
  const commaEntries = spec.split(",").filter((entry) => entry.trim() !== "").length;
  if (pieces.length > commaEntries && pieces.every((piece) => /^[^=]+=[^=]+$/.test(piece))) {
    throw new Error(`AMOUNT_UNITS separates its entries with commas; did you mean "${pieces.join(",")}"?`);
  }
}

function parseEntry(entry: string): [string, AmountUnit] {
  const trimmed = entry.trim();
  if (trimmed === "") {
    throw new Error(`AMOUNT_UNITS has an empty entry (a stray comma?). ${ALLOWED_FORM}`);
  }
  const bareUnit = trimmed.toLowerCase();
  if (bareUnit === "minor" || bareUnit === "major") {
    throw new Error(
      `AMOUNT_UNITS entry "${trimmed}" names no provider; for every provider write "*=${bareUnit}". ${ALLOWED_FORM}`,
    );
  }
  const equals = trimmed.indexOf("=");
  const provider = trimmed.slice(0, equals).trim().toLowerCase();
  const unit = trimmed
    .slice(equals + 1)
    .trim()
    .toLowerCase();
  if (
    equals === -1 ||
    (provider !== ANY_PROVIDER && !PROVIDER_NAME.test(provider)) ||
    (unit !== "minor" && unit !== "major")
  ) {
    throw new Error(`AMOUNT_UNITS entry "${trimmed}" must be <provider>=minor|major. ${ALLOWED_FORM}`);
  }
  return [provider, unit];
}

/** The entries of a spec already known to be well formed (ours, or one `parseAmountUnits` accepted). */
function splitSpec(spec: string): [string, AmountUnit][] {
  return spec.split(",").map((entry) => {
    const [provider = "", unit] = entry.split("=").map((part) => part.trim().toLowerCase());
    return [provider, unit === "minor" ? "minor" : "major"];
  });
}

/** The entry of `units.spec` that decides `provider`'s unit, as an operator would write it: `stripe=minor`, `*=major`. */
export function ruleFor(units: AmountUnits, provider: string): string {
  const listed = splitSpec(units.spec).some(([name]) => name === provider);
  return `${listed ? provider : ANY_PROVIDER}=${units.unitFor(provider)}`;
}

/**
 * `units.spec` with `provider` switched to `unit`: the exact AMOUNT_UNITS value to suggest to an
 * operator. Undefined when `provider` is not a name the setting can hold.
 */
export function specWithUnit(units: AmountUnits, provider: string, unit: AmountUnit): string | undefined {
  if (!PROVIDER_NAME.test(provider)) return undefined;
  const entries = splitSpec(units.spec);
  const listed = entries.find(([name]) => name === provider);
  if (listed) {
    listed[1] = unit;
  } else {
    const anyAt = entries.findIndex(([name]) => name === ANY_PROVIDER);
    entries.splice(anyAt === -1 ? entries.length : anyAt, 0, [provider, unit]);
  }
  return entries.map(([name, entryUnit]) => `${name}=${entryUnit}`).join(",");
}
