import { describe, expect, it } from "vitest";
import { canonicalJson, checkEntry, leafHash, nodeHash, rootFromPath } from "./proof";

describe("canonical JSON (RFC 8785)", () => {
  it("sorts members, drops whitespace, keeps strings and numbers as ECMAScript writes them", () => {
    expect(canonicalJson({ b: [1, 2.5, "x"], a: { d: null, c: true }, "€": "é\n" })).toBe(
      '{"a":{"c":true,"d":null},"b":[1,2.5,"x"],"€":"é\\n"}',
    );
    expect(canonicalJson({ n: 1e21, m: 0.000001 })).toBe('{"m":0.000001,"n":1e+21}');
  });
});

describe("the inclusion proof, checked here", () => {
  // A tree of five entries, built by hand as RFC 9162 defines it.
  const entries = [0, 1, 2, 3, 4].map((i) => ({ log: "platform", index: i, record: { action: `a${i}` } }));

  async function tree() {
    const l = await Promise.all(entries.map(leafHash));
    const [l0, l1, l2, l3, l4] = l as [string, string, string, string, string];
    const n01 = await nodeHash(l0, l1);
    const n23 = await nodeHash(l2, l3);
    const n0123 = await nodeHash(n01, n23);
    const root = await nodeHash(n0123, l4);
    return { l, n01, n23, n0123, root };
  }

  it("walks each leaf's path to the root", async () => {
    const t = await tree();
    const paths: string[][] = [
      [t.l[1]!, t.n23, t.l[4]!],
      [t.l[0]!, t.n23, t.l[4]!],
      [t.l[3]!, t.n01, t.l[4]!],
      [t.l[2]!, t.n01, t.l[4]!],
      [t.n0123],
    ];
    for (const [index, path] of paths.entries()) {
      const proof = { index, tree_size: 5, leaf_hash: t.l[index]!, root_hash: t.root, path };
      expect(await rootFromPath(proof, t.l[index]!)).toBe(t.root);
      const check = await checkEntry(entries[index], proof, { size: 5, root_hash: t.root });
      expect(check).toMatchObject({ leafMatches: true, included: true });
    }
  });

  it("refuses a changed entry, a wrong path and another checkpoint", async () => {
    const t = await tree();
    const proof = { index: 2, tree_size: 5, leaf_hash: t.l[2]!, root_hash: t.root, path: [t.l[3]!, t.n01, t.l[4]!] };
    const changed = { ...entries[2], record: { action: "rewritten" } };
    expect(await checkEntry(changed, proof, { size: 5, root_hash: t.root })).toMatchObject({ leafMatches: false });
    const swapped = { ...proof, path: [t.n01, t.l[3]!, t.l[4]!] };
    expect(await checkEntry(entries[2], swapped, { size: 5, root_hash: t.root })).toMatchObject({ included: false });
    expect(await checkEntry(entries[2], proof, { size: 6, root_hash: t.root })).toMatchObject({ included: false });
    expect(await rootFromPath({ ...proof, path: [...proof.path, t.l[0]!] }, t.l[2]!)).toBeInstanceOf(Error);
  });
});
