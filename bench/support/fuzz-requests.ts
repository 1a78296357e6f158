// Random and mutated requests for the fuzz scenario: for every method pa serves, a message of the
// method's input type with arbitrary field values (or arbitrary JSON, or arbitrary bytes), encoded
// as gRPC, gRPC-Web or Connect would, then damaged the way broken or hostile clients do: wrong
// framing, wrong content types, huge declared lengths, compressed garbage.
import { gzipSync } from "node:zlib";
import {
  type create,
  type DescField,
  type DescMessage,
  type DescMethod,
  type DescService,
  fromJson,
  type JsonValue,
  ScalarType,
  toBinary,
  toJson,
} from "@bufbuild/protobuf";
import fc from "fast-check";

export type FuzzProtocol = "gRPC" | "gRPC-Web" | "Connect";

export interface FuzzRequest {
  protocol: FuzzProtocol;
  /** HTTP/2 for gRPC; either for the others. */
  httpVersion: 1 | 2;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
  /** What was done to it, for the report of an INTERNAL answer. */
  mutation: string;
}

interface Target {
  path: string;
  method: DescMethod;
}

export function targetsOf(services: readonly DescService[]): Target[] {
  return services.flatMap((service) =>
    service.methods.map((method) => ({ path: `/${service.typeName}/${method.name}`, method })),
  );
}

export class FuzzRequests {
  private readonly jsonValues: JsonValue[];
  private readonly strings: string[];

  constructor(
    private readonly targets: readonly Target[],
    /** Names of topics that exist for the run, so some calls get past the topic checks. */
    private readonly topics: readonly string[],
    seed: number,
  ) {
    // fast-check's arbitraries drawn once into pools; each request then picks from them.
    this.jsonValues = fc.sample(fc.jsonValue({ maxDepth: 3 }), { seed, numRuns: 2000 }) as JsonValue[];
    this.strings = [
      ...fc.sample(fc.string({ unit: "binary", maxLength: 40 }), { seed: seed + 1, numRuns: 500 }),
      ...fc.sample(fc.string({ maxLength: 300 }), { seed: seed + 2, numRuns: 500 }),
      "",
      "bnVsbA",
      "W10",
      "__consumer_offsets",
      "x.dlq",
      "../etc",
      "a".repeat(300),
    ];
  }

  next(): FuzzRequest {
    const target = pick(this.targets);
    const protocol = pick<FuzzProtocol>(["gRPC", "gRPC-Web", "Connect"]);
    const httpVersion: 1 | 2 = protocol === "gRPC" || Math.random() < 0.5 ? 2 : 1;
    const { payload, binary, what } = this.payload(target.method.input);
    const streamingConnect = target.method.methodKind !== "unary";
    const request =
      protocol === "Connect" && !streamingConnect
        ? this.connectUnary(payload, binary)
        : this.enveloped(protocol, payload, binary);
    return {
      protocol,
      httpVersion,
      path: this.path(target.path),
      ...request,
      mutation: `${what}; ${request.mutation}`,
    };
  }

  private path(path: string): string {
    const roll = Math.random();
    if (roll < 0.02) return `${path}/extra`;
    if (roll < 0.04) return path.toLowerCase();
    if (roll < 0.05) return `/${pick(this.strings).replace(/[^\x21-\x7e]/g, "")}`;
    return path;
  }

  /** The message: a valid one with arbitrary fields, damaged bytes, random bytes or random JSON. */
  private payload(schema: DescMessage): { payload: Buffer; binary: boolean; what: string } {
    const roll = Math.random();
    const fields = this.arbitraryJson(schema);
    let message: ReturnType<typeof create> | undefined;
    try {
      message = fromJson(schema, fields, { ignoreUnknownFields: true });
    } catch {
      message = undefined;
    }
    if (roll < 0.35 && message)
      return { payload: Buffer.from(toBinary(schema, message)), binary: true, what: "valid binary" };
    if (roll < 0.5 && message) {
      return {
        payload: Buffer.from(JSON.stringify(toJson(schema, message))),
        binary: false,
        what: "valid JSON",
      };
    }
    if (roll < 0.65 && message)
      return {
        payload: mutate(Buffer.from(toBinary(schema, message))),
        binary: true,
        what: "mutated binary",
      };
    if (roll < 0.75)
      return { payload: Buffer.from(JSON.stringify(fields)), binary: false, what: "arbitrary JSON fields" };
    if (roll < 0.85)
      return {
        payload: Buffer.from(JSON.stringify(pick(this.jsonValues))),
        binary: false,
        what: "random JSON",
      };
    if (roll < 0.9)
      return { payload: mutate(Buffer.from(JSON.stringify(fields))), binary: false, what: "mutated JSON" };
    return { payload: randomBytes(Math.random() < 0.05 ? 20_000 : 200), binary: true, what: "random bytes" };
  }

