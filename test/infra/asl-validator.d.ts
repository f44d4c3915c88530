/** Types for asl-validator 4, which ships none. */
declare module 'asl-validator' {
  interface StateMachineError {
    readonly 'Error code': string;
    readonly Message: string;
  }
  interface ValidationResult {
    readonly isValid: boolean;
    readonly errors: readonly StateMachineError[];
    errorsText(separator?: string): string;
  }
  interface ValidationOptions {
    readonly checkPaths: boolean;
    readonly checkArn: boolean;
  }
  /** Validates an Amazon States Language definition. Note: it fills in `QueryLanguage` on the states it sees. */
  function validator(definition: object, options?: ValidationOptions): ValidationResult;
  export = validator;
}
