// The selected topic's dead-letter queue as a work list: what failed and why, and a redrive action
// (pa.admin.v1.DeadLetterService) for one record or all of them.
import { useEffect, useState } from "preact/hooks";
import type { ListDeadLettersResponse } from "../../../gen/pa/admin/v1/dead_letter_service_pb.js";
import type { PaClients } from "../api/clients.js";
import { plainError } from "../api/plain-errors.js";
import { useInterval } from "./use-model.js";

const POLL_MS = 3000;

export function DlqPanel({ topic, clients }: { topic: string; clients: PaClients }) {
  const [list, setList] = useState<ListDeadLettersResponse>();
  const [problem, setProblem] = useState<string>();
  const [outcome, setOutcome] = useState<string>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    setList(undefined);
    setProblem(undefined);
    setOutcome(undefined);
  }, [topic]);

  const load = () => {
    if (!topic) return;
    clients.deadLetters.listDeadLetters({ topic, pageSize: 100 }).then(
      (response) => {
        setList(response);
        setProblem(undefined);
      },
      (error: unknown) => setProblem(plainError(error, `listing the dead letters of ${topic}`).message),
    );
  };
  useInterval(load, POLL_MS, [topic, clients]);

  const redrive = async (
    selection:
      | { case: "all"; value: true }
      | { case: "refs"; value: { refs: { originalPartition: number; originalOffset: bigint }[] } },
  ) => {
    setBusy(true);
    try {
      const response = await clients.deadLetters.redriveDeadLetters({ topic, selection });
      const skipped = response.skipped.map(
        (s) => `p${s.source?.originalPartition} @${s.source?.originalOffset}: ${s.detail}`,
      );
      setOutcome(
        `Redriven ${response.redriven.length}${skipped.length ? `, skipped ${skipped.length} (${skipped.join("; ")})` : ""}.`,
      );
      load();
    } catch (error) {
      setOutcome(plainError(error, `redriving the dead letters of ${topic}`).message);
    } finally {
      setBusy(false);
    }
  };

  if (!topic) return null;
  const letters = list?.deadLetters ?? [];
  return (
    <section class="panel dlq" aria-label="Dead letters">
      <h2>
        Dead letters <span class="muted">({(list?.totalCount ?? 0n).toLocaleString()})</span>
      </h2>
      {problem && <p class="error">{problem}</p>}
      {outcome && <p role="status">{outcome}</p>}
      {letters.length > 0 && (
        <button type="button" disabled={busy} onClick={() => redrive({ case: "all", value: true })}>
          Redrive all
        </button>
      )}
      {letters.length === 0 && !problem && (
        <p class="muted">None: every record of {topic} became a payment.</p>
      )}
      <ul class="letters">
        {letters.map((letter) => (
          <li key={`${letter.originalPartition}:${letter.originalOffset}`}>
            <div>
              <span class="badge failed">{letter.error}</span>{" "}
              <span class="mono">
                p{letter.originalPartition} @{letter.originalOffset}
              </span>
              {letter.redriveCount > 0 && <span class="muted"> · redriven {letter.redriveCount}×</span>}
            </div>
            <p class="reason">{letter.reason}</p>
            <details>
              <summary>record</summary>
              <pre class="mono wrap">{letter.value}</pre>
            </details>
            <button
              type="button"
              disabled={busy}
              onClick={() =>
                redrive({
                  case: "refs",
                  value: {
                    refs: [
                      { originalPartition: letter.originalPartition, originalOffset: letter.originalOffset },
                    ],
                  },
                })
              }
            >
              Redrive
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
