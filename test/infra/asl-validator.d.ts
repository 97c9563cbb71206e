// asl-validator 4 ships no type declarations; this is the part of its API the infra tests use.
declare module 'asl-validator' {
  interface ValidationOptions {
    readonly checkPaths?: boolean;
    readonly checkArn?: boolean;
  }
  function validator(
    definition: object,
    options?: ValidationOptions,
  ): { isValid: boolean; errors: { message?: string }[]; errorsText: (separator?: string) => string };
  export = validator;
}
