import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { API_ROUTES, CONTROL_ACTIONS, methodsOf, modelSchema, RollbackBody, resolveRoute } from '#core/api-contract.ts';

describe('the API contract', () => {
  it('has a POST route for every control action, and no method twice on one resource', () => {
    for (const action of CONTROL_ACTIONS) expect(methodsOf(`/deployments/{id}/${action}`)).toEqual(['POST']);
    const keys = API_ROUTES.map((r) => `${r.method} ${r.resource}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('names the methods of a resource in the order of the routes, and none for an unknown one', () => {
    expect(methodsOf('/deployments')).toEqual(['POST', 'GET']);
    expect(methodsOf('/nothing')).toEqual([]);
    expect(methodsOf(undefined)).toEqual([]);
  });
});

describe('resolveRoute', () => {
  it('finds the resource of a path with its decoded path parameters, as API Gateway does', () => {
    expect(resolveRoute('/deployments')).toEqual({ resource: '/deployments', pathParameters: null });
    expect(resolveRoute('/deployments/web%2D1/approve/')).toEqual({
      resource: '/deployments/{id}/approve',
      pathParameters: { id: 'web-1' },
    });
  });

  it('keeps a segment that is not valid percent-encoding as it is', () => {
    expect(resolveRoute('/deployments/%E0%A4%A')).toEqual({ resource: '/deployments/{id}', pathParameters: { id: '%E0%A4%A' } });
  });

  it('finds no resource for an unknown path or an empty parameter', () => {
    expect(resolveRoute('/nothing/here')).toBeUndefined();
    expect(resolveRoute('/deployments//logs')).toBeUndefined();
  });
});

describe('modelSchema', () => {
  it('writes a draft-04 schema for the input side: defaults, formats and const left out', () => {
    expect(modelSchema(z.object({ at: z.string().startsWith('x'), kind: z.literal('a'), n: z.number().default(1) }).strict())).toEqual({
      $schema: 'http://json-schema.org/draft-04/schema#',
      type: 'object',
      properties: { at: { type: 'string', pattern: '^x.*' }, kind: { type: 'string', enum: ['a'] }, n: { type: 'number' } },
      required: ['at', 'kind'],
      additionalProperties: false,
    });
    expect(modelSchema(RollbackBody)).toMatchObject({ properties: { emergency: { type: 'boolean' } }, additionalProperties: false });
  });

  it('refuses a schema that needs a keyword API Gateway models lack, naming where', () => {
    expect(() => modelSchema(z.object({ pair: z.tuple([z.string(), z.number()]) }))).toThrow(
      'the additionalItems keyword at #/properties/pair has no place in an API Gateway (draft-04) model',
    );
  });
});
