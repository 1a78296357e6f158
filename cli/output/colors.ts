// Colours only where a person is looking: on a TTY, never with NO_COLOR (https://no-color.org),
// always with FORCE_COLOR. Decided per output stream, so piping stdout keeps stderr coloured.
import picocolors from "picocolors";

export type Colors = ReturnType<typeof picocolors.createColors>;

export function colorsFor(
  stream: { isTTY?: boolean },
  env: Record<string, string | undefined> = process.env,
): Colors {
  const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== "";
  const force = env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "" && env.FORCE_COLOR !== "0";
  return picocolors.createColors(!noColor && (force || Boolean(stream.isTTY)));
}
