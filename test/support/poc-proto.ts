// Loads a .proto the way the PoC's Node client does (@grpc/proto-loader with its exact options),
// so tests see pa through the eyes of a client that was written for the Go PoC.
import { fileURLToPath } from "node:url";
import * as protoLoader from "@grpc/proto-loader";

export const pocLoaderOptions: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: Number,
  defaults: true,
  oneofs: true,
};

export const ourProtoPath = fileURLToPath(new URL("../../proto/payment/payment.proto", import.meta.url));
export const pocProtoPath = fileURLToPath(new URL("../fixtures/poc/payment.proto", import.meta.url));

/**
 * The PoC client's options, for pa's own payment.proto: it imports buf/validate/validate.proto
 * (its request rules), which a proto-loader client finds on its include path like any import.
 */
export function loaderOptionsFor(protoPath: string): protoLoader.Options {
  if (protoPath !== ourProtoPath) return pocLoaderOptions;
  const vendored = fileURLToPath(new URL("../../third_party/protovalidate", import.meta.url));
  return { ...pocLoaderOptions, includeDirs: [vendored] };
}

export function loadPaymentService(protoPath: string): protoLoader.ServiceDefinition {
  const definition = protoLoader.loadSync(protoPath, loaderOptionsFor(protoPath));
  const service = definition["payment.PaymentService"];
  if (!service || !("GetPayment" in service))
    throw new Error(`payment.PaymentService not found in ${protoPath}`);
  return service as protoLoader.ServiceDefinition;
}
