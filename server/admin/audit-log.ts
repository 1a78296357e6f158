// The audit log of the dead-letter service: one structured line (`audit: true`, level info) per
// call, allowed or not: who (identity name and kind), which action, which topic, what it touched
// (selection, offsets, counts) and the result (ok, denied, or the error's code). It sits outside
// the error mapping, so it sees every call's final Connect code.
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import {
  DeadLetterService,
  type ListDeadLettersRequest,
  type ListDeadLettersResponse,
  type RedriveDeadLettersRequest,
  type RedriveDeadLettersResponse,
  type RedriveResult,
} from "../../gen/pa/admin/v1/dead_letter_service_pb.js";
import { identityKey } from "../auth/identity.js";
import type { Logger } from "../observability/logger.js";

type Touched = Record<string, unknown>;

const ref = (result: RedriveResult) =>
  `${result.source?.originalPartition ?? "?"}@${result.source?.originalOffset ?? "?"}`;

/** What a call asked to touch, from its request. */
function requested(method: string, message: unknown): Touched {
  if (method === DeadLetterService.method.listDeadLetters.name) {
    const request = message as ListDeadLettersRequest;
    return {
      pageSize: request.pageSize,
      ...(request.pageToken ? { continued: true } : {}),
      ...(request.errors.length > 0 ? { errors: request.errors } : {}),
    };
  }
  const request = message as RedriveDeadLettersRequest;
  const { selection } = request;
  const chosen =
    selection.case === "refs"
      ? { refs: selection.value.refs.map((r) => `${r.originalPartition}@${r.originalOffset}`) }
      : selection.case === "range"
        ? {
            range: {
              partition: selection.value.partition,
              fromOffset: String(selection.value.fromOffset),
              toOffset: String(selection.value.toOffset),
            },
          }
        : selection.case === "all"
          ? { all: selection.value }
          : {};
  return { ...chosen, dryRun: request.dryRun, force: request.force };
}

/** What a successful call did, from its response. */
function done(method: string, message: unknown): Touched {
  if (method === DeadLetterService.method.listDeadLetters.name) {
    const response = message as ListDeadLettersResponse;
    return { returned: response.deadLetters.length, totalCount: String(response.totalCount) };
  }
  const response = message as RedriveDeadLettersResponse;
  return {
    redriven: response.redriven.length,
    skipped: response.skipped.length,
    redrivenRefs: response.redriven.map(ref),
  };
}

export function auditInterceptor(logger: Logger): Interceptor {
  const audit = logger.child({ audit: true });
  return (next) => async (request) => {
    if (request.service.typeName !== DeadLetterService.typeName) return next(request);
    const action = request.method.name;
    const messageTopic = (request.message as { topic?: unknown }).topic;
    const topic = typeof messageTopic === "string" ? messageTopic : "";
    // Read once the call is over: an authentication step inside the chain may set it meanwhile.
    const write = (result: string, fields: Record<string, unknown>) => {
      const identity = request.contextValues.get(identityKey);
      audit.info(
        {
          identity: { name: identity.name, kind: identity.kind },
          action,
          topic,
          requested: requested(action, request.message),
          ...fields,
        },
        `[AUDIT] ${action} of topic "${topic}" by ${identity.kind} "${identity.name}": ${result}`,
      );
    };
    try {
      const response = await next(request);
      write("ok", { touched: response.stream ? {} : done(action, response.message), result: "ok" });
      return response;
    } catch (error) {
      const code = ConnectError.from(error).code;
      const result = code === Code.PermissionDenied || code === Code.Unauthenticated ? "denied" : "error";
      const codeName = Code[code].replace(/[A-Z]/g, (c, i) => (i > 0 ? "_" : "") + c).toUpperCase();
      write(`${result} (${codeName})`, { result, code: codeName });
      throw error;
    }
  };
}
