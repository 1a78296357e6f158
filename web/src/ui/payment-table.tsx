// The live table: newest first, virtualized with @tanstack/virtual-core so only the rows in view
// (plus a few) are in the DOM however many are kept.
import { elementScroll, observeElementOffset, observeElementRect, Virtualizer } from "@tanstack/virtual-core";
import { useLayoutEffect, useMemo, useReducer, useRef } from "preact/hooks";
import { formatTime, providerName, statusName } from "../format/labels.js";
import { formatMoney } from "../format/money.js";
import type { LiveRow, RowsView } from "../live/live-model.js";

const ROW_HEIGHT = 32;

interface Props {
  rows: RowsView;
  onOpen(row: LiveRow): void;
}

export function PaymentTable({ rows, onOpen }: Props) {
  const scroller = useRef<HTMLTableSectionElement>(null);
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const virtualizer = useMemo(
    () =>
      new Virtualizer<HTMLTableSectionElement, Element>({
        count: 0,
        getScrollElement: () => scroller.current,
        estimateSize: () => ROW_HEIGHT,
        overscan: 8,
        observeElementRect,
        observeElementOffset,
        scrollToFn: elementScroll,
        onChange: () => rerender(undefined),
      }),
    [],
  );
  virtualizer.setOptions({
    ...virtualizer.options,
    count: rows.length,
    getItemKey: (i) => i,
  });
  useLayoutEffect(() => virtualizer._didMount(), [virtualizer]);
  useLayoutEffect(() => virtualizer._willUpdate());

  const items = virtualizer.getVirtualItems();
  return (
    <div class="table">
      <table aria-label="Payments, newest first" aria-rowcount={rows.length + 1}>
        <thead>
          <tr class="row head">
            <th>time</th>
            <th>id</th>
            <th>provider</th>
            <th class="num">amount</th>
            <th>status</th>
            <th>customer</th>
            <th>source</th>
          </tr>
        </thead>
        <tbody class="scroller" ref={scroller}>
          <tr class="spacer" style={{ height: `${virtualizer.getTotalSize()}px` }} />
          {items.map((item) => {
            const row = rows.at(item.index);
            const payment = row?.event.payment;
            if (!row || !payment) return null;
            const status = statusName(payment.status);
            return (
              // Keyed by position: when rows arrive on top, the same DOM rows get new text instead
              // of every row moving and new ones being created.
              <tr
                key={item.index}
                class={`row ${row.existing ? "existing" : "new"}`}
                style={{ transform: `translateY(${item.start}px)`, height: `${ROW_HEIGHT}px` }}
                aria-rowindex={item.index + 2}
                data-payment-id={payment.id}
              >
                <td title={row.existing ? "stored before you connected" : "live"}>
                  <span class={`kind ${row.existing ? "existing" : "new"}`}>
                    {row.existing ? "existing" : "new"}
                  </span>
                  {formatTime(payment.createdAt)}
                </td>
                <td>
                  <button type="button" class="link" onClick={() => onOpen(row)}>
                    {payment.id}
                  </button>
                </td>
                <td>{providerName(payment.provider)}</td>
                <td class="num amount">
                  {formatMoney(payment.amountMinor, payment.amount, payment.currency, navigator.language)}
                </td>
                <td>
                  <span class={`badge ${status}`}>{status}</span>
                </td>
                <td class="ellipsis">{payment.customerEmail}</td>
                <td class="mono">
                  {row.existing ? "store" : `p${row.event.partition} @${row.event.offset}`}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {rows.length === 0 && <p class="empty">No payments yet for this view.</p>}
    </div>
  );
}
