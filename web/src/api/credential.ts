// The credential the dashboard sends to a pa that asks for one (AUTH_MODE=token or jwt): an API key
// or a JWT the operator pastes when pa answers UNAUTHENTICATED. It lives in sessionStorage, so it
// survives a reload but not the tab, and is never written anywhere else.
const STORAGE_KEY = "pa-token";

export class Credential {
  private readonly listeners = new Set<() => void>();
  private rejection: string | undefined;
  private changes = 0;

  constructor(private readonly storage: Storage) {}

  get token(): string | undefined {
    return this.storage.getItem(STORAGE_KEY) || undefined;
  }

  /** pa's reason for refusing the current token (or its absence); undefined while none was refused. */
  get rejected(): string | undefined {
    return this.rejection;
  }

  /** Counts tokens set and forgotten: whatever was refused before may be tried again. */
  get generation(): number {
    return this.changes;
  }

  set(token: string): void {
    this.storage.setItem(STORAGE_KEY, token.trim());
    this.changed();
  }

  forget(): void {
    this.storage.removeItem(STORAGE_KEY);
    this.changed();
  }

  /** pa refused a call made with `sentToken`; a refusal of a token already replaced is old news. */
  reject(reason: string, sentToken: string | undefined): void {
    if (sentToken !== this.token || this.rejection === reason) return;
    this.rejection = reason;
    this.notify();
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    this.rejection = undefined;
    this.changes += 1;
    this.notify();
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }
}
