// Checking an audit entry in the browser, without trusting the page's server
// for the answer: the entry's leaf hash is computed here from its RFC 8785
// canonical JSON (SHA-256 of 0x00 and those bytes, RFC 9162 §2.1.1), and the
// inclusion proof's audit path is walked from that leaf to the root of the
// signed checkpoint (RFC 9162 §2.1.3.2).

/** RFC 8785 canonical JSON: object members sorted by their names' UTF-16 code
 * units, no whitespace, strings and numbers as ECMAScript serializes them. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const members = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${members.join(",")}}`;
  }
  return JSON.stringify(value);
}

const hex = (bytes: ArrayBuffer) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");

function fromHex(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

async function sha256(...parts: Uint8Array[]): Promise<string> {
  const joined = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    joined.set(part, at);
    at += part.length;
  }
  return hex(await crypto.subtle.digest("SHA-256", joined));
}

/** The leaf hash of an entry: SHA-256(0x00 || canonical JSON), hex. */
export function leafHash(entry: unknown): Promise<string> {
  return sha256(new Uint8Array([0]), new TextEncoder().encode(canonicalJson(entry)));
}

/** An interior node: SHA-256(0x01 || left || right), hex. */
export function nodeHash(left: string, right: string): Promise<string> {
  return sha256(new Uint8Array([1]), fromHex(left), fromHex(right));
}

export interface InclusionProof {
  index: number;
  tree_size: number;
  leaf_hash: string;
  root_hash: string;
  path: string[];
}

/** The root the audit path leads to from `leaf`, or why it leads nowhere. */
export async function rootFromPath(proof: InclusionProof, leaf: string): Promise<string | Error> {
  if (proof.index >= proof.tree_size) return new Error(`index ${proof.index} is not below ${proof.tree_size}`);
  let fn = proof.index;
  let sn = proof.tree_size - 1;
  let r = leaf;
  for (const p of proof.path) {
    if (sn === 0) return new Error("the path is longer than the tree is deep");
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) return new Error("the path is shorter than the tree is deep");
  return r;
}

export interface Check {
  /** The leaf hash computed here from the entry as served. */
  leaf: string;
  /** Whether it is the leaf hash the log stored and proved. */
  leafMatches: boolean;
  /** Whether the audit path leads from it to the checkpoint's root. */
  included: boolean;
  reason?: string;
}

/** Checks that `entry` is the proof's leaf and that the proof leads to the
 * root of the checkpoint (`size`, `root`). */
export async function checkEntry(
  entry: unknown,
  proof: InclusionProof,
  checkpoint: { size: number; root_hash: string },
): Promise<Check> {
  const leaf = await leafHash(entry);
  const leafMatches = leaf === proof.leaf_hash;
  if (!leafMatches) return { leaf, leafMatches, included: false, reason: "the entry is not the leaf the log proved" };
  if (proof.tree_size !== checkpoint.size || proof.root_hash !== checkpoint.root_hash) {
    return { leaf, leafMatches, included: false, reason: "the proof is not for the signed checkpoint" };
  }
  const root = await rootFromPath(proof, leaf);
  if (root instanceof Error) return { leaf, leafMatches, included: false, reason: root.message };
  const included = root === checkpoint.root_hash;
  return { leaf, leafMatches, included, reason: included ? undefined : "the audit path leads to another root" };
}
