// How the dashboard reaches pa: on the origin that served the page (pa itself, or the Vite dev
// server that proxies to pa). Streams use gRPC-Web, as every browser client of pa does; unary calls
// use the Connect protocol with JSON, which reads well in the browser's network panel.
import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { DeadLetterService } from "../../../gen/pa/admin/v1/dead_letter_service_pb.js";
import { PaymentService } from "../../../gen/payment/payment_pb.js";

export interface PaClients {
  /** StreamPayments over gRPC-Web (binary). */
  streams: Client<typeof PaymentService>;
  /** GetTopics, GetPayment, ListPayments over Connect (JSON). */
  payments: Client<typeof PaymentService>;
  deadLetters: Client<typeof DeadLetterService>;
}

export function createPaClients(baseUrl: string): PaClients {
  const grpcWeb = createGrpcWebTransport({ baseUrl, useBinaryFormat: true });
  const connect = createConnectTransport({ baseUrl, useBinaryFormat: false });
  return {
    streams: createClient(PaymentService, grpcWeb),
    payments: createClient(PaymentService, connect),
    deadLetters: createClient(DeadLetterService, connect),
  };
}
