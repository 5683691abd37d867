/**
 * A query parameter given twice arrives as an array. Routes accept that shape
 * only where they refuse it themselves with a sentence saying what is wrong,
 * instead of silently picking one of the values.
 */
export const singleOrRepeated = {
  anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
} as const
