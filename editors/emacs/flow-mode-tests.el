;;; flow-mode-tests.el --- ERT tests of flow-mode  -*- lexical-binding: t; -*-

;;; Commentary:

;; Faces at chosen places of a sample, indentation of a formatted file from flush-left,
;; comment settings and the file association.  Run by test.sh:
;;   emacs -Q --batch -L . -l flow-mode-tests.el -f ert-run-tests-batch-and-exit

;;; Code:

(require 'ert)
(require 'flow-mode)
(require 'imenu)

(defconst flow-test-sample
  "// A comment.
//// Four slashes: still a comment.
import \"std/http\" as http

/// Documents the workflow.
workflow deploy(target: string = \"staging\", n: int = 1_000) {
  defaults { timeout 30m  max_parallel 4  on_failure fail_fast }
  concurrency \"deploy-${target}\" cancel
  let ratio: float = 2.5
  secret token = env(\"DEPLOY_TOKEN\")

  step build {
    run \"make ${target} \\\"q\\\" ${if n > 1 { \"many ${n}\" } else { \"one\" }} done\"
    retry 3 backoff exponential(2s, max: 1h30m) jitter if exit_code != 2 || timed_out
    env { TOKEN: token }
    outputs { digest: list<string> }
  }
  step lint after build, test when !(target == \"prod\") { exec [\"x\"] }
  step test on_failure_of build for r in [1] max 2 { sleep 500ms  priority 2  dir \"o\"  max_failures 1  on_failure build }
  finally step notify { run \"${workflow.status} ${true} ${len([1]) * 2}\" }
}

/// Retries for calls over the network.
policy network { retry 5 backoff fixed(1s) jitter }
task fetch(url: string) { native \"http.get\"  retry retry.network }
task scale(spec: record { name: string }) { run \"x\" }
let parsed = to_json(parse_json(json_get(\"{}\", \"a\"))) + format_time(now(), \"%Y\")
"
  "A sample with every token class.")

(defun flow-test-face (needle &optional offset)
  "The face at the start of NEEDLE (plus OFFSET) in `flow-test-sample'."
  (with-temp-buffer
    (insert flow-test-sample)
    (flow-mode)
    (font-lock-ensure)
    (goto-char (point-min))
    (unless (search-forward needle nil t)
      (error "Not in the sample: %s" needle))
    (get-text-property (+ (match-beginning 0) (or offset 0)) 'face)))

(defun flow-test-has-face (face needle &optional offset)
  "True when the text at NEEDLE (plus OFFSET) has FACE, alone or among others."
  (let ((got (flow-test-face needle offset)))
    (if (listp got) (memq face got) (eq face got))))

(ert-deftest flow-mode-comments ()
  (should (flow-test-has-face 'font-lock-comment-face "A comment"))
  (should (flow-test-has-face 'font-lock-comment-face "Four slashes"))
  (should (flow-test-has-face 'font-lock-doc-face "Documents the workflow"))
  (should-not (flow-test-has-face 'font-lock-doc-face "Four slashes")))

(ert-deftest flow-mode-keywords ()
  (dolist (needle '("import" " as " "workflow deploy" "defaults" "max_parallel" "let"
                    "secret" "step build" "run" "retry" "backoff" "jitter" "env {"
                    "outputs" "after" "when" "exec" "on_failure_of" " for " " in "
                    " max 2" "sleep" "finally" "concurrency" "priority" " dir " "max_failures"))
    (should (flow-test-has-face 'font-lock-keyword-face
                                needle (if (string-prefix-p " " needle) 1 0))))
  ;; `if` inside an interpolation, and `workflow` as a value.
  (should (flow-test-has-face 'font-lock-keyword-face "if n"))
  (should (flow-test-has-face 'font-lock-keyword-face "workflow.status")))

(ert-deftest flow-mode-policy-and-native ()
  (should (flow-test-has-face 'font-lock-keyword-face "policy network"))
  (should (flow-test-has-face 'font-lock-constant-face "network {"))
  (should (flow-test-has-face 'font-lock-keyword-face "retry 5"))
  (should (flow-test-has-face 'font-lock-keyword-face "native"))
  (should (flow-test-has-face 'font-lock-string-face "\"http.get"))
  (with-temp-buffer
    (insert flow-test-sample)
    (flow-mode)
    (let ((index (funcall imenu-create-index-function)))
      (should (equal (mapcar #'car (cdr (assoc "Policies" index))) '("network"))))))

(ert-deftest flow-mode-types-and-constants ()
  (should (flow-test-has-face 'font-lock-type-face "string ="))
  (should (flow-test-has-face 'font-lock-type-face "int ="))
  (should (flow-test-has-face 'font-lock-type-face "float"))
  (should (flow-test-has-face 'font-lock-type-face "list<"))
  (should (flow-test-has-face 'font-lock-type-face "string> }"))
  (should (flow-test-has-face 'font-lock-type-face "record {"))
  (should (flow-test-has-face 'font-lock-constant-face "true"))
  (should (flow-test-has-face 'font-lock-constant-face "fail_fast"))
  (should (flow-test-has-face 'font-lock-constant-face "cancel"))
  (should (flow-test-has-face 'font-lock-string-face "\"deploy-")))

(ert-deftest flow-mode-builtins ()
  (should (flow-test-has-face 'font-lock-builtin-face "env(\"DEPLOY"))
  (should (flow-test-has-face 'font-lock-builtin-face "exponential"))
  (should (flow-test-has-face 'font-lock-builtin-face "len("))
  (dolist (needle '("to_json(" "parse_json(" "json_get(" "format_time("))
    (should (flow-test-has-face 'font-lock-builtin-face needle)))
  (should (flow-test-has-face 'font-lock-builtin-face "exit_code"))
  (should (flow-test-has-face 'font-lock-builtin-face "timed_out"))
  ;; `token` is a plain name.
  (should-not (flow-test-face "token }")))

(ert-deftest flow-mode-numbers-and-durations ()
  (should (flow-test-has-face 'flow-number-face "1_000"))
  (should (flow-test-has-face 'flow-number-face "2.5"))
  (should (flow-test-has-face 'flow-number-face "4  on"))
  (should (flow-test-has-face 'flow-duration-face "30m"))
  (should (flow-test-has-face 'flow-duration-face "2s,"))
  (should (flow-test-has-face 'flow-duration-face "1h30m"))
  (should (flow-test-has-face 'flow-duration-face "500ms")))

(ert-deftest flow-mode-strings-and-interpolation ()
  (should (flow-test-has-face 'font-lock-string-face "\"std/http\""))
  (should (flow-test-has-face 'font-lock-string-face "make"))
  (should (flow-test-has-face 'flow-interpolation-face "${target"))
  (should (flow-test-has-face 'flow-interpolation-face "${target" 1))
  (should-not (flow-test-face "target}"))
  (should (flow-test-has-face 'flow-interpolation-face "} \\\"q"))
  (should (flow-test-has-face 'flow-escape-face "\\\"q"))
  ;; A string inside an interpolation, with its own interpolation, and the text after.
  (should (flow-test-has-face 'font-lock-string-face "many"))
  (should (flow-test-has-face 'flow-interpolation-face "${n}"))
  (should-not (flow-test-has-face 'font-lock-string-face "n}\" }"))
  (should (flow-test-has-face 'font-lock-string-face "\"one\""))
  (should (flow-test-has-face 'font-lock-string-face " done"))
  ;; Code after the string is code again.
  (should (flow-test-has-face 'font-lock-keyword-face "retry")))

(ert-deftest flow-mode-edits-rescan-strings ()
  ;; A quote typed early in the buffer turns later strings into code and back: the scan
  ;; must not resume from a point after the change.
  (with-temp-buffer
    (insert "step s { run \"a\" }\nstep t { run \"bee\" }\n")
    (flow-mode)
    (font-lock-ensure)
    (goto-char (point-min))
    (search-forward "bee")
    (should (eq (get-text-property (match-beginning 0) 'face) 'font-lock-string-face))
    (goto-char (point-min))
    (insert "\"")
    (font-lock-ensure)
    ;; Now `"step s { run "` is a string, `a` code, and so on.
    (should (eq (get-text-property 3 'face) 'font-lock-string-face))
    (goto-char (point-min))
    (search-forward "bee")
    (should-not (eq (get-text-property (match-beginning 0) 'face) 'font-lock-string-face))
    (search-backward "step t")
    (should (eq (get-text-property (point) 'face) 'font-lock-string-face))))

(ert-deftest flow-mode-operators ()
  (dolist (needle '("> 1" "!= 2" "|| timed" "!(" "== \"prod" "* 2" "= env"))
    (should (flow-test-has-face 'flow-operator-face needle))))

(ert-deftest flow-mode-steps ()
  (should (flow-test-has-face 'font-lock-function-name-face "build {"))
  (should (flow-test-has-face 'font-lock-function-name-face "notify"))
  (should (flow-test-has-face 'flow-step-reference-face "build, test"))
  (should (flow-test-has-face 'flow-step-reference-face "test when"))
  (should (flow-test-has-face 'flow-step-reference-face "build for"))
  (should (flow-test-has-face 'flow-step-reference-face "build }")))

(ert-deftest flow-mode-imenu ()
  (with-temp-buffer
    (insert flow-test-sample)
    (flow-mode)
    (let ((index (funcall imenu-create-index-function)))
      (should (equal (mapcar #'car (cdr (assoc "Workflows" index))) '("deploy")))
      (should (equal (mapcar #'car (cdr (assoc "Steps" index)))
                     '("build" "lint" "test" "notify"))))))

(defconst flow-test-indented
  (with-temp-buffer
    (insert-file-contents
     (expand-file-name "indent.flow"
                       (file-name-directory (or load-file-name buffer-file-name))))
    (buffer-string))
  "A formatted file: indentation as `flowc fmt' writes it.")

(ert-deftest flow-mode-indentation ()
  (with-temp-buffer
    (insert (replace-regexp-in-string "^[ \t]+" "" flow-test-indented))
    (flow-mode)
    (indent-region (point-min) (point-max))
    (should (equal (buffer-string) flow-test-indented))))

(ert-deftest flow-mode-settings ()
  (with-temp-buffer
    (flow-mode)
    (should (equal comment-start "// "))
    (should (equal comment-end ""))
    (should (= flow-indent-offset 2))
    (should-not indent-tabs-mode)
    (insert "step s { run \"x\" }")
    (comment-region (point-min) (point-max))
    (should (equal (buffer-string) "// step s { run \"x\" }")))
  (should (eq (assoc-default "deploy.flow" auto-mode-alist #'string-match) 'flow-mode)))

(provide 'flow-mode-tests)
;;; flow-mode-tests.el ends here
