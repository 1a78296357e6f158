// `pa-cli health`: the standard gRPC health check of pa and of its payment service, plus, when
// pa is not ready, the reasons its /readyz gives.
import type { Command } from "commander";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { PaymentService } from "../../gen/payment/payment_pb.js";
import { CliError } from "../cli-errors.js";
import { type GlobalOptions, openConnection } from "../connection.js";
import { colorsFor } from "../output/colors.js";
import { CALL_TIMEOUT_MS } from "./queries.js";

export function registerHealthCommand(program: Command): void {
  program
    .command("health")
    .description("whether pa is serving (gRPC health check); exits 1 when it is not")
    .addHelpText(
      "after",
      "\nExamples:\n  $ pa-cli health\n  $ pa-cli health --server pa.internal:50051 --tls",
    )
    .action(async (_options: unknown, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      const connection = openConnection(globals);
      const health = connection.client(Health);
      const colors = colorsFor(process.stdout);
      const results: Record<string, string> = {};
      for (const service of ["", PaymentService.typeName]) {
        const answer = await health.check({ service }, { timeoutMs: CALL_TIMEOUT_MS });
        results[service || "pa"] = HealthCheckResponse_ServingStatus[answer.status] ?? String(answer.status);
      }
      const serving = Object.values(results).every((status) => status === "SERVING");
      const reasons = serving ? [] : await readinessReasons(connection.baseUrl);
      if (globals.json) {
        process.stdout.write(`${JSON.stringify({ serving, services: results, reasons })}\n`);
      } else {
        for (const [service, status] of Object.entries(results)) {
          const mark = status === "SERVING" ? colors.green(`✔ ${status}`) : colors.red(`✖ ${status}`);
          process.stdout.write(`${service.padEnd(24)} ${mark}\n`);
        }
        for (const reason of reasons) process.stdout.write(`  ${colors.yellow(reason)}\n`);
      }
      if (!serving) throw new CliError(`pa at ${connection.address} is not serving`);
    });
}

/** /readyz's reasons, when it answers; pa's health check has already said the essential. */
async function readinessReasons(baseUrl: string): Promise<string[]> {
  try {
    const response = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(5_000) });
    const body = (await response.json()) as { reasons?: unknown };
    return Array.isArray(body.reasons) ? body.reasons.map(String) : [];
  } catch {
    return [];
  }
}
