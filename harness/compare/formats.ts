/** How a comparison is printed (`compare --format`): the names alone, checked before any cluster starts. */
export const COMPARE_FORMATS = ['table', 'markdown', 'json', 'csv'] as const;
export type CompareFormat = (typeof COMPARE_FORMATS)[number];
