// The one owner of the count of open streaming calls. StreamPayments (on either path), health
// Watch and reflection each hold a slot for their whole life, so MAX_STREAMS,
// MAX_STREAMS_PER_CONNECTION and MAX_STREAMS_PER_IDENTITY hold for every stream a client can open.

/** Too many streams open at once: RESOURCE_EXHAUSTED, with when to try again. */
export class StreamLimitError extends Error {
  override readonly name = "StreamLimitError";
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

export interface StreamSlotLimits {
  total: number;
  perConnection: number;
  perCaller: number;
}

export interface StreamCaller {
  /** The client connection (socket or HTTP/2 session) the call arrived on, when known. */
  connection?: object | undefined;
  /** See caller.ts. */
  key: string;
}

// Slots free up whenever any stream ends, so there is no exact time to give; this is a backoff
// that keeps a client retrying in a loop from hammering pa.
const RETRY_AFTER_SECONDS = 5;

export class StreamSlots {
  private open = 0;
  private readonly byConnection = new WeakMap<object, number>();
  private readonly byCaller = new Map<string, number>();

  constructor(private readonly limits: StreamSlotLimits) {}

  /** Streams open now. */
  get count(): number {
    return this.open;
  }

  /** Takes a slot or throws StreamLimitError; the returned release is idempotent. */
  reserve(caller: StreamCaller): () => void {
    const { total, perConnection, perCaller } = this.limits;
    const later = `retry in ${RETRY_AFTER_SECONDS} s`;
    if (this.open >= total) {
      throw new StreamLimitError(
        `pa already serves ${this.open} streams (MAX_STREAMS=${total}); ${later}`,
        RETRY_AFTER_SECONDS,
      );
    }
    const { connection, key } = caller;
    const onConnection = connection ? (this.byConnection.get(connection) ?? 0) : 0;
    if (onConnection >= perConnection) {
      throw new StreamLimitError(
        `this connection already has ${onConnection} streams (MAX_STREAMS_PER_CONNECTION=${perConnection}); open another connection, close a stream or ${later}`,
        RETRY_AFTER_SECONDS,
      );
    }
    const ofCaller = this.byCaller.get(key) ?? 0;
    if (ofCaller >= perCaller) {
      throw new StreamLimitError(
        `${key} already has ${ofCaller} streams open (MAX_STREAMS_PER_IDENTITY=${perCaller}); close one of them or ${later}`,
        RETRY_AFTER_SECONDS,
      );
    }
    this.open++;
    if (connection) this.byConnection.set(connection, onConnection + 1);
    this.byCaller.set(key, ofCaller + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.open--;
      if (connection) this.byConnection.set(connection, (this.byConnection.get(connection) ?? 1) - 1);
      const left = (this.byCaller.get(key) ?? 1) - 1;
      if (left > 0) this.byCaller.set(key, left);
      else this.byCaller.delete(key);
    };
  }
}