  private arbitraryJson(schema: DescMessage, depth = 0): Record<string, JsonValue> {
    const json: Record<string, JsonValue> = {};
    for (const field of schema.fields) {
      if (Math.random() < 0.4) continue;
      json[field.jsonName] = this.fieldValue(field, depth);
    }
    return json;
  }

  private fieldValue(field: DescField, depth: number): JsonValue {
    if (Math.random() < 0.05) return pick(this.jsonValues);
    switch (field.fieldKind) {
      case "list":
        return Array.from({ length: Math.floor(Math.random() * 4) }, () =>
          field.listKind === "scalar"
            ? this.scalar(field.scalar, field.name)
            : field.listKind === "enum"
              ? this.enumValue(field.enum.values.map((v) => v.name))
              : depth < 2
                ? this.arbitraryJson(field.message, depth + 1)
                : {},
        );
      case "map":
        return {};
      case "enum":
        return this.enumValue(field.enum.values.map((v) => v.name));
      case "message":
        if (field.message.typeName === "google.protobuf.Timestamp") {
          return pick([new Date(Math.random() * 4e12).toISOString(), "0001-01-01T00:00:00Z", "garbage", 12]);
        }
        return depth < 2 ? this.arbitraryJson(field.message, depth + 1) : {};
      case "scalar":
        return this.scalar(field.scalar, field.name);
    }
  }

  private enumValue(names: string[]): JsonValue {
    return Math.random() < 0.7 ? pick(names) : pick([-1, 99, 2 ** 31 - 1, "NOPE"]);
  }

  private scalar(type: ScalarType, name: string): JsonValue {
    switch (type) {
      case ScalarType.STRING:
        if (name.includes("topic") && Math.random() < 0.6) return pick(this.topics);
        return pick(this.strings);
      case ScalarType.BOOL:
        return Math.random() < 0.5;
      case ScalarType.BYTES:
        return randomBytes(Math.floor(Math.random() * 64)).toString("base64");
      case ScalarType.DOUBLE:
      case ScalarType.FLOAT:
        return pick([0, -1.5, 1e308, Math.random() * 1e6, "NaN", "Infinity"]);
      case ScalarType.INT64:
      case ScalarType.SINT64:
      case ScalarType.SFIXED64:
      case ScalarType.UINT64:
      case ScalarType.FIXED64:
        return pick([
          "0",
          "-1",
          "9223372036854775807",
          "-9223372036854775808",
          String(Math.floor(Math.random() * 1e12)),
        ]);
      default:
        return pick([0, 1, -1, 2147483647, -2147483648, 10_000, Math.floor(Math.random() * 2000)]);
    }
  }

