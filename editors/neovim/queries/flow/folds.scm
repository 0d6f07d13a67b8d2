; Folds: declarations, bodies and multi-line literals.

[
  (workflow_declaration)
  (task_declaration)
  (policy_declaration)
  (step_declaration)
  (defaults_block)
  (parameters)
  (env_attribute)
  (outputs_attribute)
  (list)
  (map)
  (arguments)
] @fold
