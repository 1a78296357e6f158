// The in-memory RecordSource the streaming core's unit tests use, held to the same contract as
// the real broker (test/server/kafka/record-source.integration.test.ts).
import { recordSourceContract } from "../server/kafka/record-source-contract.js";
import { FakeLog, FakeRecordSource } from "./fake-record-source.js";

recordSourceContract("the in-memory fake", async () => {
  const log = new FakeLog();
  const source = new FakeRecordSource(log, { readWaitMs: 20 });
  let topics = 0;
  return {
    source,
    createTopic: async (partitions) => {
      const topic = `fake-${++topics}`;
      log.createTopic(topic, partitions);
      return topic;
    },
    append: async (topic, records) => void log.append(topic, records),
    close: async () => source.close(),
  };
});
