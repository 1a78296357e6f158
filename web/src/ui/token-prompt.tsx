// Asks for a token when pa answered UNAUTHENTICATED, and lets the operator forget the one in use.
import { useEffect, useReducer, useState } from "preact/hooks";
import type { Credential } from "../api/credential.js";

/** Re-renders on every change of the credential; returns its generation (tokens set or forgotten). */
export function useCredential(credential: Credential): number {
  const [, bump] = useReducer((n: number) => n + 1, 0);
  useEffect(() => credential.subscribe(() => bump(undefined)), [credential]);
  return credential.generation;
}

export function TokenPrompt({ credential }: { credential: Credential }) {
  useCredential(credential);
  const [draft, setDraft] = useState("");
  const refused = credential.rejected;
  if (!refused) {
    return credential.token ? (
      <button type="button" class="forget-token" onClick={() => credential.forget()}>
        forget token
      </button>
    ) : null;
  }
  return (
    <form
      class="banner token-prompt"
      aria-label="Token"
      onSubmit={(event) => {
        event.preventDefault();
        if (!draft.trim()) return;
        credential.set(draft);
        setDraft("");
      }}
    >
      <p class="error" role="alert">
        {credential.token ? "pa refused the token: " : "This pa asks who you are: "}
        {refused}
      </p>
      <label>
        API key or JWT{" "}
        <input
          type="password"
          name="token"
          class="token-input"
          autocomplete="off"
          spellcheck={false}
          value={draft}
          onInput={(event) => setDraft(event.currentTarget.value)}
        />
      </label>{" "}
      <button type="submit">Use token</button>
      <p class="muted">
        Kept in this browser tab only (sessionStorage), and sent to pa in the header{" "}
        <code>authorization: Bearer …</code>
      </p>
    </form>
  );
}
