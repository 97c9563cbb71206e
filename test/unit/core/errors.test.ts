import { describe, expect, it } from 'vitest';
import * as errors from '#core/errors.ts';
import {
  CRASH_ERRORS,
  ERROR_CLASS_NAMES,
  ERRORS,
  FAIL_STATE_NAMES,
  LAMBDA_ERRORS,
  STATES_ERRORS,
  THROTTLING_ERRORS,
  TRANSIENT_ERRORS,
} from '#core/errors.ts';

type ErrorClass = new (...args: unknown[]) => Error;

/** Every error class the module exports, by its export name. */
const CLASSES: [string, ErrorClass][] = Object.entries(errors as Record<string, unknown>).filter(
  (entry): entry is [string, ErrorClass] => typeof entry[1] === 'function' && entry[1].prototype instanceof Error,
);

/** An instance of a class, built with arguments every constructor accepts (a list of problems or a holder, then a message). */
const instanceOf = (Class: ErrorClass): Error => new Class([], 'a message');

describe('the error classes', () => {
  it('are all exported, so the name table can be checked against them', () => {
    expect(CLASSES.map(([name]) => name)).toContain('AlarmFiring');
    expect(CLASSES.length).toBe(Object.keys(ERROR_CLASS_NAMES).length);
  });

  it.each(CLASSES)('%s carries its own class name, which is its key and its value in ERRORS', (name, Class) => {
    const error = instanceOf(Class);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe(name);
    expect(error.name).toBe(Class.name);
    expect(ERROR_CLASS_NAMES[name as keyof typeof ERROR_CLASS_NAMES]).toBe(name);
    expect(ERRORS[name as keyof typeof ERROR_CLASS_NAMES]).toBe(name);
  });

  it('has no name in the table that no class carries', () => {
    const classNames = new Set(CLASSES.map(([name]) => name));
    expect(Object.keys(ERROR_CLASS_NAMES).filter((name) => !classNames.has(name))).toEqual([]);
  });
});

describe('the names the state machines use', () => {
  it('keeps the Fail state names apart from the class names, each equal to its key', () => {
    for (const [key, value] of Object.entries(FAIL_STATE_NAMES)) {
      expect(value).toBe(key);
      expect(ERRORS[key as keyof typeof FAIL_STATE_NAMES]).toBe(value);
      expect(Object.keys(ERROR_CLASS_NAMES)).not.toContain(key);
    }
  });

  it('names the Step Functions and Lambda errors with their service prefix and their key', () => {
    expect(ERRORS.States).toBe(STATES_ERRORS);
    expect(ERRORS.Lambda).toBe(LAMBDA_ERRORS);
    for (const [key, value] of Object.entries(STATES_ERRORS)) expect(value).toBe(`States.${key}`);
    for (const [key, value] of Object.entries(LAMBDA_ERRORS)) expect(value).toBe(`Lambda.${key}`);
    for (const [key, value] of Object.entries(ERRORS.Throttling)) expect(value).toBe(key);
  });

  it('retries transient faults and crashes by disjoint lists of known names, never States.ALL or States.Timeout', () => {
    const known = new Set<string>([...Object.values(LAMBDA_ERRORS), ...Object.values(THROTTLING_ERRORS)]);
    for (const name of [...TRANSIENT_ERRORS, ...CRASH_ERRORS]) expect(known.has(name), name).toBe(true);
    expect(TRANSIENT_ERRORS.filter((name) => CRASH_ERRORS.includes(name))).toEqual([]);
    expect([...TRANSIENT_ERRORS, ...CRASH_ERRORS]).not.toContain(STATES_ERRORS.ALL);
    expect([...TRANSIENT_ERRORS, ...CRASH_ERRORS]).not.toContain(STATES_ERRORS.Timeout);
    expect(CRASH_ERRORS).toContain(LAMBDA_ERRORS.Unknown);
  });
});
