import type { Syntax } from "./session.js";

/** What a shared playground link carries. */
export interface SharedProgram {
  syntax: Syntax;
  source: string;
  memory: string;
}

/** Version tag in front of the payload, so a later format can still read old links. */
const PREFIX = "v1.";

/** The program as a URL fragment (`#v1.<base64url of JSON>`), readable back by `readShareHash`. */
export function shareHash(program: SharedProgram): string {
  const json = JSON.stringify({ y: program.syntax, s: program.source, m: program.memory });
  const bytes = new TextEncoder().encode(json);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  const base64 = btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  return `#${PREFIX}${base64}`;
}

/** The program in a fragment made by `shareHash`, or undefined for any other fragment. */
export function readShareHash(hash: string): SharedProgram | undefined {
  const text = hash.replace(/^#/, "");
  if (!text.startsWith(PREFIX)) return undefined;
  try {
    const binary = atob(text.slice(PREFIX.length).replace(/-/g, "+").replace(/_/g, "/"));
    const json = new TextDecoder("utf-8", { fatal: true }).decode(
      Uint8Array.from(binary, (c) => c.charCodeAt(0)),
    );
    const value = JSON.parse(json) as { y?: unknown; s?: unknown; m?: unknown };
    if (
      (value.y !== "ubpf" && value.y !== "llvm") ||
      typeof value.s !== "string" ||
      typeof value.m !== "string"
    )
      return undefined;
    return { syntax: value.y, source: value.s, memory: value.m };
  } catch {
    return undefined;
  }
}
