;; Imports a host function that does not exist: load must fail cleanly.
(module (import "astrid" "launch_missiles" (func $m)) (func (export "run") (call $m)))
