// Times (and, with tracing on, traces) every call Connect's handler serves, whatever its protocol;
// the native gRPC StreamPayments path does the same through the same RpcObserver. Outermost, so it
// sees the status code the client gets, after error mapping. A stream is timed until it ends.
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { RpcProtocol } from "./metrics.js";
import type { CallEnd, RpcObserver } from "./rpc-observer.js";

/** The wire protocol of a call, from its content type. */
export function protocolOf(contentType: string | null): RpcProtocol {
  if (contentType?.startsWith("application/grpc-web")) return "grpc_web";
  if (contentType?.startsWith("application/grpc")) return "grpc";
  return "connect";
}

export function rpcMetricsInterceptor(observer: RpcObserver): Interceptor {
  return (next) => async (request) => {
    const end = observer.start({
      service: request.service.typeName,
      method: request.method.name,
      protocol: protocolOf(request.header.get("content-type")),
      header: (name) => request.header.get(name),
    });
    try {
      const response = await next(request);
      if (!response.stream) {
        end();
        return response;
      }
      return { ...response, message: endWithStream(response.message, end) };
    } catch (error) {
      end(error);
      throw error;
    }
  };
}

async function* endWithStream<T>(messages: AsyncIterable<T>, end: CallEnd): AsyncIterable<T> {
  try {
    yield* messages;
    end();
  } catch (error) {
    end(error);
    throw error;
  } finally {
    // Abandoned by a client that went away: recorded as cancelled.
    end(new ConnectError("the client went away", Code.Canceled));
  }
}
