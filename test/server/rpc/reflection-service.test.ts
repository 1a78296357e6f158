import { fromBinary } from "@bufbuild/protobuf";
import { type FileDescriptorProto, FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, createClient, createRouterTransport, type Interceptor } from "@connectrpc/connect";
import { describe, expect, it, vi } from "vitest";
import { file_grpc_health_v1_health, Health } from "../../../gen/grpc/health/v1/health_pb.js";
import * as v1 from "../../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { file_payment_payment, PaymentService } from "../../../gen/payment/payment_pb.js";
import { fileRegistryOf, registerReflection } from "../../../server/rpc/reflection-service.js";

// A request as both versions accept it: they differ in package only.
type Request = {
  host?: string;
  messageRequest:
    | {
        case: "fileByFilename" | "fileContainingSymbol" | "allExtensionNumbersOfType" | "listServices";
        value: string;
      }
    | { case: "fileContainingExtension"; value: { containingType: string; extensionNumber: number } }
    | { case: undefined };
};
type Response = v1.ServerReflectionResponse | v1alpha.ServerReflectionResponse;

// Reflection needs only descriptors: no PaymentService or Health implementation is registered.
function serve() {
  return createRouterTransport((router) =>
    registerReflection(router, {
      registry: fileRegistryOf(file_payment_payment, file_grpc_health_v1_health),
      serviceNames: [PaymentService.typeName, Health.typeName],
    }),
  );
}

async function* from<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

async function collect<T>(responses: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const response of responses) {
    all.push(response);
  }
  return all;
}

const versions = {
  v1: (requests: AsyncIterable<Request>, signal?: AbortSignal): AsyncIterable<Response> =>
    createClient(v1.ServerReflection, serve()).serverReflectionInfo(requests, { signal }),
  v1alpha: (requests: AsyncIterable<Request>, signal?: AbortSignal): AsyncIterable<Response> =>
    createClient(v1alpha.ServerReflection, serve()).serverReflectionInfo(requests, { signal }),
};

describe.each(["v1", "v1alpha"] as const)("grpc.reflection.%s.ServerReflection", (version) => {
  const call = versions[version];
  const ask = async (request: Request): Promise<Response> => {
    const responses = await collect(call(from([request])));
    expect(responses).toHaveLength(1);
    return responses[0] as Response;
  };
  const files = async (request: Request): Promise<FileDescriptorProto[]> => {
    const { messageResponse } = await ask(request);
    if (messageResponse.case !== "fileDescriptorResponse") {
      throw new Error(`expected files, got ${JSON.stringify(messageResponse)}`);
    }
    return messageResponse.value.fileDescriptorProto.map((bytes) =>
      fromBinary(FileDescriptorProtoSchema, bytes),
    );
  };
  const errorOf = async (request: Request) => {
    const { messageResponse } = await ask(request);
    if (messageResponse.case !== "errorResponse") {
      throw new Error(`expected an error, got ${JSON.stringify(messageResponse)}`);
    }
    return messageResponse.value;
  };

  it("lists the served services and the reflection services", async () => {
    const { messageResponse } = await ask({ messageRequest: { case: "listServices", value: "*" } });
    expect(messageResponse.case).toBe("listServicesResponse");
    const names = messageResponse.case === "listServicesResponse" ? messageResponse.value.service : [];
    expect(names.map((service) => service.name)).toEqual([
      "payment.PaymentService",
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
    ]);
  });

  // payment.proto, then what it imports, transitively: its request rules (buf.validate) need
  // descriptor, duration and field_mask.
  const PAYMENT_FILES = [
    "payment/payment.proto",
    "buf/validate/validate.proto",
    "google/protobuf/descriptor.proto",
    "google/protobuf/duration.proto",
    "google/protobuf/field_mask.proto",
    "google/protobuf/timestamp.proto",
  ];

  it("answers a service with its file first, then the files it imports", async () => {
    const [payment, ...imports] = await files({
      messageRequest: { case: "fileContainingSymbol", value: "payment.PaymentService" },
    });
    expect(payment?.name).toBe("payment/payment.proto");
    expect(payment?.dependency).toEqual(["buf/validate/validate.proto", "google/protobuf/timestamp.proto"]);
    expect(payment?.service[0]?.method.map((method) => method.name)).toEqual([
      "GetPayment",
      "ListPayments",
      "StreamPayments",
      "GetTopics",
    ]);
    expect(imports.map((file) => file.name)).toEqual(PAYMENT_FILES.slice(1));
    expect(imports.at(-1)?.messageType[0]?.name).toBe("Timestamp");
  });

  it.each([
    ["a method", "payment.PaymentService.GetPayment"],
    ["a message", "payment.Payment"],
    ["a map entry", "payment.Payment.MetadataEntry"],
    ["a map entry's field", "payment.Payment.MetadataEntry.value"],
    ["a field", "payment.Payment.amount_minor"],
    ["a oneof", "payment.StreamRequest.start_position"],
    ["an enum", "payment.Provider"],
    ["an enum value", "payment.PROVIDER_STRIPE"],
    ["a name with a leading dot", ".payment.TopicList"],
  ])("finds the file of %s (%s)", async (_kind, symbol) => {
    const found = await files({ messageRequest: { case: "fileContainingSymbol", value: symbol } });
    expect(found.map((file) => file.name)).toEqual(PAYMENT_FILES);
  });

  it("finds the health and reflection protocols' own files", async () => {
    const health = await files({
      messageRequest: { case: "fileContainingSymbol", value: "grpc.health.v1.Health" },
    });
    expect(health.map((file) => file.name)).toEqual(["grpc/health/v1/health.proto"]);
    const reflection = await files({
      messageRequest: { case: "fileContainingSymbol", value: `grpc.reflection.${version}.ServerReflection` },
    });
    expect(reflection.map((file) => file.name)).toEqual([`grpc/reflection/${version}/reflection.proto`]);
  });

  it("answers a file by name, an imported one included", async () => {
    const payment = await files({
      messageRequest: { case: "fileByFilename", value: "payment/payment.proto" },
    });
    expect(payment.map((file) => file.name)).toEqual(PAYMENT_FILES);
    const timestamp = await files({
      messageRequest: { case: "fileByFilename", value: "google/protobuf/timestamp.proto" },
    });
    expect(timestamp.map((file) => file.name)).toEqual(["google/protobuf/timestamp.proto"]);
  });

  it.each([
    ["fileContainingSymbol", "payment.Nope"],
    ["fileContainingSymbol", "payment.PaymentService.Nope"],
    ["fileContainingSymbol", "payment.Payment.nope"],
    ["fileContainingSymbol", "payment.Payment.MetadataEntry.nope"],
    ["fileContainingSymbol", "payment.STATUS_NOPE"],
    ["fileContainingSymbol", "payment"],
    ["fileByFilename", "nope.proto"],
    ["allExtensionNumbersOfType", "payment.Payment"],
    ["allExtensionNumbersOfType", "payment.Nope"],
  ] as const)("answers NOT_FOUND (5) for %s %s", async (kind, value) => {
    expect(await errorOf({ messageRequest: { case: kind, value } })).toMatchObject({
      errorCode: Code.NotFound,
      errorMessage: expect.stringContaining(value),
    });
  });

  it("answers NOT_FOUND (5) for an extension, since pa declares none", async () => {
    const error = await errorOf({
      messageRequest: {
        case: "fileContainingExtension",
        value: { containingType: "payment.Payment", extensionNumber: 100 },
      },
    });
    expect(error.errorCode).toBe(5);
  });

  it("answers INVALID_ARGUMENT (3) for a request that asks nothing", async () => {
    expect((await errorOf({ messageRequest: { case: undefined } })).errorCode).toBe(3);
  });

  it("answers several requests on one stream in order, echoing each request and its host", async () => {
    const requests: Request[] = [
      { host: "pa:8080", messageRequest: { case: "listServices", value: "" } },
      { host: "pa:8080", messageRequest: { case: "fileContainingSymbol", value: "payment.Nope" } },
      { host: "pa:8080", messageRequest: { case: "fileByFilename", value: "payment/payment.proto" } },
    ];
    const responses = await collect(call(from(requests)));
    expect(responses.map((response) => response.messageResponse.case)).toEqual([
      "listServicesResponse",
      "errorResponse",
      "fileDescriptorResponse",
    ]);
    expect(responses.map((response) => response.validHost)).toEqual(["pa:8080", "pa:8080", "pa:8080"]);
    expect(responses.map((response) => response.originalRequest?.messageRequest.value)).toEqual([
      "",
      "payment.Nope",
      "payment/payment.proto",
    ]);
  });

  it("answers each request before the next is sent, as grpcurl converses", async () => {
    const queue = requestQueue();
    const responses = call(queue.requests)[Symbol.asyncIterator]();
    queue.send({ messageRequest: { case: "listServices", value: "" } });
    expect((await responses.next()).value?.messageResponse.case).toBe("listServicesResponse");
    queue.send({ messageRequest: { case: "fileContainingSymbol", value: "payment.PaymentService" } });
    expect((await responses.next()).value?.messageResponse.case).toBe("fileDescriptorResponse");
    queue.end();
    expect((await responses.next()).done).toBe(true);
  });
});

