// Turns a ListPaymentsRequest into the store's query, checking each filter: the PoC's fields keep
// their meaning (limit 0 means 10, PROVIDER_UNKNOWN / STATUS_UNKNOWN mean any), the new ones are
// validated with messages that say what to fix.
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { type ListPaymentsRequest, PaymentStatus, Provider } from "../../gen/payment/payment_pb.js";
import { currencyExponent } from "../payment/currencies.js";
import type { ListQuery } from "../store/payment-store.js";
import { listLimit, RequestError } from "./request-validation.js";

function unixSeconds(timestamp: Timestamp | undefined): bigint | undefined {
  return timestamp ? timestamp.seconds : undefined;
}

function union<T extends number>(
  single: T,
  many: readonly T[],
  unknown: T,
  name: string,
  isKnown: (v: T) => boolean,
) {
  const values = [...(single === unknown ? [] : [single]), ...many];
  for (const value of values) {
    if (!isKnown(value)) throw new RequestError("invalid_argument", `${name} ${value} is not a known value`);
  }
  return [...new Set(values.filter((v) => v !== unknown))];
}

export function listQuery(request: ListPaymentsRequest): ListQuery {
  const providers = union(
    request.provider,
    request.providers,
    Provider.UNKNOWN,
    "provider",
    (v) => v in Provider,
  );
  const statuses = union(
    request.status,
    request.statuses,
    PaymentStatus.STATUS_UNKNOWN,
    "status",
    (v) => v in PaymentStatus,
  );
  const currency = request.currency.trim().toUpperCase();
  if (currency && currencyExponent(currency) === undefined) {
    throw new RequestError(
      "invalid_argument",
      `currency "${request.currency}" is not an ISO 4217 code (e.g. USD, EUR, JPY)`,
    );
  }
  const createdFrom = unixSeconds(request.createdFrom);
  const createdTo = unixSeconds(request.createdTo);
  if (createdFrom !== undefined && createdTo !== undefined && createdFrom >= createdTo) {
    throw new RequestError("invalid_argument", "created_from must be before created_to");
  }
  const { minAmountMinor, maxAmountMinor } = request;
  if (minAmountMinor !== undefined && maxAmountMinor !== undefined && minAmountMinor > maxAmountMinor) {
    throw new RequestError("invalid_argument", "min_amount_minor must not exceed max_amount_minor");
  }
  const email = request.customerEmail.trim();
  const topic = request.topic.trim();
  return {
    limit: listLimit(request.limit),
    ...(request.cursor ? { cursor: request.cursor } : {}),
    ...(topic ? { topic } : {}),
    ...(providers.length > 0 ? { providers } : {}),
    ...(statuses.length > 0 ? { statuses } : {}),
    ...(currency ? { currency } : {}),
    ...(email ? { customerEmail: email } : {}),
    ...(createdFrom !== undefined ? { createdFrom } : {}),
    ...(createdTo !== undefined ? { createdTo } : {}),
    ...(minAmountMinor !== undefined ? { minAmountMinor } : {}),
    ...(maxAmountMinor !== undefined ? { maxAmountMinor } : {}),
  };
}
