/**
 * The rows of an UPDATE or DELETE … RETURNING run through `DataSource.query`: TypeORM's
 * PostgreSQL driver answers those with `[rows, affectedCount]`, a SELECT with the rows alone.
 */
export function returnedRows<T>(result: T[] | [T[], number]): T[] {
  return Array.isArray(result[0]) ? result[0] : (result as T[]);
}
