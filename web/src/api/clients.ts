// How the dashboard reaches pa: on the origin that served the page (pa itself, or the Vite dev
// server that proxies to pa). Streams use gRPC-Web, as every browser client of pa does; unary calls
// use the Connect protocol with JSON, which reads well in the browser's network panel. Both send
// the operator's token, when there is one, as `authorization: Bearer`.
import { type Client, Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { DeadLetterService } from "../../../gen/pa/admin/v1/dead_letter_service_pb.js";
import { PaymentService } from "../../../gen/payment/payment_pb.js";
import type { Credential } from "./credential.js";

export interface PaClients {
  /** StreamPayments over gRPC-Web (binary). */
  streams: Client<typeof PaymentService>;
  /** GetTopics, GetPayment, ListPayments over Connect (JSON). */
  payments: Client<typeof PaymentService>;
  deadLetters: Client<typeof DeadLetterService>;
}

export function createPaClients(baseUrl: string, credential: Credential): PaClients {
  const interceptors = [bearer(credential)];
  const grpcWeb = createGrpcWebTransport({ baseUrl, useBinaryFormat: true, interceptors });
  const connect = createConnectTransport({ baseUrl, useBinaryFormat: false, interceptors });
  return {
    streams: createClient(PaymentService, grpcWeb),
    payments: createClient(PaymentService, connect),
    deadLetters: createClient(DeadLetterService, connect),
  };
}

// Sends the token, and tells the credential when pa refuses it, at the call or mid-stream (a JWT
// that expires ends its stream with UNAUTHENTICATED).
function bearer(credential: Credential): Interceptor {
  return (next) => async (request) => {
    const token = credential.token;
    if (token) request.header.set("authorization", `Bearer ${token}`);
    const noteRefusal = (error: unknown) => {
      const failure = ConnectError.from(error);
      if (failure.code === Code.Unauthenticated) credential.reject(failure.rawMessage, token);
    };
    try {
      const response = await next(request);
      if (!response.stream) return response;
      const messages = response.message;
      return {
        ...response,
        message: (async function* () {
          try {
            yield* messages;
          } catch (error) {
            noteRefusal(error);
            throw error;
          }
        })(),
      };
    } catch (error) {
      noteRefusal(error);
      throw error;
    }
  };
}
