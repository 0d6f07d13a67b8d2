;;; flow-mode.el --- Major mode for flowc workflow files  -*- lexical-binding: t; -*-

;; Version: 0.1.0
;; Package-Requires: ((emacs "26.1"))
;; Keywords: languages
;; SPDX-License-Identifier: MIT OR Apache-2.0

;;; Commentary:

;; Editing support for `.flow' files, the workflow language of flowc: highlighting of
;; keywords, builtin types, builtin functions, durations, numbers, strings with nested
;; `${...}' interpolation and escapes, `//' comments and `///' doc comments, operators,
;; step names and step references; indentation by bracket depth; comment settings.
;;
;; The keyword and type lists below must match grammar/flow.pest: a test in the flowc
;; repository compares them (every `kw_*' rule and builtin type, nothing more).
;;
;; Install: put this file on `load-path' and add (require 'flow-mode) to your init file.

;;; Code:

(defgroup flow nil
  "Editing flowc workflow files."
  :group 'languages
  :prefix "flow-")

(defcustom flow-indent-offset 2
  "Indentation of one nesting level, as `flowc fmt' writes it."
  :type 'integer
  :safe #'integerp)

(defconst flow-mode-keywords
  '("workflow" "task" "step" "let" "secret" "import" "as" "after" "when" "for" "in"
    "if" "else" "finally" "on_failure_of"
    "max" "policy" "defaults" "run" "exec" "sleep" "approve" "native" "retry" "backoff"
    "jitter" "timeout" "env" "outputs" "on_failure" "max_parallel" "checkpoint" "concurrency"
    "priority" "dir" "max_failures")
  "The keywords of the flow language: every `kw_*' rule of grammar/flow.pest.")

(defconst flow-mode-types
  '("string" "int" "float" "bool" "duration" "secret" "list" "map" "record")
  "The builtin types.  (`secret' is also a keyword, which wins.)")

(defconst flow-mode-constants '("true" "false")
  "The boolean literals.")

(defconst flow-mode-builtins
  '("basename" "concat" "contains" "dirname" "ends_with" "env" "format_time" "get"
    "git_sha" "is_set" "join" "json_get" "keys" "len" "lower" "now" "parse_float" "parse_int"
    "parse_json" "path_join" "replace" "run_id" "seconds" "sha256" "split" "starts_with"
    "to_json" "to_string" "trim" "upper" "values"
    "fixed" "linear" "exponential")
  "The builtin functions and backoff kinds, highlighted where called.")

(defconst flow-mode-builtin-variables '("exit_code" "timed_out" "attempt")
  "The values a retry condition sees.")

(defface flow-number-face '((t :inherit font-lock-constant-face))
  "Face for numbers.")

(defface flow-duration-face '((t :inherit font-lock-constant-face))
  "Face for durations such as `500ms' and `1h30m'.")

(defface flow-escape-face '((t :inherit font-lock-regexp-grouping-backslash))
  "Face for escapes in strings.")

(defface flow-interpolation-face '((t :inherit font-lock-preprocessor-face))
  "Face for the `${' and `}' around an interpolation.")

(defface flow-operator-face '((t :inherit default))
  "Face for operators.")

(defface flow-step-reference-face '((t :inherit font-lock-variable-name-face))
  "Face for step names in `after', `on_failure' and `on_failure_of'.")

(defconst flow--name "[[:alpha:]_][[:alnum:]_]*"
  "A name.")

