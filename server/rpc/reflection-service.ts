// gRPC server reflection, so grpcurl, Postman and similar tools can list pa's services and
// describe their messages without a copy of proto/. Served as grpc.reflection.v1 and as the
// deprecated v1alpha, which older clients (older grpcurl releases among them) still speak.
import { createFileRegistry, type DescFile, type FileRegistry, toBinary } from "@bufbuild/protobuf";
import { type DescriptorProto, FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, type ConnectRouter } from "@connectrpc/connect";
import * as v1 from "../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";

export interface ReflectionOptions {
  /**
   * Descriptors of the served services and everything they use. Build it from generated files
   * with fileRegistryOf. The reflection protocol's own files are added by registerReflection.
   */
  registry: FileRegistry;
  /**
   * Fully-qualified names of the services the server serves, as list_services reports them
   * (e.g. "payment.PaymentService"). Each must be described by registry. The reflection services
   * are listed too without being named here.
   */
  serviceNames: readonly string[];
}

/**
 * A FileRegistry of generated files and all they import. createFileRegistry merges registries or
 * reads FileDescriptorProtos; it does not take the file descriptors protoc-gen-es exports
 * (file_payment_payment and the like), so each is read through its own proto.
 */
export function fileRegistryOf(...files: DescFile[]): FileRegistry {
  return createFileRegistry(
    ...files.map((file) =>
      createFileRegistry(file.proto, (name) => file.dependencies.find((dep) => dep.proto.name === name)),
    ),
  );
}

/**
 * Serves grpc.reflection.v1 and v1alpha ServerReflectionInfo. Throws at once when a name in
 * serviceNames is not in the registry: a listed service that cannot be described breaks clients.
 */
export function registerReflection(router: ConnectRouter, options: ReflectionOptions): void {
  const registry = createFileRegistry(
    options.registry,
    fileRegistryOf(v1.file_grpc_reflection_v1_reflection, v1alpha.file_grpc_reflection_v1alpha_reflection),
  );
  const serviceNames = [
    ...new Set([...options.serviceNames, v1.ServerReflection.typeName, v1alpha.ServerReflection.typeName]),
  ];
  for (const name of serviceNames) {
    if (registry.getService(name) === undefined) {
      throw new Error(`reflection: service ${name} is not in the registry`);
    }
  }
  const answer = createAnswerer(registry, serviceNames);

  router.service(v1.ServerReflection, {
    serverReflectionInfo: (requests, context) =>
      respond(requests, context.signal, (request) => ({
        validHost: request.host,
        originalRequest: request,
        messageResponse: answer(request.messageRequest),
      })),
  });
  router.service(v1alpha.ServerReflection, {
    serverReflectionInfo: (requests, context) =>
      respond(requests, context.signal, (request) => ({
        validHost: request.host,
        originalRequest: request,
        messageResponse: answer(request.messageRequest),
      })),
  });
}

type MessageRequest =
  | v1.ServerReflectionRequest["messageRequest"]
  | v1alpha.ServerReflectionRequest["messageRequest"];

// v1 and v1alpha differ only in their package, so one answer, written without either's message
// types, initialises both's ServerReflectionResponse.message_response.
type Answer =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: "allExtensionNumbersResponse"; value: { baseTypeName: string; extensionNumber: number[] } }
  | { case: "listServicesResponse"; value: { service: { name: string }[] } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

/**
 * One response per request, in order, until the requests end or the call is cancelled. The wait
 * for the next request races the signal: a cancelled call's request stream is not always ended
 * for us (the in-memory transport leaves it open), and the handler must not outlive its call.
 */
async function* respond<Request, Response>(
  requests: AsyncIterable<Request>,
  signal: AbortSignal,
  reply: (request: Request) => Response,
): AsyncGenerator<Response, void> {
  const iterator = requests[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await nextUnlessAborted(iterator, signal);
      if (next === undefined || next.done === true) {
        return;
      }
      yield reply(next.value);
    }
  } finally {
    if (signal.aborted) {
      // Not awaited: a request stream stuck in its own wait settles late or never.
      iterator.return?.().catch(() => {});
    }
  }
}

/** The iterator's next result, or undefined once signal aborts, whichever comes first. */
function nextUnlessAborted<T>(
  iterator: AsyncIterator<T>,
  signal: AbortSignal,
): Promise<IteratorResult<T> | undefined> {
  if (signal.aborted) {
    return Promise.resolve(undefined);
  }
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener("abort", onAbort, { once: true });
    iterator
      .next()
      .then(resolve, reject)
      .finally(() => signal.removeEventListener("abort", onAbort));
  });
}

