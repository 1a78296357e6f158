// connect-node's connectNodeAdapter, with two steps added between Connect's handler and the Node
// response: requests Connect cannot decode are answered INVALID_ARGUMENT, not INTERNAL
// (undecodable-requests.ts), and gRPC status messages are encoded as the gRPC spec says
// (grpc-message.ts). The rest is connect-node's own functions, used as its adapter does.
import type http from "node:http";
import type http2 from "node:http2";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  type ConnectRouterOptions,
  type ContextValues,
  createConnectRouter,
} from "@connectrpc/connect";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";
import type { Logger } from "../observability/logger.js";
import { grpcMessageAsSpecified } from "./grpc-message.js";
import { undecodableAsInvalidArgument } from "./undecodable-requests.js";

type NodeRequest = http.IncomingMessage | http2.Http2ServerRequest;
type NodeResponse = http.ServerResponse | http2.Http2ServerResponse;

export interface RpcAdapterOptions extends ConnectRouterOptions {
  routes: (router: ConnectRouter) => void;
  contextValues: (request: NodeRequest) => ContextValues;
  /** Requests for paths no RPC serves. */
  fallback: (request: NodeRequest, response: NodeResponse) => void;
  logger: Logger;
}

export function rpcAdapter(
  options: RpcAdapterOptions,
): (request: NodeRequest, response: NodeResponse) => void {
  const router = createConnectRouter({ acceptCompression: [compressionGzip, compressionBrotli], ...options });
  options.routes(router);
  const handlers = new Map<string, UniversalHandler>(router.handlers.map((h) => [h.requestPath, h]));
  return (request, response) => {
    const handler = handlers.get(request.url?.split("?", 2)[0] ?? "");
    if (!handler) {
      options.fallback(request, response);
      return;
    }
    const universal = universalRequestFromNodeRequest(
      request,
      response,
      undefined,
      options.contextValues(request),
    );
    handler(universal)
      .then((answer) =>
        universalResponseToNodeResponse(
          grpcMessageAsSpecified(undecodableAsInvalidArgument(answer)),
          response,
        ),
      )
      .catch((reason: unknown) => {
        if (ConnectError.from(reason).code === Code.Aborted) return;
        options.logger.warn(
          { err: reason },
          `handler for rpc ${handler.method.name} of ${handler.service.typeName} failed`,
        );
      });
  };
}
