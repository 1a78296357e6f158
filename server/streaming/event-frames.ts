// Each event is encoded once, however many streams carry it. The live feed hands the same
// PaymentEvent object to every subscriber that shares its position, so the gRPC frame (the 5-byte
// length prefix and the protobuf bytes) is kept beside that object and reused by every stream:
// with 500 streams on a topic, one encoding instead of 500.
import { toBinary } from "@bufbuild/protobuf";
import { type PaymentEvent, PaymentEventSchema } from "../../gen/payment/payment_pb.js";

/** The gRPC length-prefixed message framing: a flags byte (0: not compressed), then a u32 length. */
export const FRAME_HEADER_BYTES = 5;

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

  frameOf(event: PaymentEvent): Buffer {
    let frame = this.frames.get(event);
    if (!frame) {
      frame = frameMessage(toBinary(PaymentEventSchema, event));
      this.frames.set(event, frame);
    }
    return frame;
  }

  /** The frames of several events as one buffer, for one write. */
  chunkOf(events: readonly PaymentEvent[]): Buffer {
    if (events.length === 1) return this.frameOf(events[0] as PaymentEvent);
    return Buffer.concat(events.map((event) => this.frameOf(event)));
  }
}
