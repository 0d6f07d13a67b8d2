/**
 * @file Tree-sitter grammar for `.flow` workflow files (flowc).
 *
 * Follows grammar/flow.pest, the language's one grammar, rule for rule where it can;
 * the drift test in tests/flowc/editors.rs checks that both have the same keywords.
 * Precedence follows src/parse/expr.rs (lowest first): `||`, `&&`, comparisons,
 * `+ -`, `* / %`, prefix `! -`, postfix `.field [index] (args)`.
 */

/// <reference types="tree-sitter-cli/dsl" />
// @ts-check

const PREC = {
  or: 1,
  and: 2,
  compare: 3,
  add: 4,
  multiply: 5,
  unary: 6,
  postfix: 7,
};

/** `rule` separated by commas, at least once, with an optional trailing comma. */
function commaSep1(rule) {
  return seq(rule, repeat(seq(',', rule)), optional(','));
}

/** `rule` separated by commas, possibly none, with an optional trailing comma. */
function commaSep(rule) {
  return optional(commaSep1(rule));
}

/** `rule` separated by optional commas (`env` and `outputs` blocks). */
function optionalCommaSep(rule) {
  return optional(seq(rule, repeat(seq(optional(','), rule)), optional(',')));
}

module.exports = grammar({
  name: 'flow',

  extras: $ => [/\s/, $.comment, $.doc_comment],

  word: $ => $.identifier,

  rules: {
    source_file: $ => repeat($._item),

    _item: $ => choice(
      $.import_declaration,
      $.workflow_declaration,
      $.task_declaration,
      $.let_declaration,
      $.policy_declaration,
    ),

    // ---------------------------------------------------------------- comments

    // `// text`, and `//// text` (four or more slashes): ordinary comments.
    comment: _ => token(choice(
      seq('//', optional(seq(/[^/\n]/, /[^\n]*/))),
      seq('////', /[^\n]*/),
    )),

    // `/// text`: documentation of the item that follows.
    doc_comment: _ => token(seq('///', optional(seq(/[^/\n]/, /[^\n]*/)))),

    // ------------------------------------------------------------------- items

    import_declaration: $ => seq(
      'import',
      field('path', $.string),
      'as',
      field('alias', $.identifier),
    ),

    workflow_declaration: $ => seq(
      'workflow',
      field('name', $.identifier),
      optional(field('parameters', $.parameters)),
      field('body', $.workflow_body),
    ),

    workflow_body: $ => seq(
      '{',
      repeat(choice(
        $.step_declaration,
        $.let_declaration,
        $.secret_declaration,
        $.defaults_block,
        $.concurrency_declaration,
        // Limits of the whole run: `timeout 1h`, `max_failures 3`.
        $.timeout_attribute,
        $.max_failures_attribute,
      )),
      '}',
    ),

    task_declaration: $ => seq(
      'task',
      field('name', $.identifier),
      optional(field('parameters', $.parameters)),
      field('body', $.step_body),
    ),

    // `policy NAME { retry ... }`: a named retry policy, used as `retry module.NAME`.
    policy_declaration: $ => seq(
      'policy',
      field('name', $.identifier),
      '{',
      field('retry', $.retry_attribute),
      '}',
    ),

    parameters: $ => seq('(', commaSep($.parameter), ')'),

    parameter: $ => seq(
      field('name', $.identifier),
      ':',
      field('type', $.type),
      optional(seq('=', field('default', $._expression))),
    ),

    defaults_block: $ => seq('defaults', field('body', $.step_body)),

    // `concurrency "deploy-${target}" [queue | skip | cancel]`: one run per group at a time.
    // The policies are ordinary names here, as they are contextual in the language.
    concurrency_declaration: $ => seq(
      'concurrency',
      field('group', $._expression),
      optional(field('policy', $.concurrency_policy)),
    ),

    concurrency_policy: $ => $.identifier,

    let_declaration: $ => seq(
      'let',
      field('name', $.identifier),
      optional(seq(':', field('type', $.type))),
      '=',
      field('value', $._expression),
    ),

    secret_declaration: $ => seq(
      'secret',
      field('name', $.identifier),
      '=',
      field('value', $._expression),
    ),

    // ------------------------------------------------------------------- steps

    step_declaration: $ => seq(
      optional('finally'),
      'step',
      field('name', $.identifier),
      repeat(choice($.after_clause, $.when_clause, $.for_clause, $.compensates_clause)),
      choice(
        seq(field('call', $.step_call), optional(field('body', $.step_body))),
        field('body', $.step_body),
      ),
    ),

    after_clause: $ => seq('after', $.step_name, repeat(seq(',', $.step_name))),

    when_clause: $ => seq('when', field('condition', $._expression)),

    for_clause: $ => seq(
      'for',
      field('variable', $.identifier),
      'in',
      field('iterable', $._expression),
      optional(seq('max', field('limit', $._expression))),
    ),

    compensates_clause: $ => seq('on_failure_of', $.step_name),

    step_call: $ => seq('=', field('callee', $.path), field('arguments', $.arguments)),

    // A step named in `after`, `on_failure_of` or `on_failure`.
    step_name: $ => $.identifier,

    // `callee` or `module.callee`.
    path: $ => seq(
      optional(seq(field('module', $.identifier), '.')),
      field('name', $.identifier),
    ),

    step_body: $ => seq('{', repeat($._attribute), '}'),

    _attribute: $ => choice(
      $.run_attribute,
      $.exec_attribute,
      $.sleep_attribute,
      $.approve_attribute,
      $.native_attribute,
      $.retry_attribute,
      $.timeout_attribute,
      $.env_attribute,
      $.outputs_attribute,
      $.on_failure_attribute,
      $.max_parallel_attribute,
      $.checkpoint_attribute,
      $.priority_attribute,
      $.dir_attribute,
      $.max_failures_attribute,
    ),

    run_attribute: $ => seq('run', $._expression),
    exec_attribute: $ => seq('exec', $._expression),
    sleep_attribute: $ => seq('sleep', $._expression),
    approve_attribute: $ => seq('approve', $._expression),
    // `native "http.get"`: an action implemented in Rust (standard-library tasks only).
    native_attribute: $ => seq('native', $._expression),
    timeout_attribute: $ => seq('timeout', $._expression),
    max_parallel_attribute: $ => seq('max_parallel', $._expression),
    // `checkpoint "pre-production"`: the label `flowc rollback --to` names.
    checkpoint_attribute: $ => seq('checkpoint', $._expression),
    // `priority 10`: among ready steps, higher priorities start first.
    priority_attribute: $ => seq('priority', $._expression),
    // `dir "build"`: the working directory of the step process.
    dir_attribute: $ => seq('dir', $._expression),
    // `max_failures 3`: a failure budget (of a fan-out step, or of the whole run).
    max_failures_attribute: $ => seq('max_failures', $._expression),

    retry_attribute: $ => seq(
      'retry',
      field('count', $._expression),
      optional($.backoff),
      optional('jitter'),
      optional(seq('if', field('condition', $._expression))),
    ),

    backoff: $ => seq('backoff', field('kind', $.identifier), field('arguments', $.arguments)),

    env_attribute: $ => seq('env', '{', optionalCommaSep($.env_entry), '}'),

    env_entry: $ => seq(field('key', choice(alias($.identifier, $.key), $.string)), ':', field('value', $._expression)),

    outputs_attribute: $ => seq('outputs', '{', optionalCommaSep($.output_declaration), '}'),

    output_declaration: $ => seq(field('name', $.identifier), ':', field('type', $.type)),

    // `on_failure continue | fail_fast | STEP [if COND]`: the policies are ordinary names
    // here too. A step may have several, tried in order.
    on_failure_attribute: $ => seq(
      'on_failure',
      $.step_name,
      optional(seq('if', field('condition', $._expression))),
    ),

    // ------------------------------------------------------------------- types

    // `list<string>`, and `record { name: string, replicas: int }`: `record` is a type
    // name like `list` (the pest grammar reads the fields only after `record`; here any
    // name may have them, and the checker reports the rest).
    type: $ => seq(
      field('name', alias($.identifier, $.type_identifier)),
      optional(choice(
        seq('<', field('argument', $.type), '>'),
        seq('{', optionalCommaSep($.field_type), '}'),
      )),
    ),

    field_type: $ => seq(
      field('name', choice(alias($.identifier, $.key), $.string)),
      ':',
      field('type', $.type),
    ),

    // ------------------------------------------------------------- expressions

    _expression: $ => choice(
      $.binary_expression,
      $.unary_expression,
      $.field_expression,
      $.index_expression,
      $.call_expression,
      $.parenthesized_expression,
      $.if_expression,
      $.list,
      $.map,
      $.string,
      $.integer,
      $.float,
      $.duration,
      $.boolean,
      alias('workflow', $.workflow_reference),
      $.identifier,
    ),

    binary_expression: $ => {
      const table = [
        [PREC.or, '||'],
        [PREC.and, '&&'],
        [PREC.compare, choice('==', '!=', '<', '<=', '>', '>=')],
        [PREC.add, choice('+', '-')],
        [PREC.multiply, choice('*', '/', '%')],
      ];
      return choice(...table.map(([precedence, operator]) => prec.left(precedence, seq(
        field('left', $._expression),
        // @ts-ignore
        field('operator', operator),
        field('right', $._expression),
      ))));
    },

    unary_expression: $ => prec(PREC.unary, seq(
      field('operator', choice('!', '-')),
      field('operand', $._expression),
    )),

    field_expression: $ => prec(PREC.postfix, seq(
      field('value', $._expression),
      '.',
      field('field', alias($.identifier, $.field_identifier)),
    )),

    index_expression: $ => prec(PREC.postfix, seq(
      field('value', $._expression),
      '[',
      field('index', $._expression),
      ']',
    )),

    call_expression: $ => prec(PREC.postfix, seq(
      field('function', $._expression),
      field('arguments', $.arguments),
    )),

    arguments: $ => seq('(', commaSep($.argument), ')'),

    argument: $ => seq(
      optional(seq(field('name', alias($.identifier, $.key)), ':')),
      field('value', $._expression),
    ),

    parenthesized_expression: $ => seq('(', $._expression, ')'),

    if_expression: $ => seq(
      'if',
      field('condition', $._expression),
      '{', field('consequence', $._expression), '}',
      'else',
      field('alternative', choice($.if_expression, seq('{', $._expression, '}'))),
    ),

    list: $ => seq('[', commaSep($._expression), ']'),

    map: $ => seq('{', commaSep($.map_entry), '}'),

    map_entry: $ => seq(field('key', choice(alias($.identifier, $.key), $.string)), ':', field('value', $._expression)),

    // ---------------------------------------------------------------- literals

    boolean: _ => choice('true', 'false'),

    integer: _ => /[0-9][0-9_]*/,

    float: _ => /[0-9][0-9_]*\.[0-9]+/,

    // Whole amounts with units, largest first: `500ms`, `1h30m`.
    duration: _ => /([0-9][0-9_]*(ms|s|m|h|d))+/,

    string: $ => seq(
      '"',
      repeat(choice($.string_content, $.escape_sequence, $.interpolation)),
      token.immediate('"'),
    ),

    // Text inside a string; its precedence keeps `//` in a URL from starting a comment.
    string_content: _ => token.immediate(prec(1, /[^"\\$]+|\$/)),

    escape_sequence: _ => token.immediate(seq('\\', /u\{[^}"]*\}|[^\n]|\n/)),

    // `${` outranks `$` as text.
    interpolation: $ => seq(token.immediate(prec(2, '${')), $._expression, '}'),

    // ------------------------------------------------------------------- names

    // A name. Where a reserved word is expected too, the reserved word wins; elsewhere
    // (field names, keys, types, argument names) any word is a name, as in the pest
    // grammar's `word`.
    identifier: _ => /[A-Za-z_][A-Za-z0-9_]*/,
  },
});
