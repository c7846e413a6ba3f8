// Type helper for an area's strings: the Chinese must have every key the English has, nested the same way.
type Strings = { [key: string]: string | Strings };
type SameKeys<T> = { [K in keyof T]: T[K] extends string ? string : SameKeys<T[K]> };

export function defineStrings<T extends Strings>(en: T, zh: SameKeys<T>): { en: T; zh: SameKeys<T> } {
  return { en, zh };
}
