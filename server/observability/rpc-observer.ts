// One place that times an RPC and traces it, for both ways a call reaches pa: Connect's handler
// (rpc-metrics-interceptor.ts) and the native gRPC StreamPayments path. A call's duration lands in
// pa_rpc_duration_seconds with its status code; while tracing is on it also gets a server span that
// continues the caller's `traceparent`.

import { ConnectError } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { type Context, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { PaMetrics, RpcProtocol } from "./metrics.js";
import type { Tracing } from "./tracing.js";

export interface ObservedCall {
  service: string;
  method: string;
  protocol: RpcProtocol;
  /** The request's headers, for a `traceparent`. */
  header: (name: string) => string | null | undefined;
}

/** Ends an observed call: without an error it succeeded. */
export type CallEnd = (error?: unknown) => void;

export interface ObservedCallHandle {
  end: CallEnd;
  /** The call's span as a parent for work done for it; undefined while tracing is off. */
  context: Context | undefined;
}

export class RpcObserver {
  constructor(
    private readonly metrics: PaMetrics,
    private readonly tracing: Tracing,
  ) {}

  start(call: ObservedCall): ObservedCallHandle {
    const { service, method, protocol } = call;
    const stopTimer = this.metrics.rpcDuration.startTimer({ service, method, protocol });
    const span = this.tracing.enabled ? this.startSpan(call) : undefined;
    let ended = false;
    const end: CallEnd = (error) => {
      if (ended) return;
      ended = true;
      const code = error === undefined ? undefined : ConnectError.from(error).code;
      stopTimer({ code: code === undefined ? "ok" : codeToString(code) });
      if (!span) return;
      span.setAttribute("rpc.grpc.status_code", code ?? 0);
      if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
      span.end();
    };
    return { end, context: span && trace.setSpan(ROOT_CONTEXT, span) };
  }

  private startSpan(call: ObservedCall): Span {
    const traceparent = call.header("traceparent");
    const tracestate = call.header("tracestate");
    const parent = traceparent
      ? this.tracing.extract({ traceparent, ...(tracestate ? { tracestate } : {}) })
      : undefined;
    return this.tracing.tracer.startSpan(
      `${call.service}/${call.method}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          "rpc.system": call.protocol === "connect" ? "connect_rpc" : "grpc",
          "rpc.service": call.service,
          "rpc.method": call.method,
          "pa.rpc.protocol": call.protocol,
        },
      },
      parent,
    );
  }
}