describe("registerReflection", () => {
  it("stops its handler when the call is cancelled while it waits for the next request", async () => {
    let handlerEnded = false;
    // Server-side: wraps the handler's responses, whose end is the handler's end.
    const noticeEnd: Interceptor = (next) => async (request) => {
      const response = await next(request);
      if (!response.stream) {
        return response;
      }
      const message = response.message;
      async function* watched() {
        try {
          yield* message;
        } finally {
          handlerEnded = true;
        }
      }
      return { ...response, message: watched() };
    };
    const transport = createRouterTransport(
      (router) =>
        registerReflection(router, { registry: fileRegistryOf(file_payment_payment), serviceNames: [] }),
      { router: { interceptors: [noticeEnd] } },
    );
    const queue = requestQueue();
    const abort = new AbortController();
    const responses = createClient(v1.ServerReflection, transport)
      .serverReflectionInfo(queue.requests, { signal: abort.signal })
      [Symbol.asyncIterator]();
    queue.send({ messageRequest: { case: "listServices", value: "" } });
    await responses.next();
    const waiting = responses.next();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(handlerEnded).toBe(false);

    abort.abort();
    await expect(waiting).rejects.toMatchObject({ code: Code.Canceled });
    await vi.waitFor(() => expect(handlerEnded).toBe(true));
  });

  it("refuses a service name the registry cannot describe", () => {
    expect(() =>
      createRouterTransport((router) =>
        registerReflection(router, {
          registry: fileRegistryOf(file_payment_payment),
          serviceNames: [PaymentService.typeName, Health.typeName],
        }),
      ),
    ).toThrow(/grpc\.health\.v1\.Health/);
  });
});

/** Requests sent one at a time, the stream staying open until end(). */
function requestQueue() {
  const pending: Request[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  async function* requests(): AsyncGenerator<Request> {
    for (;;) {
      const request = pending.shift();
      if (request !== undefined) {
        yield request;
      } else if (ended) {
        return;
      } else {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    }
  }
  return {
    requests: requests(),
    send(request: Request) {
      pending.push(request);
      wake?.();
    },
    end() {
      ended = true;
      wake?.();
    },
  };
}
