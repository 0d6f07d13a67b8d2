; Scopes, definitions and references, for "go to definition" and highlighting of uses.

[
  (source_file)
  (workflow_declaration)
  (task_declaration)
  (step_declaration)
] @local.scope

(parameter
  name: (identifier) @local.definition)

(let_declaration
  name: (identifier) @local.definition)

(secret_declaration
  name: (identifier) @local.definition)

(for_clause
  variable: (identifier) @local.definition)

(import_declaration
  alias: (identifier) @local.definition)

(identifier) @local.reference