function createAnswerer(registry: FileRegistry, serviceNames: readonly string[]) {
  // Every file by name, imports included: a client may ask for google/protobuf/timestamp.proto by
  // name even when only payment/payment.proto was registered.
  const files = new Map<string, DescFile>();
  const addFile = (file: DescFile): void => {
    if (!files.has(file.proto.name)) {
      files.set(file.proto.name, file);
      file.dependencies.forEach(addFile);
    }
  };
  for (const file of registry.files) {
    addFile(file);
  }
  const encoded = new Map<DescFile, Uint8Array>();
  const encode = (file: DescFile): Uint8Array => {
    let bytes = encoded.get(file);
    if (bytes === undefined) {
      bytes = toBinary(FileDescriptorProtoSchema, file.proto);
      encoded.set(file, bytes);
    }
    return bytes;
  };

  // The file itself first (clients take the first as the answer), then everything it imports,
  // directly or not: a client cannot build the file's descriptor without them.
  const fileResponse = (file: DescFile): Answer => {
    const seen = new Set<string>();
    const bytes: Uint8Array[] = [];
    const visit = (f: DescFile): void => {
      if (!seen.has(f.proto.name)) {
        seen.add(f.proto.name);
        bytes.push(encode(f));
        f.dependencies.forEach(visit);
      }
    };
    visit(file);
    return { case: "fileDescriptorResponse", value: { fileDescriptorProto: bytes } };
  };

  return (request: MessageRequest): Answer => {
    switch (request.case) {
      case "listServices":
        return { case: "listServicesResponse", value: { service: serviceNames.map((name) => ({ name })) } };
      case "fileByFilename": {
        const file = files.get(request.value);
        return file ? fileResponse(file) : notFound(`file ${request.value} not found`);
      }
      case "fileContainingSymbol": {
        const file = fileContainingSymbol(registry, files, request.value);
        return file ? fileResponse(file) : notFound(`symbol ${request.value} not found`);
      }
      case "fileContainingExtension": {
        const { containingType, extensionNumber } = request.value;
        const message = registry.getMessage(containingType);
        const extension = message && registry.getExtensionFor(message, extensionNumber);
        return extension
          ? fileResponse(extension.file)
          : notFound(`extension ${extensionNumber} of ${containingType} not found`);
      }
      case "allExtensionNumbersOfType": {
        const numbers: number[] = [];
        for (const desc of registry) {
          if (desc.kind === "extension" && desc.extendee.typeName === request.value) {
            numbers.push(desc.number);
          }
        }
        // As grpc-java does: NOT_FOUND both for an unknown type and for one nothing extends.
        if (numbers.length === 0) {
          return notFound(`no extensions of ${request.value}`);
        }
        return {
          case: "allExtensionNumbersResponse",
          value: { baseTypeName: request.value, extensionNumber: numbers.sort((a, b) => a - b) },
        };
      }
      case undefined:
        return error(Code.InvalidArgument, "the request sets none of message_request");
    }
  };
}

/**
 * The file declaring a fully-qualified name: a message, enum, extension or service (registry
 * lookups), or a member of one (a method, field, oneof, nested message or enum value). Enum values
 * are scoped as their enum's siblings, so "payment.PROVIDER_STRIPE" names a value of
 * payment.Provider.
 */
function fileContainingSymbol(
  registry: FileRegistry,
  files: ReadonlyMap<string, DescFile>,
  symbol: string,
): DescFile | undefined {
  const name = symbol.startsWith(".") ? symbol.slice(1) : symbol;
  const type = registry.get(name);
  if (type !== undefined) {
    return type.file;
  }
  const { scope, member } = splitName(name);
  if (scope === undefined) {
    return undefined;
  }
  const service = registry.getService(scope);
  if (service !== undefined) {
    return service.methods.some((method) => method.name === member) ? service.file : undefined;
  }
  const message = findMessage(registry, scope);
  if (message !== undefined) {
    const { field, oneofDecl, nestedType, enumType } = message.proto;
    const declares =
      [...field, ...oneofDecl, ...nestedType].some((declared) => declared.name === member) ||
      enumType.some((enumProto) => enumProto.value.some((value) => value.name === member));
    return declares ? message.file : undefined;
  }
  for (const file of files.values()) {
    if (
      file.proto.package === scope &&
      file.enums.some((enumType) => enumType.values.some((value) => value.name === member))
    ) {
      return file;
    }
  }
  return undefined;
}

/**
 * A message by full name, map entries included: protobuf-es leaves those synthesized messages
 * (payment.Payment.MetadataEntry) out of the registry, but protoc and grpcurl name them.
 */
function findMessage(
  registry: FileRegistry,
  name: string,
): { file: DescFile; proto: DescriptorProto } | undefined {
  const message = registry.getMessage(name);
  if (message !== undefined) {
    return message;
  }
  const { scope, member } = splitName(name);
  const parent = scope === undefined ? undefined : findMessage(registry, scope);
  const proto = parent?.proto.nestedType.find((nested) => nested.name === member);
  return parent && proto && { file: parent.file, proto };
}

function splitName(name: string): { scope: string | undefined; member: string } {
  const dot = name.lastIndexOf(".");
  return dot < 0
    ? { scope: undefined, member: name }
    : { scope: name.slice(0, dot), member: name.slice(dot + 1) };
}

function notFound(message: string): Answer {
  return error(Code.NotFound, message);
}

// Connect's codes are gRPC's status codes, number for number, which is what error_code carries.
function error(code: Code, message: string): Answer {
  return { case: "errorResponse", value: { errorCode: code, errorMessage: message } };
}
