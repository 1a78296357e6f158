// Structured, leveled logs: JSON lines in production, readable lines in a terminal. Messages keep
// the PoC's prefixes ([MANAGER], [CONSUMER:topic], [DLQ:topic]) so its operators recognise them.
import pino, { type Logger } from "pino";
import pretty from "pino-pretty";
import type { Config } from "../config/config.js";

export type { Logger };

export function createLogger(config: Config["log"], destination?: NodeJS.WritableStream): Logger {
  const options: pino.LoggerOptions = {
    level: config.level,
    base: { service: "pa" },
    // Secrets never reach a log line, whichever object they ride in on.
    redact: { paths: ["*.password", "*.sasl.password", "password", "authorization"], censor: "***" },
  };
  if (config.format === "pretty") {
    // A synchronous stream, not a transport: no worker thread, and lines are not lost on exit.
    const stream = pretty({
      colorize: process.stdout.isTTY === true && !process.env.NO_COLOR,
      translateTime: "HH:MM:ss.l",
      ignore: "pid,hostname,service",
      sync: true,
      ...(destination ? { destination } : {}),
    });
    return pino(options, stream);
  }
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
}
