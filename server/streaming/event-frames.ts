// Each event is encoded once, however many streams carry it. Fan-out hands the same PaymentEvent
// object to every subscriber that shares its position (and the PII mask the same masked object to
// every masked one), so the frames of one record (the 5-byte gRPC length prefix and the protobuf
// bytes) are made there, once per object, and queued for every native gRPC stream given it: with
// 500 streams on a topic, one encoding instead of 500, by the hand-written encoder of the hot
// message. They live only while the record is fanned out: no cache outlives it.
import type { PaymentEvent } from "../../gen/payment/payment_pb.js";
import { FRAME_HEADER_BYTES, type PaymentEventEncoder } from "./payment-event-encoder.js";
import type { SharedFrames } from "./subscription.js";

export { FRAME_HEADER_BYTES };

export function frameMessage(message: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + message.byteLength);
  frame[0] = 0;
  frame.writeUInt32BE(message.byteLength, 1);
  frame.set(message, FRAME_HEADER_BYTES);
  return frame;
}

/**
 * The frames of the record being fanned out, by the event object each stream is given: the shared
 * event and its masked views, a handful at most, so a list is searched rather than a map kept.
 */
export class RecordFrames implements SharedFrames {
  private readonly events: PaymentEvent[] = [];
  private readonly frames: Buffer[] = [];

  constructor(private readonly encoder: PaymentEventEncoder) {}

  frameOf(event: PaymentEvent): Buffer {
    for (let i = 0; i < this.events.length; i++) {
      if (this.events[i] === event) return this.frames[i] as Buffer;
    }
    const frame = this.encoder.frame(event);
    this.events.push(event);
    this.frames.push(frame);
    return frame;
  }

  /** The record was fanned out: its events are let go. */
  clear(): void {
    this.events.length = 0;
    this.frames.length = 0;
  }
}

/** The frames of several events as one buffer, for one write (a stream's snapshot). */
export function chunkOf(encoder: PaymentEventEncoder, events: readonly PaymentEvent[]): Buffer {
  const frames = new Array<Buffer>(events.length);
  let bytes = 0;
  for (let i = 0; i < events.length; i++) {
    const frame = encoder.frame(events[i] as PaymentEvent);
    frames[i] = frame;
    bytes += frame.byteLength;
  }
  return frames.length === 1 ? (frames[0] as Buffer) : Buffer.concat(frames, bytes);
}
