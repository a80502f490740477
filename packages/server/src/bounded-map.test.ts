import { describe, expect, it } from "vitest";
import { BoundedMap } from "./bounded-map.js";

describe("BoundedMap", () => {
  it("holds at most max entries, dropping the least recently used (read or written) first", () => {
    const map = new BoundedMap<string, number>(2);
    map.set("a", 1).set("b", 2);
    expect(map.get("a")).toBe(1); // a is now the most recently used
    map.set("c", 3);
    expect(map.size).toBe(2);
    expect([map.get("a"), map.get("b"), map.get("c")]).toEqual([1, undefined, 3]);
    map.set("a", 10); // a rewritten: c is now the least recently used
    map.set("d", 4);
    expect([map.peek("a"), map.peek("c"), map.peek("d")]).toEqual([10, undefined, 4]);
  });

  it("peeks and lists entries without counting a use", () => {
    const map = new BoundedMap<string, number>(2);
    map.set("a", 1).set("b", 2);
    expect(map.peek("a")).toBe(1);
    expect([...map.entries()].sort()).toEqual([
      ["a", 1],
      ["b", 2],
    ]);
    map.set("c", 3); // a was only peeked at: it goes first
    expect([map.peek("a"), map.peek("b"), map.peek("c")]).toEqual([undefined, 2, 3]);
  });

  it("forgets one entry or all of them, and refuses to hold nothing", () => {
    const map = new BoundedMap<string, number>(3);
    map.set("a", 1).set("b", 2).set("c", 3);
    map.delete("b");
    expect([...map.entries()].map(([key]) => key).sort()).toEqual(["a", "c"]);
    map.clear();
    expect(map.size).toBe(0);
    map.set("d", 4);
    expect(map.get("d")).toBe(4);
    expect(() => new BoundedMap(0)).toThrow(RangeError);
  });
});

describe("BoundedMap bounded in bytes", () => {
  it("drops the least recently used entries once their sizes add up past maxBytes", () => {
    const map = new BoundedMap<string, string>({ maxBytes: 10, sizeOf: (value) => value.length });
    map.set("a", "1234").set("b", "1234");
    expect(map.bytes).toBe(8);
    map.get("a"); // b is now the least recently used
    map.set("c", "1234");
    expect([map.peek("a"), map.peek("b"), map.peek("c")]).toEqual(["1234", undefined, "1234"]);
    expect(map.bytes).toBe(8);
  });

  it("counts a value's new size when it is set again, and keeps nothing larger than the bound", () => {
    const map = new BoundedMap<string, { bytes: number }>({ maxBytes: 100, sizeOf: (value) => value.bytes });
    const grown = { bytes: 10 };
    map.set("a", grown).set("b", { bytes: 10 });
    grown.bytes = 95;
    map.set("a", grown); // re-measured: with b, 105 bytes; b (least recently used) goes
    expect([map.peek("a")?.bytes, map.peek("b")]).toEqual([95, undefined]);
    map.set("huge", { bytes: 101 });
    expect(map.peek("huge")).toBeUndefined();
    expect(map.bytes).toBe(95);
  });

  it("may bound both entries and bytes", () => {
    const map = new BoundedMap<string, string>({ maxEntries: 2, maxBytes: 1000, sizeOf: () => 1 });
    map.set("a", "x").set("b", "x").set("c", "x");
    expect(map.size).toBe(2);
    expect(() => new BoundedMap({ maxBytes: 0, sizeOf: () => 1 })).toThrow(RangeError);
  });
});
