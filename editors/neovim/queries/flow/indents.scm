; Indentation, with nvim-treesitter's capture names: the contents of bodies (of policies
; too), parameter and argument lists, lists, maps, env/outputs blocks and the fields of a
; record type are indented one level.

[
  (workflow_body)
  (step_body)
  (policy_declaration)
  (parameters)
  (arguments)
  (list)
  (map)
  (env_attribute)
  (outputs_attribute)
  (type)
] @indent.begin

[
  "}"
  "]"
  ")"
] @indent.branch @indent.end

[
  (comment)
  (doc_comment)
] @indent.auto
