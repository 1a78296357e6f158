// Times (and, with tracing on, traces) every call Connect's handler serves, whatever its protocol;
// the native gRPC StreamPayments path does the same through the same RpcObserver. Outermost, so it
// sees the status code the client gets, after error mapping. A stream is timed until it ends.
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { RpcProtocol } from "./metrics.js";
import type { CallEnd, RpcObserver } from "./rpc-observer.js";
import { traceContextKey } from "./tracing.js";

/** The wire protocol of a call, from its content type. */
export function protocolOf(contentType: string | null): RpcProtocol {
  if (contentType?.startsWith("application/grpc-web")) return "grpc_web";
  if (contentType?.startsWith("application/grpc")) return "grpc";
  return "connect";
}

export function rpcMetricsInterceptor(observer: RpcObserver): Interceptor {
  return (next) => async (request) => {
    const { end, context } = observer.start({
      service: request.service.typeName,
      method: request.method.name,
      protocol: protocolOf(request.header.get("content-type")),
      header: (name) => request.header.get(name),
    });
    if (context) request.contextValues.set(traceContextKey, context);
    try {
      const response = await next(request);
      if (!response.stream) {
        end();
        return response;
      }
      return { ...response, message: endWithStream(response.message, request.signal, end) };
    } catch (error) {
      end(error);
      throw error;
    }
  };
}

// A client that went away ends the stream's events without an error (its subscription closes):
// the call counts as cancelled, as on the native path.
async function* endWithStream<T>(
  messages: AsyncIterable<T>,
  signal: AbortSignal,
  end: CallEnd,
): AsyncIterable<T> {
  const cancelled = () => new ConnectError("the client went away", Code.Canceled);
  try {
    yield* messages;
    end(signal.aborted ? cancelled() : undefined);
  } catch (error) {
    end(error);
    throw error;
  } finally {
    // Abandoned mid-write (return() from the handler): the client is gone.
    end(cancelled());
  }
}
