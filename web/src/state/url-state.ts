// The view a URL names: topic, filters and start position, so a view can be shared by its link.
export type StartChoice = { kind: "latest" } | { kind: "earliest" } | { kind: "time"; at: Date };

export interface Filters {
  provider: string;
  status: string;
  currency: string;
  /** Matched against payment id and customer email, case-insensitive. */
  text: string;
}

export interface ViewState {
  topic: string;
  start: StartChoice;
  filters: Filters;
  /** A CEL expression pa applies to the stream itself (`filter=`); empty: every payment. */
  filter: string;
  /** Rows kept in the browser (`rows=`); unset means the default. */
  maxRows: number | undefined;
}

const MAX_ROWS_LIMIT = 1_000_000;

function parseMaxRows(raw: string | null): number | undefined {
  const rows = Number(raw);
  return raw && Number.isInteger(rows) && rows > 0 && rows <= MAX_ROWS_LIMIT ? rows : undefined;
}

export const NO_FILTERS: Filters = { provider: "", status: "", currency: "", text: "" };

export function parseStart(raw: string | null): StartChoice {
  if (!raw || raw === "latest") return { kind: "latest" };
  if (raw === "earliest") return { kind: "earliest" };
  const at = new Date(raw);
  return Number.isNaN(at.getTime()) ? { kind: "latest" } : { kind: "time", at };
}

export function startToParam(start: StartChoice): string {
  return start.kind === "time" ? start.at.toISOString() : start.kind;
}

export function readViewState(search: string): ViewState {
  const params = new URLSearchParams(search);
  return {
    topic: params.get("topic") ?? "",
    start: parseStart(params.get("start")),
    filters: {
      provider: params.get("provider") ?? "",
      status: params.get("status") ?? "",
      currency: (params.get("currency") ?? "").toUpperCase(),
      text: params.get("q") ?? "",
    },
    filter: params.get("filter") ?? "",
    maxRows: parseMaxRows(params.get("rows")),
  };
}

export function viewStateToSearch(state: ViewState): string {
  const params = new URLSearchParams();
  if (state.topic) params.set("topic", state.topic);
  if (state.start.kind !== "latest") params.set("start", startToParam(state.start));
  if (state.filters.provider) params.set("provider", state.filters.provider);
  if (state.filters.status) params.set("status", state.filters.status);
  if (state.filters.currency) params.set("currency", state.filters.currency);
  if (state.filters.text) params.set("q", state.filters.text);
  if (state.filter) params.set("filter", state.filter);
  if (state.maxRows !== undefined) params.set("rows", String(state.maxRows));
  const text = params.toString();
  return text ? `?${text}` : "";
}