(defvar flow-mode-syntax-table
  (let ((table (make-syntax-table)))
    ;; `//' to the end of the line.
    (modify-syntax-entry ?/ ". 12" table)
    (modify-syntax-entry ?\n ">" table)
    ;; Strings are marked by `flow--syntax-propertize', which knows interpolation.
    (modify-syntax-entry ?\" "." table)
    (modify-syntax-entry ?\\ "\\" table)
    (modify-syntax-entry ?_ "_" table)
    (modify-syntax-entry ?$ "." table)
    (dolist (c '(?+ ?- ?* ?% ?< ?> ?= ?! ?& ?| ?, ?: ?.))
      (modify-syntax-entry c "." table))
    table)
  "Syntax table of `flow-mode'.")

(defun flow--fence (pos start end)
  "Make the character at POS a string fence when it lies in [START, END)."
  (when (and (>= pos start) (< pos end))
    (put-text-property pos (1+ pos) 'syntax-table (string-to-syntax "|"))))

(defvar-local flow--scan-resume nil
  "Where the last scan of `flow--syntax-propertize' stopped: (POS . STACK).")

(defun flow--forget-scan (beg _end)
  "Forget the resume point of the scan if the text before it changes at BEG."
  (when (and flow--scan-resume (<= beg (car flow--scan-resume)))
    (setq flow--scan-resume nil)))

(defun flow--syntax-propertize (start end)
  "Mark the strings between START and END.
A string runs from its quote to the `$' of an interpolation, and again
from the `}' that closes the interpolation to the closing quote; the
code in between, strings included, is code.  The scan starts at the
beginning of the buffer, so that it knows which braces close
interpolations, or where the previous scan stopped, when the text
before that has not changed since."
  (remove-text-properties start end '(syntax-table nil))
  (save-excursion
    ;; A stack of frames: `str' in a string, else the number of `{' open in this
    ;; stretch of code.
    (let* ((resume (and flow--scan-resume (<= (car flow--scan-resume) start)
                        flow--scan-resume))
           (stack (if resume (copy-sequence (cdr resume)) (list 0))))
      (goto-char (if resume (car resume) (point-min)))
      (while (< (point) end)
        (let ((c (char-after))
              (next (char-after (1+ (point))))
              (top (car stack)))
          (cond
           ((eq top 'str)
            (cond
             ((eq c ?\\) (forward-char 1))
             ((eq c ?\")
              (flow--fence (point) start end)
              (pop stack))
             ((and (eq c ?$) (eq next ?{))
              (flow--fence (point) start end)
              (when (and (>= (1+ (point)) start) (< (1+ (point)) end))
                (put-text-property (1+ (point)) (+ 2 (point))
                                   'syntax-table (string-to-syntax ".")))
              (push 0 stack)
              (forward-char 1))))
           ((and (eq c ?/) (eq next ?/))
            (end-of-line)
            (backward-char 1))
           ((eq c ?\")
            (flow--fence (point) start end)
            (push 'str stack))
           ((eq c ?{) (setcar stack (1+ top)))
           ((eq c ?})
            (cond
             ((> top 0) (setcar stack (1- top)))
             ((cdr stack)
              (flow--fence (point) start end)
              (pop stack)))))
          (goto-char (min (1+ (point)) (point-max)))))
      (setq flow--scan-resume (cons (point) (copy-sequence stack))))))

(defun flow--syntactic-face (state)
  "The face of the string or comment whose parse state is STATE."
  (cond
   ((nth 3 state) font-lock-string-face)
   ((save-excursion
      (goto-char (nth 8 state))
      (looking-at "///\\(?:[^/]\\|$\\)"))
    font-lock-doc-face)
   (t font-lock-comment-face)))

(defun flow--match-interpolation (limit)
  "Find the next `${' or `}' before LIMIT that delimits an interpolation."
  (let (found)
    (while (and (not found) (re-search-forward "\\${\\|}" limit t))
      (setq found (equal (get-text-property (match-beginning 0) 'syntax-table)
                         (string-to-syntax "|"))))
    found))

(defun flow--match-escape (limit)
  "Find the next escape in a string before LIMIT."
  (let (found)
    (while (and (not found)
                (re-search-forward "\\\\\\(?:u{[[:xdigit:]]+}\\|[ntr0\\\"$]\\)" limit t))
      (setq found (nth 3 (save-excursion (syntax-ppss (match-beginning 0))))))
    found))

(defconst flow-font-lock-keywords
  `(;; Builtin calls first, so that `env(...)' is a call and `env { ... }' a keyword.
    (,(concat (regexp-opt flow-mode-builtins 'symbols) "\\s-*(")
     1 font-lock-builtin-face)
    (,(regexp-opt flow-mode-keywords 'symbols) . font-lock-keyword-face)
    (,(regexp-opt flow-mode-types 'symbols) . font-lock-type-face)
    (,(regexp-opt flow-mode-constants 'symbols) . font-lock-constant-face)
    (,(regexp-opt flow-mode-builtin-variables 'symbols) . font-lock-builtin-face)
    ;; Retry policy names where declared.
    (,(concat "\\_<policy\\s-+\\(" flow--name "\\)\\s-*{") 1 font-lock-constant-face)
    ;; Step names where declared; step references.
    (,(concat "\\_<step\\s-+\\(" flow--name "\\)") 1 font-lock-function-name-face)
    ("\\_<after\\_>"
     (,(concat "\\=\\s-*,?\\s-*\\(" flow--name "\\)") nil nil
      (1 'flow-step-reference-face)))
    (,(concat "\\_<on_failure_of\\s-+\\(" flow--name "\\)") 1 'flow-step-reference-face)
    ("\\_<on_failure\\s-+\\(continue\\|fail_fast\\)\\_>" 1 font-lock-constant-face)
    ;; The policy that ends a `concurrency' line.
    ("\\_<concurrency\\_>.*\\_<\\(queue\\|skip\\|cancel\\)\\_>\\s-*\\(?://.*\\)?$"
     1 font-lock-constant-face)
    (,(concat "\\_<on_failure\\s-+\\(" flow--name "\\)") 1 'flow-step-reference-face)
    ;; Durations before numbers: `1h30m' is one token.
    ("\\_<\\(?:[0-9][0-9_]*\\(?:ms\\|[smhd]\\)\\)+\\_>" . 'flow-duration-face)
    ("\\_<[0-9][0-9_]*\\(?:\\.[0-9]+\\)?\\_>" . 'flow-number-face)
    ("||\\|&&\\|[=!<>]=\\|[-<>+*/%!=]" . 'flow-operator-face)
    (flow--match-interpolation 0 'flow-interpolation-face t)
    (flow--match-escape 0 'flow-escape-face t))
  "Highlighting of `flow-mode' beyond strings and comments.")

(defconst flow-imenu-generic-expression
  `(("Workflows" ,(concat "^\\s-*workflow\\s-+\\(" flow--name "\\)") 1)
    ("Tasks" ,(concat "^\\s-*task\\s-+\\(" flow--name "\\)") 1)
    ("Policies" ,(concat "^\\s-*policy\\s-+\\(" flow--name "\\)\\s-*{") 1)
    ("Steps" ,(concat "^\\s-*\\(?:finally\\s-+\\)?step\\s-+\\(" flow--name "\\)") 1))
  "Index of workflows, tasks, retry policies and steps for `imenu'.")

(defun flow-indent-line ()
  "Indent the current line by the depth of the brackets around it."
  (interactive)
  (let* ((ppss (save-excursion (syntax-ppss (line-beginning-position))))
         (offset (- (current-column) (current-indentation))))
    ;; The inside of a multi-line string is text: leave it.
    (unless (nth 3 ppss)
      (let ((depth (car ppss)))
        (save-excursion
          (back-to-indentation)
          (when (looking-at "\\s)")
            (setq depth (1- depth))))
        (indent-line-to (* flow-indent-offset (max depth 0)))
        (when (> offset 0)
          (forward-char offset))))))

;;;###autoload
(define-derived-mode flow-mode prog-mode "Flow"
  "Major mode for flowc workflow files (`.flow').

\\{flow-mode-map}"
  :syntax-table flow-mode-syntax-table
  (setq-local comment-start "// ")
  (setq-local comment-end "")
  (setq-local comment-start-skip "//+\\s-*")
  (setq-local indent-tabs-mode nil)
  (setq-local tab-width 8)
  (setq-local indent-line-function #'flow-indent-line)
  (setq-local electric-indent-chars (append "{}[]()" electric-indent-chars))
  (setq-local imenu-generic-expression flow-imenu-generic-expression)
  (setq-local syntax-propertize-function #'flow--syntax-propertize)
  (add-hook 'before-change-functions #'flow--forget-scan nil t)
  (setq-local font-lock-defaults
              '(flow-font-lock-keywords
                nil nil nil nil
                (font-lock-syntactic-face-function . flow--syntactic-face))))

;;;###autoload
(add-to-list 'auto-mode-alist '("\\.flow\\'" . flow-mode))

(provide 'flow-mode)
;;; flow-mode.el ends here
