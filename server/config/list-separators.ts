// pa's list-valued settings are comma-separated. A list written with spaces or semicolons would
// otherwise be read as one odd entry (a topic named "a b" never exists, so nothing is allowed or
// consumed, silently); it is refused with the value as it should be written.

// What the entries of pa's lists are made of (topic names and globs, host:port, URLs, keys): a
// piece with anything else is not a misplaced entry but a bad one, left to the setting's own check.
const ENTRY = /^[A-Za-z0-9._\-*?[\]{}:/@=+]+$/;

/**
 * A message showing `value` with commas when it separates its entries by whitespace or semicolons,
 * or undefined when it is an ordinary comma-separated list (spaces beside commas are fine).
 */
export function listSeparatorHint(value: string): string | undefined {
  const entries = value.split(",").map((entry) => entry.trim());
  if (!entries.some((entry) => /[\s;]/.test(entry))) return undefined;
  const pieces = value.split(/[\s,;]+/).filter(Boolean);
  if (!pieces.every((piece) => ENTRY.test(piece))) return undefined;
  return `separates its entries with commas; did you mean "${pieces.join(",")}"?`;
}
