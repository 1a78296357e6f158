// The dashboard: the URL names the view (topic, start, filters); one live stream per topic and
// start; everything else (table, charts, health, dead letters) reads from that stream's model or
// polls pa's unary RPCs.
import { useEffect, useMemo, useState } from "preact/hooks";
import { listSnapshot } from "../../client/list-snapshot.js";
import type { TopicList } from "../../gen/payment/payment_pb.js";
import type { PaClients } from "./api/clients.js";
import type { Credential } from "./api/credential.js";
import { plainError } from "./api/plain-errors.js";
import { LiveModel, type LiveRow } from "./live/live-model.js";
import { type ConnectionState, openLiveStream } from "./live/live-stream.js";
import {
  type Filters,
  readViewState,
  type StartChoice,
  startToParam,
  type ViewState,
  viewStateToSearch,
} from "./state/url-state.js";
import { Charts } from "./ui/charts.js";
import { DetailView } from "./ui/detail-view.js";
import { DlqPanel } from "./ui/dlq-panel.js";
import { FiltersBar } from "./ui/filters-bar.js";
import { connectionLabel, HealthPanel } from "./ui/health-panel.js";
import { PaymentTable } from "./ui/payment-table.js";
import { TokenPrompt, useCredential } from "./ui/token-prompt.js";
import { TopicPicker } from "./ui/topic-picker.js";
import { useInterval, useModelVersion } from "./ui/use-model.js";

const DEFAULT_MAX_ROWS = 10_000;
const EXISTING_LIMIT = 100;
const TOPICS_POLL_MS = 3000;
// The table and counters change at most ten times a second; see LiveModel.
const MIN_APPLY_GAP_MS = 100;

type Theme = "light" | "dark";

function initialTheme(): Theme {
  const saved = localStorage.getItem("pa-theme");
  if (saved === "light" || saved === "dark") return saved;
  return matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

export function App({ clients, credential }: { clients: PaClients; credential: Credential }) {
  // A new token (or none) retries whatever pa refused: the stream and the polls restart.
  const credentialGeneration = useCredential(credential);
  const [view, setView] = useState<ViewState>(() => readViewState(location.search));
  const [theme, setTheme] = useState<Theme>(initialTheme);
  const [connection, setConnection] = useState<ConnectionState>();
  const [topics, setTopics] = useState<TopicList>();
  const [topicsError, setTopicsError] = useState<string>();
  const [selected, setSelected] = useState<LiveRow>();
  const maxRows = view.maxRows ?? DEFAULT_MAX_ROWS;

  // The URL follows the view; a new topic or start is a new history entry, a filter is not.
  useEffect(() => {
    const search = viewStateToSearch(view);
    if (search === location.search) return;
    const url = `${location.pathname}${search}`;
    if (readViewState(location.search).topic !== view.topic) history.pushState(null, "", url);
    else history.replaceState(null, "", url);
  }, [view]);
  useEffect(() => {
    const onPop = () => setView(readViewState(location.search));
    addEventListener("popstate", onPop);
    return () => removeEventListener("popstate", onPop);
  }, []);
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem("pa-theme", theme);
  }, [theme]);

  const startKey = startToParam(view.start);
  // A new token starts the view afresh: the stream it reopens sends the snapshot again.
  const model = useMemo(
    () =>
      view.topic
        ? new LiveModel(maxRows, (flush) => requestAnimationFrame(flush), MIN_APPLY_GAP_MS)
        : undefined,
    [view.topic, startKey, view.filter, maxRows, credentialGeneration],
  );
  useEffect(() => {
    if (!model) return;
    setSelected(undefined);
    const latest = view.start.kind === "latest";
    const stream = openLiveStream({
      client: clients.streams,
      topic: view.topic,
      start: view.start,
      filter: view.filter,
      // From the earliest record or a time, Kafka replays what the snapshot would show.
      existingLimit: latest ? EXISTING_LIMIT : 0,
      // Listed, then streamed from the list's as_of: the stream has a position to resume from
      // before its first live event.
      ...(latest
        ? {
            snapshot: (signal: AbortSignal) =>
              listSnapshot(
                clients.payments,
                { topic: view.topic, existingLimit: EXISTING_LIMIT, filter: view.filter },
                signal,
              ),
          }
        : {}),
      onEvent: (event) => model.add(event),
      onState: setConnection,
    });
    document.title = `pa · ${view.topic}`;
    return () => stream.stop();
  }, [model, clients]);
  useModelVersion(model);

  useInterval(
    () => {
      clients.payments.getTopics({}).then(
        (list) => {
          setTopics(list);
          setTopicsError(undefined);
        },
        (error: unknown) => setTopicsError(plainError(error, "listing the topics").message),
      );
    },
    TOPICS_POLL_MS,
    [clients, credentialGeneration],
  );

  const rows = model ? model.view(view.filters) : [];
  const currencies = model ? [...model.currencies].sort() : [];
  const watch = (topic: string, start: StartChoice) => setView((v) => ({ ...v, topic, start }));
  const setFilters = (filters: Filters) => setView((v) => ({ ...v, filters }));
  const label = connectionLabel(connection);

  return (
    <div class="app">
      <header class="top">
        <h1>
          pa <span class="muted">live payments</span>
        </h1>
        <TopicPicker
          topic={view.topic}
          start={view.start}
          knownTopics={topics?.topics ?? []}
          onWatch={watch}
        />
        {view.topic && <span class={`state ${label.tone}`}>{label.text}</span>}
        <button
          type="button"
          onClick={() => setTheme(theme === "dark" ? "light" : "dark")}
          aria-label={`Switch to ${theme === "dark" ? "light" : "dark"} theme`}
        >
          {theme === "dark" ? "☀ light" : "☾ dark"}
        </button>
      </header>
      <TokenPrompt credential={credential} />
      {connection?.kind === "error" && !connection.inFilter && (
        <p class="banner error" role="alert">
          {connection.message}
        </p>
      )}
      {connection?.kind === "reconnecting" && (
        <p class="banner warn-text">{connection.reason} Reconnecting…</p>
      )}
      {!view.topic && (
        <p class="banner">Pick a topic to watch: one pa is consuming, or type the name of any topic.</p>
      )}
      {model && (
        <main class="layout">
          <section class="live" aria-label="Live payments">
            <FiltersBar
              filters={view.filters}
              currencies={currencies}
              paused={model.paused}
              waiting={model.waitingCount}
              onChange={setFilters}
              expression={view.filter}
              expressionError={
                connection?.kind === "error" && connection.inFilter ? connection.message : undefined
              }
              onExpression={(filter) => setView((v) => ({ ...v, filter }))}
              onPause={() => model.pause()}
              onResume={() => model.resume()}
            />
            <p class="muted counts">
              showing {rows.length.toLocaleString()} of {model.rows.length.toLocaleString()} kept (at most{" "}
              {maxRows.toLocaleString()})
            </p>
            <PaymentTable rows={rows} onOpen={setSelected} />
          </section>
          <aside class="side">
            <HealthPanel
              connection={connection}
              topics={topics}
              topicsError={topicsError}
              selected={view.topic}
              received={model.received}
              folded={model.folded}
            />
            <Charts model={model} />
            <DlqPanel topic={view.topic} clients={clients} />
          </aside>
        </main>
      )}
      {selected && model && (
        <DetailView
          row={selected}
          history={model.historyOf(selected.event.payment?.id ?? "")}
          clients={clients}
          onClose={() => setSelected(undefined)}
        />
      )}
    </div>
  );
}
