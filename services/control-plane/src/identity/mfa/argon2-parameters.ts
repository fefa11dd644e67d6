/**
 * The parameters of an argon2id PHC string (`$argon2id$v=19$m=..,t=..,p=..$salt$hash`), in
 * whatever order the library wrote them; undefined when the string is not argon2id v19.
 */
export function argon2idParameters(phc: string): { m: number; t: number; p: number } | undefined {
  const parts = phc.split('$');
  if (parts.length !== 6 || parts[1] !== 'argon2id' || parts[2] !== 'v=19') return undefined;
  const values = new Map(
    parts[3].split(',').map((kv) => {
      const [k, v] = kv.split('=');
      return [k, Number(v)] as const;
    }),
  );
  const [m, t, p] = ['m', 't', 'p'].map((k) => values.get(k));
  if (m === undefined || t === undefined || p === undefined) return undefined;
  return { m, t, p };
}
