import { CausewayError } from '@causeway/contracts';

/** Longest file name, in UTF-8 bytes (what most file systems allow). */
export const MAX_NAME_BYTES = 255;
/** Longest folder path, in UTF-8 bytes. */
export const MAX_FOLDER_BYTES = 1024;

// C0 and C1 control characters and DEL; NUL is among them.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function invalid(message: string): CausewayError {
  return new CausewayError('validation_failed', message);
}

/**
 * Checks a file name (one path segment) and returns it. Refuses rather than repairs: `/`, `\`,
 * NUL and control characters, `.` and `..`, more than 255 UTF-8 bytes, and text not in Unicode
 * NFC (so that two spellings of one name cannot be two files).
 */
export function checkFileName(name: string): string {
  if (typeof name !== 'string' || name.length === 0) throw invalid('A file name is required.');
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) {
    throw invalid(`A file name may have at most ${MAX_NAME_BYTES} bytes.`);
  }
  if (name === '.' || name === '..') throw invalid('A file name cannot be "." or "..".');
  if (name.includes('/') || name.includes('\\')) {
    throw invalid('A file name cannot contain "/" or "\\".');
  }
  if (CONTROL.test(name)) throw invalid('A file name cannot contain control characters.');
  if (LONE_SURROGATE.test(name) || name.normalize('NFC') !== name) {
    throw invalid('A file name must be well-formed Unicode in NFC.');
  }
  return name;
}

/** Checks a canonical folder path: `/`, or `/a/b` whose segments are valid names. */
export function checkFolder(folder: string): string {
  if (typeof folder !== 'string' || !folder.startsWith('/')) {
    throw invalid('A folder must start with "/".');
  }
  if (Buffer.byteLength(folder, 'utf8') > MAX_FOLDER_BYTES) {
    throw invalid(`A folder may have at most ${MAX_FOLDER_BYTES} bytes.`);
  }
  if (folder === '/') return folder;
  if (folder.endsWith('/')) throw invalid('A folder must not end with "/".');
  for (const segment of folder.slice(1).split('/')) checkFileName(segment);
  return folder;
}
