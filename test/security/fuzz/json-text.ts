// JSON text of a value nested deeper than JSON.stringify can go (it recurses; a few thousand
// levels overflow the test worker's stack): the fuzz suite sends such values as they are.

type Frame = { items: [string | null, unknown][]; next: number; close: string; parts: string[] };

/** The same text as JSON.stringify(value) for plain data (objects, arrays, scalars). */
export function jsonText(value: unknown): string {
  const leaf = (v: unknown): string | undefined =>
    v === null || typeof v !== 'object' ? (JSON.stringify(v) ?? 'null') : undefined;
  const open = (v: object): Frame =>
    Array.isArray(v)
      ? { items: v.map((x) => [null, x]), next: 0, close: ']', parts: [] }
      : {
          items: Object.entries(v).filter(([, x]) => x !== undefined),
          next: 0,
          close: '}',
          parts: [],
        };
  const top = leaf(value);
  if (top !== undefined) return top;
  const stack: Frame[] = [open(value as object)];
  for (;;) {
    const frame = stack[stack.length - 1]!;
    if (frame.next === frame.items.length) {
      stack.pop();
      const text = (frame.close === ']' ? '[' : '{') + frame.parts.join(',') + frame.close;
      const parent = stack[stack.length - 1];
      if (!parent) return text;
      const [key] = parent.items[parent.next - 1]!;
      parent.parts.push(key === null ? text : `${JSON.stringify(key)}:${text}`);
      continue;
    }
    const [key, v] = frame.items[frame.next++]!;
    const text = leaf(v);
    if (text === undefined) stack.push(open(v as object));
    else frame.parts.push(key === null ? text : `${JSON.stringify(key)}:${text}`);
  }
}
