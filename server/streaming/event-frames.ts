// Each event is encoded once, however many streams carry it. The live feed hands the same
// PaymentEvent object to every subscriber that shares its position (and the PII mask the same
// masked object for every masked one), so the gRPC frame (the 5-byte length prefix and the
// protobuf bytes) is kept beside that object and reused by every stream: with 500 streams on a
// topic, one encoding instead of 500, by the hand-written encoder of the hot message.
import type { PaymentEvent } from "../../gen/payment/payment_pb.js";
import { FRAME_HEADER_BYTES, PaymentEventEncoder } from "./payment-event-encoder.js";

export { FRAME_HEADER_BYTES };

export function frameMessage(message: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + message.byteLength);
  frame[0] = 0;
  frame.writeUInt32BE(message.byteLength, 1);
  frame.set(message, FRAME_HEADER_BYTES);
  return frame;
}

export class EventFrames {
  // Weak: a frame lives exactly as long as its event is queued somewhere.
  private readonly frames = new WeakMap<PaymentEvent, Buffer>();
  private readonly encoder = new PaymentEventEncoder();

  frameOf(event: PaymentEvent): Buffer {
    let frame = this.frames.get(event);
    if (!frame) {
      frame = this.encoder.frame(event);
      this.frames.set(event, frame);
    }
    return frame;
  }

  /** The frames of several events as one buffer, for one write. */
  chunkOf(events: readonly PaymentEvent[]): Buffer {
    if (events.length === 1) return this.frameOf(events[0] as PaymentEvent);
    const frames = new Array<Buffer>(events.length);
    let bytes = 0;
    for (let i = 0; i < events.length; i++) {
      const frame = this.frameOf(events[i] as PaymentEvent);
      frames[i] = frame;
      bytes += frame.byteLength;
    }
    return Buffer.concat(frames, bytes);
  }
}
