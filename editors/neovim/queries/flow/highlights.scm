; Highlights for .flow files, with the capture names of nvim-treesitter.
;
; Order: the last pattern that matches a node wins (tree-sitter's highlighter since 0.21,
; Neovim, Helix since 25.07), so general patterns come before specific ones.
; editors/neovim and editors/helix hold copies made by sync-queries.js (Helix's with its
; own capture names); test.sh checks that they are current.

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

(field_identifier) @property

(key) @property

; Literals

(string) @string

(interpolation
  [
    "${"
    "}"
  ] @punctuation.special)

(escape_sequence) @string.escape

(duration) @number

(float) @number.float

(integer) @number

(boolean) @boolean

(workflow_reference) @variable.builtin

; Calls

(backoff
  kind: (identifier) @constant.builtin)

(path
  name: (identifier) @function.call)

(path
  module: (identifier) @module)

(call_expression
  function: (field_expression
    field: (field_identifier) @function.call))

(call_expression
  function: (identifier) @function.call)

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
  alias: (identifier) @module)

(output_declaration
  name: (identifier) @property)

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
] @keyword.repeat

[
  "if"
  "else"
] @keyword.conditional

[
  "import"
  "as"
] @keyword.import

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

(comment) @comment

(doc_comment) @comment.documentation
