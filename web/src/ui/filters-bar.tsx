// Filters over the rows kept in the browser (instant, no new stream), the CEL expression pa applies
// to the stream itself (a new stream when applied, its compile error shown under it), and pause /
// resume.
import { useEffect, useState } from "preact/hooks";
import { PROVIDERS, STATUSES } from "../format/labels.js";
import type { Filters } from "../state/url-state.js";

interface Props {
  filters: Filters;
  currencies: string[];
  paused: boolean;
  waiting: number;
  onChange(filters: Filters): void;
  /** The stream's CEL expression, and pa's error when it does not compile. */
  expression: string;
  expressionError: string | undefined;
  onExpression(expression: string): void;
  onPause(): void;
  onResume(): void;
}

export function FiltersBar({
  filters,
  currencies,
  paused,
  waiting,
  onChange,
  expression,
  expressionError,
  onExpression,
  onPause,
  onResume,
}: Props) {
  const set = (patch: Partial<Filters>) => onChange({ ...filters, ...patch });
  const [draft, setDraft] = useState(expression);
  useEffect(() => setDraft(expression), [expression]);
  return (
    <div class="filters">
      <form
        class="grow cel"
        onSubmit={(e) => {
          e.preventDefault();
          onExpression(draft.trim());
        }}
      >
        <label>
          CEL filter (applied by pa)
          <input
            type="text"
            spellcheck={false}
            placeholder='payment.amount_minor >= 100000 && payment.metadata["channel"] == "web"'
            value={draft}
            aria-invalid={expressionError ? true : undefined}
            aria-describedby={expressionError ? "cel-error" : undefined}
            onInput={(e) => setDraft(e.currentTarget.value)}
          />
        </label>
        <button type="submit">{draft.trim() === expression ? "Apply" : "Apply ↵"}</button>
        {expressionError && (
          <p id="cel-error" class="error" role="alert">
            {expressionError}
          </p>
        )}
      </form>
      <label>
        Provider
        <select value={filters.provider} onChange={(e) => set({ provider: e.currentTarget.value })}>
          <option value="">any</option>
          {PROVIDERS.map((p) => (
            <option key={p.name} value={p.name}>
              {p.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Status
        <select value={filters.status} onChange={(e) => set({ status: e.currentTarget.value })}>
          <option value="">any</option>
          {STATUSES.map((s) => (
            <option key={s.name} value={s.name}>
              {s.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Currency
        <input
          list="seen-currencies"
          size={5}
          value={filters.currency}
          onInput={(e) => set({ currency: e.currentTarget.value.toUpperCase() })}
        />
      </label>
      <datalist id="seen-currencies">
        {currencies.map((c) => (
          <option key={c} value={c} />
        ))}
      </datalist>
      <label class="grow">
        Search
        <input
          type="search"
          placeholder="payment id or customer email"
          value={filters.text}
          onInput={(e) => set({ text: e.currentTarget.value })}
        />
      </label>
      {paused ? (
        <button type="button" class="primary" onClick={onResume}>
          Resume ({waiting.toLocaleString()} waiting)
        </button>
      ) : (
        <button type="button" onClick={onPause}>
          Pause
        </button>
      )}
    </div>
  );
}
