// The one escape from `any` (eslint's no-explicit-any is on everywhere else): a parsed JSON or YAML
// object whose shape is checked where it is read, not declared up front. Kubernetes objects of any kind,
// Hubble flows, Pulumi resource props and chart values arrive this way; typing each fully would copy
// upstream schemas that the code only ever reads a few fields of, and that the tests pin instead.

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Untyped = Record<string, any>;
