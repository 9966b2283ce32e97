// isConnectionError: which driver errors mean "the connection is gone, retry" (UNAVAILABLE)
// and which mean "the statement failed" (still an internal error). The errors are built as
// node-postgres builds them; test/security/faults.test.ts meets the real ones.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { DbError, isConnectionError } from '../../src/db/client.js';

/** A server error as pg-protocol parses it. */
function serverError(code: string, severity: 'ERROR' | 'FATAL', message: string) {
  const err = new pg.DatabaseError(message, message.length, 'error');
  err.code = code;
  err.severity = severity;
  return err;
}

describe('isConnectionError', () => {
  it.each([
    [
      'admin_shutdown',
      serverError('57P01', 'FATAL', 'terminating connection due to administrator command'),
    ],
    ['too_many_connections', serverError('53300', 'FATAL', 'sorry, too many clients already')],
    ['class 08', serverError('08006', 'ERROR', 'connection failure')],
    [
      'a database that refuses connections (FATAL)',
      serverError('55000', 'FATAL', 'database "x" is not currently accepting connections'),
    ],
    ['a dropped socket', new Error('Connection terminated unexpectedly')],
    [
      'a client used after that',
      new Error('Client has encountered a connection error and is not queryable'),
    ],
    ['ECONNRESET', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    [
      'ECONNREFUSED on every address',
      new AggregateError([
        Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      ]),
    ],
  ])('is true for %s, bare or as a DbError cause', (_name, err) => {
    expect(isConnectionError(err)).toBe(true);
    expect(isConnectionError(new DbError('query failed', err))).toBe(true);
  });

  it.each([
    [
      'unique_violation',
      serverError('23505', 'ERROR', 'duplicate key value violates unique constraint'),
    ],
    ['syntax_error', serverError('42601', 'ERROR', 'syntax error at or near "SELEC"')],
    ['deadlock_detected', serverError('40P01', 'ERROR', 'deadlock detected')],
    [
      'object_not_in_prerequisite_state (ERROR)',
      serverError('55000', 'ERROR', 'currval of sequence is not yet defined'),
    ],
    ['a plain error', new Error('event e-1 was neither stored nor found')],
    ['a non-error', 'Connection terminated'],
  ])('is false for %s', (_name, err) => {
    expect(isConnectionError(err)).toBe(false);
    expect(isConnectionError(new DbError('query failed', err))).toBe(false);
  });

  it('stops on a cause cycle', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(isConnectionError(a)).toBe(false);
  });
});