  /** Connect unary: the message is the body; sometimes gzip, sometimes garbage that claims to be. */
  private connectUnary(
    payload: Buffer,
    binary: boolean,
  ): Omit<FuzzRequest, "protocol" | "httpVersion" | "path"> {
    const headers: Record<string, string> = {
      "content-type": this.contentType(binary ? "application/proto" : "application/json"),
      "connect-protocol-version": "1",
    };
    let body = payload;
    let mutation = "connect unary";
    const roll = Math.random();
    if (roll < 0.15) {
      headers["content-encoding"] = "gzip";
      body = gzipSync(payload);
      mutation += ", gzip";
    } else if (roll < 0.25) {
      headers["content-encoding"] = pick(["gzip", "br", "zstd", "deflate"]);
      body = Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), randomBytes(100)]);
      mutation += `, ${headers["content-encoding"]} garbage`;
    } else if (roll < 0.3) {
      // A gzip bomb: small on the wire, 8 MiB inflated.
      headers["content-encoding"] = "gzip";
      body = GZIP_BOMB;
      mutation += ", gzip bomb";
    }
    if (Math.random() < 0.1) delete headers["connect-protocol-version"];
    if (Math.random() < 0.05) headers["connect-timeout-ms"] = pick(["0", "-1", "abc", "99999999999", "5"]);
    return { headers, body, mutation };
  }

  /** gRPC, gRPC-Web and Connect streaming: 5-byte envelopes around the message, often damaged. */
  private enveloped(
    protocol: FuzzProtocol,
    payload: Buffer,
    binary: boolean,
  ): Omit<FuzzRequest, "protocol" | "httpVersion" | "path"> {
    const base =
      protocol === "gRPC"
        ? "application/grpc"
        : protocol === "gRPC-Web"
          ? "application/grpc-web"
          : "application/connect";
    const suffix = binary ? pick(["+proto", ""]) : "+json";
    const headers: Record<string, string> = {
      "content-type": this.contentType(
        protocol === "Connect" && suffix === "" ? `${base}+proto` : `${base}${suffix}`,
      ),
    };
    if (protocol === "gRPC") headers.te = "trailers";
    if (protocol === "Connect") headers["connect-protocol-version"] = "1";
    const encodingHeader = protocol === "Connect" ? "connect-content-encoding" : "grpc-encoding";
    let mutation = `${protocol} envelope`;
    let body: Buffer;
    const roll = Math.random();
    if (roll < 0.45) {
      body = envelope(0, payload);
    } else if (roll < 0.55) {
      headers[encodingHeader] = "gzip";
      body = envelope(1, gzipSync(payload));
      mutation += ", gzip";
    } else if (roll < 0.6) {
      headers[encodingHeader] = "gzip";
      body = envelope(1, GZIP_BOMB);
      mutation += ", gzip bomb";
    } else if (roll < 0.65) {
      headers[encodingHeader] = pick(["gzip", "br", "snappy"]);
      body = envelope(1, randomBytes(80));
      mutation += ", compressed garbage";
    } else if (roll < 0.7) {
      body = envelope(1, payload);
      mutation += ", compressed flag without encoding";
    } else if (roll < 0.75) {
      body = envelope(0, payload);
      body.writeUInt32BE(0xffffffff, 1);
      mutation += ", declares 4 GiB";
    } else if (roll < 0.8) {
      body = envelope(0, payload);
      body.writeUInt32BE(payload.length + 1 + Math.floor(Math.random() * 1000), 1);
      mutation += ", declares more than it holds";
    } else if (roll < 0.85) {
      body = Buffer.concat([envelope(0, payload), envelope(0, payload)]);
      mutation += ", two messages";
    } else if (roll < 0.9) {
      body = envelope(pick([0x02, 0x80, 0xff, 0x7e]), payload);
      mutation += ", odd flags";
    } else if (roll < 0.95) {
      body = envelope(0, payload).subarray(0, Math.floor(Math.random() * 5));
      mutation += ", cut inside the header";
    } else {
      body = randomBytes(Math.floor(Math.random() * 300));
      mutation += ", no framing";
    }
    if (Math.random() < 0.05) headers["grpc-timeout"] = pick(["1n", "abc", "99999999H", "0S", "5m"]);
    return { headers, body, mutation };
  }

  private contentType(right: string): string {
    if (Math.random() > 0.08) return right;
    return pick([
      "text/plain",
      "application/octet-stream",
      "",
      "application/grpc+xml",
      "application/json; charset=latin1",
      "multipart/form-data",
    ]);
  }
}

// 8 MiB of zeros compress to about 8 KiB.
const GZIP_BOMB = gzipSync(Buffer.alloc(8 * 1024 * 1024));

function envelope(flags: number, data: Buffer): Buffer {
  const framed = Buffer.alloc(5 + data.length);
  framed[0] = flags;
  framed.writeUInt32BE(data.length, 1);
  data.copy(framed, 5);
  return framed;
}

function mutate(bytes: Buffer): Buffer {
  const copy = Buffer.from(bytes);
  const roll = Math.random();
  if (roll < 0.4 && copy.length > 0) {
    for (let i = 0; i < 1 + Math.floor(Math.random() * 4); i++) {
      copy[Math.floor(Math.random() * copy.length)] = Math.floor(Math.random() * 256);
    }
    return copy;
  }
  if (roll < 0.7) return copy.subarray(0, Math.floor(Math.random() * (copy.length + 1)));
  return Buffer.concat([copy, randomBytes(1 + Math.floor(Math.random() * 40))]);
}

function randomBytes(length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(Math.random() * 256);
  return bytes;
}

function pick<T>(values: readonly T[]): T {
  return values[Math.floor(Math.random() * values.length)] as T;
}
