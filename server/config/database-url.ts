// Checks a DATABASE_URL completely at start-up, so that a connection string node-postgres would
// misread or throw on is refused before anything connects. Every message describes the problem in
// general terms and never quotes the value: a connection string carries a password.

const SCHEME = /^postgres(ql)?:\/\//;
// libpq's sslmode values, and node-postgres's own no-verify.
const SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full", "no-verify"];
const FORM = "postgres://user:password@host:5432/database";

/** Why `value` is not a usable PostgreSQL connection URL, or undefined when it is one. */
export function databaseUrlProblem(value: string): string | undefined {
  if (!SCHEME.test(value)) return `must be a postgres:// or postgresql:// connection URL such as ${FORM}`;
  // WHATWG URLs quietly encode what they cannot hold, so these are checked on the raw text: the
  // user name, password and database must reach PostgreSQL exactly as written.
  if (/\s/.test(value)) {
    return "contains a space or other whitespace; percent-encode it in the user name, password or database (a space is %20)";
  }
  if (/%(?![0-9a-fA-F]{2})/.test(value)) {
    return "has a % that does not start a percent-encoded byte; write a literal % as %25";
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `is not a valid URL (check the host, the port and that @ : / ? # [ ] in the password are percent-encoded); the form is ${FORM}`;
  }
  for (const [part, text] of [
    ["user name", url.username],
    ["password", url.password],
    ["database name", url.pathname.slice(1)],
  ] as const) {
    try {
      decodeURIComponent(text);
    } catch {
      return `has a ${part} whose percent-encoding is not UTF-8`;
    }
  }
  if (url.pathname.slice(1).includes("/")) {
    return "has a / in the database name; percent-encode it as %2F";
  }
  const sslmode = url.searchParams.get("sslmode");
  if (sslmode !== null && !SSL_MODES.includes(sslmode)) {
    return `has an sslmode that is not one of ${SSL_MODES.join(", ")}`;
  }
  return undefined;
}
