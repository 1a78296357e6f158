// The four kinds of client pa serves, each as its users would build it.
import { type Client, createClient, type Transport } from "@connectrpc/connect";
import {
  createGrpcTransport,
  createConnectTransport as createNodeConnectTransport,
} from "@connectrpc/connect-node";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { PaymentService } from "../../gen/payment/payment_pb.js";
import { loaderOptionsFor, pocProtoPath } from "./poc-proto.js";

export type PaymentClient = Client<typeof PaymentService>;

/** Native gRPC over HTTP/2 (as backend services and pa-cli connect). */
export function grpcClient(baseUrl: string): PaymentClient {
  return createClient(PaymentService, createGrpcTransport({ baseUrl }));
}

/** gRPC-Web over HTTP/1.1 with fetch (as the browser dashboard connects). */
export function grpcWebClient(baseUrl: string): PaymentClient {
  return createClient(PaymentService, createGrpcWebTransport({ baseUrl, useBinaryFormat: true }));
}

/** The Connect protocol with JSON over HTTP/1.1 (as curl users speak it). */
export function connectJsonClient(baseUrl: string): PaymentClient {
  return createClient(PaymentService, createNodeConnectTransport({ baseUrl, httpVersion: "1.1" }));
}

export function transportClient(transport: Transport): PaymentClient {
  return createClient(PaymentService, transport);
}

/** The Go PoC's own Node client setup: @grpc/grpc-js, proto-loader, its keepalive settings. */
// biome-ignore lint/suspicious/noExplicitAny: proto-loader clients are untyped, as in the PoC.
export function pocClient(port: number, protoPath = pocProtoPath): any {
  const definition = protoLoader.loadSync(protoPath, loaderOptionsFor(protoPath));
  // biome-ignore lint/suspicious/noExplicitAny: as above.
  const loaded = grpc.loadPackageDefinition(definition) as any;
  return new loaded.payment.PaymentService(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    "grpc.keepalive_time_ms": 10000,
    "grpc.keepalive_timeout_ms": 5000,
    "grpc.keepalive_permit_without_calls": 1,
  });
}
