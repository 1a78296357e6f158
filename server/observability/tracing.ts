// OpenTelemetry tracing, off unless OTEL_EXPORTER_OTLP_ENDPOINT is set. Off, nothing of the SDK
// is loaded or started: the tracer is the API's no-op one and `enabled` is false, which every
// caller checks before doing any per-record work. On, spans go to the endpoint over OTLP/HTTP in
// batches. The provider is this object's, never registered globally, and contexts are passed
// explicitly, so two pa instances in one process trace independently.

import { createContextKey } from "@connectrpc/connect";
import {
  type Context,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  type TextMapGetter,
  type Tracer,
  type TracerProvider,
  trace,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";

export interface TracingConfig {
  /** OTEL_EXPORTER_OTLP_ENDPOINT: the collector's base URL; traces go to <endpoint>/v1/traces. */
  endpoint?: string;
  /** OTEL_SERVICE_NAME: the service.name of pa's spans. */
  serviceName: string;
}

/** The trace context of the RPC a handler serves, while tracing is on (set by the RPC interceptor). */
export const traceContextKey = createContextKey<Context | undefined>(undefined, {
  description: "the RPC's trace context",
});

const TRACER_NAME = "pa";
const carrierGetter: TextMapGetter<Record<string, string>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

export class Tracing {
  readonly tracer: Tracer;
  private readonly propagator = new W3CTraceContextPropagator();
  // The context of the record an event came from, for the stream-send span at write time. Weak:
  // an event forgotten by every queue takes its entry with it.
  private readonly eventContexts = new WeakMap<object, Context>();

  private constructor(
    readonly provider: TracerProvider,
    private readonly shutdown: () => Promise<void>,
  ) {
    this.tracer = provider.getTracer(TRACER_NAME);
  }

  /** No tracing: the API's no-op tracer, nothing started. */
  static off(): Tracing {
    return new Tracing(new ProxyTracerProvider(), () => Promise.resolve());
  }

  /** Starts the SDK and its exporter when an endpoint is configured; otherwise `off()`. */
  static async start(config: TracingConfig): Promise<Tracing> {
    if (!config.endpoint) return Tracing.off();
    // Loaded only when tracing is on: a pa without it never loads the SDK.
    const [{ NodeTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }] =
      await Promise.all([
        import("@opentelemetry/sdk-trace-node"),
        import("@opentelemetry/exporter-trace-otlp-http"),
        import("@opentelemetry/resources"),
      ]);
    const exporter = new OTLPTraceExporter({ url: `${config.endpoint.replace(/\/+$/, "")}/v1/traces` });
    const provider = new NodeTracerProvider({
      resource: resourceFromAttributes({ "service.name": config.serviceName }),
      spanProcessors: [new BatchSpanProcessor(exporter)],
    });
    return new Tracing(provider, () => provider.shutdown());
  }

  /** False with no endpoint: callers skip all tracing work. */
  get enabled(): boolean {
    return !(this.provider instanceof ProxyTracerProvider);
  }

  /** The remote parent a W3C `traceparent` (and `tracestate`) carries; undefined without one. */
  extract(carrier: Record<string, string>): Context | undefined {
    if (!carrier.traceparent) return undefined;
    const context = this.propagator.extract(ROOT_CONTEXT, carrier, carrierGetter);
    return trace.getSpanContext(context) ? context : undefined;
  }

  /** `traceparent` (and `tracestate`) headers continuing the given context. */
  inject(context: Context): Record<string, string> {
    const carrier: Record<string, string> = {};
    this.propagator.inject(context, carrier, {
      set: (c, key, value) => {
        c[key] = value;
      },
    });
    return carrier;
  }

  /** Remembers the traced record an event was made from. */
  linkEvent(event: object, context: Context): void {
    this.eventContexts.set(event, context);
  }

  contextOfEvent(event: object): Context | undefined {
    return this.eventContexts.get(event);
  }

  /** Flushes the spans not yet exported and stops the SDK. */
  stop(): Promise<void> {
    return this.shutdown();
  }
}
