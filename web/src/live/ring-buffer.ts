// A fixed-capacity buffer that keeps the newest items: pushing past capacity drops the oldest, in
// O(1), without moving anything. Read newest first, as the table shows them.
export class RingBuffer<T> {
  private readonly items: (T | undefined)[];
  private next = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError("capacity must be a positive integer");
    this.items = new Array<T | undefined>(capacity);
  }

  get length(): number {
    return this.size;
  }

  push(item: T): void {
    this.items[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
    if (this.size < this.capacity) this.size++;
  }

  /** 0 is the newest item. */
  newest(index: number): T | undefined {
    if (index < 0 || index >= this.size) return undefined;
    return this.items[(this.next - 1 - index + this.capacity * 2) % this.capacity];
  }

  /** Newest first. */
  *[Symbol.iterator](): Iterator<T> {
    for (let i = 0; i < this.size; i++) yield this.newest(i) as T;
  }

  clear(): void {
    this.items.fill(undefined);
    this.next = 0;
    this.size = 0;
  }
}
