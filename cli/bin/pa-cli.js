#!/usr/bin/env node
// The `pa-cli` command: registers tsx so Node runs pa-cli's TypeScript source as it is, then
// hands over to it. No build step, inside the repo (`npx pa-cli`) or installed from a tarball.
import { register } from "tsx/esm/api";

register();
await import("../pa-cli.ts");
