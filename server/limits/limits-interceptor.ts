// Per-caller limits for every Connect call (gRPC with compression, gRPC-Web, Connect): the
// request rate, and a stream slot for the streaming methods other than StreamPayments, whose
// slot PaymentStreams takes on both of its paths. Placed after authentication, so that it counts
// an authenticated caller by identity.
import type { Interceptor } from "@connectrpc/connect";
import { PaymentService } from "../../gen/payment/payment_pb.js";
import { identityKey } from "../auth/identity.js";
import { callerKey, callerKeyContext, connectionKey, peerAddressKey } from "./caller.js";
import type { RequestRate } from "./request-rate.js";
import type { StreamSlots } from "./stream-slots.js";

export function limitsInterceptor(rate: RequestRate, slots: StreamSlots): Interceptor {
  return (next) => async (request) => {
    const values = request.contextValues;
    const key = callerKey(values.get(identityKey), values.get(peerAddressKey));
    values.set(callerKeyContext, key);
    await rate.admit(key);
    if (request.method.methodKind === "unary" || request.method === PaymentService.method.streamPayments) {
      return next(request);
    }
    const release = slots.reserve({ connection: values.get(connectionKey), key });
    // A stream parked waiting (a health Watch) may never be iterated again once its client left.
    request.signal.addEventListener("abort", release, { once: true });
    try {
      const response = await next(request);
      if (!response.stream) {
        release();
        return response;
      }
      return { ...response, message: releasingAtEnd(response.message, release) };
    } catch (error) {
      release();
      throw error;
    }
  };
}

async function* releasingAtEnd<T>(messages: AsyncIterable<T>, release: () => void): AsyncIterable<T> {
  try {
    yield* messages;
  } finally {
    release();
  }
}
