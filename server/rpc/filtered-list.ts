// ListPayments with a CEL filter: the store's indexed filters narrow, the expression is evaluated
// on what they leave, page by page, examining at most LIST_MAX_EXAMINED rows per answer. Each store
// read asks for no more rows than matches are still missing, so the page never ends inside a read:
// the last read's next_cursor is exactly where the next answer continues.
import type { PaymentFilterExpression } from "../filtering/payment-filter.js";
import type { ListPage, ListQuery, PaymentStore, StoredPayment } from "../store/payment-store.js";

/** Rows of the indexed result one ListPayments answer evaluates the expression on, at most. */
export const LIST_MAX_EXAMINED = 1000;

export interface FilteredPage extends ListPage {
  /** The row budget ran out before `limit` payments matched; more may follow at nextCursor. */
  stoppedEarly: boolean;
  /** Rows the expression failed on (left out). */
  filterErrors: number;
}

export async function listFiltered(
  store: PaymentStore,
  query: ListQuery,
  expression: PaymentFilterExpression,
  /** What the expression sees of a payment (the masked view for a caller without `pii`). */
  view: (payment: StoredPayment) => StoredPayment["payment"],
  maxExamined = LIST_MAX_EXAMINED,
): Promise<FilteredPage> {
  const payments: StoredPayment[] = [];
  let examined = 0;
  let filterErrors = 0;
  let cursor = query.cursor;
  let totalCount: number | undefined;
  for (;;) {
    const size = Math.min(query.limit - payments.length, maxExamined - examined);
    const { cursor: _, ...rest } = query;
    const page = await store.list({ ...rest, ...(cursor ? { cursor } : {}), limit: size });
    totalCount ??= page.totalCount;
    examined += page.payments.length;
    for (const stored of page.payments) {
      const outcome = expression.evaluate(view(stored));
      if (outcome === "match") payments.push(stored);
      else if (outcome === "error") filterErrors++;
    }
    cursor = page.nextCursor;
    if (!cursor || payments.length >= query.limit) {
      return { payments, nextCursor: cursor, totalCount, stoppedEarly: false, filterErrors };
    }
    if (examined >= maxExamined) {
      return { payments, nextCursor: cursor, totalCount, stoppedEarly: true, filterErrors };
    }
  }
}
