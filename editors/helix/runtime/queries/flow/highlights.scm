; Highlights for .flow files, with the capture names of Helix.
;
; Order: the last pattern that matches a node wins (tree-sitter's highlighter since 0.21,
; Neovim, Helix since 25.07), so general patterns come before specific ones.
; Made by editors/tree-sitter-flow/sync-queries.js from queries/highlights.scm: edit that.

; Operators and punctuation

[
  ","
  ":"
  "."
] @punctuation.delimiter

[
  "("
  ")"
  "["
  "]"
  "{"
  "}"
] @punctuation.bracket

[
  "||"
  "&&"
  "=="
  "!="
  "<"
  "<="
  ">"
  ">="
  "+"
  "-"
  "*"
  "/"
  "%"
  "!"
  "="
] @operator

; Names

(identifier) @variable

(field_identifier) @variable.other.member

(key) @variable.other.member

; Literals

(string) @string

(interpolation
  [
    "${"
    "}"
  ] @punctuation.special)

(escape_sequence) @constant.character.escape

(duration) @constant.numeric.integer

(float) @constant.numeric.float

(integer) @constant.numeric.integer

(boolean) @constant.builtin.boolean

(workflow_reference) @variable.builtin

; Calls

(backoff
  kind: (identifier) @constant.builtin)

(path
  name: (identifier) @function)

(path
  module: (identifier) @namespace)

(call_expression
  function: (field_expression
    field: (field_identifier) @function))

(call_expression
  function: (identifier) @function)

(call_expression
  function: (identifier) @function.builtin
  (#any-of? @function.builtin
    "basename" "concat" "contains" "dirname" "ends_with" "env" "format_time" "get" "git_sha" "join"
    "is_set" "json_get" "keys" "len" "lower" "now" "parse_float" "parse_int" "parse_json" "path_join"
    "replace" "run_id" "seconds" "sha256" "split" "starts_with" "to_json" "to_string" "trim"
    "upper" "values"))

; Types

(type
  [
    "<"
    ">"
  ] @punctuation.bracket)

(type_identifier) @type

(type
  name: (type_identifier) @type.builtin
  (#any-of? @type.builtin "string" "int" "float" "bool" "duration" "secret" "list" "map" "record"))

; Declarations and step names

(import_declaration
  alias: (identifier) @namespace)

(output_declaration
  name: (identifier) @variable.other.member)

(for_clause
  variable: (identifier) @variable)

(secret_declaration
  name: (identifier) @constant)

(let_declaration
  name: (identifier) @constant)

(parameter
  name: (identifier) @variable.parameter)

(step_name
  (identifier) @function)

(on_failure_attribute
  (step_name
    (identifier) @constant.builtin
    (#any-of? @constant.builtin "continue" "fail_fast")))

(concurrency_policy
  (identifier) @constant.builtin
  (#any-of? @constant.builtin "queue" "skip" "cancel"))

(step_declaration
  name: (identifier) @function)

(task_declaration
  name: (identifier) @function)

(workflow_declaration
  name: (identifier) @function)

(policy_declaration
  name: (identifier) @constant)

; Keywords

[
  "run"
  "exec"
  "sleep"
  "approve"
  "native"
  "retry"
  "backoff"
  "jitter"
  "timeout"
  "env"
  "outputs"
  "on_failure"
  "max_parallel"
  "checkpoint"
  "concurrency"
  "priority"
  "dir"
  "max_failures"
] @keyword

[
  "after"
  "when"
  "on_failure_of"
  "finally"
] @keyword

[
  "for"
  "in"
  "max"
] @keyword.control.repeat

[
  "if"
  "else"
] @keyword.control.conditional

[
  "import"
  "as"
] @keyword.control.import

[
  "step"
  "let"
  "secret"
  "defaults"
  "policy"
] @keyword

[
  "workflow"
  "task"
] @keyword.function

; Comments

(comment) @comment.line

(doc_comment) @comment.line.documentation
