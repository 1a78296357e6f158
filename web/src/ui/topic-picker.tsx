// Picks the topic to watch (from GetTopics, or typed in for a topic pa is not consuming yet) and
// where the stream starts.
import { useEffect, useState } from "preact/hooks";
import type { StartChoice } from "../state/url-state.js";

interface Props {
  topic: string;
  start: StartChoice;
  knownTopics: string[];
  onWatch(topic: string, start: StartChoice): void;
}

function toLocalInput(date: Date): string {
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

export function TopicPicker({ topic, start, knownTopics, onWatch }: Props) {
  const [draft, setDraft] = useState(topic);
  const [kind, setKind] = useState<StartChoice["kind"]>(start.kind);
  const [time, setTime] = useState(start.kind === "time" ? toLocalInput(start.at) : "");
  useEffect(() => setDraft(topic), [topic]);
  useEffect(() => {
    setKind(start.kind);
    if (start.kind === "time") setTime(toLocalInput(start.at));
  }, [start]);

  const submit = (event: Event) => {
    event.preventDefault();
    const name = draft.trim();
    if (!name) return;
    const at = new Date(time);
    const chosen: StartChoice =
      kind === "time" && !Number.isNaN(at.getTime())
        ? { kind: "time", at }
        : { kind: kind === "time" ? "latest" : kind };
    onWatch(name, chosen);
  };

  return (
    <form class="topic-picker" onSubmit={submit}>
      <label>
        Topic
        <input
          name="topic"
          list="known-topics"
          value={draft}
          placeholder="e.g. poc.kafka.go.side.car.payments"
          onInput={(e) => setDraft(e.currentTarget.value)}
          required
        />
      </label>
      <datalist id="known-topics">
        {knownTopics.map((name) => (
          <option key={name} value={name} />
        ))}
      </datalist>
      <label>
        Start
        <select
          name="start"
          value={kind}
          onChange={(e) => setKind(e.currentTarget.value as StartChoice["kind"])}
        >
          <option value="latest">latest</option>
          <option value="earliest">earliest</option>
          <option value="time">from a time</option>
        </select>
      </label>
      {kind === "time" && (
        <label>
          From
          <input
            type="datetime-local"
            name="start-time"
            value={time}
            onInput={(e) => setTime(e.currentTarget.value)}
          />
        </label>
      )}
      <button type="submit">Watch</button>
    </form>
  );
}
